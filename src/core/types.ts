// Task, lease and worker types shared by every room.
//
// Task states and transitions (the status names are a public contract):
//   queued    -> running (claimed), cancelled
//   running   -> succeeded (complete), retrying (fail, attempts left; or lease expired),
//                dead (fail, no attempts left), cancelled (cancel while running: the
//                worker's lease is revoked and its result is refused)
//   retrying  -> running (claimed once runAt passes), cancelled
//   dead      -> queued (manual retry)
//   succeeded, cancelled: final
// A task whose lease expires goes back to `retrying` with the attempt counted, or to
// `dead` if it has used its maxAttempts.

export const TASK_STATUSES = ['queued', 'running', 'retrying', 'succeeded', 'dead', 'cancelled'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

/** Statuses from which a task can still run. */
export const PENDING_STATUSES: readonly TaskStatus[] = ['queued', 'retrying'];
/** Statuses a task never leaves by itself. */
export const FINAL_STATUSES: readonly TaskStatus[] = ['succeeded', 'dead', 'cancelled'];

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface TaskError {
  message: string;
  /** Stable code when known (`Timeout`, `LeaseExpired`, `HandlerError`, ...). */
  code?: string;
}

export interface Task {
  id: string;
  /** The capability a worker must serve to run this task. */
  type: string;
  payload: Json;
  /** Higher runs first; ties go to the oldest. */
  priority: number;
  /** Epoch ms before which the task is not runnable. */
  runAtMs: number;
  /** Attempts started so far (a claim starts one). */
  attempts: number;
  maxAttempts: number;
  /** Per-attempt time limit; the handler's AbortSignal fires when it passes. */
  timeoutMs: number;
  tenant: string;
  /** The region whose nodes serve this task first (see docs/cluster.md); null: any node. */
  region: string | null;
  idempotencyKey: string | null;
  status: TaskStatus;
  result: Json | null;
  error: TaskError | null;
  createdAtMs: number;
  updatedAtMs: number;
  /** When the current or last attempt started. */
  startedAtMs: number | null;
  /** When the task reached a final status. */
  finishedAtMs: number | null;
  /** Worker holding the lease while running. */
  workerId: string | null;
  leaseExpiresAtMs: number | null;
}

export interface SubmitInput {
  type: string;
  payload?: Json;
  priority?: number;
  /** Absolute start time (epoch ms). Wins over delayMs. */
  runAtMs?: number;
  delayMs?: number;
  maxAttempts?: number;
  timeoutMs?: number;
  tenant?: string;
  /** Served first by nodes of this region; others take it over after regionFailoverMs without a live node of it. */
  region?: string;
  idempotencyKey?: string;
}

export interface SubmitResult {
  task: Task;
  /** False when an earlier task with the same idempotency key was returned. */
  created: boolean;
}

/**
 * A claimed task with the lease it runs under. `leaseToken` fences the attempt:
 * heartbeat, complete and fail must present it, and are refused with LeaseLost
 * once the lease expired and another worker took the task over.
 */
export interface ClaimedTask extends Task {
  leaseToken: string;
}

export interface ClaimRequest {
  workerId: string;
  /**
   * One id per task for a batch claim by several workers: the i-th task claimed is recorded
   * as run by workerIds[i] (the rest, if the list is short, by workerId).
   */
  workerIds?: readonly string[];
  /** Task types (capabilities) the claimer serves. */
  types: readonly string[];
  /** How many tasks at most. */
  limit: number;
  leaseMs: number;
  /** Only tasks of these tenants (a remote worker acting for its tenant); undefined: every tenant. */
  tenants?: readonly string[];
  /**
   * Only tasks without a region or of these regions (a node serving its own region and the
   * ones failed over to it); undefined: tasks of every region.
   */
  regions?: readonly string[];
}

export interface TaskFilter {
  status?: TaskStatus | readonly TaskStatus[];
  type?: string;
  tenant?: string;
  /** Page size, 1..1000 (default 100). */
  limit?: number;
  /** Opaque cursor from a previous page's nextCursor. */
  cursor?: string;
}

export interface TaskPage {
  tasks: Task[];
  nextCursor: string | null;
}

export type StatusCounts = Record<TaskStatus, number>;

export interface TaskCounts {
  byStatus: StatusCounts;
  byType: Record<string, StatusCounts>;
  /** The runnable depth: queued + retrying whose runAt has passed, per type. */
  runnableByType: Record<string, number>;
  /**
   * Tasks ever submitted, per type: monotonic (a purge or a restart never lowers it; an
   * idempotent repeat, a retry or a lease reclaim is not an arrival). The autoscaler's
   * arrival rate is its difference between two observations.
   */
  arrivalsByType: Record<string, number>;
}

export interface ScalingEvent {
  atMs: number;
  pool: string;
  from: number;
  to: number;
  action: 'scale_up' | 'scale_down' | 'none';
  code: string;
  reason: string;
  policy: string;
}

export interface MetricSample {
  atMs: number;
  pool: string;
  /** Free-form numeric figures (queueDepth, busy, idle, p95WaitMs, ...). */
  values: Record<string, number>;
}

export interface TimeRange {
  fromMs?: number;
  toMs?: number;
  pool?: string;
  limit?: number;
}

// Task logs: what a task's worker printed, per attempt (GET /v1/tasks/{id}/logs, a contract).
/** Where a line came from: `log` (ctx.log(), protocol `log` messages), `stdout`, `stderr` (a child's output). */
export const LOG_STREAMS = ['log', 'stdout', 'stderr'] as const;
export type LogStream = (typeof LOG_STREAMS)[number];

export interface TaskLogLine {
  attempt: number;
  atMs: number;
  stream: LogStream;
  text: string;
}

/** A stored line: `seq` orders a task's lines (a follower asks for lines after the last seq it saw). */
export interface StoredTaskLogLine extends TaskLogLine {
  seq: number;
}

export interface TaskLogPage {
  /** Oldest first. */
  lines: StoredTaskLogLine[];
  /** True once older lines of this task were dropped to keep it within TASK_LOG_MAX_BYTES. */
  truncated: boolean;
}

/**
 * A task keeps at most this many bytes of log text (UTF-8, all attempts together); past
 * it the oldest lines are dropped first and the log reads `truncated: true`.
 */
export const TASK_LOG_MAX_BYTES = 256 * 1024;
/** Longest log line kept, in characters; a longer one is cut (and says how much was cut). */
export const TASK_LOG_MAX_LINE_CHARS = 8192;

// Workers. States and transitions (the status names are a public contract):
//   starting -> idle (ready), failed (could not start)
//   idle     -> busy (took a task), draining (asked to stop), failed
//   busy     -> idle (task ended), draining (asked to stop), failed (crash, stall)
//   draining -> (removed once its task ends)
//   failed   -> (removed; the pool may respawn)
export const WORKER_STATUSES = ['starting', 'idle', 'busy', 'draining', 'failed'] as const;
export type WorkerStatus = (typeof WORKER_STATUSES)[number];

export interface WorkerInfo {
  id: string;
  status: WorkerStatus;
  startedAtMs: number;
  lastHeartbeatMs: number;
  /** Since when the worker has been idle (null when not idle). */
  idleSinceMs: number | null;
  taskId: string | null;
  tasksDone: number;
  /** Measured start-up of this worker (spawn to ready), ms; null while it has not started. */
  startupMs?: number | null;
  /** A respawn waiting out its backoff: when it spawns (epoch ms); null otherwise. */
  respawnAtMs?: number | null;
}

export const POOL_STATUSES = ['active', 'scaling_up', 'scaling_down'] as const;
export type PoolStatus = (typeof POOL_STATUSES)[number];

export type Health = 'healthy' | 'degraded' | 'unhealthy';

export interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
  /** Samples the figures are drawn from. */
  count: number;
}

export interface PoolStats {
  name: string;
  types: string[];
  status: PoolStatus;
  total: number;
  starting: number;
  idle: number;
  busy: number;
  draining: number;
  /** Workers in status failed (awaiting removal or respawn). */
  failedWorkers: number;
  /** The count the pool is heading to. */
  target: number;
  minWorkers: number;
  maxWorkers: number;
  /** busy / (idle + busy + draining), 0 when no worker is ready. */
  utilization: number;
  queueDepth: number;
  completed: number;
  /** Tasks that ended dead in this pool (not failed attempts). */
  failed: number;
  /** Attempts that failed (retried or not). */
  failedAttempts: number;
  stalls: number;
  waitMs: Percentiles;
  runMs: Percentiles;
  throughputPerMin: number;
  successRate: number;
  health: Health;
  /** Longest time an idle worker has been idle. */
  maxIdleMs: number;
  /** Time every worker existed (starting included) since the pool opened, in seconds. */
  workerSeconds?: number;
  /** Workers started since the pool opened (the initial ones, respawns and recycles included). */
  starts?: number;
  /** workerSeconds / 3600 x pricePerWorkerHour + starts x pricePerStart. */
  spend?: number;
  /** The pool's worker kind: inline, thread, command, process or remote. */
  kind: string;
  /** Measured worker start-up (spawn to ready), p95 over the window, ms; 0 before any worker started. */
  startupMs: number;
  /** Workers that ended on their own (exit, thread error, lost connection) since start. */
  crashes: number;
  /** Workers that could not start since start. */
  startFailures: number;
  /** Replacement workers started after a crash, a failed start, a stall or a kill. */
  respawns: number;
  /** Workers replaced after maxTasksPerWorker tasks. */
  recycles: number;
  /** Delay before the next respawn, ms: grows while workers die before (or soon after) ready, 0 after a completed task. */
  respawnBackoffMs: number;
  /** One sentence per reason the pool is not healthy, with its numbers (empty when healthy). */
  healthReasons: string[];
}
