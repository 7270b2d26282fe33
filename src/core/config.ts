// Tidepool's configuration: one typed config, its defaults, and the option table every
// other place reads (the zod schema, the env/flag loader in cli/config-load.ts, and the
// generated docs/configuration.md). Each option's unit, default and allowed range are
// written once, here, in OPTIONS / POOL_OPTIONS.
//
// To add a section (e.g. `server`): add rows to OPTIONS with paths `server.port` etc.;
// the schema, the loader and the docs pick them up. Then add the field to TidepoolConfig.
import { z } from 'zod';
import { MAX_POOL_WORKERS } from './limits.ts';
import { scheduleInputSchema } from './schedule.ts';
import type { ScheduleInput } from './schedule.ts';

/** How a setting's value is written and checked. */
export type OptionKind =
  | 'int' // integer within [min, max]
  | 'number' // finite number within [min, max]
  | 'enum' // one of `values`
  | 'string' // non-empty string
  | 'bool' // true/false (env: true/false/1/0/yes/no)
  | 'duration' // integer milliseconds; env and flags also take 30s, 2m, 500ms
  | 'list' // non-empty list of non-empty strings (env/flag: comma-separated)
  | 'record' // a JSON object (policy options)
  | 'webhooks'; // a list of {url, secret} (env/flag: JSON)

export interface OptionSpec {
  /** Dotted path in the config object (`retry.maxAttempts`); pool rows are relative to one pool. */
  path: string;
  kind: OptionKind;
  /** Unit of the value (`ms`, `tasks`, `workers`, `fraction`, ...), '' when none. */
  unit: string;
  /** Default value; undefined when the setting has none (e.g. bounds come from the policy). */
  default?: unknown;
  min?: number;
  max?: number;
  values?: readonly string[];
  /** One line for the docs. */
  doc: string;
  /** Environment variables that set it (first wins when several are set). */
  env?: readonly string[];
  /** For env vars in seconds (WORKER_SHUTDOWN_TIMEOUT_S) or percent (RETRY_JITTER_PCT): multiply by this to get the unit. */
  envScale?: number;
  /** The CLI flag that sets it (`--max`). */
  flag?: string;
  /** How an env/flag value maps onto the setting (MAX_RETRIES counts retries, not attempts). */
  envOffset?: number;
}

export type Durability = 'full' | 'normal';

export interface RetryConfig {
  maxAttempts: number;
  baseMs: number;
  maxMs: number;
  jitter: number;
}

/** Worker kinds (contract names of `pools[i].kind`); see src/pools/driver.ts. */
export const WORKER_KINDS = ['inline', 'thread', 'command', 'process', 'remote'] as const;
export type WorkerKind = (typeof WORKER_KINDS)[number];

export interface PoolConfig {
  name: string;
  types: string[];
  /** What a worker is: inline (default), thread, command, process, remote. */
  kind: WorkerKind;
  /** thread kind: the handler module (default export: { type: handler }, as --handlers takes). */
  module?: string;
  /** command and process kinds: the program and its arguments (argv, no shell); command kind: a template ({payload}, {payload.FIELD}, {id}, ...). */
  command?: string[];
  /** command and process kinds: the program's working directory. */
  cwd?: string;
  /** command and process kinds: variables added to the child's minimal environment (PATH, HOME, LANG, TZ). */
  env?: Record<string, string>;
  /** command and process kinds: SIGTERM -> SIGKILL grace when a child's process group is stopped, ms. */
  killGraceMs?: number;
  /** process kind: a worker that sends no `ready` line this long after spawn failed to start, ms. */
  startTimeoutMs?: number;
  /** Undefined: the policy's own bounds. */
  minWorkers?: number;
  maxWorkers?: number;
  policy: string;
  preset?: string;
  policyOptions: Record<string, unknown>;
  /** Autoscaler tick for this pool; undefined: autoscaler.intervalMs. */
  intervalMs?: number;
  /** Per-attempt timeout of this pool's tasks (below a type's and a task's own); undefined: taskTimeoutMs. */
  taskTimeoutMs?: number;
  pollMs: number;
  maxTasksPerWorker: number;
  stallTimeoutMs: number;
  shutdownTimeoutMs: number;
  windowMs: number;
  /** Price of one worker for an hour, in your currency (spend in the pool JSON; default 1). */
  pricePerWorkerHour: number;
  /** Price of one worker start (default 0). */
  pricePerStart: number;
  /** The pool's p95 wait target (alerts; adaptive's target unless its knobs set one). */
  sloMs?: number;
  /** In a cluster: the most workers of this pool this node runs. */
  maxWorkersPerNode?: number;
}

/** A pool as the config lists it: its types, and any pool settings it overrides. */
export type PoolEntry = Partial<Omit<PoolConfig, 'types'>> & { types: string[] };

export interface TidepoolConfig {
  store: string;
  durability: Durability;
  leaseMs: number;
  heartbeatMs: number;
  taskTimeoutMs: number;
  /** Timeouts by task type (task > type > pool > global). */
  taskTimeoutMsByType: Record<string, number>;
  retry: RetryConfig;
  maxQueueDepth: number;
  tenantConcurrency: number;
  autoscaler: { enabled: boolean; intervalMs: number; sampleEveryTicks: number };
  /** Several processes sharing one store as one system (src/cluster/). */
  cluster: { enabled: 'auto' | 'on' | 'off'; nodeId?: string; heartbeatMs: number; nodeTtlMs: number; leaderTtlMs: number };
  /** This node's region (seed 001's CURRENT_REGION); shown in /v1/nodes; its pools serve the region's tasks first. */
  region?: string;
  /** How long a region stays without a live node before other regions' nodes take its tasks, ms. */
  regionFailoverMs: number;
  /** Settings every pool starts from (and the pools made for handler types no pool lists). */
  poolDefaults: Omit<PoolConfig, 'name' | 'types'>;
  /** Pools as written: any pool setting left out comes from poolDefaults (see resolvePoolConfig). */
  pools: PoolEntry[];
  /**
   * Recurring tasks (docs/schedules.md), synced into the store at start. Unset: this node
   * leaves the store's schedules as they are; a list (even empty) replaces the config ones.
   */
  schedules?: ScheduleInput[];
  /** Sections other rooms add (server, ...) live beside these. */
  [section: string]: unknown;
}

/** Top-level options. Paths under `poolDefaults.` mirror POOL_OPTIONS. */
export const OPTIONS: readonly OptionSpec[] = [
  { path: 'store', kind: 'string', unit: 'url', default: 'sqlite:./tidepool.db', doc: 'Where tasks live: `memory`, `sqlite:PATH[?durability=…]`, `postgres://…[?schema=NAME]` or `redis://…[/DB][?prefix=NAME]` (docs/stores.md).', env: ['TIDEPOOL_STORE'], flag: '--store' },
  { path: 'durability', kind: 'enum', unit: '', default: 'full', values: ['full', 'normal'], doc: 'SQLite sync (the URL\'s `?durability=` wins over it, with a warning): `full` acknowledges a submit only once it is on disk (survives power loss); `normal` survives a killed process only.', env: ['TIDEPOOL_DURABILITY'], flag: '--durability' },
  { path: 'leaseMs', kind: 'duration', unit: 'ms', default: 20_000, min: 100, max: 86_400_000, doc: 'How long a claimed task stays leased to its worker without a heartbeat. A killed server\'s tasks are retried once it passes (20 s by default, so within 30 s of a restart).', env: ['TIDEPOOL_LEASE_MS'], flag: '--lease-ms' },
  { path: 'heartbeatMs', kind: 'duration', unit: 'ms', default: 0, min: 0, max: 86_400_000, doc: 'How often a running task extends its lease; 0 = leaseMs / 3.', env: ['TIDEPOOL_HEARTBEAT_MS'], flag: '--heartbeat-ms' },
  { path: 'retry.maxAttempts', kind: 'int', unit: 'attempts', default: 3, min: 1, max: 1000, doc: 'Attempts a task gets (the first run included) before it ends dead. MAX_RETRIES counts retries only, so MAX_RETRIES=2 means 3 attempts.', env: ['TIDEPOOL_MAX_ATTEMPTS', 'MAX_RETRIES'], envOffset: 1, flag: '--max-attempts' },
  { path: 'retry.baseMs', kind: 'duration', unit: 'ms', default: 1000, min: 0, max: 86_400_000, doc: 'First retry backoff; attempt n waits up to baseMs * 2^(n-1).', env: ['RETRY_BASE_MS'], flag: '--retry-base-ms' },
  { path: 'retry.maxMs', kind: 'duration', unit: 'ms', default: 300_000, min: 0, max: 86_400_000, doc: 'Cap on one retry backoff.', env: ['RETRY_MAX_MS'], flag: '--retry-max-ms' },
  { path: 'retry.jitter', kind: 'number', unit: 'fraction', default: 1, min: 0, max: 1, doc: 'Share of the backoff drawn at random: 1 = full jitter (uniform in [0, backoff]), 0 = none. RETRY_JITTER_PCT gives it in percent (0-100): RETRY_JITTER_PCT=20 is 0.2.', env: ['RETRY_JITTER_PCT'], envScale: 0.01, flag: '--retry-jitter' },
  { path: 'taskTimeoutMs', kind: 'duration', unit: 'ms', default: 300_000, min: 1, max: 86_400_000, doc: "Per-attempt time limit for tasks that set none: the handler's signal aborts and the attempt fails with Timeout.", env: ['TIDEPOOL_TASK_TIMEOUT_MS'], flag: '--task-timeout-ms' },
  { path: 'taskTimeoutMsByType', kind: 'record', unit: 'ms', default: {}, doc: "Per-attempt time limit by task type, e.g. {\"code\": 120000, \"general\": 60000} (each an integer in [1, 86400000] ms). Precedence: the task's own timeoutMs > this > its pool's taskTimeoutMs > taskTimeoutMs.", env: ['TIDEPOOL_TASK_TIMEOUT_MS_BY_TYPE'] },
  { path: 'maxQueueDepth', kind: 'int', unit: 'tasks', default: 0, min: 0, max: 1e9, doc: 'Backpressure: submits are refused (QueueFull, with a retry-after) once this many tasks wait; 0 = off.', env: ['MAX_QUEUE_DEPTH'], flag: '--max-queue-depth' },
  { path: 'tenantConcurrency', kind: 'int', unit: 'tasks', default: 0, min: 0, max: 1e6, doc: 'Running tasks per tenant, at most; 0 = unlimited.', env: ['PER_TENANT_MAX_CONCURRENCY'], flag: '--tenant-concurrency' },
  { path: 'autoscaler.enabled', kind: 'bool', unit: '', default: true, doc: 'Run the control loop; false keeps every pool at its minimum (or a count set by hand).', env: ['AUTOSCALE_ENABLED'], flag: '--autoscale' },
  { path: 'autoscaler.intervalMs', kind: 'duration', unit: 'ms', default: 1000, min: 10, max: 3_600_000, doc: 'How often the loop observes, decides and applies, per pool.', env: ['AUTOSCALE_EVALUATION_INTERVAL', 'TIDEPOOL_INTERVAL_MS'], flag: '--interval-ms' },
  { path: 'autoscaler.sampleEveryTicks', kind: 'int', unit: 'ticks', default: 5, min: 1, max: 10_000, doc: 'Store a metric sample per pool every this many ticks (history for the dashboard).', env: ['TIDEPOOL_SAMPLE_EVERY_TICKS'] },
  // Many processes, one queue (docs/cluster.md): node records, a fenced leader, shares.
  { path: 'cluster.enabled', kind: 'enum', unit: '', default: 'auto', values: ['auto', 'on', 'off'], doc: 'Run as a node of a cluster: register in the store, elect one leader that alone runs the autoscaler decisions and maintenance, and run this node\'s share of each pool. `auto`: on for stores several processes can share (SQLite file, PostgreSQL, Redis), off for `memory`.', env: ['TIDEPOOL_CLUSTER'], flag: '--cluster' },
  { path: 'cluster.nodeId', kind: 'string', unit: '', doc: 'This node\'s id in /v1/nodes (default: host-pid-random, new at every start).', env: ['TIDEPOOL_NODE_ID'], flag: '--node-id' },
  { path: 'cluster.heartbeatMs', kind: 'duration', unit: 'ms', default: 1000, min: 10, max: 600_000, doc: 'How often a node renews its record and the leadership lease, and looks at its shares.', env: ['TIDEPOOL_CLUSTER_HEARTBEAT_MS'] },
  { path: 'cluster.nodeTtlMs', kind: 'duration', unit: 'ms', default: 5000, min: 50, max: 3_600_000, doc: 'A node whose record was not renewed this long is gone (its workers stop counting toward a pool\'s max).', env: ['TIDEPOOL_NODE_TTL_MS'] },
  { path: 'cluster.leaderTtlMs', kind: 'duration', unit: 'ms', default: 5000, min: 50, max: 3_600_000, doc: 'The leadership lease: a leader that stops renewing it (killed, paused) is replaced once it lapses; with the defaults a new leader shows within about 6 s. A leader stopped with SIGTERM hands over at once.', env: ['TIDEPOOL_LEADER_TTL_MS'] },
  { path: 'region', kind: 'string', unit: '', doc: 'This node\'s region, shown in /v1/nodes (seed 001\'s CURRENT_REGION). In a cluster its pools claim the tasks of this region and those without one, and the tasks of a region with no live node once regionFailoverMs has passed (docs/cluster.md, Regions). Unset: the node claims every task.', env: ['TIDEPOOL_REGION', 'CURRENT_REGION'], flag: '--region' },
  { path: 'regionFailoverMs', kind: 'duration', unit: 'ms', default: 30_000, min: 0, max: 86_400_000, doc: 'How long a region may have no live node (its last node\'s record lapsed, cluster.nodeTtlMs after its last heartbeat) before nodes of other regions claim its tasks.', env: ['TIDEPOOL_REGION_FAILOVER_MS'], flag: '--region-failover-ms' },
  // The HTTP server (`tidepool start`). Out of the box the rate limit, the maximum queue
  // depth and tenant limits are off; `server.limits: standard` applies the seeds' numbers.
  { path: 'server.port', kind: 'int', unit: 'port', default: 7700, min: 0, max: 65_535, doc: 'TCP port of the HTTP API and dashboard (0 = any free port). PORT is read when TIDEPOOL_PORT is not set.', env: ['TIDEPOOL_PORT', 'PORT'], flag: '--port' },
  { path: 'server.host', kind: 'string', unit: 'host', default: '127.0.0.1', doc: 'Address to listen on. Without API keys only loopback (127.0.0.1, ::1, localhost) is allowed.', env: ['TIDEPOOL_HOST'], flag: '--host' },
  { path: 'server.limits', kind: 'enum', unit: '', default: 'off', values: ['off', 'standard'], doc: "Preset of limits: `off`, or `standard` = the seeds' numbers (30 requests/s global rate limit, 3 running tasks per tenant, maxQueueDepth 100) for settings left at 0.", env: ['TIDEPOOL_LIMITS'], flag: '--limits' },
  { path: 'server.rateLimitPerSec', kind: 'number', unit: 'requests/s', default: 0, min: 0, max: 1_000_000, doc: 'Global rate limit over the /v1 API (token bucket; 429 with Retry-After); 0 = off.', env: ['GLOBAL_QPS_LIMIT'], flag: '--rate-limit' },
  { path: 'server.rateLimitBurst', kind: 'int', unit: 'requests', default: 0, min: 0, max: 1_000_000, doc: 'Token bucket size (requests allowed at once); 0 = one second of the rate.', env: ['TIDEPOOL_RATE_LIMIT_BURST'], flag: '--rate-limit-burst' },
  { path: 'server.bodyLimitBytes', kind: 'int', unit: 'bytes', default: 1_048_576, min: 1024, max: 1_073_741_824, doc: 'Largest request body; a larger one gets 413 (the connection stays usable).', env: ['TIDEPOOL_BODY_LIMIT_BYTES'], flag: '--body-limit-bytes' },
  { path: 'server.headersTimeoutMs', kind: 'duration', unit: 'ms', default: 10_000, min: 100, max: 600_000, doc: "A client must finish sending a request's headers within this long of connecting or of its previous request (at most server.requestTimeoutMs); else 408 RequestTimeout and the socket closes.", env: ['TIDEPOOL_HEADERS_TIMEOUT_MS'], flag: '--headers-timeout-ms' },
  { path: 'server.requestTimeoutMs', kind: 'duration', unit: 'ms', default: 30_000, min: 100, max: 3_600_000, doc: 'A client must finish sending a whole request (headers and body) within this long; else 408 RequestTimeout and the socket closes. An answer the server holds (?wait=MS) is not cut by it.', env: ['TIDEPOOL_REQUEST_TIMEOUT_MS'], flag: '--request-timeout-ms' },
  { path: 'server.idleTimeoutMs', kind: 'duration', unit: 'ms', default: 65_000, min: 100, max: 3_600_000, doc: 'A keep-alive connection with no request in flight is closed after this long (longer than the 60 s of common load balancers).', env: ['TIDEPOOL_IDLE_TIMEOUT_MS'], flag: '--idle-timeout-ms' },
  { path: 'server.retentionMs', kind: 'duration', unit: 'ms', default: 604_800_000, min: 0, max: 315_360_000_000, doc: 'Ended tasks (succeeded, dead, cancelled) are purged this long after they end; 0 = keep forever.', env: ['TIDEPOOL_RETENTION_MS'], flag: '--retention-ms' },
  { path: 'server.apiKeysFile', kind: 'string', unit: 'path', doc: 'File of `tenant=key` pairs (one a line or comma-separated); TIDEPOOL_API_KEYS=tenant=key,... adds more. With keys, requests need Authorization: Bearer KEY.', env: ['TIDEPOOL_API_KEYS_FILE'], flag: '--api-keys-file' },
  { path: 'server.adminTenants', kind: 'list', unit: 'tenants', doc: 'Tenants allowed to change pools (PATCH /v1/pools/{name}, POST /v1/pools/{name}/scale); other tenants get 403 Forbidden. Unset: every tenant may (as before; with API keys the server logs a warning at start). Reads stay open to every tenant; without API keys it has no effect.', env: ['TIDEPOOL_ADMIN_TENANTS'], flag: '--admin-tenants' },
  { path: 'server.drainTimeoutMs', kind: 'duration', unit: 'ms', default: 30_000, min: 0, max: 86_400_000, doc: 'On SIGTERM: stop taking tasks, give running ones this long to finish, then exit.', env: ['TIDEPOOL_DRAIN_TIMEOUT_MS'], flag: '--drain-timeout-ms' },
  { path: 'server.streamIntervalMs', kind: 'duration', unit: 'ms', default: 1000, min: 100, max: 60_000, doc: 'How often the dashboard stream sends a snapshot.', env: ['TIDEPOOL_STREAM_INTERVAL_MS'] },
  // Alerts (docs/alerts.md): rules evaluated every alerts.intervalMs; each firing and resolution
  // goes to the webhooks, signed, and into the event log.
  { path: 'alerts.webhooks', kind: 'webhooks', unit: '', default: [], doc: 'Where alerts go: `[{url, secret}]`; each firing and resolution is POSTed as JSON with a `Tidepool-Signature: t=<ms>,v1=<hex HMAC-SHA256(secret, t.body)>` header, retried with backoff.', env: ['TIDEPOOL_ALERT_WEBHOOKS'] },
  { path: 'alerts.intervalMs', kind: 'duration', unit: 'ms', default: 10_000, min: 100, max: 3_600_000, doc: 'How often the alert rules look at the pools.', env: ['TIDEPOOL_ALERTS_INTERVAL_MS'] },
  { path: 'alerts.sloBreachEvaluations', kind: 'int', unit: 'evaluations', default: 3, min: 1, max: 10_000, doc: "slo_breach fires when a pool's window p95 wait is above its sloMs for this many evaluations in a row." },
  { path: 'alerts.backlogGrowingMs', kind: 'duration', unit: 'ms', default: 300_000, min: 1000, max: 86_400_000, doc: 'backlog_growing fires when a queue has grown without falling for this long.' },
  { path: 'alerts.deadPerMinute', kind: 'number', unit: 'tasks/min', default: 10, min: 0, max: 1e9, doc: 'dead_tasks fires when more tasks than this end dead per minute in a pool.' },
  // The scheduler (docs/schedules.md): one node at a time (the holder of the `scheduler`
  // lease) submits each due tick of the schedules in the store.
  { path: 'scheduler.enabled', kind: 'bool', unit: '', default: true, doc: 'Take part in running schedules: this node may hold the scheduler lease and submit due ticks; false serves /v1/schedules but never submits ticks.', env: ['TIDEPOOL_SCHEDULER_ENABLED'] },
  { path: 'scheduler.leaseMs', kind: 'duration', unit: 'ms', default: 10_000, min: 100, max: 3_600_000, doc: 'Time to live of the scheduler lease, renewed every leaseMs / 3; after a crash another node takes over within this long (a node that stops releases it at once).', env: ['TIDEPOOL_SCHEDULER_LEASE_MS'] },
  { path: 'scheduler.graceMs', kind: 'duration', unit: 'ms', default: 30_000, min: 0, max: 86_400_000, doc: "A tick submitted at most this late counts as on time; once the oldest unsubmitted tick is later than this, the schedule's catchUp rule decides which missed ticks are submitted.", env: ['TIDEPOOL_SCHEDULER_GRACE_MS'] },
  { path: 'scheduler.catchUpLimit', kind: 'int', unit: 'ticks', default: 100, min: 1, max: 100_000, doc: 'catchUp `all` submits at most this many missed ticks per schedule after downtime (the most recent ones).', env: ['TIDEPOOL_SCHEDULER_CATCH_UP_LIMIT'] },
  // Completion callbacks (docs/callbacks.md): a submit's callbackUrl gets the task JSON when the
  // task ends, signed with callbacks.secret as alerts are, retried with backoff, kept in the store until delivered.
  { path: 'callbacks.secret', kind: 'string', unit: '', doc: 'Signs completion callbacks (`Tidepool-Signature`, as alerts); at least 16 characters. Unset: submits with callbackUrl are refused (400).', env: ['TIDEPOOL_CALLBACK_SECRET'] },
  { path: 'callbacks.maxAttempts', kind: 'int', unit: 'attempts', default: 10, min: 1, max: 1000, doc: 'Posts per callback, the first included, before it is given up (recorded as `callback_failed` in the event log). A 2xx delivers; a 4xx other than 408/429 is not retried.', env: ['TIDEPOOL_CALLBACK_MAX_ATTEMPTS'] },
  { path: 'callbacks.baseBackoffMs', kind: 'duration', unit: 'ms', default: 1000, min: 1, max: 86_400_000, doc: 'Wait before the second post; doubling after each failure up to callbacks.maxBackoffMs.', env: ['TIDEPOOL_CALLBACK_BASE_BACKOFF_MS'] },
  { path: 'callbacks.maxBackoffMs', kind: 'duration', unit: 'ms', default: 300_000, min: 1, max: 86_400_000, doc: 'Cap on the wait between two posts of one callback.', env: ['TIDEPOOL_CALLBACK_MAX_BACKOFF_MS'] },
  { path: 'callbacks.timeoutMs', kind: 'duration', unit: 'ms', default: 10_000, min: 100, max: 600_000, doc: "One post's time limit (connect, send, answer).", env: ['TIDEPOOL_CALLBACK_TIMEOUT_MS'] },
  { path: 'callbacks.sweepIntervalMs', kind: 'duration', unit: 'ms', default: 5000, min: 50, max: 3_600_000, doc: 'How often the delivering node renews its `callbacks` lease (3x this long) and looks over every pending callback (after a restart, those of tasks that ended meanwhile go within about this long; a killed holder is replaced within 3x).', env: ['TIDEPOOL_CALLBACK_SWEEP_INTERVAL_MS'] },
  { path: 'callbacks.allowPrivateHosts', kind: 'list', unit: 'hosts', doc: 'Hosts (as written in the URL), addresses and CIDR ranges a callbackUrl may reach although private, loopback, link-local or unique-local, e.g. ["127.0.0.1", "localhost", "10.0.0.0/8"]. Unset: none.', env: ['TIDEPOOL_CALLBACK_ALLOW_PRIVATE_HOSTS'] },
];

/** Per-pool options, relative to one pool. They appear as `poolDefaults.X` and `pools[i].X`. */
export const POOL_OPTIONS: readonly OptionSpec[] = [
  { path: 'name', kind: 'string', unit: '', doc: 'Pool name (defaults to its first type).' },
  { path: 'types', kind: 'list', unit: '', doc: 'Task types (capabilities) the pool serves; one handler per type.' },
  { path: 'kind', kind: 'enum', unit: '', default: 'inline', values: WORKER_KINDS, doc: 'What a worker is: `inline` (async handlers in the server process), `thread` (worker_threads running `module`, for CPU-bound work), `command`, `process`, `remote` (see docs/pools.md).', env: ['TIDEPOOL_WORKER_KIND'], flag: '--kind' },
  { path: 'command', kind: 'list', unit: 'argv', doc: 'command and process kinds: the program and its arguments as an argv array (`["python3", "worker.py"]`), run without a shell; for `command`, arguments may hold `{payload}`, `{payload.FIELD}`, `{id}`, `{type}`, `{attempt}`, `{tenant}` (env and flag: comma-separated).', env: ['TIDEPOOL_WORKER_COMMAND'], flag: '--command' },
  { path: 'cwd', kind: 'string', unit: 'path', doc: 'command and process kinds: working directory of the program (default: the server\'s).', env: ['TIDEPOOL_WORKER_CWD'], flag: '--cwd' },
  { path: 'env', kind: 'record', unit: '', doc: 'command and process kinds: environment variables (strings) added to the child\'s minimal environment of PATH, HOME, LANG and TZ; the server\'s own variables (API keys, store URL) never reach it.' },
  { path: 'killGraceMs', kind: 'duration', unit: 'ms', default: 2000, min: 0, max: 600_000, doc: 'command and process kinds: when a child\'s process group is stopped (timeout, cancel, lost lease, scale-down), SIGKILL follows SIGTERM after this long.' },
  { path: 'startTimeoutMs', kind: 'duration', unit: 'ms', default: 30_000, min: 1, max: 3_600_000, doc: 'process kind: a worker process that has not sent its `ready` line this long after spawn failed to start.' },
  { path: 'module', kind: 'string', unit: 'path', doc: 'thread kind: the handler module each worker thread loads (its default export maps types to handlers, as `--handlers` takes); relative paths are read from the working directory.' },
  { path: 'minWorkers', kind: 'int', unit: 'workers', min: 0, max: MAX_POOL_WORKERS, doc: "Fewest workers; unset: the policy's own minimum.", env: ['MIN_WORKERS', 'AUTOSCALE_MIN_WORKERS'], flag: '--min' },
  { path: 'maxWorkers', kind: 'int', unit: 'workers', min: 1, max: MAX_POOL_WORKERS, doc: "Most workers (>= minWorkers); unset: the policy's own maximum.", env: ['MAX_WORKERS', 'AUTOSCALE_MAX_WORKERS'], flag: '--max' },
  { path: 'policy', kind: 'string', unit: '', default: 'queue-latency', doc: 'Scaling policy by name (threshold, queue-latency, ratio, percent, hpa, keda, kpa, target-tracking, queue-time, adaptive, fixed:N).', env: ['TIDEPOOL_POLICY'], flag: '--policy' },
  { path: 'preset', kind: 'string', unit: '', doc: "A named preset of the policy's knobs (e.g. balanced, aggressive).", env: ['TIDEPOOL_PRESET'], flag: '--preset' },
  { path: 'policyOptions', kind: 'record', unit: '', default: {}, doc: "Overrides of the policy's knobs by name (see docs/policies.md); the env vars TARGET_QUEUE_DEPTH, TARGET_P95_LATENCY_MS, SCALE_UP_STEP, SCALE_DOWN_STEP, SCALE_DECISION_INTERVAL_MS, AUTOSCALE_MAX_UTILIZATION, AUTOSCALE_MIN_UTILIZATION set knobs here." },
  { path: 'intervalMs', kind: 'duration', unit: 'ms', min: 10, max: 3_600_000, doc: "This pool's autoscaler tick; unset: autoscaler.intervalMs." },
  { path: 'taskTimeoutMs', kind: 'duration', unit: 'ms', min: 1, max: 86_400_000, doc: "Per-attempt time limit for this pool's tasks that set none and whose type has none in taskTimeoutMsByType; unset: the global taskTimeoutMs." },
  { path: 'pollMs', kind: 'duration', unit: 'ms', default: 1000, min: 1, max: 3_600_000, doc: "How often idle workers look for tasks submitted by other processes or coming due (a same-process submit wakes them at once).", env: ['TIDEPOOL_POLL_MS'], flag: '--poll-ms' },
  { path: 'maxTasksPerWorker', kind: 'int', unit: 'tasks', default: 0, min: 0, max: 1e9, doc: 'Resource quota: recycle a worker (replace it with a fresh one) after this many tasks; 0 = never.', env: ['MAX_SESSIONS_PER_WORKER'] },
  { path: 'stallTimeoutMs', kind: 'duration', unit: 'ms', default: 600_000, min: 1, max: 86_400_000, doc: 'A task running this long without heartbeat progress counts as a stall (health).', env: ['WORKER_STALL_TIMEOUT_MS'] },
  { path: 'shutdownTimeoutMs', kind: 'duration', unit: 'ms', default: 30_000, min: 0, max: 86_400_000, doc: 'Graceful close: wait this long for running tasks, then abort them.', env: ['WORKER_SHUTDOWN_TIMEOUT_S'], envScale: 1000 },
  { path: 'windowMs', kind: 'duration', unit: 'ms', default: 60_000, min: 100, max: 86_400_000, doc: 'Sliding window for wait/run percentiles, throughput and success rate.' },
  { path: 'pricePerWorkerHour', kind: 'number', unit: 'currency/hour', default: 1, min: 0, max: 1e9, doc: "Price of one worker for an hour, in your currency: the pool JSON, the dashboard and `load-test --json` report `spend` = worker-hours x this + starts x pricePerStart (the default 1 makes spend read as worker-hours)." },
  { path: 'pricePerStart', kind: 'number', unit: 'currency', default: 0, min: 0, max: 1e9, doc: "Price of one worker start (a cold start's own cost beyond its worker-time, e.g. a billing minimum); `adaptive` keeps an idle worker through a lull while that is cheaper than a start (it sets the policy's startCostMs unless policyOptions does)." },
  { path: 'maxWorkersPerNode', kind: 'int', unit: 'workers', min: 0, max: 100_000, doc: "In a cluster: the most workers of this pool this node runs (its share is capped; the leader gives the rest to other nodes). Unset: maxWorkers." },
  { path: 'sloMs', kind: 'duration', unit: 'ms', min: 1, max: 86_400_000, doc: "The pool's p95 wait target: the slo_breach alert uses it, and `adaptive` takes its targetP95WaitMs from it unless policyOptions set one (`simulate --slo-ms` means the same)." },
];

/** Env vars that set a policy knob in policyOptions (applied to every pool), with the knob name. */
export const POLICY_ENV: readonly { env: string; knob: string; kind: 'int' | 'number' | 'duration'; min: number; max?: number; doc: string }[] = [
  { env: 'TARGET_QUEUE_DEPTH', knob: 'targetQueueDepth', kind: 'int', min: 0, doc: 'queue-latency: scale up above this queue depth' },
  { env: 'TARGET_P95_LATENCY_MS', knob: 'targetP95Ms', kind: 'duration', min: 1, doc: 'queue-latency: scale up above this p95 latency' },
  { env: 'SCALE_UP_STEP', knob: 'scaleUpStep', kind: 'int', min: 0, doc: 'workers added per scale-up' },
  { env: 'SCALE_DOWN_STEP', knob: 'scaleDownStep', kind: 'int', min: 0, doc: 'workers removed per scale-down' },
  { env: 'SCALE_DECISION_INTERVAL_MS', knob: 'decisionIntervalMs', kind: 'duration', min: 0, doc: 'queue-latency: least time between scaling actions' },
  { env: 'AUTOSCALE_MAX_UTILIZATION', knob: 'maxUtilization', kind: 'number', min: 0, max: 1, doc: 'threshold: scale up above this utilization' },
  { env: 'AUTOSCALE_MIN_UTILIZATION', knob: 'minUtilization', kind: 'number', min: 0, max: 1, doc: 'threshold: scale down below this utilization' },
  { env: 'AUTOSCALE_EVALUATION_INTERVAL', knob: 'evaluationIntervalMs', kind: 'duration', min: 10, max: 3_600_000, doc: "policies with their own evaluation interval (threshold, hpa, keda): how often they evaluate (also sets autoscaler.intervalMs)" },
];

/** "an integer >= 1", "a number in [0, 1]", "one of full, normal": what a setting allows. */
export function describeRange(spec: Pick<OptionSpec, 'kind' | 'min' | 'max' | 'values'>): string {
  const bounds = (what: string) =>
    spec.min !== undefined && spec.max !== undefined
      ? `${what} in [${spec.min}, ${spec.max}]`
      : spec.min !== undefined
        ? `${what} >= ${spec.min}`
        : spec.max !== undefined
          ? `${what} <= ${spec.max}`
          : what;
  switch (spec.kind) {
    case 'int':
      return bounds('an integer');
    case 'number':
      return bounds('a number');
    case 'duration':
      return bounds('a duration in ms (an integer, or 500ms/30s/2m/1h)');
    case 'enum':
      return `one of ${spec.values!.join(', ')}`;
    case 'string':
      return 'a non-empty string';
    case 'bool':
      return 'true or false';
    case 'list':
      return 'a non-empty list of non-empty strings';
    case 'record':
      return 'an object';
    case 'webhooks':
      return 'a list of {url, secret} (an http(s) URL, a secret of at least 16 characters)';
    default: {
      const never: never = spec.kind;
      return never;
    }
  }
}

/** `1500`, `500ms`, `30s`, `2m`, `1h` -> milliseconds; undefined when it is none of these. */
export function parseDurationMs(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(text);
  if (!m) return undefined;
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 'ms') as 'ms' | 's' | 'm' | 'h'];
  const ms = Number(m[1]) * factor;
  return Number.isInteger(ms) ? ms : Math.round(ms);
}

/** The zod schema of one option's value (as it appears in a JSON file: already typed). */
export function schemaFor(spec: OptionSpec): z.ZodType {
  const range = describeRange(spec);
  const error = () => `expected ${range}`;
  switch (spec.kind) {
    case 'int':
    case 'duration': {
      let s = z.number({ error }).int({ error });
      if (spec.min !== undefined) s = s.min(spec.min, { error });
      if (spec.max !== undefined) s = s.max(spec.max, { error });
      if (spec.kind === 'int') return s;
      return z.preprocess((v) => (typeof v === 'string' ? (parseDurationMs(v) ?? v) : v), s);
    }
    case 'number': {
      let s = z.number({ error }).finite({ error });
      if (spec.min !== undefined) s = s.min(spec.min, { error });
      if (spec.max !== undefined) s = s.max(spec.max, { error });
      return s;
    }
    case 'enum':
      return z.enum(spec.values as [string, ...string[]], { error });
    case 'string':
      return z.string({ error }).min(1, { error });
    case 'bool':
      return z.boolean({ error });
    case 'list':
      return z.array(z.string({ error }).min(1, { error }), { error }).min(1, { error });
    case 'record':
      return z.record(z.string(), z.unknown(), { error });
    case 'webhooks':
      return z.array(
        z.strictObject({
          url: z.string({ error }).refine((u) => /^https?:\/\//.test(u) && URL.canParse(u), { error: () => 'expected an http(s) URL' }),
          secret: z.string({ error }).min(16, { error: () => 'expected a secret of at least 16 characters' }),
        }),
        { error },
      );
    default: {
      const never: never = spec.kind;
      return never;
    }
  }
}

/** Builds a strict nested zod object from option rows (all fields optional: layers are partial). */
function objectFrom(specs: readonly OptionSpec[], extra: Record<string, z.ZodType> = {}): z.ZodType {
  const tree: Record<string, unknown> = {};
  for (const spec of specs) {
    const parts = spec.path.split('.');
    let node = tree;
    for (const p of parts.slice(0, -1)) node = (node[p] ??= {}) as Record<string, unknown>;
    node[parts.at(-1)!] = schemaFor(spec).optional();
  }
  const build = (node: Record<string, unknown>): z.ZodType =>
    z.strictObject(
      Object.fromEntries(
        Object.entries(node).map(([k, v]) => [k, v instanceof z.ZodType ? v : build(v as Record<string, unknown>).optional()]),
      ) as Record<string, z.ZodType>,
    );
  const base = build(tree) as z.ZodObject;
  return Object.keys(extra).length ? base.extend(extra) : base;
}

export const poolSchema = objectFrom(POOL_OPTIONS);

/**
 * The schema of a config file (every field optional: a file sets what it wants).
 * Sections other rooms add register rows in OPTIONS.
 */
export function configFileSchema(): z.ZodType {
  const poolDefaultRows = POOL_OPTIONS.filter((o) => o.path !== 'name' && o.path !== 'types').map((o) => ({ ...o, path: `poolDefaults.${o.path}` }));
  return objectFrom([...OPTIONS, ...poolDefaultRows], {
    pools: z.array(poolSchema).optional(),
    schedules: z.array(scheduleInputSchema).optional(),
    $schema: z.string().optional(),
  });
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = target;
  for (const p of parts.slice(0, -1)) node = (node[p] ??= {}) as Record<string, unknown>;
  node[parts.at(-1)!] = value;
}

/** The built-in defaults as a full config (no pools listed: one pool per handler type). */
export function defaultConfig(): TidepoolConfig {
  const config: Record<string, unknown> = {};
  for (const o of OPTIONS) if (o.default !== undefined) setPath(config, o.path, structuredClone(o.default));
  const poolDefaults: Record<string, unknown> = {};
  for (const o of POOL_OPTIONS) if (o.default !== undefined) setPath(poolDefaults, o.path, structuredClone(o.default));
  config.poolDefaults = poolDefaults;
  config.pools = [];
  return config as TidepoolConfig;
}

/** Fills a pool entry from poolDefaults; the name defaults to the first type. */
export function resolvePoolConfig(entry: PoolEntry, defaults: TidepoolConfig['poolDefaults']): PoolConfig {
  const merged = { ...structuredClone(defaults), ...entry } as PoolConfig;
  // poolDefaults' knobs belong to poolDefaults' policy: a pool with another policy does not inherit them.
  const inherits = merged.policy === defaults.policy;
  merged.policyOptions = { ...(inherits ? (defaults.policyOptions ?? {}) : {}), ...(entry.policyOptions ?? {}) };
  merged.name = entry.name ?? entry.types[0]!;
  return merged;
}

/**
 * Pools for a set of handler types: the configured pools, plus one pool per type that
 * no configured pool serves (named after the type, with poolDefaults).
 */
export function poolsForTypes(config: TidepoolConfig, types: readonly string[]): PoolConfig[] {
  const pools = config.pools.map((p) => resolvePoolConfig(p, config.poolDefaults));
  const served = new Set(pools.flatMap((p) => p.types));
  for (const type of types) if (!served.has(type)) pools.push(resolvePoolConfig({ types: [type] }, config.poolDefaults));
  return pools;
}

/** Looks up the option row for a config path such as `pools[1].maxWorkers` or `retry.jitter`. */
export function optionForPath(path: string): OptionSpec | undefined {
  const pool = /^(?:pools\[\d+\]|poolDefaults)\.([^.]+)/.exec(path);
  if (pool) return POOL_OPTIONS.find((o) => o.path === pool[1]);
  return OPTIONS.find((o) => o.path === path);
}

/** A problem with a setting, before its source is known: `got` is the offending value. */
export interface ConfigProblem {
  path: string;
  got: unknown;
  expected: string;
}

/** Checks that need two settings at once (a maxWorkers below its minWorkers). */
export function crossFieldProblems(config: TidepoolConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const check = (prefix: string, p: { minWorkers?: number; maxWorkers?: number }) => {
    if (p.minWorkers !== undefined && p.maxWorkers !== undefined && p.maxWorkers < p.minWorkers)
      problems.push({ path: `${prefix}.maxWorkers`, got: p.maxWorkers, expected: `an integer >= minWorkers (${p.minWorkers})` });
  };
  check('poolDefaults', config.poolDefaults);
  config.pools.forEach((p, i) => {
    const kind = p.kind ?? config.poolDefaults.kind;
    if (kind === 'thread' && !(p.module ?? config.poolDefaults.module))
      problems.push({ path: `pools[${i}].module`, got: p.module, expected: 'the path of a handler module (the thread kind runs it in each worker thread)' });
    if ((kind === 'command' || kind === 'process') && !(p.command ?? config.poolDefaults.command)?.length)
      problems.push({ path: `pools[${i}].command`, got: p.command, expected: `the program to run as an argv array, e.g. ["python3", "worker.py"] (the ${kind} kind needs one)` });
    const env = p.env ?? config.poolDefaults.env;
    for (const [name, value] of Object.entries(env ?? {}))
      if (typeof value !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) problems.push({ path: `pools[${i}].env.${name}`, got: value, expected: 'a string value under a variable name of letters, digits and _' });
  });
  config.pools.forEach((p, i) => check(`pools[${i}]`, { ...config.poolDefaults, ...p }));
  const secret = (config.callbacks as { secret?: unknown } | undefined)?.secret;
  if (typeof secret === 'string' && secret.length < 16) problems.push({ path: 'callbacks.secret', got: `(${secret.length} characters)`, expected: 'a secret of at least 16 characters' });
  for (const [type, ms] of Object.entries(config.taskTimeoutMsByType ?? {})) {
    if (!(typeof ms === 'number' && Number.isSafeInteger(ms) && ms >= 1 && ms <= 86_400_000))
      problems.push({ path: `taskTimeoutMsByType.${type}`, got: ms, expected: 'an integer number of ms in [1, 86400000]' });
  }
  const names = new Map<string, number>();
  config.pools.forEach((p, i) => {
    const name = p.name ?? p.types?.[0];
    if (name === undefined) return;
    if (names.has(name)) problems.push({ path: `pools[${i}].name`, got: name, expected: `a name no other pool has (pools[${names.get(name)}] has it)` });
    else names.set(name, i);
  });
  const typeOwner = new Map<string, number>();
  config.pools.forEach((p, i) =>
    (p.types ?? []).forEach((t) => {
      if (typeOwner.has(t) && typeOwner.get(t) !== i) problems.push({ path: `pools[${i}].types`, got: t, expected: `types no other pool serves (pools[${typeOwner.get(t)}] serves ${JSON.stringify(t)})` });
      else typeOwner.set(t, i);
    }),
  );
  const scheduleNames = new Map<string, number>();
  (config.schedules ?? []).forEach((s, i) => {
    if (scheduleNames.has(s.name)) problems.push({ path: `schedules[${i}].name`, got: s.name, expected: `a name no other schedule has (schedules[${scheduleNames.get(s.name)}] has it)` });
    else scheduleNames.set(s.name, i);
  });
  return problems;
}

/** `path (source): got VALUE; expected RANGE`, the one shape every config message has. */
export function formatProblem(where: string, source: string, got: unknown, expected: string): string {
  return `${where} (${source}): got ${JSON.stringify(got) ?? String(got)}; expected ${expected}`;
}

function showDefault(o: OptionSpec): string {
  if (o.default === undefined) return '(none)';
  return '`' + JSON.stringify(o.default) + '`';
}

function rangeCell(o: OptionSpec): string {
  return describeRange(o).replace(' (an integer, or 500ms/30s/2m/1h)', '');
}

/** The option tables of docs/configuration.md, generated from OPTIONS, POOL_OPTIONS and POLICY_ENV. */
export function renderConfigReference(): string {
  const row = (o: OptionSpec, path: string) =>
    `| \`${path}\` | ${o.unit || ''} | ${showDefault(o)} | ${rangeCell(o)} | ${(o.env ?? []).map((e) => `\`${e}\``).join(', ')} | ${o.flag ? `\`${o.flag}\`` : ''} | ${o.doc.replace(/\|/g, '\\|')} |`;
  const head = '| setting | unit | default | allowed | environment | flag | meaning |\n|---|---|---|---|---|---|---|';
  const lines = [
    '### Top-level settings',
    '',
    head,
    ...OPTIONS.map((o) => row(o, o.path)),
    '',
    '### Pool settings',
    '',
    'Each appears under `poolDefaults` (applies to every pool) and in each entry of `pools`. An environment variable or flag for a pool setting applies to every pool.',
    '',
    head,
    ...POOL_OPTIONS.map((o) => row(o, o.path)),
    '',
    '### Policy knobs from the environment',
    '',
    "Each sets a knob in `policyOptions` of every pool whose policy has that knob (others ignore it).",
    '',
    '| environment | knob | allowed | meaning |',
    '|---|---|---|---|',
    ...POLICY_ENV.map((k) => `| \`${k.env}\` | \`${k.knob}\` | ${rangeCell({ path: k.knob, kind: k.kind, unit: '', min: k.min, max: k.max, doc: '' })} | ${k.doc} |`),
  ];
  return lines.join('\n');
}

function showPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let node = root as Record<PropertyKey, unknown> | undefined;
  for (const p of path) node = node == null ? undefined : (node[p] as Record<PropertyKey, unknown> | undefined);
  return node;
}

/**
 * Checks a (partial) config object against the schema; returns every problem as
 * `path (source): got X; expected Y`, or names an unknown setting with the known ones.
 */
export function checkConfigShape(value: unknown, source: string): { problems: string[]; data: Record<string, unknown> } {
  const result = configFileSchema().safeParse(value);
  if (result.success) return { problems: [], data: result.data as Record<string, unknown> };
  const problems: string[] = [];
  for (const issue of result.error.issues) {
    const where = showPath(issue.path);
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const full = where ? `${where}.${key}` : key;
        const known =
          issue.path.length === 0
            ? [...new Set(OPTIONS.map((o) => o.path.split('.')[0]!)), 'poolDefaults', 'pools', 'schedules']
            : issue.path[0] === 'pools' || issue.path[0] === 'poolDefaults'
              ? POOL_OPTIONS.map((o) => o.path)
              : issue.path[0] === 'schedules'
                ? ['name', 'cron', 'timezone', 'type', 'payload', 'priority', 'tenant', 'catchUp']
                : OPTIONS.filter((o) => o.path.startsWith(`${where}.`)).map((o) => o.path.slice(where.length + 1));
        problems.push(`${full} (${source}): unknown setting; known settings here: ${known.join(', ')}`);
      }
    } else {
      const expected = issue.message.startsWith('expected ') ? issue.message.slice('expected '.length) : issue.message;
      problems.push(formatProblem(where || '(top level)', source, valueAt(value, issue.path), expected));
    }
  }
  return { problems, data: {} };
}
