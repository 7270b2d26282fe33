// The Store interface every adapter implements (memory, sqlite; postgres and redis later).
// One contract suite (test/store/store.contract.ts) runs against each adapter.
import type {
  ClaimRequest,
  ClaimedTask,
  Clock,
  Json,
  MetricSample,
  ScalingEvent,
  SubmitInput,
  SubmitResult,
  Task,
  TaskCounts,
  TaskError,
  TaskFilter,
  TaskLogLine,
  TaskLogPage,
  TaskPage,
  TimeRange,
} from '../core/index.ts';

/** Capability names contract cases skip by (never by adapter name). */
export type StoreCapability = 'durable' | 'multiProcess' | 'listenNotify';

export interface RetryOptions {
  /** Attempts a task gets unless it says otherwise (>= 1). */
  maxAttempts: number;
  /** First backoff; attempt n waits up to baseMs * 2^(n-1), capped at maxMs. */
  baseMs: number;
  maxMs: number;
  /** Full jitter: 1 draws uniformly in [0, backoff]; 0 uses the backoff as is. */
  jitter: number;
}

export interface StoreOptions {
  clock?: Clock;
  retry?: Partial<RetryOptions>;
  /** Submits are refused with QueueFullError once this many tasks are pending (0 = off). */
  maxQueueDepth?: number;
  /** Running tasks per tenant, at most (0 = unlimited). */
  tenantConcurrency?: number;
  /** Per-tenant overrides of tenantConcurrency. */
  tenantLimits?: Record<string, number>;
  /** Default per-attempt timeout for tasks that do not set one. */
  defaultTimeoutMs?: number;
  /** Source of randomness for jitter (tests make it deterministic). */
  random?: () => number;
}

export interface FailOptions {
  /** false: go straight to dead whatever the attempts left. */
  retryable?: boolean;
}

/**
 * Events a store emits to listeners in the same process, after the change committed.
 * `submitted`: tasks became pending (submit, lease reclaim, retryDead). `finished`: a task
 * ended; read `task` inside the listener (the SQLite store reads it on first access).
 */
export type StoreEvent =
  | { kind: 'submitted'; types: string[] }
  | { kind: 'finished'; task: Task };

export interface Store {
  readonly kind: string;
  readonly capabilities: readonly StoreCapability[];

  submit(input: SubmitInput): Promise<SubmitResult>;
  /** All or none: an invalid item or backpressure rejects the whole batch. */
  submitBatch(inputs: readonly SubmitInput[]): Promise<SubmitResult[]>;

  /**
   * Claims up to `limit` runnable tasks of the given types: highest priority first, then
   * the tenant with the fewest running tasks (fair sharing), then oldest; never beyond a
   * tenant's concurrency limit. Each gets a lease of `leaseMs` and a fresh lease token.
   * Expired leases are reclaimed first.
   */
  claim(req: ClaimRequest): Promise<ClaimedTask[]>;
  /** Extends the lease; LeaseLostError when the token is no longer the task's. */
  heartbeat(taskId: string, leaseToken: string, leaseMs: number): Promise<{ leaseExpiresAtMs: number }>;
  /**
   * Records success; LeaseLostError when the token is stale. With `next`, claims the
   * worker's next tasks in the same transaction.
   */
  complete(taskId: string, leaseToken: string, result: Json, next?: ClaimRequest): Promise<ClaimedTask[]>;
  /** Records a failed attempt: retrying with backoff, or dead once attempts are used. */
  fail(taskId: string, leaseToken: string, error: TaskError, options?: FailOptions, next?: ClaimRequest): Promise<ClaimedTask[]>;
  /** Cancels a task that has not ended; TaskConflictError otherwise. */
  cancel(taskId: string): Promise<Task>;
  /** Re-queues a dead task with fresh attempts. */
  retryDead(taskId: string): Promise<Task>;
  get(taskId: string): Promise<Task | null>;
  list(filter?: TaskFilter): Promise<TaskPage>;
  counts(): Promise<TaskCounts>;
  /**
   * Since when (ms) the task a claim of these types would take next has been waiting: among
   * runnable tasks (queued or retrying, runAt passed), per type the head by highest priority
   * then oldest, its runAtMs or createdAtMs, whichever is later; the earliest over the types.
   * null when none is runnable. An index seek per type and tenant, never a scan (the
   * autoscaler reads it once per tick for the observation's oldestWaitMs).
   */
  oldestRunnableAtMs(types: readonly string[]): Promise<number | null>;
  /** Puts tasks whose lease expired back (attempt counted); returns how many. */
  reclaimExpired(): Promise<number>;
  /** Deletes final tasks that finished before `beforeMs`; returns how many. */
  purgeFinished(beforeMs: number): Promise<number>;

  /**
   * Task logs. appendTaskLog keeps lines of a task's attempts, at most TASK_LOG_MAX_BYTES
   * of text per task (the oldest lines are dropped first, and the log reads truncated);
   * lines for a task that does not exist (purged meanwhile) are dropped without error.
   * readTaskLog returns the lines oldest first, those with seq > afterSeq when given (a
   * follower's cursor); TaskNotFoundError when the task does not exist. A task's log goes
   * with it (purgeFinished).
   */
  appendTaskLog(taskId: string, lines: readonly TaskLogLine[]): Promise<void>;
  readTaskLog(taskId: string, options?: { afterSeq?: number }): Promise<TaskLogPage>;

  recordScalingEvent(event: ScalingEvent): Promise<void>;
  listScalingEvents(range?: TimeRange): Promise<ScalingEvent[]>;
  recordMetricSample(sample: MetricSample): Promise<void>;
  listMetricSamples(range?: TimeRange): Promise<MetricSample[]>;

  /** In-process notifications (a pool wakes idle workers on `submitted`). */
  subscribe(listener: (event: StoreEvent) => void): () => void;
  close(): Promise<void>;
}
