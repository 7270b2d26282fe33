// The one shared clamp: bounds (minWorkers/maxWorkers) and optional step limits, applied
// after a policy has said what it wants. It reports which bound applied and why, in the
// same words for every policy (like the HPA's convertDesiredReplicasWithRules):
//   capped_max        "wanted 23 = 18 + 5, capped at max 20"
//   at_max            "wanted 22 = 20 + 2, already at max 20"
//   raised_to_min     "wanted 0 = 0 + 0, raised to min 2"
//   at_min            "wanted 1 = 2 - 1, already at min 2"
//   limited_step_up   "wanted 30 = 10 + 20, limited to +8 per decision (18)"
//   limited_step_down "wanted 2 = 10 - 8, limited to -4 per decision (6)"
// Bounds win over step limits: a pool below its minimum goes straight to the minimum.

import type { Decision, ScaleAction } from './types.ts';

export interface ClampLimits {
  minWorkers: number;
  maxWorkers: number;
  /** Most workers one decision may add (absent: no limit). */
  maxStepUp?: number;
  /** Most workers one decision may remove (absent: no limit). */
  maxStepDown?: number;
  /** Says where a step limit comes from (default "per decision"), e.g. "HPA rate: +100% or +4 per 15 s". */
  stepUpSource?: string;
  stepDownSource?: string;
}

export type ClampBound = 'max' | 'min' | 'step_up' | 'step_down';

export interface ClampResult {
  /** What the policy wanted. */
  wanted: number;
  /** What it gets. */
  target: number;
  /** Which limit changed the wish (null: none did). */
  bound: ClampBound | null;
  /** Reason code when a limit applied (`capped_max`, `at_max`, ...), else null. */
  code: string | null;
  /** The sentence explaining the limit, else null. */
  note: string | null;
}

function wish(current: number, wanted: number): string {
  const delta = wanted - current;
  return `wanted ${wanted} = ${current} ${delta < 0 ? '-' : '+'} ${Math.abs(delta)}`;
}

/** Applies bounds and step limits to a wished-for target. Pure. */
export function clampTarget(current: number, wanted: number, limits: ClampLimits): ClampResult {
  const w = Math.round(wanted);
  let target = w;
  let bound: ClampBound | null = null;
  let limitNote = '';
  if (limits.maxStepUp !== undefined && target > current + limits.maxStepUp) {
    target = current + limits.maxStepUp;
    bound = 'step_up';
    limitNote = `limited to +${limits.maxStepUp} ${limits.stepUpSource ?? 'per decision'} (${target})`;
  }
  if (limits.maxStepDown !== undefined && target < current - limits.maxStepDown) {
    target = Math.max(0, current - limits.maxStepDown);
    bound = 'step_down';
    limitNote = `limited to -${limits.maxStepDown} ${limits.stepDownSource ?? 'per decision'} (${target})`;
  }
  if (target > limits.maxWorkers) {
    target = limits.maxWorkers;
    bound = 'max';
  }
  if (target < limits.minWorkers) {
    target = limits.minWorkers;
    bound = 'min';
  }
  if (bound === null) return { wanted: w, target, bound, code: null, note: null };
  const stuck = target === current;
  let code: string;
  let note: string;
  switch (bound) {
    case 'max':
      code = stuck ? 'at_max' : 'capped_max';
      note = stuck ? `already at max ${limits.maxWorkers}` : `capped at max ${limits.maxWorkers}`;
      break;
    case 'min':
      code = stuck ? 'at_min' : 'raised_to_min';
      note = stuck ? `already at min ${limits.minWorkers}` : `raised to min ${limits.minWorkers}`;
      break;
    case 'step_up':
      code = 'limited_step_up';
      note = limitNote;
      break;
    case 'step_down':
      code = 'limited_step_down';
      note = limitNote;
      break;
    default: {
      const never: never = bound;
      throw new Error(`unknown bound ${String(never)}`);
    }
  }
  return { wanted: w, target, bound, code, note: `${wish(current, w)}, ${note}` };
}

export function actionFor(current: number, target: number): ScaleAction {
  return target > current ? 'scale_up' : target < current ? 'scale_down' : 'none';
}

/**
 * Clamps a decision a policy returned: the target, the action (recomputed from target vs
 * current), and, when a limit applied, the code and a reason naming it after the policy's own.
 * Clamping a decision twice with the same limits gives the same decision.
 */
export function clampDecision<S>(decision: Decision<S>, current: number, limits: ClampLimits): Decision<S> {
  const c = clampTarget(current, decision.target, limits);
  if (c.code === null || c.target === decision.target) {
    return { ...decision, target: c.target, action: actionFor(current, c.target) };
  }
  return {
    ...decision,
    target: c.target,
    action: actionFor(current, c.target),
    code: c.code,
    reason: `${decision.reason}; ${c.note}`,
  };
}

/**
 * How a policy finishes: it names what it wants and the state to keep if the pool really
 * moves (`moved`) or not (`held`: at a bound, nothing happened, so no cooldown starts).
 */
export function settle<S>(args: {
  current: number;
  wanted: number;
  code: string;
  reason: string;
  limits: ClampLimits;
  /** The next state if the pool moves; a function gets the clamped target. */
  moved: S | ((target: number) => S);
  held: S;
}): Decision<S> {
  const c = clampTarget(args.current, args.wanted, args.limits);
  const action = actionFor(args.current, c.target);
  const moved = typeof args.moved === 'function' ? (args.moved as (target: number) => S) : () => args.moved as S;
  return {
    action,
    target: c.target,
    code: c.code ?? args.code,
    reason: c.note ? `${args.reason}; ${c.note}` : args.reason,
    state: action === 'none' ? args.held : moved(c.target),
  };
}
