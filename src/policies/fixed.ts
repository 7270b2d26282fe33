// `fixed:N`: always N workers (min = max = N). The baseline every other policy is
// measured against; `--min`/`--max` do not apply to it.

import type { BaseConfig, Decision, Observation, PolicyDefinition } from './types.ts';
import { settle } from './clamp.ts';
import { MAX_WORKERS_LIMIT } from './knobs.ts';

export interface FixedConfig extends BaseConfig {
  /** The one worker count (= minWorkers = maxWorkers). */
  workers: number;
}

export type FixedState = Record<string, never>;

export const FIXED_PATTERN = /^fixed:(\d+)$/;

function decideFixed(obs: Observation, c: FixedConfig): Decision<FixedState> {
  return settle({
    current: obs.currentTarget,
    wanted: c.workers,
    code: 'fixed',
    reason: `fixed pool of ${c.workers} workers`,
    limits: c,
    moved: {},
    held: {},
  });
}

/** The definition of `fixed:N` for one N (0..MAX_WORKERS_LIMIT; the caller validates). */
export function fixedPolicy(workers: number): PolicyDefinition<FixedConfig, FixedState> {
  return {
    name: `fixed:${workers}`,
    summary: 'Always N workers; never scales.',
    source: 'baseline (a pool sized by hand)',
    defaults: { minWorkers: workers, maxWorkers: workers, workers },
    presets: {},
    knobs: {},
    validate: (config) =>
      Object.keys(config).map(
        (key) => `${key}: unknown option for policy "fixed:${workers}"; fixed:N takes no options (N is in its name)`,
      ),
    initialState: () => ({}),
    decide: (obs, config) => decideFixed(obs, config),
  };
}

/** Parses the N of `fixed:N`; returns a problem sentence when it is not a valid count. */
export function parseFixed(name: string): { workers: number } | { problem: string } | null {
  if (name === 'fixed' || name === 'fixed:') {
    return { problem: `policy "${name}" needs a worker count: fixed:N, e.g. fixed:4` };
  }
  if (!name.startsWith('fixed:')) return null;
  const m = FIXED_PATTERN.exec(name);
  const n = m ? Number(m[1]) : NaN;
  if (!m || !Number.isSafeInteger(n) || n > MAX_WORKERS_LIMIT) {
    return {
      problem: `policy "${name}": the worker count after "fixed:" must be an integer from 0 to ${MAX_WORKERS_LIMIT}`,
    };
  }
  return { workers: n };
}
