// `queue-latency` (seed 001, the Python worker pool's make_scale_decision): queue depth
// and p95 latency against targets, with one cooldown (SCALE_DECISION_INTERVAL_MS) between
// scaling actions in either direction; bounds 1-12, +2 / -1.
//
//   up (any):        queue depth > targetQueueDepth
//                    p95 wait > targetP95Ms
//                    busy >= current workers and queue depth > 0   (all busy with backlog)
//   down (all):      queue depth <= targetQueueDepth x 0.3
//                    p95 wait <= targetP95Ms x 0.5
//                    busy / (idle + busy) <= 0.7
//
// "p95 latency" here is the p95 queue wait of tasks started in the recent window
// (obs.waitMs.p95): the part of a task's latency that more workers shorten.
// "current workers" is obs.currentTarget (starting workers included) for the all-busy
// trigger, so a pool already growing is not grown again; the load of the down-condition
// counts only ready workers, so a worker still starting is not removed before it ran.

import type { BaseConfig, Decision, Observation, PolicyDefinition } from './types.ts';
import { DAY_MS, boundsKnobs, checkBounds, defaultsOf, validateKnobs, type KnobTable } from './knobs.ts';
import { settle } from './clamp.ts';
import { checkCooldown, describeCooldown } from './cooldown.ts';
import { num, pct } from './say.ts';

export interface QueueLatencyConfig extends BaseConfig {
  targetQueueDepth: number;
  targetP95Ms: number;
  scaleUpStep: number;
  scaleDownStep: number;
  decisionIntervalMs: number;
  downQueueFraction: number;
  downLatencyFraction: number;
  downUtilization: number;
}

export interface QueueLatencyState {
  lastScaleAtMs: number | null;
}


export const QUEUE_LATENCY_KNOBS: KnobTable<QueueLatencyConfig> = {
  ...boundsKnobs({ minWorkers: 1, maxWorkers: 12 }),
  targetQueueDepth: { kind: 'int', unit: 'tasks', default: 50, min: 0, max: 1_000_000_000, doc: 'Up-trigger: queue depth above this (TARGET_QUEUE_DEPTH).' },
  targetP95Ms: { kind: 'int', unit: 'ms', default: 2000, min: 1, max: DAY_MS, doc: 'Up-trigger: p95 queue wait above this (TARGET_P95_LATENCY_MS).' },
  scaleUpStep: { kind: 'int', unit: 'workers', default: 2, min: 0, max: 100_000, doc: 'Workers added per scale-up (SCALE_UP_STEP; 0 = never, as in the seed\'s rollback).' },
  scaleDownStep: { kind: 'int', unit: 'workers', default: 1, min: 0, max: 100_000, doc: 'Workers removed per scale-down (SCALE_DOWN_STEP; 0 = never).' },
  decisionIntervalMs: { kind: 'int', unit: 'ms', default: 1500, min: 0, max: DAY_MS, doc: 'Least time between two scaling actions, up or down (SCALE_DECISION_INTERVAL_MS).' },
  downQueueFraction: { kind: 'number', unit: 'fraction', default: 0.3, min: 0, max: 1, doc: 'Down-condition: queue depth at most this fraction of targetQueueDepth.' },
  downLatencyFraction: { kind: 'number', unit: 'fraction', default: 0.5, min: 0, max: 1, doc: 'Down-condition: p95 wait at most this fraction of targetP95Ms.' },
  downUtilization: { kind: 'number', unit: 'fraction', default: 0.7, min: 0, max: 1, doc: 'Down-condition: busy / ready (idle + busy) workers at most this.' },
};

export const QUEUE_LATENCY_PRESETS: Record<string, Partial<QueueLatencyConfig>> = {
  'low-latency': { minWorkers: 4, maxWorkers: 24, targetP95Ms: 500, targetQueueDepth: 10, scaleUpStep: 3, scaleDownStep: 1 },
  'high-throughput': { minWorkers: 8, maxWorkers: 48, targetP95Ms: 5000, targetQueueDepth: 200, scaleUpStep: 4, scaleDownStep: 2 },
  balanced: {},
  'cost-optimized': {
    minWorkers: 1,
    maxWorkers: 6,
    targetP95Ms: 8000,
    targetQueueDepth: 100,
    scaleUpStep: 1,
    scaleDownStep: 1,
    decisionIntervalMs: 3000,
  },
};

interface Check {
  code: string;
  text: string;
}

function upTriggers(obs: Observation, c: QueueLatencyConfig, current: number): Check[] {
  const out: Check[] = [];
  if (obs.queueDepth > c.targetQueueDepth) {
    out.push({ code: 'scale_up_depth', text: `depth ${obs.queueDepth} > target ${c.targetQueueDepth}` });
  }
  if (obs.waitMs.p95 > c.targetP95Ms) {
    out.push({ code: 'scale_up_latency', text: `p95 wait ${Math.round(obs.waitMs.p95)} ms > target ${c.targetP95Ms} ms` });
  }
  if (obs.workers.busy >= current && obs.queueDepth > 0) {
    out.push({
      code: 'scale_up_all_busy',
      text: `all ${num(current)} workers busy (${num(obs.workers.busy)}) with ${obs.queueDepth} queued`,
    });
  }
  return out;
}

/** The three all-of down-conditions; returns the first one that fails, or null when all hold. */
function failedDownCondition(obs: Observation, c: QueueLatencyConfig, current: number): string | null {
  const depthLimit = c.targetQueueDepth * c.downQueueFraction;
  if (!(obs.queueDepth <= depthLimit)) return `depth ${obs.queueDepth} > ${num(depthLimit)} (${pct(c.downQueueFraction)} of target)`;
  const latencyLimit = c.targetP95Ms * c.downLatencyFraction;
  if (!(obs.waitMs.p95 <= latencyLimit)) {
    return `p95 wait ${Math.round(obs.waitMs.p95)} ms > ${num(latencyLimit)} ms (${pct(c.downLatencyFraction)} of target)`;
  }
  const load = loadOf(obs);
  if (!(load <= c.downUtilization)) return `load ${pct(load)} > ${pct(c.downUtilization)}`;
  return null;
}

/** in_flight / workers, over the workers that can take a task (idle + busy): a worker still starting is not idle capacity to give back. */
function loadOf(obs: Observation): number {
  const ready = obs.workers.idle + obs.workers.busy;
  return ready > 0 ? obs.workers.busy / ready : 1;
}

export function decideQueueLatency(
  obs: Observation,
  c: QueueLatencyConfig,
  s: QueueLatencyState,
  nowMs: number,
): Decision<QueueLatencyState> {
  const current = obs.currentTarget;
  const ups = upTriggers(obs, c, current);
  const failed = ups.length === 0 ? failedDownCondition(obs, c, current) : 'scale-up wanted';
  const wantsDown = ups.length === 0 && failed === null;
  if (ups.length === 0 && !wantsDown) {
    return settle({
      current, wanted: current, code: 'steady', limits: c, moved: s, held: s,
      reason: `no up-trigger (depth ${obs.queueDepth} <= ${c.targetQueueDepth}, p95 wait ${Math.round(obs.waitMs.p95)} ms <= ${c.targetP95Ms} ms) and no scale-down: ${failed}`,
    });
  }
  const because = ups.length > 0
    ? ups.map((t) => t.text).join(', ')
    : `depth ${obs.queueDepth} <= ${num(c.targetQueueDepth * c.downQueueFraction)}, ` +
      `p95 wait ${Math.round(obs.waitMs.p95)} ms <= ${num(c.targetP95Ms * c.downLatencyFraction)} ms, ` +
      `load ${pct(loadOf(obs))} <= ${pct(c.downUtilization)}`;
  const step = ups.length > 0 ? c.scaleUpStep : c.scaleDownStep;
  if (step === 0) {
    return settle({
      current, wanted: current, code: 'step_zero', limits: c, moved: s, held: s,
      reason: `${because}, but ${ups.length > 0 ? 'scaleUpStep' : 'scaleDownStep'} is 0`,
    });
  }
  const cd = checkCooldown(s.lastScaleAtMs, c.decisionIntervalMs, nowMs);
  if (cd.isBlocked) {
    const held = { lastScaleAtMs: cd.lastAtMs };
    return settle({
      current, wanted: current, code: 'cooldown', limits: c, moved: held, held,
      reason: `${because}, but blocked: ${describeCooldown('scaling action', cd, c.decisionIntervalMs)}`,
    });
  }
  if (ups.length > 0) {
    return settle({
      current,
      wanted: current + c.scaleUpStep,
      code: ups[0].code,
      reason: `${because}: +${c.scaleUpStep}`,
      limits: c,
      moved: { lastScaleAtMs: nowMs },
      held: s,
    });
  }
  return settle({
    current,
    wanted: current - c.scaleDownStep,
    code: 'scale_down_low_load',
    reason: `${because}: -${c.scaleDownStep}`,
    limits: c,
    moved: { lastScaleAtMs: nowMs },
    held: s,
  });
}

export const queueLatencyPolicy: PolicyDefinition<QueueLatencyConfig, QueueLatencyState> = {
  name: 'queue-latency',
  summary: 'Queue depth and p95 wait against targets; all-busy-with-backlog; all-of down-conditions; one cooldown.',
  source: 'seed 001 (Python worker pool, make_scale_decision)',
  defaults: defaultsOf(QUEUE_LATENCY_KNOBS),
  presets: QUEUE_LATENCY_PRESETS,
  defaultPreset: 'balanced',
  knobs: QUEUE_LATENCY_KNOBS,
  validate: (config) => validateKnobs(QUEUE_LATENCY_KNOBS, config, 'queue-latency'),
  crossCheck: (c, path) => checkBounds(c, path),
  initialState: () => ({ lastScaleAtMs: null }),
  decide: decideQueueLatency,
};
