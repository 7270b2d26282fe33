// The pools room's door.
export type * from './types.ts';
export type * from './driver.ts';
export { WorkerPool, RESPAWN_DEFAULTS, type WorkerPoolOptions, type PoolEvent, type TaskLogEvent } from './pool.ts';
export { InProcessPool, type InProcessPoolOptions } from './inproc-pool.ts';
export { watchPoolEvents, RECYCLE_LOG_EVERY_MS, type PoolEventNote } from './pool-events.ts';
export { ThreadDriver, type ThreadDriverOptions } from './drivers/thread.ts';
export { InlineDriver, type InlineDriverOptions } from './drivers/inline.ts';
export { MAX_LOG_LINE_CHARS, capLogLine } from './drivers/log-text.ts';
export { assessHealth, worstHealth, HEALTH_THRESHOLDS, type HealthInput, type HealthReport } from './health.ts';
export { nearestRank, type WindowFigures } from './window.ts';
export { RemotePool, type RemotePoolOptions, type RunnerInfo, type RegisterInput } from './remote/remote-pool.ts';
export { CommandDriver, type CommandDriverOptions } from './drivers/command.ts';
export { ProcessDriver, type ProcessDriverOptions } from './drivers/process.ts';
export { NO_RETRY_EXIT_CODE } from './child/command-run.ts';
export { PROTOCOL_VERSION, MAX_LINE_BYTES, MAX_RESULT_BYTES, MAX_LOG_LINE_BYTES } from './child/protocol.ts';
