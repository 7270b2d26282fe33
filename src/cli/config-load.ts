// Loads the configuration: built-in defaults < JSON file < environment < flags.
// Every problem is collected, each naming the setting, its source, the value that
// arrived and what is allowed, e.g.
//   pools[1].maxWorkers (tidepool.json): got 0; expected an integer >= minWorkers (2)
//   MAX_WORKERS (environment): got "abc"; expected an integer in [1, 100000]
//   --max (flag): got "-3"; expected an integer in [1, 100000]
// and thrown together as one ConfigInvalidError.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import {
  ConfigInvalidError,
  OPTIONS,
  POLICY_ENV,
  POOL_OPTIONS,
  checkConfigShape,
  crossFieldProblems,
  defaultConfig,
  describeRange,
  formatProblem,
  parseDurationMs,
  schemaFor,
  type OptionSpec,
  resolvePoolConfig,
  type PoolConfig,
  type TidepoolConfig,
} from '../core/index.ts';
import { allowListProblems } from '../callbacks/index.ts';
import { checkPoolPolicy, configPolicyProblems, getPolicy } from '../policies/index.ts';
import { parseStoreUrl } from '../store/index.ts';

export interface ConfigSources {
  /** Path of a JSON config file. */
  file?: string;
  /** Environment (default: none; pass process.env to read it). */
  env?: Record<string, string | undefined>;
  /** Flag values by flag name (`--max` -> "5"), as util.parseArgs gives them. */
  flags?: Record<string, string | boolean | undefined>;
  /** Values by config path (`store`, `pools`) that replace the built-in defaults, under every layer (the demo's). */
  defaults?: Record<string, unknown>;
}

/** Where a setting's value came from: the name to show and the source in brackets. */
export interface Origin {
  label: string;
  source: string;
}

export interface LoadedConfig {
  config: TidepoolConfig;
  /** Origin of every setting that did not keep its default, by config path. */
  origins: Record<string, Origin>;
}

const POOL_SPECS_FOR_DEFAULTS = POOL_OPTIONS.filter((o) => o.path !== 'name' && o.path !== 'types');

/** util.parseArgs options for every config flag (all take a string value). */
export function configFlagOptions(): Record<string, { type: 'string' }> {
  const out: Record<string, { type: 'string' }> = { config: { type: 'string' } };
  for (const o of [...OPTIONS, ...POOL_OPTIONS]) if (o.flag) out[o.flag.slice(2)] = { type: 'string' };
  return out;
}


function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = target;
  for (const p of parts.slice(0, -1)) node = (node[p] ??= {}) as Record<string, unknown>;
  node[parts.at(-1)!] = value;
}

function leafPaths(value: unknown, prefix: string, out: string[]): string[] {
  if (value && typeof value === 'object' && !Array.isArray(value) && !prefix.endsWith('policyOptions')) {
    for (const [k, v] of Object.entries(value)) leafPaths(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix) out.push(prefix);
  return out;
}

function mergeDeep(target: Record<string, unknown>, source: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(source)) {
    if (k === '$schema') continue;
    const t = target[k];
    if (v && typeof v === 'object' && !Array.isArray(v) && t && typeof t === 'object' && !Array.isArray(t) && k !== 'policyOptions') mergeDeep(t as Record<string, unknown>, v as Record<string, unknown>);
    else if (k === 'policyOptions' && t && typeof t === 'object') target[k] = { ...(t as object), ...(v as object) };
    else target[k] = structuredClone(v);
  }
}

/** Parses an env/flag string as the option's kind; returns the typed value or a problem. */
function parseText(spec: OptionSpec, text: string, scale = 1, offset = 0): { value: unknown } | { expected: string } {
  // A percent env var (RETRY_JITTER_PCT, scale 0.01) is checked and described in percent.
  const isScaledNumber = spec.kind === 'number' && scale !== 1;
  const unscale = (v: number | undefined) => (v === undefined ? undefined : isScaledNumber ? Math.round(v / scale) : v - offset);
  const shifted = { ...spec, min: unscale(spec.min), max: unscale(spec.max) };
  const expected = describeRange(shifted);
  const t = text.trim();
  let value: unknown;
  switch (spec.kind) {
    case 'int':
      value = /^[+-]?\d+$/.test(t) ? Number(t) + offset : NaN;
      break;
    case 'number':
      value = t === '' ? NaN : scale !== 1 ? Number(t) / Math.round(1 / scale) : Number(t);
      break;
    case 'duration':
      value = scale !== 1 ? (t === '' ? NaN : Math.round(Number(t) * scale)) : (parseDurationMs(t) ?? NaN);
      break;
    case 'bool': {
      const v = t.toLowerCase();
      value = ['true', '1', 'yes', 'on'].includes(v) ? true : ['false', '0', 'no', 'off'].includes(v) ? false : undefined;
      break;
    }
    case 'enum':
    case 'string':
      value = t;
      break;
    case 'list':
      value = t.split(',').map((s) => s.trim()).filter(Boolean);
      break;
    case 'record':
    case 'webhooks':
      try {
        value = JSON.parse(t);
      } catch {
        value = undefined;
      }
      break;
    default: {
      const never: never = spec.kind;
      return { expected: String(never) };
    }
  }
  return schemaFor(spec).safeParse(value).success ? { value } : { expected };
}

/** Loads and validates the configuration from its layers; throws ConfigInvalidError with every problem. */
export function loadConfig(sources: ConfigSources = {}): LoadedConfig {
  const problems: string[] = [];
  const config = defaultConfig() as unknown as Record<string, unknown>;
  const origins: Record<string, Origin> = {};
  const env = sources.env ?? {};
  const flags = sources.flags ?? {};
  for (const [path, value] of Object.entries(sources.defaults ?? {})) setPath(config, path, structuredClone(value));

  // 1. The JSON file.
  if (sources.file) {
    const source = basename(sources.file);
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(sources.file, 'utf8'));
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new ConfigInvalidError([
        e.code ? `config file ${sources.file}: cannot read it (${e.code}: ${e.message})` : `config file ${sources.file}: not valid JSON (${e.message})`,
      ]);
    }
    const shape = checkConfigShape(parsed, source);
    if (shape.problems.length) {
      problems.push(...shape.problems);
      // The file is not merged, but its pools' policy settings are still checked, so their errors show in this run too.
      problems.push(...configPolicyProblems(parsed, source, false));
    } else {
      const file = shape.data;
      const pools = (file.pools as Record<string, unknown>[] | undefined) ?? [];
      pools.forEach((p, i) => {
        if (!p.types) problems.push(`pools[${i}].types (${source}): missing; expected ${describeRange({ kind: 'list' })}`);
      });
      mergeDeep(config, file);
      for (const path of leafPaths(file, '', [])) origins[path] = { label: path, source };
      pools.forEach((p, i) => Object.keys(p).forEach((k) => (origins[`pools[${i}].${k}`] = { label: `pools[${i}].${k}`, source })));
      ((file.schedules as Record<string, unknown>[] | undefined) ?? []).forEach((s, i) => Object.keys(s).forEach((k) => (origins[`schedules[${i}].${k}`] = { label: `schedules[${i}].${k}`, source })));
    }
  }

  // 2. Environment, then 3. flags: the later layer wins.
  const layers: { source: string; lookup: (spec: OptionSpec) => { label: string; text: string; scale: number; offset: number } | undefined }[] = [
    {
      source: 'environment',
      lookup: (spec) => {
        const name = spec.env?.find((n) => env[n] !== undefined && env[n] !== '');
        if (!name) return undefined;
        const isMaxRetries = name === 'MAX_RETRIES';
        // Seconds (WORKER_SHUTDOWN_TIMEOUT_S) and percents (RETRY_JITTER_PCT) are scaled to the setting's unit.
        const isScaled = (name.endsWith('_S') || name.endsWith('_PCT')) && spec.envScale !== undefined;
        return { label: name, text: env[name]!, scale: isScaled ? spec.envScale! : 1, offset: isMaxRetries ? (spec.envOffset ?? 0) : 0 };
      },
    },
    {
      source: 'flag',
      lookup: (spec) => {
        const v = spec.flag ? flags[spec.flag] ?? flags[spec.flag.slice(2)] : undefined;
        if (v === undefined) return undefined;
        return { label: spec.flag!, text: String(v), scale: 1, offset: 0 };
      },
    },
  ];
  const pools = config.pools as Partial<PoolConfig>[];
  for (const layer of layers) {
    for (const spec of OPTIONS) {
      const hit = layer.lookup(spec);
      if (!hit) continue;
      const r = parseText(spec, hit.text, hit.scale, hit.offset);
      if ('expected' in r) problems.push(formatProblem(hit.label, layer.source, hit.text, r.expected));
      else {
        setPath(config, spec.path, r.value);
        origins[spec.path] = { label: hit.label, source: layer.source };
      }
    }
    for (const spec of POOL_SPECS_FOR_DEFAULTS) {
      const hit = layer.lookup(spec);
      if (!hit) continue;
      const r = parseText(spec, hit.text, hit.scale, hit.offset);
      if ('expected' in r) {
        problems.push(formatProblem(hit.label, layer.source, hit.text, r.expected));
        continue;
      }
      // A pool setting from the environment or a flag applies to every pool.
      setPath(config, `poolDefaults.${spec.path}`, r.value);
      origins[`poolDefaults.${spec.path}`] = { label: hit.label, source: layer.source };
      pools.forEach((p, i) => {
        (p as Record<string, unknown>)[spec.path] = r.value;
        origins[`pools[${i}].${spec.path}`] = { label: hit.label, source: layer.source };
      });
    }
  }
  // Policy knobs from the seeds' env vars, applied to every pool whose policy has that knob.
  for (const knob of POLICY_ENV) {
    const text = env[knob.env];
    if (text === undefined || text === '') continue;
    const spec: OptionSpec = { path: knob.knob, kind: knob.kind, unit: '', min: knob.min, max: knob.max, doc: knob.doc };
    const r = parseText(spec, text);
    if ('expected' in r) {
      problems.push(formatProblem(knob.env, 'environment', text, r.expected));
      continue;
    }
    const apply = (p: { policy?: string; policyOptions?: Record<string, unknown> }, at: string) => {
      if (!getPolicy(p.policy ?? '')?.knobs?.[knob.knob]) return;
      p.policyOptions = { ...(p.policyOptions ?? {}), [knob.knob]: r.value };
      origins[`${at}.policyOptions.${knob.knob}`] = { label: knob.env, source: 'environment' };
    };
    const defaults = config.poolDefaults as PoolConfig;
    apply(defaults, 'poolDefaults');
    pools.forEach((p, i) => {
      const policy = p.policy ?? defaults.policy;
      if (getPolicy(policy)?.knobs?.[knob.knob]) {
        p.policyOptions = { ...(p.policyOptions ?? {}), [knob.knob]: r.value };
        origins[`pools[${i}].policyOptions.${knob.knob}`] = { label: knob.env, source: 'environment' };
      }
    });
  }

  const typed = config as unknown as TidepoolConfig;
  const originOf = (path: string): Origin => origins[path] ?? { label: path, source: 'default' };

  // 4. Checks across settings, and the store URL.
  for (const p of crossFieldProblems(typed)) {
    const o = originOf(p.path);
    problems.push(formatProblem(o.label, o.source, p.got, p.expected));
  }
  const allowHosts = (typed.callbacks as { allowPrivateHosts?: string[] } | undefined)?.allowPrivateHosts ?? [];
  allowHosts.forEach((entry, i) => {
    if (allowListProblems([entry]).length === 0) return;
    const o = originOf('callbacks.allowPrivateHosts');
    problems.push(formatProblem(`${o.label}[${i}]`, o.source, entry, 'a host name, an IP address or a CIDR range (10.0.0.0/8, fd00::/8)'));
  });
  try {
    const o = originOf('store');
    parseStoreUrl(typed.store, `${o.label} (${o.source})`);
  } catch (err) {
    problems.push(...((err as ConfigInvalidError).problems ?? [(err as Error).message]));
  }

  // 5. Each pool's policy, preset and knobs, as the policies room validates them.
  const boundsBroken = new Set(crossFieldProblems(typed).map((p) => p.path.replace(/\.maxWorkers$/, '')));
  const rawPools = pools as Record<string, unknown>[];
  const poolEntries: [string, Record<string, unknown>, Record<string, unknown>][] = [
    ['poolDefaults', typed.poolDefaults as unknown as Record<string, unknown>, typed.poolDefaults as unknown as Record<string, unknown>],
    ...typed.pools.map((p, i): [string, Record<string, unknown>, Record<string, unknown>] => [`pools[${i}]`, resolvePoolConfig({ ...p, types: p.types ?? [] } as PoolConfig, typed.poolDefaults) as unknown as Record<string, unknown>, rawPools[i] ?? {}]),
  ];
  for (const [at, p, own] of poolEntries) {
    const found = checkPoolPolicy({ policy: p.policy, preset: p.preset, policyOptions: p.policyOptions, minWorkers: p.minWorkers, maxWorkers: p.maxWorkers, ownMinWorkers: own.minWorkers, ownMaxWorkers: own.maxWorkers }, !boundsBroken.has(at));
    for (const { field, message } of found) {
      const path = `${at}.${field}`;
      const o = origins[path] ?? (path.includes('.policyOptions.') ? origins[`${at}.policyOptions`] : undefined) ?? originOf(path);
      const label = o.source === 'environment' || o.source === 'flag' ? o.label : path;
      problems.push(`${label} (${o.source}): ${message}`);
    }
  }

  if (problems.length) throw new ConfigInvalidError([...new Set(problems)]);
  return { config: typed, origins };
}
