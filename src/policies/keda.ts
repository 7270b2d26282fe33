// `keda`: KEDA's queue-length scaler driving the HPA it creates.
//
//   metric   = queued + running tasks (queue depth + busy workers), like a RabbitMQ or
//              Redis-list scaler counting ready + unacked messages
//   target   = targetValue tasks per worker (AverageValue, default 1)
//   the HPA (GetExternalPerPodMetricReplicas): with `existing` = starting + idle + busy
//   workers (the pods the scale subresource counts; draining ones are terminating),
//     ratio   = metric / (targetValue x existing)
//     desired = existing                     when |ratio - 1| <= tolerance (0.1)
//             = ceil(metric / targetValue)   otherwise
//   then the same behavior as `hpa` (stabilization, rate policies, bounds 1-1000).
//
// KEDA itself handles 0 <-> 1, which the HPA cannot: at 0 workers it activates to
// max(1, minWorkers) once metric > activationValue (0); with minWorkers 0 it returns to 0
// after cooldownMs (300 s) with metric <= activationValue. Its HPA keeps at least 1 worker.

import type { BaseConfig, Decision, Observation, PolicyDefinition } from './types.ts';
import { boundsKnobs, checkBounds, defaultsOf, validateKnobs, type KnobTable } from './knobs.ts';
import { settle } from './clamp.ts';
import { EMPTY_BEHAVIOR_STATE, HPA_BEHAVIOR_KNOBS, tidy, type HpaBehavior, type HpaBehaviorState } from './hpa-behavior.ts';
import { applyBehavior, type MetricRecommendation } from './hpa.ts';
import { dur, num } from './say.ts';

export interface KedaConfig extends BaseConfig, HpaBehavior {
  targetValue: number;
  activationValue: number;
  tolerance: number;
  cooldownMs: number;
  evaluationIntervalMs: number;
}

export interface KedaState extends HpaBehaviorState {
  /** When the metric last exceeded activationValue (null: not yet seen). */
  lastActiveAtMs: number | null;
}

export const KEDA_KNOBS: KnobTable<KedaConfig> = {
  ...boundsKnobs({ minWorkers: 1, maxWorkers: 1000 }),
  targetValue: { kind: 'number', unit: 'tasks', default: 1, min: 0.001, max: 1_000_000, doc: 'Target queued + running tasks per worker (the scaler\'s value, an AverageValue target).' },
  activationValue: { kind: 'number', unit: 'tasks', default: 0, min: 0, max: 1_000_000, doc: 'KEDA activates from 0 workers once queued + running tasks exceed this (activationValue).' },
  tolerance: { kind: 'number', unit: 'fraction', default: 0.1, min: 0, max: 1, doc: 'The HPA keeps the count while |metric / (target x workers) - 1| is at most this.' },
  ...HPA_BEHAVIOR_KNOBS,
  cooldownMs: { kind: 'int', unit: 'ms', default: 300_000, min: 0, max: 86_400_000, doc: 'With minWorkers 0: back to 0 after this long without activity (KEDA cooldownPeriod).' },
  evaluationIntervalMs: { kind: 'int', unit: 'ms', default: 30_000, min: 10, max: 3_600_000, doc: 'How often to evaluate, as KEDA polls its scaler every 30 s (the live autoscaler\'s tick unless the pool sets intervalMs; the simulator uses --interval-ms).' },
};

/** The HPA's external-metric calculation with an AverageValue target. */
export function recommendByQueue(obs: Observation, c: KedaConfig): MetricRecommendation {
  const metric = obs.queueDepth + obs.workers.busy;
  const existing = obs.workers.starting + obs.workers.idle + obs.workers.busy;
  const head = `queued ${obs.queueDepth} + running ${num(obs.workers.busy)} = ${num(metric)} tasks for ${num(existing)} workers, target ${num(c.targetValue)} per worker`;
  const wanted = Math.ceil(tidy(metric / c.targetValue));
  if (existing > 0) {
    const ratio = metric / (c.targetValue * existing);
    if (Math.abs(1 - ratio) <= c.tolerance) {
      return { desired: existing, code: 'within_tolerance', reason: `${head}: ratio ${num(ratio)} within ${num(c.tolerance)} of 1` };
    }
  }
  const current = obs.currentTarget;
  return {
    desired: wanted,
    code: wanted > current ? 'keda_scale_up' : wanted < current ? 'keda_scale_down' : 'steady',
    reason: `${head}: ceil(${num(metric)} / ${num(c.targetValue)}) = ${wanted}`,
  };
}

export function decideKeda(obs: Observation, c: KedaConfig, s: KedaState, nowMs: number): Decision<KedaState> {
  const current = obs.currentTarget;
  const metric = obs.queueDepth + obs.workers.busy;
  const isActive = metric > c.activationValue;
  const lastActiveAtMs = isActive || s.lastActiveAtMs === null ? nowMs : Math.min(s.lastActiveAtMs, nowMs);
  const base: KedaState = { ...s, lastActiveAtMs };
  const withBehavior = (d: Decision<HpaBehaviorState>): Decision<KedaState> => ({ ...d, state: { ...d.state, lastActiveAtMs } });

  if (current === 0) {
    if (!isActive) {
      return settle({
        current, wanted: 0, code: 'keda_inactive', limits: c, moved: base, held: base,
        reason: `queued + running = ${num(metric)} <= activation ${num(c.activationValue)}: stays at 0`,
      });
    }
    const to = Math.max(1, c.minWorkers);
    return settle({
      current, wanted: to, code: 'keda_activate', limits: c, moved: base, held: base,
      reason: `queued + running = ${num(metric)} > activation ${num(c.activationValue)}: activate 0 -> ${to}`,
    });
  }
  if (c.minWorkers === 0 && !isActive) {
    const idleMs = nowMs - lastActiveAtMs;
    if (idleMs >= c.cooldownMs) {
      return settle({
        current, wanted: 0, code: 'keda_deactivate', limits: c, moved: { ...base, ...EMPTY_BEHAVIOR_STATE }, held: base,
        reason: `no queued or running task for ${dur(idleMs)} >= cooldown ${dur(c.cooldownMs)}: back to 0`,
      });
    }
  }
  // KEDA's HPA has minReplicas >= 1: only KEDA itself goes to 0.
  const hpaBounds = { ...c, minWorkers: Math.max(1, c.minWorkers) };
  return withBehavior(applyBehavior(current, recommendByQueue(obs, c), hpaBounds, s, nowMs));
}

export const kedaPolicy: PolicyDefinition<KedaConfig, KedaState> = {
  name: 'keda',
  summary: 'KEDA\'s queue-length scaler driving the HPA: queued + running tasks, 1 per worker, HPA behavior; 0 <-> 1 activation.',
  source: 'KEDA queue scalers + Kubernetes HPA external metrics (AverageValue)',
  defaults: defaultsOf(KEDA_KNOBS),
  presets: {},
  knobs: KEDA_KNOBS,
  validate: (config) => validateKnobs(KEDA_KNOBS, config, 'keda'),
  crossCheck: (c, path) => checkBounds(c, path),
  initialState: () => ({ ...EMPTY_BEHAVIOR_STATE, lastActiveAtMs: null }),
  decide: decideKeda,
};
