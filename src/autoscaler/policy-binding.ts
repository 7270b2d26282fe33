// The autoscaler's one contact with the policies room: resolve a policy by name (with a
// preset and overrides, bounded by the pool's min/max), and clamp a decision with the
// shared clamp. The policy itself stays pure; its state lives here between ticks.
import { clampDecision as sharedClamp, resolvePolicy, type BaseConfig, type Decision, type PolicyDefinition } from '../policies/index.ts';

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
