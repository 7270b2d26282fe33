// The autoscaler room's door: the control loop and its types.
export { Autoscaler, type AutoscalerOptions, type AutoscaledPool, type LastDecision, type PoolControl, type ScalingSeams } from './autoscaler.ts';
export { bindPolicy, boundsAfterChange, policyBounds, type BoundsChange, type PolicyChoice, type BoundPolicy } from './policy-binding.ts';
export { observe, runnableDepth } from './observe.ts';
