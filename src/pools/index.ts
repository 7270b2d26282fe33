// The pools room's door.
export type * from './types.ts';
export { InProcessPool, type InProcessPoolOptions, type PoolEvent } from './inproc/pool.ts';
export { assessHealth, worstHealth, HEALTH_THRESHOLDS, type HealthInput, type HealthReport } from './inproc/health.ts';
export { nearestRank, type WindowFigures } from './inproc/window.ts';
export { RemotePool, type RemotePoolOptions, type RunnerInfo, type RegisterInput } from './remote/remote-pool.ts';
