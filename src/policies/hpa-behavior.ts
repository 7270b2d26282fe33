// The Kubernetes HPA's `behavior` (autoscaling/v2), shared by `hpa` and `keda`: what the
// controller does with a replica recommendation before it applies it
// (horizontal.go: stabilizeRecommendationWithBehaviors, then
// convertDesiredReplicasWithBehaviorRate). Written from the controller's logic, in virtual
// time: every instant comes in as nowMs and the history lives in the policy's state.
//
// 1. Stabilization. Every recommendation is remembered with its time. The applied count is
//    the current count, raised to the lowest recommendation of the scale-up window and
//    lowered to the highest recommendation of the scale-down window (both windows include
//    the new one). Defaults: up 0 s (react at once), down 300 s (a scale-down follows the
//    highest wish of the last 5 minutes).
// 2. Rate. Over each policy's period the pool may grow to the larger of +scaleUpPercent %
//    and +scaleUpPods of the count at the period's start (ceil), and shrink by
//    scaleDownPercent % (truncated). Defaults: +100% or +4 per 15 s up, -100% per 15 s down.
// 3. Bounds: minWorkers / maxWorkers, via the shared clamp (which also applies the rate).
//
// A clock stepped backwards would leave remembered instants in the future; they are
// re-stamped at the new now, so they count for at most one more window.

import type { Knob } from './types.ts';
import type { ClampLimits } from './clamp.ts';
import { DAY_MS } from './knobs.ts';

export interface HpaBehavior {
  scaleUpStabilizationMs: number;
  scaleDownStabilizationMs: number;
  scaleUpPercent: number;
  scaleUpPods: number;
  scaleUpPeriodMs: number;
  scaleDownPercent: number;
  scaleDownPeriodMs: number;
}

export interface Recommendation {
  atMs: number;
  workers: number;
}

export interface ScaleEvent {
  atMs: number;
  /** Workers added (scale-up events) or removed (scale-down events), > 0. */
  change: number;
}

export interface HpaBehaviorState {
  recommendations: Recommendation[];
  scaleUpEvents: ScaleEvent[];
  scaleDownEvents: ScaleEvent[];
}


export const HPA_BEHAVIOR_KNOBS: Record<keyof HpaBehavior, Knob> = {
  scaleUpStabilizationMs: { kind: 'int', unit: 'ms', default: 0, min: 0, max: 3_600_000, doc: 'Scale-up stabilization window: scale up to the lowest recommendation seen in it (HPA default 0).' },
  scaleDownStabilizationMs: { kind: 'int', unit: 'ms', default: 300_000, min: 0, max: 3_600_000, doc: 'Scale-down stabilization window: scale down only to the highest recommendation seen in it (HPA default 300 s).' },
  scaleUpPercent: { kind: 'number', unit: 'percent', default: 100, min: 0, max: 100_000, doc: 'Scale-up rate policy: grow by at most this percentage per period (HPA default 100%).' },
  scaleUpPods: { kind: 'int', unit: 'workers', default: 4, min: 0, max: 100_000, doc: 'Scale-up rate policy: or by this many workers per period, whichever allows more (HPA default 4).' },
  scaleUpPeriodMs: { kind: 'int', unit: 'ms', default: 15_000, min: 1, max: 1_800_000, doc: 'Period of the scale-up rate policies (HPA default 15 s).' },
  scaleDownPercent: { kind: 'number', unit: 'percent', default: 100, min: 0, max: 100, doc: 'Scale-down rate policy: shrink by at most this percentage per period (HPA default 100%).' },
  scaleDownPeriodMs: { kind: 'int', unit: 'ms', default: 15_000, min: 1, max: 1_800_000, doc: 'Period of the scale-down rate policy (HPA default 15 s).' },
};

export const EMPTY_BEHAVIOR_STATE: HpaBehaviorState = { recommendations: [], scaleUpEvents: [], scaleDownEvents: [] };

/** Rounds away float noise (1.4 / 0.7 * 10 = 20.000000000000004) before ceil/floor. */
export function tidy(x: number): number {
  return Math.round(x * 1e9) / 1e9;
}

function restamp<T extends { atMs: number }>(items: T[], nowMs: number): T[] {
  return items.some((i) => i.atMs > nowMs) ? items.map((i) => (i.atMs > nowMs ? { ...i, atMs: nowMs } : i)) : items;
}

export interface Stabilized {
  /** The count after stabilization. */
  workers: number;
  /** Whether a window held the recommendation back, and which. */
  heldBy: 'up' | 'down' | null;
  /** The lowest recommendation of the up window / highest of the down window (new one included). */
  upBound: number;
  downBound: number;
  recommendations: Recommendation[];
}

/** Step 1: stabilization windows. Records `desired` and returns the stabilized count. */
export function stabilize(
  current: number,
  desired: number,
  b: HpaBehavior,
  recommendations: Recommendation[],
  nowMs: number,
): Stabilized {
  const recs = restamp(recommendations, nowMs);
  const upCutoff = nowMs - b.scaleUpStabilizationMs;
  const downCutoff = nowMs - b.scaleDownStabilizationMs;
  let upBound = desired;
  let downBound = desired;
  const kept: Recommendation[] = [];
  for (const r of recs) {
    // The controller keeps a sample while it is strictly after a window's cutoff.
    if (r.atMs > upCutoff) upBound = Math.min(upBound, r.workers);
    if (r.atMs > downCutoff) downBound = Math.max(downBound, r.workers);
    if (r.atMs > upCutoff || r.atMs > downCutoff) kept.push(r);
  }
  kept.push({ atMs: nowMs, workers: desired });
  let workers = current;
  let heldBy: Stabilized['heldBy'] = null;
  if (workers < upBound) workers = upBound;
  if (workers > downBound) workers = downBound;
  if (desired > current && workers < desired) heldBy = 'up';
  if (desired < current && workers > desired) heldBy = 'down';
  return { workers, heldBy, upBound, downBound, recommendations: kept };
}

function changeInPeriod(events: ScaleEvent[], periodMs: number, nowMs: number): number {
  const cutoff = nowMs - periodMs;
  let sum = 0;
  for (const e of events) if (e.atMs > cutoff) sum += e.change;
  return sum;
}

/** Step 2: the rate policies, as step limits for the shared clamp (with their source named). */
export function rateLimits(
  current: number,
  b: HpaBehavior,
  s: HpaBehaviorState,
  nowMs: number,
): Pick<ClampLimits, 'maxStepUp' | 'maxStepDown' | 'stepUpSource' | 'stepDownSource'> {
  const up = restamp(s.scaleUpEvents, nowMs);
  const down = restamp(s.scaleDownEvents, nowMs);
  const upStart = current - changeInPeriod(up, b.scaleUpPeriodMs, nowMs) + changeInPeriod(down, b.scaleUpPeriodMs, nowMs);
  const upLimit = Math.max(Math.ceil(tidy(upStart * (1 + b.scaleUpPercent / 100))), upStart + b.scaleUpPods);
  const downStart = current - changeInPeriod(up, b.scaleDownPeriodMs, nowMs) + changeInPeriod(down, b.scaleDownPeriodMs, nowMs);
  const downLimit = Math.trunc(tidy(downStart * (1 - b.scaleDownPercent / 100)));
  const period = (ms: number) => (ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`);
  return {
    // No growth until old events leave the period; no shrinking below what the period allows.
    maxStepUp: Math.max(0, upLimit - current),
    maxStepDown: Math.max(0, current - downLimit),
    stepUpSource: `by the HPA scale-up rate (+${b.scaleUpPercent}% or +${b.scaleUpPods} per ${period(b.scaleUpPeriodMs)} from ${upStart})`,
    stepDownSource: `by the HPA scale-down rate (-${b.scaleDownPercent}% per ${period(b.scaleDownPeriodMs)} from ${downStart})`,
  };
}

/** Records an applied change (the controller's storeScaleEvent) and drops events past every period. */
export function recordScale(
  s: HpaBehaviorState,
  b: HpaBehavior,
  recommendations: Recommendation[],
  from: number,
  to: number,
  nowMs: number,
): HpaBehaviorState {
  const longest = Math.max(b.scaleUpPeriodMs, b.scaleDownPeriodMs);
  const fresh = (events: ScaleEvent[]) => restamp(events, nowMs).filter((e) => e.atMs > nowMs - longest);
  const up = fresh(s.scaleUpEvents);
  const down = fresh(s.scaleDownEvents);
  if (to > from) up.push({ atMs: nowMs, change: to - from });
  if (to < from) down.push({ atMs: nowMs, change: from - to });
  return { recommendations, scaleUpEvents: up, scaleDownEvents: down };
}
