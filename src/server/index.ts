// The server room's door: the HTTP API, /metrics, /health and the dashboard.
export { TidepoolServer } from './server.ts';
export type { ListenOptions } from './server.ts';
export type { CallbackIntake, ServerOptions, ServerRuntime, PoolControl, PoolChange, RateLimitOptions } from './types.ts';
export { SERVER_DEFAULTS } from './types.ts';
export { parseApiKeys, loadKeyFile, DEFAULT_TENANT, isLoopbackHost } from './auth.ts';
export { TokenBucket } from './token-bucket.ts';
export { combineHealth, poolHealth } from './health.ts';
export { autoscaledRuntime } from './runtime.ts';
export type { AutoscaledRuntimeInput } from './runtime.ts';
export { ServerFaults, watchStore } from './store-watch.ts';
