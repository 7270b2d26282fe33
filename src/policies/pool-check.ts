// One pool's policy settings checked on their own: the policy name, its preset, its
// knobs and the bounds given with it. The config loader and createTidepool() call it on
// every pool even when other settings are wrong, so a knob's error shows in the same
// run as the rest, and both keep one rule for `fixed:N`: it pins the pool at N
// workers, and a bound other than N given with it is refused.
import { ConfigInvalidError, defaultConfig } from '../core/index.ts';
import { resolvePolicy } from './registry.ts';
import { parseFixed } from './fixed.ts';

/** A pool's policy settings as a config gives them (values not yet type-checked). */
export interface PoolPolicySettings {
  policy?: unknown;
  preset?: unknown;
  policyOptions?: unknown;
  /** The bounds that apply to the pool (its own or inherited). */
  minWorkers?: unknown;
  maxWorkers?: unknown;
  /** Bounds set on this pool itself: refused with fixed:N (inherited ones do not apply to it). */
  ownMinWorkers?: unknown;
  ownMaxWorkers?: unknown;
}

/** A problem with a field of the pool: `policy`, `preset`, `minWorkers`, `maxWorkers` or `policyOptions.KNOB`. */
export interface PoolPolicyProblem {
  field: string;
  message: string;
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The message refusing a bound given with fixed:N (the HTTP API says the same). */
export function fixedBoundProblem(policy: string, field: string, got: unknown): string {
  const n = policy.slice('fixed:'.length);
  return `got ${JSON.stringify(got)} with policy ${policy}: fixed:N pins the pool at N workers, so a bound other than ${n} is refused; drop ${field}, or choose another policy`;
}

/**
 * Every problem of one pool's policy settings. Settings of the wrong type are skipped
 * (the shape check names them); `checkBounds: false` leaves bounds out (when they are
 * broken already).
 */
export function checkPoolPolicy(settings: PoolPolicySettings, checkBounds = true): PoolPolicyProblem[] {
  if (typeof settings.policy !== 'string') return [];
  const name = settings.policy;
  const fixed = parseFixed(name);
  if (fixed && !('problem' in fixed)) {
    const own = [['minWorkers', settings.ownMinWorkers], ['maxWorkers', settings.ownMaxWorkers]] as const;
    // A bound that restates N changes nothing and is accepted.
    const bounds = own.filter(([, v]) => v !== undefined && v !== fixed.workers).map(([field, v]) => ({ field, message: fixedBoundProblem(name, field, v) }));
    if (bounds.length) return bounds;
  }
  try {
    resolvePolicy({
      name,
      preset: typeof settings.preset === 'string' ? settings.preset : undefined,
      overrides: isRecord(settings.policyOptions) ? settings.policyOptions : undefined,
      minWorkers: checkBounds && !fixed && isInt(settings.minWorkers) ? settings.minWorkers : undefined,
      maxWorkers: checkBounds && !fixed && isInt(settings.maxWorkers) ? settings.maxWorkers : undefined,
    });
    return [];
  } catch (err) {
    const problems = err instanceof ConfigInvalidError ? err.problems : [err instanceof Error ? err.message : String(err)];
    return problems.map((problem) => {
      const m = /^([A-Za-z][\w]*): (.*)$/.exec(problem);
      if (m) return { field: m[1] === 'minWorkers' || m[1] === 'maxWorkers' ? m[1] : `policyOptions.${m[1]}`, message: m[2]! };
      return { field: /^preset /.test(problem) ? 'preset' : 'policy', message: problem };
    });
  }
}

/**
 * The policy problems of every pool of a config object as written (poolDefaults and
 * pools[i], which inherit poolDefaults' policy and knobs), e.g. one that failed the
 * shape check. `checkBounds: false` leaves the bounds to that check.
 */
export function configPolicyProblems(raw: unknown, source: string, checkBounds = true): string[] {
  if (!raw || typeof raw !== 'object') return [];
  const r = raw as { poolDefaults?: unknown; pools?: unknown };
  const defaults = isRecord(r.poolDefaults) ? r.poolDefaults : {};
  const defaultPolicy = defaults.policy ?? defaultConfig().poolDefaults.policy;
  const entries: [string, Record<string, unknown>][] = [['poolDefaults', { ...defaults, policy: defaultPolicy }]];
  if (Array.isArray(r.pools)) r.pools.forEach((p, i) => isRecord(p) && entries.push([`pools[${i}]`, p]));
  const out: string[] = [];
  for (const [at, p] of entries) {
    const inherits = p.policy === undefined || p.policy === defaultPolicy;
    const policyOptions = { ...(inherits && isRecord(defaults.policyOptions) ? defaults.policyOptions : {}), ...(isRecord(p.policyOptions) ? p.policyOptions : {}) };
    const minWorkers = p.minWorkers ?? defaults.minWorkers;
    const maxWorkers = p.maxWorkers ?? defaults.maxWorkers;
    const found = checkPoolPolicy({ policy: p.policy ?? defaultPolicy, preset: p.preset ?? defaults.preset, policyOptions, minWorkers, maxWorkers, ownMinWorkers: p.minWorkers, ownMaxWorkers: p.maxWorkers }, checkBounds);
    for (const { field, message } of found) out.push(`${at}.${field} (${source}): ${message}`);
  }
  return out;
}
