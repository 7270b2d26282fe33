// The policy name registry: short kebab-case names -> definitions, presets and validation.
// The CLI, the config file, the HTTP API, the live autoscaler and the simulator all resolve
// policies here, so they run the very same code.
//
// Precedence when resolving: the policy's defaults < its preset (named, or its default
// preset) < overrides < minWorkers/maxWorkers given explicitly (not for fixed:N).

import { ConfigInvalidError } from '../core/index.ts';
import type { BaseConfig, Knob, PolicyDefinition } from './types.ts';
import { thresholdPolicy } from './threshold.ts';
import { queueLatencyPolicy } from './queue-latency.ts';
import { ratioPolicy } from './ratio.ts';
import { percentPolicy } from './percent.ts';
import { hpaPolicy } from './hpa.ts';
import { kedaPolicy } from './keda.ts';
import { adaptive as adaptivePolicy } from './adaptive.ts';
import { kpaPolicy } from './kpa.ts';
import { targetTrackingPolicy } from './target-tracking.ts';
import { queueTimePolicy } from './queue-time.ts';
import { fixedPolicy, parseFixed } from './fixed.ts';
import { validateKnobs } from './knobs.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyPolicy = PolicyDefinition<any, any>;

/** Registered policies, in the order help and error messages list them. */
const POLICIES: AnyPolicy[] = [
  thresholdPolicy,
  queueLatencyPolicy,
  ratioPolicy,
  percentPolicy,
  hpaPolicy,
  kedaPolicy,
  kpaPolicy,
  targetTrackingPolicy,
  queueTimePolicy,
  adaptivePolicy,
];

const FIXED_NAME = 'fixed:N';

export function knownPolicyNames(): string[] {
  return [...POLICIES.map((p) => p.name), FIXED_NAME];
}

export function getPolicy(name: string): AnyPolicy | undefined {
  return POLICIES.find((p) => p.name === name);
}

export interface ResolveInput {
  /** Registry name: `threshold`, `queue-latency`, ..., or `fixed:N`. */
  name: string;
  /** A preset of that policy (absent: its default preset). */
  preset?: string;
  /** Knob values that win over the preset. */
  overrides?: Record<string, unknown>;
  /** Bounds that win over everything (ignored by fixed:N). */
  minWorkers?: number;
  maxWorkers?: number;
  /** Prefix for field names in problems, e.g. `pools[0].policyOptions`. */
  path?: string;
}

export interface ResolvedPolicy {
  definition: AnyPolicy;
  config: BaseConfig & Record<string, number>;
  /** The preset applied (null when the policy has none). */
  preset: string | null;
}

/**
 * Resolves a policy by name with its preset, overrides and bounds, validating everything.
 * Throws ConfigInvalidError listing every problem at once.
 */
export function resolvePolicy(input: ResolveInput): ResolvedPolicy {
  const problems: string[] = [];
  const fixed = parseFixed(input.name);
  if (fixed && 'problem' in fixed) throw new ConfigInvalidError([fixed.problem]);
  const definition: AnyPolicy | undefined = fixed ? fixedPolicy(fixed.workers) : getPolicy(input.name);
  if (!definition && input.name === 'clairvoyant') {
    throw new ConfigInvalidError([
      `${input.path ? `${input.path}: ` : ''}policy "clairvoyant" is the simulator's offline floor: it needs the whole trace in advance, so a live pool cannot run it; use it with \`tidepool simulate --policy clairvoyant\` or see it in \`--compare\`; known policies: ${knownPolicyNames().join(', ')}`,
    ]);
  }
  if (!definition) {
    throw new ConfigInvalidError([
      `policy ${JSON.stringify(input.name)} is unknown; known policies: ${knownPolicyNames().join(', ')}`,
    ]);
  }
  const presetNames = Object.keys(definition.presets);
  const presetName = input.preset ?? definition.defaultPreset ?? null;
  let preset: Record<string, unknown> = {};
  if (presetName !== null) {
    if (!Object.hasOwn(definition.presets, presetName)) {
      problems.push(
        presetNames.length > 0
          ? `preset ${JSON.stringify(presetName)} is unknown for policy "${definition.name}"; known presets: ${presetNames.join(', ')}`
          : `preset ${JSON.stringify(presetName)} is unknown: policy "${definition.name}" has no presets`,
      );
    } else {
      preset = definition.presets[presetName];
    }
  }
  const overrides = input.overrides ?? {};
  if (typeof overrides !== 'object' || overrides === null || Array.isArray(overrides)) {
    problems.push(`${input.path ? `${input.path}: ` : ''}policy options must be an object of named numbers`);
  } else {
    problems.push(...definition.validate(overrides).map((p) => (input.path ? `${input.path}.${p}` : p)));
  }
  const bounds: Record<string, unknown> = {};
  if (!fixed) {
    if (input.minWorkers !== undefined) bounds.minWorkers = input.minWorkers;
    if (input.maxWorkers !== undefined) bounds.maxWorkers = input.maxWorkers;
    if (definition.knobs) problems.push(...validateKnobs(definition.knobs, bounds, definition.name));
  }
  if (problems.length > 0) throw new ConfigInvalidError(problems);
  // An option given as undefined (an unset flag or env var) means "not given".
  const given = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  const config = { ...definition.defaults, ...preset, ...given, ...bounds } as BaseConfig & Record<string, number>;
  const cross = definition.crossCheck?.(config, input.path) ?? [];
  if (cross.length > 0) throw new ConfigInvalidError(cross);
  return { definition, config, preset: presetName };
}

export interface PolicyInfo {
  name: string;
  summary: string;
  source: string;
  presets: string[];
  defaultPreset: string | null;
  knobs: Record<string, Knob>;
}

/** Every policy with its presets and options, for `--help` and the docs. */
export function listPolicies(): PolicyInfo[] {
  const registered = POLICIES.map((p) => ({
    name: p.name,
    summary: p.summary,
    source: p.source,
    presets: Object.keys(p.presets),
    defaultPreset: p.defaultPreset ?? null,
    knobs: p.knobs ?? {},
  }));
  return [
    ...registered,
    {
      name: FIXED_NAME,
      summary: 'Always N workers; never scales (e.g. fixed:4).',
      source: 'baseline (a pool sized by hand)',
      presets: [],
      defaultPreset: null,
      knobs: {},
    },
  ];
}
