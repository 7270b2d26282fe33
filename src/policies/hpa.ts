// `hpa`: the Kubernetes Horizontal Pod Autoscaler's algorithm, as a reference policy, on
// utilization = busy / ready workers with a target of 0.7 (a busy worker is a pod at 100%
// of its request, an idle one at 0%). Learned from replica_calculator.go
// (GetResourceReplicas) and horizontal.go; written here from scratch, in virtual time.
//
//   ready    = idle + busy workers (pods running and ready). Draining workers are pods
//              being deleted: the controller ignores them entirely.
//   unready  = starting workers (pending / not-yet-ready pods).
//   util     = floor(100 x busy / ready) %          (the controller's integer percent)
//   ratio    = util / target
//   desired  = current                 when |ratio - 1| <= tolerance (0.1)
//            = ceil(ratio x ready)     otherwise, when nothing is starting or ratio < 1
//   With starting workers and ratio > 1 (a scale-up), the starting ones count as 0% busy:
//   ratio' = floor(100 x busy / (ready + unready)) / target; if ratio' is within tolerance or
//   below 1 the count stays, else desired = ceil(ratio' x (ready + unready)).
//   No ready worker at all: no metric, the count stays (the controller errors out).
// Then the behavior (src/policies/hpa-behavior.ts): stabilization windows, rate policies,
// bounds 1-1000 through the shared clamp.

import type { BaseConfig, Decision, Observation, PolicyDefinition } from './types.ts';
import { boundsKnobs, checkBounds, defaultsOf, validateKnobs, type KnobTable } from './knobs.ts';
import { settle } from './clamp.ts';
import {
  EMPTY_BEHAVIOR_STATE,
  HPA_BEHAVIOR_KNOBS,
  rateLimits,
  recordScale,
  stabilize,
  tidy,
  type HpaBehavior,
  type HpaBehaviorState,
} from './hpa-behavior.ts';
import { dur, num } from './say.ts';

export interface HpaConfig extends BaseConfig, HpaBehavior {
  targetUtilization: number;
  tolerance: number;
  evaluationIntervalMs: number;
}

export type HpaState = HpaBehaviorState;

export const HPA_KNOBS: KnobTable<HpaConfig> = {
  ...boundsKnobs({ minWorkers: 1, maxWorkers: 1000 }),
  targetUtilization: { kind: 'number', unit: 'fraction', default: 0.7, min: 0.01, max: 1, doc: 'Target average utilization (busy / ready workers).' },
  tolerance: { kind: 'number', unit: 'fraction', default: 0.1, min: 0, max: 1, doc: 'No change while |utilization / target - 1| is at most this (the controller\'s --horizontal-pod-autoscaler-tolerance).' },
  ...HPA_BEHAVIOR_KNOBS,
  evaluationIntervalMs: { kind: 'int', unit: 'ms', default: 15_000, min: 10, max: 3_600_000, doc: 'How often to evaluate, as the HPA controller syncs every 15 s (the live autoscaler\'s tick unless the pool sets intervalMs; the simulator uses --interval-ms).' },
};

export interface MetricRecommendation {
  desired: number;
  code: string;
  reason: string;
}

/** The replica calculator for utilization: what the metric alone recommends. */
export function recommendByUtilization(obs: Observation, c: HpaConfig): MetricRecommendation {
  const current = obs.currentTarget;
  const busy = obs.workers.busy;
  const ready = obs.workers.idle + busy;
  const unready = obs.workers.starting;
  const targetPct = Math.round(c.targetUtilization * 100);
  if (ready <= 0) {
    return {
      desired: current,
      code: 'hpa_no_ready_workers',
      reason: `no ready worker to measure (${unready} starting): the count stays at ${current}`,
    };
  }
  const utilPct = Math.floor(tidy((100 * busy) / ready));
  const ratio = utilPct / targetPct;
  const head = `utilization ${num(busy)} busy / ${num(ready)} ready = ${utilPct}% vs target ${targetPct}%`;
  const rebalance = unready > 0 && ratio > 1;
  if (!rebalance) {
    if (Math.abs(1 - ratio) <= c.tolerance) {
      return { desired: current, code: 'within_tolerance', reason: `${head}: ratio ${num(ratio)} within ${num(c.tolerance)} of 1` };
    }
    const desired = Math.ceil(tidy(ratio * ready));
    return {
      desired,
      code: desired > current ? 'hpa_scale_up' : desired < current ? 'hpa_scale_down' : 'steady',
      reason: `${head}: ceil(${num(ratio)} x ${num(ready)} ready) = ${desired}`,
    };
  }
  const all = ready + unready;
  const newPct = Math.floor(tidy((100 * busy) / all));
  const newRatio = newPct / targetPct;
  const head2 = `${head}; counting ${num(unready)} starting as idle: ${newPct}%`;
  if (Math.abs(1 - newRatio) <= c.tolerance || newRatio < 1) {
    return { desired: current, code: 'within_tolerance', reason: `${head2}, ratio ${num(newRatio)}: no scale-up while they start` };
  }
  const desired = Math.ceil(tidy(newRatio * all));
  if (desired < current) {
    return { desired: current, code: 'within_tolerance', reason: `${head2}: ceil(${num(newRatio)} x ${num(all)}) = ${desired} would shrink; the count stays` };
  }
  return { desired, code: 'hpa_scale_up', reason: `${head2}: ceil(${num(newRatio)} x ${num(all)} workers) = ${desired}` };
}

/**
 * Steps 1-3 of the controller after the metric (stabilize, rate, bounds), shared with keda.
 * `minWorkers` may be raised by the caller (KEDA's HPA never goes below 1).
 */
export function applyBehavior(
  current: number,
  rec: MetricRecommendation,
  c: HpaBehavior & BaseConfig,
  s: HpaBehaviorState,
  nowMs: number,
): Decision<HpaBehaviorState> {
  const st = stabilize(current, rec.desired, c, s.recommendations, nowMs);
  let code = rec.code;
  let reason = rec.reason;
  if (st.heldBy === 'down') {
    code = 'scale_down_stabilized';
    reason = `${reason}; held at ${st.workers} by the highest recommendation of the last ${dur(c.scaleDownStabilizationMs)}`;
  } else if (st.heldBy === 'up') {
    code = 'scale_up_stabilized';
    reason = `${reason}; held at ${st.workers} by the lowest recommendation of the last ${dur(c.scaleUpStabilizationMs)}`;
  }
  const rate = rateLimits(current, c, s, nowMs);
  const held: HpaBehaviorState = { ...s, recommendations: st.recommendations };
  return settle({
    current,
    wanted: st.workers,
    code,
    reason,
    limits: { minWorkers: c.minWorkers, maxWorkers: c.maxWorkers, ...rate },
    moved: (target) => recordScale(s, c, st.recommendations, current, target, nowMs),
    held,
  });
}

export function decideHpa(obs: Observation, c: HpaConfig, s: HpaState, nowMs: number): Decision<HpaState> {
  return applyBehavior(obs.currentTarget, recommendByUtilization(obs, c), c, s, nowMs);
}

export const hpaPolicy: PolicyDefinition<HpaConfig, HpaState> = {
  name: 'hpa',
  summary: 'The Kubernetes HPA algorithm on busy / ready workers (target 70%): tolerance, 300 s scale-down stabilization, rate policies.',
  source: 'Kubernetes horizontal pod autoscaler (replica_calculator.go, horizontal.go)',
  defaults: defaultsOf(HPA_KNOBS),
  presets: {},
  knobs: HPA_KNOBS,
  validate: (config) => validateKnobs(HPA_KNOBS, config, 'hpa'),
  crossCheck: (c, path) => checkBounds(c, path),
  initialState: () => EMPTY_BEHAVIOR_STATE,
  decide: decideHpa,
};
