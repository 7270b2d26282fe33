// The policies room's door. Pure decision logic only: no I/O, no timers, no Date.
// The live autoscaler and the simulator both resolve policies here and run the same code.
export type * from './types.ts';
export { resolvePolicy, listPolicies, knownPolicyNames, getPolicy } from './registry.ts';
export type { ResolveInput, ResolvedPolicy, PolicyInfo, AnyPolicy } from './registry.ts';
export { clampTarget, clampDecision, actionFor } from './clamp.ts';
export type { ClampLimits, ClampResult, ClampBound } from './clamp.ts';
export { checkCooldown } from './cooldown.ts';
export { makeObservation, buildObservation } from './observation.ts';
export type { ObservationFacts } from './observation.ts';
export { renderPolicyReference, renderPolicyHelp } from './reference.ts';
export { checkPoolPolicy, configPolicyProblems, fixedBoundProblem } from './pool-check.ts';
export type { PoolPolicySettings, PoolPolicyProblem } from './pool-check.ts';
export { parseFixed } from './fixed.ts';
