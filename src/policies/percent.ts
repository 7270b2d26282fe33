// `percent` (seed 002, the cluster system's autoscaler): +/-20% of the current workers on
// queue-length / load thresholds, with one 5-minute cooldown between scaling actions;
// bounds 3-20 (the seed's cluster-test-001 blueprint).
//
//   up (any):    queue length > 10, or load (utilization) > 80%
//   down (all):  queue length < 2, and load < 20%
//   step:        up to ceil(current x 1.2), down to floor(current x 0.8)
//
// The seed writes int(current x 1.2), which never grows a pool of 1-4 workers
// (int(4 x 1.2) = 4). Rounding away from the current count moves at least one worker
// per step and reproduces the seed's observed cycle: queue 15 at 6 workers -> 8
// (ceil 7.2), queue 0 at 8 workers -> 6 (floor 6.4).

import type { BaseConfig, Decision, Observation, PolicyDefinition } from './types.ts';
import { DAY_MS, boundsKnobs, checkBounds, defaultsOf, validateKnobs, type KnobTable } from './knobs.ts';
import { settle } from './clamp.ts';
import { checkCooldown, describeCooldown } from './cooldown.ts';
import { pct } from './say.ts';

export interface PercentConfig extends BaseConfig {
  scaleUpQueueLength: number;
  scaleUpLoad: number;
  scaleDownQueueLength: number;
  scaleDownLoad: number;
  scaleUpPercent: number;
  scaleDownPercent: number;
  cooldownMs: number;
  evaluationIntervalMs: number;
}

export interface PercentState {
  lastScaleAtMs: number | null;
}


export const PERCENT_KNOBS: KnobTable<PercentConfig> = {
  ...boundsKnobs({ minWorkers: 3, maxWorkers: 20 }),
  scaleUpQueueLength: { kind: 'int', unit: 'tasks', default: 10, min: 0, max: 1_000_000_000, doc: 'Up-trigger: queue length above this.' },
  scaleUpLoad: { kind: 'number', unit: 'fraction', default: 0.8, min: 0, max: 1, doc: 'Up-trigger: load (busy / ready workers) above this (the seed\'s cpu_usage > 80%).' },
  scaleDownQueueLength: { kind: 'int', unit: 'tasks', default: 2, min: 0, max: 1_000_000_000, doc: 'Down-condition: queue length below this.' },
  scaleDownLoad: { kind: 'number', unit: 'fraction', default: 0.2, min: 0, max: 1, doc: 'Down-condition: load below this.' },
  scaleUpPercent: { kind: 'number', unit: 'percent', default: 20, min: 1, max: 1000, doc: 'Grow by this percentage of the current workers (rounded up: at least one).' },
  scaleDownPercent: { kind: 'number', unit: 'percent', default: 20, min: 1, max: 100, doc: 'Shrink by this percentage of the current workers (rounded down: at least one).' },
  cooldownMs: { kind: 'int', unit: 'ms', default: 300_000, min: 0, max: DAY_MS, doc: 'Least time between two scaling actions, up or down.' },
  evaluationIntervalMs: { kind: 'int', unit: 'ms', default: 60_000, min: 10, max: DAY_MS, doc: 'How often to evaluate, as the seed checks every 60 s (the live autoscaler\'s tick unless the pool sets intervalMs; the simulator uses --interval-ms).' },
};

export const PERCENT_PRESETS: Record<string, Partial<PercentConfig>> = {
  /** Seed 002's autoscaler as verified (queue 10 / 2, load 80% / 20%, 5 minutes). */
  cluster: {},
};

/** round(x, 9 decimals) so that 5 x 1.2 = 6.000000000000001 still ceils to 6. */
function tidy(x: number): number {
  return Math.round(x * 1e9) / 1e9;
}

export function grownBy(current: number, percent: number): number {
  return Math.max(current + 1, Math.ceil(tidy((current * (100 + percent)) / 100)));
}

export function shrunkBy(current: number, percent: number): number {
  return Math.max(0, Math.min(current - 1, Math.floor(tidy((current * (100 - percent)) / 100))));
}

export function decidePercent(obs: Observation, c: PercentConfig, s: PercentState, nowMs: number): Decision<PercentState> {
  const current = obs.currentTarget;
  const q = obs.queueDepth;
  const load = obs.utilization;
  const ups: string[] = [];
  if (q > c.scaleUpQueueLength) ups.push(`queue ${q} > ${c.scaleUpQueueLength}`);
  if (load > c.scaleUpLoad) ups.push(`load ${pct(load)} > ${pct(c.scaleUpLoad)}`);
  const isDown = ups.length === 0 && q < c.scaleDownQueueLength && load < c.scaleDownLoad;
  if (ups.length === 0 && !isDown) {
    return settle({
      current, wanted: current, code: 'steady', limits: c, moved: s, held: s,
      reason: `queue ${q} within ${c.scaleDownQueueLength}..${c.scaleUpQueueLength}, load ${pct(load)} within ${pct(c.scaleDownLoad)}..${pct(c.scaleUpLoad)} (or not both low)`,
    });
  }
  const because = ups.length > 0 ? ups.join(', ') : `queue ${q} < ${c.scaleDownQueueLength} and load ${pct(load)} < ${pct(c.scaleDownLoad)}`;
  const cd = checkCooldown(s.lastScaleAtMs, c.cooldownMs, nowMs);
  if (cd.isBlocked) {
    const held = { lastScaleAtMs: cd.lastAtMs };
    return settle({
      current, wanted: current, code: 'cooldown', limits: c, moved: held, held,
      reason: `${because}, but blocked: ${describeCooldown('scaling action', cd, c.cooldownMs)}`,
    });
  }
  if (ups.length > 0) {
    const wanted = grownBy(current, c.scaleUpPercent);
    return settle({
      current,
      wanted,
      code: q > c.scaleUpQueueLength ? 'scale_up_queue' : 'scale_up_load',
      reason: `${because}: +${c.scaleUpPercent}% of ${current} = ${wanted}`,
      limits: c,
      moved: { lastScaleAtMs: nowMs },
      held: s,
    });
  }
  const wanted = shrunkBy(current, c.scaleDownPercent);
  return settle({
    current,
    wanted,
    code: 'scale_down_low_load',
    reason: `${because}: -${c.scaleDownPercent}% of ${current} = ${wanted}`,
    limits: c,
    moved: { lastScaleAtMs: nowMs },
    held: s,
  });
}

export const percentPolicy: PolicyDefinition<PercentConfig, PercentState> = {
  name: 'percent',
  summary: '+/-20% of the current workers on queue length / load thresholds, with a 5-minute cooldown.',
  source: 'seed 002 (cluster system autoscaler)',
  defaults: defaultsOf(PERCENT_KNOBS),
  presets: PERCENT_PRESETS,
  defaultPreset: 'cluster',
  knobs: PERCENT_KNOBS,
  validate: (config) => validateKnobs(PERCENT_KNOBS, config, 'percent'),
  crossCheck: (c, path) => [
    ...checkBounds(c, path),
    ...(c.scaleDownQueueLength <= c.scaleUpQueueLength + 1
      ? []
      : [`${path ? `${path}.` : ''}scaleDownQueueLength: got ${c.scaleDownQueueLength}; expected at most scaleUpQueueLength + 1 (${c.scaleUpQueueLength + 1})`]),
    ...(c.scaleDownLoad <= c.scaleUpLoad
      ? []
      : [`${path ? `${path}.` : ''}scaleDownLoad: got ${c.scaleDownLoad}; expected at most scaleUpLoad (${c.scaleUpLoad})`]),
  ],
  initialState: () => ({ lastScaleAtMs: null }),
  decide: decidePercent,
};
