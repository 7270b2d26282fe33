// The autoscaler's one contact with the policies room: resolve a policy by name (with a
// preset and overrides, bounded by the pool's min/max), and clamp a decision with the
// shared clamp. The policy itself stays pure; its state lives here between ticks.
import { clampDecision as sharedClamp, fixedBoundProblem, parseFixed, resolvePolicy, type BaseConfig, type Decision, type PolicyDefinition } from '../policies/index.ts';

export interface PolicyChoice {
  /** Registry name: threshold, queue-latency, ratio, percent, hpa, keda, kpa, target-tracking, queue-time, adaptive, fixed:N. */
  name: string;
  preset?: string;
  /** Knob overrides by name. */
  overrides?: Record<string, unknown>;
}

export interface BoundPolicy {
  choice: PolicyChoice;
  name: string;
  preset: string | null;
  /** `threshold` or `threshold/aggressive`, as the event log shows it. */
  label: string;
  definition: PolicyDefinition<BaseConfig, unknown>;
  config: BaseConfig & Record<string, unknown>;
  state: unknown;
}

/** Resolves a policy for a pool with the given bounds; throws the policies room's error for a bad name/preset/knob. */
export function bindPolicy(choice: PolicyChoice, minWorkers: number, maxWorkers: number): BoundPolicy {
  const resolved = resolvePolicy({ name: choice.name, preset: choice.preset, overrides: choice.overrides, minWorkers, maxWorkers });
  const def = resolved.definition as unknown as PolicyDefinition<BaseConfig, unknown>;
  const cfg = resolved.config as BaseConfig & Record<string, unknown>;
  const preset = resolved.preset;
  return {
    choice,
    name: choice.name,
    preset,
    label: preset ? `${choice.name}/${preset}` : choice.name,
    definition: def,
    config: cfg,
    state: def.initialState(cfg),
  };
}

/** The tick a policy asks for (threshold's evaluationIntervalMs), if it has one. */
export function policyIntervalMs(bound: BoundPolicy): number | undefined {
  const v = bound.config.evaluationIntervalMs;
  return typeof v === 'number' && v > 0 ? v : undefined;
}

/** The policy's bounds for a pool whose config leaves minWorkers/maxWorkers unset. */
export function policyBounds(choice: PolicyChoice): { minWorkers: number; maxWorkers: number } {
  const { config } = resolvePolicy({ name: choice.name, preset: choice.preset, overrides: choice.overrides });
  return { minWorkers: config.minWorkers, maxWorkers: config.maxWorkers };
}

/** Applies the shared clamp with the policy config's bounds (a no-op for a well-behaved policy). */
export function clampDecision(decision: Decision<unknown>, config: BaseConfig, current: number): { target: number; code: string; reason: string } {
  const d = sharedClamp(decision, current, { minWorkers: config.minWorkers, maxWorkers: config.maxWorkers });
  return { target: d.target, code: d.code, reason: d.reason };
}

/** A runtime change of a pool's bounds and/or policy (PATCH /v1/pools/{name}). */
export interface BoundsChange {
  min?: number;
  max?: number;
  policy?: string;
  preset?: string;
}

/**
 * The bounds a pool has after a runtime change, by the docs' rule for `fixed:N`: it pins
 * the pool at N (bounds N..N) and a bound other than N given with it is refused, naming fixed:N;
 * leaving fixed:N without new bounds gives the new policy its own bounds. Returns the
 * bounds, or the body field at fault and why.
 */
export function boundsAfterChange(
  current: { policy: string; minWorkers: number; maxWorkers: number },
  change: BoundsChange,
): { minWorkers: number; maxWorkers: number } | { field: 'min' | 'max'; problem: string } {
  const policy = change.policy ?? current.policy;
  const fixed = parseFixed(policy);
  const hasBounds = change.min !== undefined || change.max !== undefined;
  if (fixed && 'workers' in fixed) {
    // A bound that restates N changes nothing and is accepted.
    const field = change.min !== undefined && change.min !== fixed.workers ? 'min' : change.max !== undefined && change.max !== fixed.workers ? 'max' : null;
    if (field) return { field, problem: fixedBoundProblem(policy, field, change[field]) };
    return { minWorkers: fixed.workers, maxWorkers: fixed.workers };
  }
  if (!hasBounds && change.policy !== undefined && parseFixed(current.policy)) {
    try {
      return policyBounds({ name: change.policy, ...(change.preset !== undefined ? { preset: change.preset } : {}) });
    } catch {
      // A bad policy name is reported by the policy check itself.
    }
  }
  return { minWorkers: change.min ?? current.minWorkers, maxWorkers: change.max ?? current.maxWorkers };
}
