// The Store interface every adapter implements (memory, sqlite, postgres, redis), and the
// contract text for what differs between them. One contract suite (test/store/store.contract.ts)
// runs against each adapter listed in test/store/adapters.ts.
//
// What an adapter states (and the suite pins by capability):
// - Time of record (`timeOfRecord`): leases, runAt and backoff are measured on one clock.
//   `clock`: the injected Clock (memory; SQLite, whose processes share one host clock).
//   `database`: the database server's clock (shared stores), so nodes with skewed clocks
//   agree on when a lease expires; a node whose clock runs ahead never reclaims a live lease
//   early (capability `databaseClock`; shared/db-clock.ts is the helper).
// - Event reach (`eventReach`): `process`: only listeners in this process hear a commit.
//   `shared`: every process sharing the store hears every commit (LISTEN/NOTIFY, pub/sub;
//   capability `listenNotify`). Events are small, plain, serializable objects.
// - Claim guarantees: a task is held by at most one lease at a time, across every process;
//   per-tenant concurrency caps hold EXACTLY across every process sharing the store;
//   priority order (highest first, then oldest) holds within one claim; fair sharing
//   between tenants (fewest running first) is BEST EFFORT across concurrent claimers.
// - Maintenance (reclaiming expired leases, purging finished tasks, retention of scaling
//   events and metric samples) runs in `maintain()`, never inside a claim. One caller runs
//   it periodically (createTidepool's MaintenanceLoop; later, only the cluster's leader).
// - The task state machine lives in ../store/transitions.ts; adapters only persist.
//
// Other issues add methods here (task logs, worker registrations, nodes, callbacks,
// schedules): add them to this interface, to every adapter, and cases to the suite.
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
import type { Fence, Lease, PutStateOptions, StateEntry } from './shared/coordination.ts';

export type { Fence, Lease, PutStateOptions, StateEntry } from './shared/coordination.ts';

/**
 * Capability names contract cases skip by (never by adapter name).
 * `durable`: survives close and reopen. `multiProcess`: several processes may share it.
 * `listenNotify`: events reach every process (eventReach `shared`). `databaseClock`: the
 * time of record is the database's clock (timeOfRecord `database`).
 */
export type StoreCapability = 'durable' | 'multiProcess' | 'listenNotify' | 'databaseClock';

/** Where a store's events are heard: this process only, or every process sharing the store. */
export type StoreEventReach = 'process' | 'shared';

/** Whose clock leases, runAt and backoff are measured on. */
export type TimeOfRecord = 'clock' | 'database';

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
  /** Per-attempt timeout by task type, for tasks that do not set one (wins over defaultTimeoutMs). */
  timeoutMsByType?: Record<string, number>;
  /** Source of randomness for jitter (tests make it deterministic). */
  random?: () => number;
}

export interface FailOptions {
  /** false: go straight to dead whatever the attempts left. */
  retryable?: boolean;
}

/** A task that ended, as a `finished` event carries it: who and when, no payload or result. */
export interface FinishedTask {
  id: string;
  type: string;
  tenant: string;
  status: 'succeeded' | 'dead' | 'cancelled';
  attempts: number;
  createdAtMs: number;
  runAtMs: number;
  startedAtMs: number | null;
  finishedAtMs: number;
}

/**
 * Events a store emits after the change committed: small plain objects (JSON-serializable,
 * no getters, no payloads), each saying its reach. `submitted`: tasks of these types became
 * pending (submit, lease reclaim, retryDead). `finished`: a task ended (read the whole task
 * with `get` when needed).
 */
export type StoreEvent =
  | { kind: 'submitted'; reach: StoreEventReach; types: string[] }
  | { kind: 'finished'; reach: StoreEventReach; task: FinishedTask }
  /** A coordination state entry was written or deleted (see putState); read it with getState. */
  | { kind: 'state'; reach: StoreEventReach; key: string };

/** What one maintain() run does; every field optional (see the defaults in shared/maintenance.ts). */
export interface MaintenancePolicy {
  /** Ended tasks are deleted this long after they end, ms; 0 = keep forever. */
  finishedRetentionMs?: number;
  /** Scaling events older than this are deleted, ms; 0 = keep forever. */
  scalingEventRetentionMs?: number;
  /** Metric samples older than this are deleted, ms; 0 = keep forever. */
  metricSampleRetentionMs?: number;
}

export interface MaintenanceReport {
  /** Running tasks whose lease had expired, put back (retrying) or dead. */
  reclaimed: number;
  purgedTasks: number;
  purgedScalingEvents: number;
  purgedMetricSamples: number;
  /** Coordination state entries whose time to live had passed, deleted. */
  purgedState: number;
  /** The time of record the run used. */
  atMs: number;
}

export interface Store {
  readonly kind: string;
  readonly capabilities: readonly StoreCapability[];
  readonly eventReach: StoreEventReach;
  readonly timeOfRecord: TimeOfRecord;

  /** The time of record, epoch ms: the injected clock, or the database's clock (see above). */
  now(): Promise<number>;

  submit(input: SubmitInput): Promise<SubmitResult>;
  /** All or none: an invalid item or backpressure rejects the whole batch. */
  submitBatch(inputs: readonly SubmitInput[]): Promise<SubmitResult[]>;

  /**
   * Claims up to `limit` runnable tasks of the given types: highest priority first, then
   * the tenant with the fewest running tasks (fair sharing, best effort across concurrent
   * claimers), then oldest; never beyond a tenant's concurrency limit (exact across every
   * process). Each gets a lease of `leaseMs` and a fresh lease token. A claim's cost does
   * not grow with the number of tenants, of tasks not yet due, or of the types asked for
   * beyond the ones with runnable tasks. It never reclaims expired leases: maintain() does.
   * With `regions`, only tasks without a region or of those regions, and the other regions'
   * tasks cost it nothing (the ready queues have a region dimension in every adapter).
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
  /** Puts tasks whose lease expired back (attempt counted); returns how many. Part of maintain(). */
  reclaimExpired(): Promise<number>;
  /** Deletes final tasks that finished before `beforeMs`; returns how many. Part of maintain(). */
  purgeFinished(beforeMs: number): Promise<number>;
  /**
   * The maintenance entry point, off the claim's hot path: reclaims expired leases, purges
   * ended tasks, scaling events and metric samples past their retention. Safe to run from
   * several processes at once (each step is its own transaction), but meant for one.
   */
  maintain(policy?: MaintenancePolicy): Promise<MaintenanceReport>;

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

  // --- coordination (cluster state; see shared/coordination.ts for the contract) ------
  /**
   * Takes or renews the named lease for `holder` for ttlMs (time of record). Granted when
   * the lease is free, lapsed, or live and already the holder's (a renewal keeps the
   * token); a lease that changes hands, or is taken again after it lapsed, gets token + 1.
   * null when another holder's lease is live. Atomic across every process sharing the store.
   */
  acquireLease(name: string, holder: string, ttlMs: number): Promise<Lease | null>;
  /** Ends `holder`'s live lease now (the token stays, so the next holder gets token + 1); false when not its. */
  releaseLease(name: string, holder: string): Promise<boolean>;
  /** The live lease of that name, or null when it is free or lapsed. */
  readLease(name: string): Promise<Lease | null>;
  /**
   * Writes a small JSON value under a key (`node/a`, `policy/llm`, ...). With `ttlMs` it
   * lapses after that long (reads stop returning it; maintain() deletes it). With `fence`,
   * the write commits only while that lease is live with that token, in the same atomic
   * step; FencedError otherwise. Emits a `state` event after commit.
   */
  putState(key: string, value: Json, options?: PutStateOptions): Promise<StateEntry>;
  /** The live entry under the key, or null. */
  getState(key: string): Promise<StateEntry | null>;
  /** Live entries whose key starts with `prefix`, in key order. */
  listState(prefix: string): Promise<StateEntry[]>;
  /** Deletes the entry (fenced as putState when `fence` is given); false when there was none. Emits `state`. */
  deleteState(key: string, options?: { fence?: Fence }): Promise<boolean>;

  recordScalingEvent(event: ScalingEvent): Promise<void>;
  listScalingEvents(range?: TimeRange): Promise<ScalingEvent[]>;
  recordMetricSample(sample: MetricSample): Promise<void>;
  listMetricSamples(range?: TimeRange): Promise<MetricSample[]>;

  /** Store events, after commit (a pool wakes idle workers on `submitted`); see eventReach. */
  subscribe(listener: (event: StoreEvent) => void): () => void;
  close(): Promise<void>;
}
