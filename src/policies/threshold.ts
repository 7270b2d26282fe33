// `threshold` (seed 000, the Go multi-agent autoscaler): scale up when any up-trigger
// holds for `scaleUpThreshold` consecutive checks, down when the down-conditions hold
// for `scaleDownThreshold` checks; separate up/down steps and cooldowns; bounds 2-20.
//
//   up-triggers (any):   queue depth > maxQueueDepth
//                        utilization > maxUtilization
//                        spare workers (idle + starting) < minIdleWorkers
//   down (all):          queue depth < minQueueDepth, and
//                        utilization < minUtilization, or a worker idle >= maxIdleTimeMs
//
// A streak counts checks in a row where the triggers held; any other check resets it.
// After a scale-up the up streak starts again from 0, so a second scale-up needs a new
// streak and the end of the up cooldown. The current worker count is obs.currentTarget.

import type { BaseConfig, Decision, Observation, PolicyDefinition } from './types.ts';
import { DAY_MS, boundsKnobs, checkNotAbove, checkBounds, defaultsOf, validateKnobs, type KnobTable } from './knobs.ts';
import { settle } from './clamp.ts';
import { checkCooldown, describeCooldown } from './cooldown.ts';
import { num, pct, plural } from './say.ts';

export interface ThresholdConfig extends BaseConfig {
  maxQueueDepth: number;
  maxUtilization: number;
  minIdleWorkers: number;
  scaleUpThreshold: number;
  minQueueDepth: number;
  minUtilization: number;
  maxIdleTimeMs: number;
  scaleDownThreshold: number;
  scaleUpStep: number;
  scaleDownStep: number;
  scaleUpCooldownMs: number;
  scaleDownCooldownMs: number;
  evaluationIntervalMs: number;
}

export interface ThresholdState {
  /** Consecutive checks with an up-trigger. */
  upCount: number;
  /** Consecutive checks with the down-conditions. */
  downCount: number;
  lastScaleUpAtMs: number | null;
  lastScaleDownAtMs: number | null;
}


export const THRESHOLD_KNOBS: KnobTable<ThresholdConfig> = {
  ...boundsKnobs({ minWorkers: 2, maxWorkers: 20 }),
  maxQueueDepth: { kind: 'int', unit: 'tasks', default: 50, min: 0, max: 1_000_000_000, doc: 'Up-trigger: queue depth above this.' },
  maxUtilization: { kind: 'number', unit: 'fraction', default: 0.8, min: 0, max: 1, doc: 'Up-trigger: busy / ready workers above this.' },
  minIdleWorkers: { kind: 'int', unit: 'workers', default: 2, min: 0, max: 100_000, doc: 'Up-trigger: fewer spare (idle + starting) workers than this.' },
  scaleUpThreshold: { kind: 'int', unit: 'checks', default: 3, min: 1, max: 1000, doc: 'Consecutive checks an up-trigger must hold before scaling up.' },
  minQueueDepth: { kind: 'int', unit: 'tasks', default: 10, min: 0, max: 1_000_000_000, doc: 'Down-condition: queue depth below this.' },
  minUtilization: { kind: 'number', unit: 'fraction', default: 0.3, min: 0, max: 1, doc: 'Down-condition: utilization below this (or a worker idle for maxIdleTimeMs).' },
  maxIdleTimeMs: { kind: 'int', unit: 'ms', default: 300_000, min: 0, max: DAY_MS, doc: 'Down-condition alternative: a worker idle at least this long (0 = off).' },
  scaleDownThreshold: { kind: 'int', unit: 'checks', default: 5, min: 1, max: 1000, doc: 'Consecutive checks the down-conditions must hold before scaling down.' },
  scaleUpStep: { kind: 'int', unit: 'workers', default: 2, min: 1, max: 100_000, doc: 'Workers added per scale-up.' },
  scaleDownStep: { kind: 'int', unit: 'workers', default: 1, min: 1, max: 100_000, doc: 'Workers removed per scale-down.' },
  scaleUpCooldownMs: { kind: 'int', unit: 'ms', default: 120_000, min: 0, max: DAY_MS, doc: 'Least time between two scale-ups.' },
  scaleDownCooldownMs: { kind: 'int', unit: 'ms', default: 300_000, min: 0, max: DAY_MS, doc: 'Least time between two scale-downs.' },
  evaluationIntervalMs: { kind: 'int', unit: 'ms', default: 30_000, min: 10, max: DAY_MS, doc: 'How often to evaluate, as the seed does every 30 s; the streaks count checks (the live autoscaler\'s tick unless the pool sets intervalMs; the simulator uses --interval-ms).' },
};

export const THRESHOLD_PRESETS: Record<string, Partial<ThresholdConfig>> = {
  /** Seed 000's default: slow to add, slower to remove. */
  conservative: {},
  /** Seed 000: performance-critical work. */
  aggressive: {
    maxUtilization: 0.7,
    minUtilization: 0.2,
    scaleUpThreshold: 1,
    scaleDownThreshold: 3,
    scaleUpCooldownMs: 30_000,
    scaleDownCooldownMs: 120_000,
  },
  /** Seed 000: non-critical work, minimum spend. */
  'cost-optimized': {
    maxUtilization: 0.9,
    minUtilization: 0.4,
    scaleUpThreshold: 5,
    scaleDownThreshold: 2,
    scaleUpCooldownMs: 300_000,
    scaleDownCooldownMs: 60_000,
  },
  /** Seed 000's "Production Deployment" example (5-100 workers, +5/-2). */
  production: {
    maxQueueDepth: 100,
    maxUtilization: 0.75,
    minIdleWorkers: 3,
    minQueueDepth: 20,
    minUtilization: 0.25,
    minWorkers: 5,
    maxWorkers: 100,
    scaleUpStep: 5,
    scaleDownStep: 2,
    scaleUpCooldownMs: 60_000,
    scaleDownCooldownMs: 300_000,
  },
};

interface Trigger {
  code: string;
  text: string;
}

function upTriggers(obs: Observation, c: ThresholdConfig): Trigger[] {
  const out: Trigger[] = [];
  if (obs.queueDepth > c.maxQueueDepth) {
    out.push({ code: 'scale_up_depth', text: `depth ${obs.queueDepth} > ${c.maxQueueDepth}` });
  }
  if (obs.utilization > c.maxUtilization) {
    out.push({ code: 'scale_up_utilization', text: `utilization ${pct(obs.utilization)} > ${pct(c.maxUtilization)}` });
  }
  const spare = obs.workers.idle + obs.workers.starting;
  if (spare < c.minIdleWorkers) {
    out.push({ code: 'scale_up_idle_workers', text: `${num(spare)} spare workers < ${c.minIdleWorkers}` });
  }
  return out;
}

function downTrigger(obs: Observation, c: ThresholdConfig): Trigger | null {
  if (!(obs.queueDepth < c.minQueueDepth)) return null;
  if (obs.utilization < c.minUtilization) {
    return {
      code: 'scale_down_low_load',
      text: `depth ${obs.queueDepth} < ${c.minQueueDepth} and utilization ${pct(obs.utilization)} < ${pct(c.minUtilization)}`,
    };
  }
  if (c.maxIdleTimeMs > 0 && obs.workers.idle > 0 && obs.maxIdleMs >= c.maxIdleTimeMs) {
    return {
      code: 'scale_down_idle_time',
      text: `depth ${obs.queueDepth} < ${c.minQueueDepth} and a worker idle ${Math.round(obs.maxIdleMs)} ms >= ${c.maxIdleTimeMs} ms`,
    };
  }
  return null;
}

export function decideThreshold(
  obs: Observation,
  c: ThresholdConfig,
  s: ThresholdState,
  nowMs: number,
): Decision<ThresholdState> {
  const current = obs.currentTarget;
  const ups = upTriggers(obs, c);
  const down = ups.length === 0 ? downTrigger(obs, c) : null;
  const upCount = ups.length > 0 ? s.upCount + 1 : 0;
  const downCount = down ? s.downCount + 1 : 0;
  const counted: ThresholdState = { ...s, upCount, downCount };

  if (ups.length > 0) {
    const because = `${ups.map((t) => t.text).join(', ')} for ${plural(upCount, 'check')}`;
    if (upCount < c.scaleUpThreshold) {
      return settle({
        current, wanted: current, code: 'waiting_up', limits: c, moved: counted, held: counted,
        reason: `${ups.map((t) => t.text).join(', ')} for ${upCount} of ${plural(c.scaleUpThreshold, 'check')}`,
      });
    }
    const cd = checkCooldown(s.lastScaleUpAtMs, c.scaleUpCooldownMs, nowMs);
    if (cd.isBlocked) {
      const held = { ...counted, lastScaleUpAtMs: cd.lastAtMs };
      return settle({
        current, wanted: current, code: 'cooldown_up', limits: c, moved: held, held,
        reason: `${because}, but scale-up blocked: ${describeCooldown('scale-up', cd, c.scaleUpCooldownMs)}`,
      });
    }
    return settle({
      current,
      wanted: current + c.scaleUpStep,
      code: ups[0].code,
      reason: `${because}: +${c.scaleUpStep}`,
      limits: c,
      moved: { ...counted, upCount: 0, lastScaleUpAtMs: nowMs },
      held: counted,
    });
  }

  if (down) {
    const because = `${down.text} for ${plural(downCount, 'check')}`;
    if (downCount < c.scaleDownThreshold) {
      return settle({
        current, wanted: current, code: 'waiting_down', limits: c, moved: counted, held: counted,
        reason: `${down.text} for ${downCount} of ${plural(c.scaleDownThreshold, 'check')}`,
      });
    }
    const cd = checkCooldown(s.lastScaleDownAtMs, c.scaleDownCooldownMs, nowMs);
    if (cd.isBlocked) {
      const held = { ...counted, lastScaleDownAtMs: cd.lastAtMs };
      return settle({
        current, wanted: current, code: 'cooldown_down', limits: c, moved: held, held,
        reason: `${because}, but scale-down blocked: ${describeCooldown('scale-down', cd, c.scaleDownCooldownMs)}`,
      });
    }
    return settle({
      current,
      wanted: current - c.scaleDownStep,
      code: down.code,
      reason: `${because}: -${c.scaleDownStep}`,
      limits: c,
      moved: { ...counted, downCount: 0, lastScaleDownAtMs: nowMs },
      held: counted,
    });
  }

  return settle({
    current, wanted: current, code: 'steady', limits: c, moved: counted, held: counted,
    reason:
      `depth ${obs.queueDepth} within ${c.minQueueDepth}..${c.maxQueueDepth}, ` +
      `utilization ${pct(obs.utilization)} within ${pct(c.minUtilization)}..${pct(c.maxUtilization)}, ` +
      `${num(obs.workers.idle + obs.workers.starting)} spare >= ${c.minIdleWorkers}`,
  });
}

export const thresholdPolicy: PolicyDefinition<ThresholdConfig, ThresholdState> = {
  name: 'threshold',
  summary: 'Up/down thresholds on queue depth, utilization and idle workers, held for N checks, with cooldowns.',
  source: 'seed 000 (Go multi-agent autoscaler)',
  defaults: defaultsOf(THRESHOLD_KNOBS),
  presets: THRESHOLD_PRESETS,
  defaultPreset: 'conservative',
  knobs: THRESHOLD_KNOBS,
  validate: (config) => validateKnobs(THRESHOLD_KNOBS, config, 'threshold'),
  crossCheck: (c, path) => [
    ...checkBounds(c, path),
    ...checkNotAbove(c as unknown as Record<string, number>, 'minQueueDepth', 'maxQueueDepth', path),
    ...checkNotAbove(c as unknown as Record<string, number>, 'minUtilization', 'maxUtilization', path),
  ],
  initialState: () => ({ upCount: 0, downCount: 0, lastScaleUpAtMs: null, lastScaleDownAtMs: null }),
  decide: decideThreshold,
};
