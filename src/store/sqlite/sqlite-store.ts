// The SQLite store: one file, WAL, node:sqlite. Durable across restarts and shareable by
// several processes (writes take the lock with BEGIN IMMEDIATE and wait up to
// busyTimeoutMs for it). Writes go through the group-commit WriteQueue; reads run directly.
//
// Task states and transitions: see src/core/types.ts. Every transition updates task_counts
// in the same savepoint, so counts stay exact even when an operation is refused.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import {
  ConfigInvalidError,
  InvalidInputError,
  LeaseLostError,
  QueueFullError,
  StoreUnavailableError,
  TASK_STATUSES,
  TaskConflictError,
  TASK_LOG_MAX_BYTES,
  TaskNotFoundError,
  nullRecord,
} from '../../core/index.ts';
import type {
  ClaimRequest,
  ClaimedTask,
  Json,
  MetricSample,
  ScalingEvent,
  StatusCounts,
  SubmitInput,
  SubmitResult,
  Task,
  TaskCounts,
  TaskError,
  LogStream,
  TaskFilter,
  TaskLogLine,
  TaskLogPage,
  TaskPage,
  TaskStatus,
  TimeRange,
} from '../../core/index.ts';
import type {
  FailOptions,
  FinishedTask,
  MaintenancePolicy,
  MaintenanceReport,
  Store,
  StoreCapability,
  StoreEvent,
  StoreEventReach,
  StoreOptions,
  TimeOfRecord,
} from '../types.ts';
import { cancelRefusal, isLeaseExpired, onFail, onLeaseExpired, planBatch, retryDeadRefusal } from '../transitions.ts';
import { runMaintenance } from '../shared/maintenance.ts';
import { finishedOf } from '../shared/events.ts';
import { backoffMs } from '../shared/backoff.ts';
import { decodeCursor, encodeCursor } from '../shared/cursor.ts';
import { Listeners } from '../shared/listeners.ts';
import { resolveStoreOptions, tenantLimitOf } from '../shared/options.ts';
import type { ResolvedStoreOptions } from '../shared/options.ts';
import { checkListFilter, rangeLimit, statusSet, zeroCounts } from '../shared/queries.ts';
import { CompletionRate, estimateRetryAfterMs } from '../shared/rate.ts';
import { buildTask, tenantOf, validateResult, validateClaim, validateLeaseMs, validateSubmit } from '../shared/submit.ts';
import { leaseLostDetail, normalizeError } from '../shared/lease.ts';
import { translateSqliteError } from './errors.ts';
import { ADD_IS_DUE, ADD_REGION, SCHEMA, SCHEMA_VERSION, Statements, UPGRADABLE_VERSIONS, UPGRADE_TO_4, pragmas } from './sql.ts';
import { checkAfterSeq, checkLogLines, logLineBytes } from '../shared/task-log.ts';
import type { CandidateRow, TaskRow } from './sql.ts';
import { formatId, idKey, newIdTail, toClaimed, toTask } from './rows.ts';
import { WriteQueue } from './write-queue.ts';
import { ReadyCache } from './ready-cache.ts';
import type { Candidate } from './ready-cache.ts';
import { DEFAULT_BUSY_TIMEOUT_MS, DEFAULT_DURABILITY } from '../url.ts';
import type { SqliteUrlOptions } from '../url.ts';
import type { TxContext } from './write-queue.ts';
import type { StatementSync } from 'node:sqlite';
import * as coord from '../shared/coordination.ts';
import type { Fence, Lease, LeaseRow, PutStateOptions, StateEntry, StateRow, StoredLease } from '../shared/coordination.ts';

const PURGE_CHUNK = 5_000;

export class SqliteStore implements Store {
  readonly kind = 'sqlite';
  readonly capabilities: readonly StoreCapability[] = ['durable', 'multiProcess'];
  /** Other processes sharing the file hear nothing (they poll). */
  readonly eventReach: StoreEventReach = 'process';
  /** Processes sharing one SQLite file share the host's clock. */
  readonly timeOfRecord: TimeOfRecord = 'clock';
  readonly path: string;

  private readonly db: DatabaseSync;
  private readonly s: Statements;
  private readonly queue: WriteQueue;
  private readonly options: ResolvedStoreOptions;
  /** The adapter's own options, from the store URL. */
  readonly sqlite: SqliteUrlOptions;
  private readonly listeners = new Listeners();
  private readonly completions = new CompletionRate();
  private readonly hasTenantLimits: boolean;
  private readonly ready: ReadyCache;
  /** PRAGMA data_version when the ready cache was last known good (another connection's commit moves it). */
  private seenDataVersion = -1;
  private isClosed = false;

  /** Opens (creating if needed) the database file at `path`. */
  static open(path: string, options: StoreOptions = {}, sqlite: Partial<SqliteUrlOptions> = {}): SqliteStore {
    return new SqliteStore(path, options, { durability: sqlite.durability ?? DEFAULT_DURABILITY, busyTimeoutMs: sqlite.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS, foreignTables: sqlite.foreignTables ?? 'refuse' });
  }

  private constructor(path: string, options: StoreOptions, sqlite: SqliteUrlOptions) {
    this.options = resolveStoreOptions(options);
    this.sqlite = sqlite;
    this.path = path;
    this.hasTenantLimits = this.options.tenantConcurrency > 0 || Object.values(this.options.tenantLimits).some((n) => n > 0);
    try {
      if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
      this.db = new DatabaseSync(path);
    } catch (err) {
      throw translateSqliteError(err, path, 'open');
    }
    try {
      this.db.exec(pragmas(this.sqlite.durability, this.sqlite.busyTimeoutMs));
      this.migrate();
      this.s = new Statements(this.db);
    } catch (err) {
      this.db.close();
      throw translateSqliteError(err, path, 'open');
    }
    const s = this.s;
    this.ready = new ReadyCache({
      regions: (type) => (s.regionsWithPending.all(type) as { region: string }[]).map((r) => r.region),
      tenants: (type, region) => (s.tenantsWithPending.all(type, region) as { tenant: string }[]).map((r) => r.tenant),
      candidates: (type, region, tenant, limit) => s.candidates(limit).all(type, tenant, this.options.clock.now(), region) as unknown as Candidate[],
    });
    this.queue = new WriteQueue(this.s, (err, during) => translateSqliteError(err, path, during), this.sqlite.durability, () => this.ready.invalidate());
  }

  private migrate(): void {
    const version = (this.db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version;
    if (version > SCHEMA_VERSION) {
      throw new StoreUnavailableError(
        `SQLite store ${this.path}: schema version ${version} is newer than this Tidepool understands (${SCHEMA_VERSION}); upgrade Tidepool`,
      );
    }
    if (version === SCHEMA_VERSION) return;
    if (version !== 0 && !UPGRADABLE_VERSIONS.includes(version)) {
      throw new StoreUnavailableError(
        `SQLite store ${this.path}: schema version ${version} is a pre-release layout this Tidepool cannot open; move the file away or use a new path`,
      );
    }
    // A file without our schema version may be another program's database: refuse to add
    // our tables to it unless the URL says so (?foreignTables=allow).
    const foreign = version !== 0 ? [] : (this.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as { name: string }[]).map((r) => r.name);
    if (foreign.length > 0 && this.sqlite.foreignTables !== 'allow') {
      const shown = foreign.slice(0, 5).join(', ') + (foreign.length > 5 ? `, ... (${foreign.length} tables)` : '');
      throw new ConfigInvalidError([
        `SQLite store ${this.path}: the file is not a Tidepool database (it holds other tables: ${shown}); Tidepool will not add its tables to it. Use a new file, or add ?foreignTables=allow to the store URL to share this one`,
      ]);
    }
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const columns = version === 0 ? [] : (this.db.prepare('PRAGMA table_info(tasks)').all() as { name: string }[]);
      if (version === 2 || version === 3) {
        if (!columns.some((c) => c.name === 'is_due')) this.db.exec(ADD_IS_DUE);
        this.db.exec(UPGRADE_TO_4);
      }
      if (version !== 0 && version < 6 && !columns.some((c) => c.name === 'region')) this.db.exec(ADD_REGION);
      this.db.exec(SCHEMA);
      this.db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
      this.db.exec('COMMIT');
    } catch (err) {
      this.db.exec('ROLLBACK');
      throw err;
    }
  }

  // --- submit ---------------------------------------------------------------------

  async submit(input: SubmitInput): Promise<SubmitResult> {
    return (await this.submitBatch([input]))[0];
  }

  async submitBatch(inputs: readonly SubmitInput[]): Promise<SubmitResult[]> {
    this.checkOpen();
    if (!Array.isArray(inputs)) throw new InvalidInputError('tasks: expected an array of submits');
    const single = inputs.length === 1;
    inputs.forEach((input, i) => validateSubmit(input, single ? undefined : i));
    const payloads = inputs.map((input) => JSON.stringify(input.payload === undefined ? null : input.payload));
    return this.queue.enqueue((tx) => this.submitIn(inputs, payloads, tx));
  }

  private submitIn(inputs: readonly SubmitInput[], payloads: string[], tx: TxContext): SubmitResult[] {
    const s = this.s;
    const nowMs = this.options.clock.now();
    const results: (SubmitResult | number)[] = new Array(inputs.length);
    const sameAsEarlier = planBatch(inputs);
    let newCount = 0;
    for (let i = 0; i < inputs.length; i++) {
      const input = inputs[i];
      if (sameAsEarlier[i] >= 0) {
        results[i] = sameAsEarlier[i];
        continue;
      }
      if (input.idempotencyKey !== undefined) {
        const row = s.byIdempotencyKey.get(tenantOf(input), input.idempotencyKey) as TaskRow | undefined;
        if (row) {
          results[i] = { task: toTask(row), created: false };
          continue;
        }
      }
      newCount++;
    }
    if (this.options.maxQueueDepth > 0 && newCount > 0) {
      const depth = Number((s.pendingDepth.get() as { n: number }).n) + tx.pendingDelta();
      const max = this.options.maxQueueDepth;
      if (depth + newCount > max) {
        throw new QueueFullError(depth, max, estimateRetryAfterMs(depth + newCount - max, this.completions.perSecond(nowMs)));
      }
    }
    const types = new Set<string>();
    for (let i = 0; i < inputs.length; i++) {
      if (results[i] !== undefined) continue;
      const tail = newIdTail();
      const task = buildTask(inputs[i], this.options, nowMs, '');
      const { lastInsertRowid } = s.insertTask.run(
        tail, task.type, task.tenant, task.priority, task.runAtMs,
        task.maxAttempts, task.timeoutMs, task.idempotencyKey, payloads[i], nowMs, task.region ?? '',
      );
      task.id = formatId(Number(lastInsertRowid), tail);
      if (task.runAtMs <= nowMs) this.ready.offer(task.type, task.region ?? '', task.tenant, { seq: Number(lastInsertRowid), priority: task.priority });
      tx.counts.add(task.type, 'queued', 1);
      tx.counts.add(task.type, ARRIVED, 1);
      types.add(task.type);
      results[i] = { task, created: true };
    }
    if (types.size) {
      tx.memo.clear();
      tx.afterCommit(() => this.listeners.emit({ kind: 'submitted', reach: 'process', types: [...types] }));
    }
    return results.map((r) => {
      if (typeof r !== 'number') return r;
      const first = results[r] as SubmitResult;
      return { task: { ...first.task }, created: false };
    });
  }

  // --- claim, heartbeat, complete, fail -------------------------------------------

  async claim(req: ClaimRequest): Promise<ClaimedTask[]> {
    this.checkOpen();
    if (!validateClaim(req)) return [];
    return this.queue.enqueue((tx) => this.claimIn(req, this.options.clock.now(), tx), true);
  }

  private claimIn(req: ClaimRequest, nowMs: number, tx: TxContext): ClaimedTask[] {
    const s = this.s;
    // Within one group transaction, tasks whose runAt has come are marked due once, and the
    // tenants with due tasks are remembered until an operation queues tasks again. Expired
    // leases are maintain()'s, not the claim's.
    if (!tx.memo.has('dueChecked')) {
      tx.memo.set('dueChecked', true);
      // Another process committed since this one last looked: what the cache holds may be gone.
      const dataVersion = Number((s.dataVersion.get() as { data_version: number }).data_version);
      if (dataVersion !== this.seenDataVersion) {
        this.ready.invalidate();
        this.seenDataVersion = dataVersion;
      }
      if (s.anyNowDue.get(nowMs)) {
        s.promoteDue.run(nowMs);
        this.ready.invalidate();
      }
    }
    const lanes = this.ready.lanes([...new Set(req.types)], req.regions);
    const expiresMs = nowMs + req.leaseMs;
    // Running counts decide between tenants only: skip reading them when there is one.
    const running = new Map<string, number>();
    if (this.hasTenantLimits || req.tenants || this.ready.tenantCount(lanes) > 1) {
      for (const r of s.runningByTenant.all() as { tenant: string; n: number }[]) running.set(r.tenant, r.n);
    }
    const picked = this.ready.take(lanes, req.limit, running, (tenant) => tenantLimitOf(this.options, tenant), req.tenants);
    if (picked.length === 0) return [];
    const order = new Map(picked.map((c, i) => [c.seq, i]));
    const rows = s.claimSeqs.all(nowMs, req.workerId, expiresMs, JSON.stringify(picked.map((c) => c.seq))) as unknown as TaskRow[];
    // The database has the last word: a task the cache offered that is no longer pending means the cache was stale.
    if (rows.length < picked.length) this.ready.invalidate();
    rows.sort((a, b) => order.get(a.seq)! - order.get(b.seq)!);
    const ids = req.workerIds;
    if (ids)
      rows.forEach((row, i) => {
        const id = ids[i];
        if (id === undefined || id === row.worker_id) return;
        s.setWorker.run(id, row.seq);
        row.worker_id = id;
      });
    for (const row of rows) tx.counts.move(row.type, row.claimed_from ?? 'queued', 'running');
    return rows.map(toClaimed);
  }

  async heartbeat(taskId: string, leaseToken: string, leaseMs: number): Promise<{ leaseExpiresAtMs: number }> {
    this.checkOpen();
    validateLeaseMs(leaseMs);
    return this.queue.enqueue(() => {
      const nowMs = this.options.clock.now();
      const row = this.s.heartbeat.get({ ...idKey(taskId), token: leaseToken, expires: nowMs + leaseMs, now: nowMs }) as
        | { lease_expires_at_ms: number }
        | undefined;
      if (!row) throw this.leaseError(taskId);
      return { leaseExpiresAtMs: row.lease_expires_at_ms };
    }, true);
  }

  async complete(taskId: string, leaseToken: string, result: Json, next?: ClaimRequest): Promise<ClaimedTask[]> {
    this.checkOpen();
    validateResult(result);
    const hasNext = next ? validateClaim(next, 'next') : false;
    const resultJson = JSON.stringify(result === undefined ? null : result);
    return this.queue.enqueue((tx) => {
      const nowMs = this.options.clock.now();
      const { seq, tail } = idKey(taskId);
      const row = this.s.succeed.get(resultJson, nowMs, seq, leaseToken, tail) as SucceededRow | undefined;
      if (!row) throw this.leaseError(taskId);
      tx.counts.move(row.type, 'running', 'succeeded');
      this.afterFinish(() => ({
        id: taskId, type: row.type, tenant: row.tenant, status: 'succeeded', attempts: row.attempts,
        createdAtMs: row.created_at_ms, runAtMs: row.run_at_ms, startedAtMs: row.started_at_ms, finishedAtMs: nowMs,
      }), nowMs, tx);
      return hasNext ? this.claimIn(next!, nowMs, tx) : [];
    });
  }

  async fail(taskId: string, leaseToken: string, error: TaskError, options: FailOptions = {}, next?: ClaimRequest): Promise<ClaimedTask[]> {
    this.checkOpen();
    const hasNext = next ? validateClaim(next, 'next') : false;
    const errorJson = JSON.stringify(normalizeError(error));
    return this.queue.enqueue((tx) => {
      const s = this.s;
      const nowMs = this.options.clock.now();
      const current = this.byId(taskId);
      if (!current || current.status !== 'running' || current.lease_token !== leaseToken) throw this.leaseError(taskId, current);
      const outcome = onFail(
        { attempts: current.attempts, maxAttempts: current.max_attempts },
        options.retryable !== false,
        nowMs,
        () => backoffMs(current.attempts, this.options.retry, this.options.random),
      );
      switch (outcome.status) {
        case 'dead': {
          const row = s.bury.get({ ...idKey(taskId), error: errorJson, now: nowMs }) as unknown as TaskRow;
          tx.counts.move(row.type, 'running', 'dead');
          this.afterFinish(row, nowMs, tx);
          break;
        }
        case 'retrying':
          const retried = s.retry.get({ ...idKey(taskId), error: errorJson, runAt: outcome.runAtMs, now: nowMs }) as unknown as TaskRow;
          if (outcome.runAtMs <= nowMs) this.ready.offer(retried.type, retried.region, retried.tenant, { seq: retried.seq, priority: retried.priority });
          tx.memo.clear();
          tx.counts.move(current.type, 'running', 'retrying');
          break;
        default: {
          const never: never = outcome;
          throw new Error(`unhandled fail outcome ${JSON.stringify(never)}`);
        }
      }
      return hasNext ? this.claimIn(next!, nowMs, tx) : [];
    });
  }

  /** LeaseLostError saying why, or TaskNotFoundError. Runs inside the transaction that found no lease. */
  private leaseError(taskId: string, row?: TaskRow): Error {
    const current = row ?? this.byId(taskId);
    if (!current) return new TaskNotFoundError(taskId);
    return new LeaseLostError(taskId, leaseLostDetail(current.status as TaskStatus));
  }

  /** After commit: counts the completion and tells listeners (with a small snapshot of the task). */
  private afterFinish(source: TaskRow | (() => FinishedTask), nowMs: number, tx: TxContext): void {
    tx.afterCommit(() => {
      this.completions.record(nowMs);
      if (this.listeners.size === 0) return;
      this.listeners.emit({ kind: 'finished', reach: 'process', task: typeof source === 'function' ? source() : finishedOf(toTask(source)) });
    });
  }

  // --- cancel, retry, reclaim, purge ----------------------------------------------

  async cancel(taskId: string): Promise<Task> {
    this.checkOpen();
    return this.queue.enqueue((tx) => {
      const s = this.s;
      const current = this.byId(taskId);
      if (!current) throw new TaskNotFoundError(taskId);
      const refusal = cancelRefusal(taskId, current.status as TaskStatus);
      if (refusal) throw refusal;
      const nowMs = this.options.clock.now();
      const row = s.cancelTask.get({ ...idKey(taskId), now: nowMs }) as unknown as TaskRow;
      if (current.status !== 'running') this.ready.remove(row.type, row.region, row.tenant, row.seq);
        tx.counts.move(row.type, current.status, 'cancelled');
      this.afterFinish(row, nowMs, tx);
      return toTask(row);
    });
  }

  async retryDead(taskId: string): Promise<Task> {
    this.checkOpen();
    return this.queue.enqueue((tx) => {
      const s = this.s;
      const nowMs = this.options.clock.now();
      const row = s.requeueDead.get({ ...idKey(taskId), now: nowMs }) as TaskRow | undefined;
      if (!row) {
        const current = this.byId(taskId);
        if (!current) throw new TaskNotFoundError(taskId);
        throw retryDeadRefusal(taskId, current.status as TaskStatus) ?? new TaskConflictError(`task ${taskId} could not be retried`);
      }
        tx.counts.move(row.type, 'dead', 'queued');
      tx.memo.clear();
      this.ready.offer(row.type, row.region, row.tenant, { seq: row.seq, priority: row.priority });
      tx.afterCommit(() => this.listeners.emit({ kind: 'submitted', reach: 'process', types: [row.type] }));
      return toTask(row);
    });
  }

  async reclaimExpired(): Promise<number> {
    this.checkOpen();
    return this.queue.enqueue((tx) => this.reclaimIn(this.options.clock.now(), tx), true);
  }

  /** Puts running tasks whose lease expired back (attempt counted): retrying now, or dead when attempts are used. */
  private reclaimIn(nowMs: number, tx: TxContext): number {
    const s = this.s;
    const rows = s.expired.all(nowMs) as unknown as TaskRow[];
    if (rows.length === 0) return 0;
    const requeued = new Set<string>();
    for (const row of rows) {
      if (!isLeaseExpired(row.lease_expires_at_ms, nowMs)) continue;
      const outcome = onLeaseExpired({ attempts: row.attempts, maxAttempts: row.max_attempts, workerId: row.worker_id, leaseExpiresAtMs: row.lease_expires_at_ms }, nowMs);
      const error = JSON.stringify(outcome.error);
      if (outcome.status === 'dead') {
        const dead = s.bury.get({ ...idKey(row.id), error, now: nowMs }) as unknown as TaskRow;
        tx.counts.move(row.type, 'running', 'dead');
        this.afterFinish(dead, nowMs, tx);
      } else {
        s.retry.get({ ...idKey(row.id), error, runAt: outcome.runAtMs, now: nowMs });
        this.ready.offer(row.type, row.region, row.tenant, { seq: row.seq, priority: row.priority });
        tx.memo.delete(`tenants:${row.type}`);
        tx.counts.move(row.type, 'running', 'retrying');
        requeued.add(row.type);
      }
    }
    if (requeued.size) tx.afterCommit(() => this.listeners.emit({ kind: 'submitted', reach: 'process', types: [...requeued] }));
    return rows.length;
  }

  async now(): Promise<number> {
    this.checkOpen();
    return this.options.clock.now();
  }

  async maintain(policy?: MaintenancePolicy): Promise<MaintenanceReport> {
    this.checkOpen();
    return runMaintenance(
      {
        now: () => this.now(),
        reclaimExpired: () => this.reclaimExpired(),
        purgeFinished: (beforeMs) => this.purgeFinished(beforeMs),
        purgeScalingEvents: (beforeMs) => this.queue.enqueue(() => Number(this.s.purgeEvents.run(beforeMs).changes), true),
        purgeMetricSamples: (beforeMs) => this.queue.enqueue(() => Number(this.s.purgeSamples.run(beforeMs).changes), true),
        purgeExpiredState: (nowMs) => this.queue.enqueue(() => Number(this.stmt('DELETE FROM coord_state WHERE expires_at_ms IS NOT NULL AND expires_at_ms <= ?').run(nowMs).changes), true),
      },
      policy,
    );
  }

  async purgeFinished(beforeMs: number): Promise<number> {
    this.checkOpen();
    if (typeof beforeMs !== 'number' || !Number.isFinite(beforeMs)) {
      throw new InvalidInputError(`beforeMs: got ${String(beforeMs)}; expected epoch milliseconds`);
    }
    const bound = this.read('purgeFinished', () => this.lastSeqCreatedBefore(beforeMs));
    let total = 0;
    let after = 0;
    for (;;) {
      // Chunks keep each transaction short; other writes interleave between them.
      const { n, lastSeq } = await this.queue.enqueue((tx) => {
        const rows = this.s.purgeChunk.all({ after, bound, before: beforeMs, limit: PURGE_CHUNK }) as {
          seq: number; type: string; status: string;
        }[];
        let last = after;
        for (const r of rows) {
          // A task's log goes with it.
          this.s.deleteLogOf.run(r.seq);
          this.s.deleteLogSizeOf.run(r.seq);
          tx.counts.add(r.type, r.status, -1);
          last = Math.max(last, r.seq);
        }
        return { n: rows.length, lastSeq: last };
      });
      total += n;
      after = lastSeq;
      if (n < PURGE_CHUNK) return total;
    }
  }

  /** The highest seq whose task was created before `beforeMs` (binary search: seq follows creation). */
  private lastSeqCreatedBefore(beforeMs: number): number {
    let lo = 0;
    let hi = (this.s.maxSeq.get() as { seq: number }).seq;
    while (lo < hi) {
      const mid = Math.floor((lo + hi + 1) / 2);
      const row = this.s.firstFrom.get(mid) as { seq: number; created_at_ms: number } | undefined;
      if (row && row.created_at_ms < beforeMs) lo = Math.max(mid, Math.min(row.seq, hi));
      else hi = mid - 1;
    }
    return lo;
  }

  // --- reads ----------------------------------------------------------------------

  async get(taskId: string): Promise<Task | null> {
    this.checkOpen();
    const row = this.read('get', () => this.byId(taskId));
    return row ? toTask(row) : null;
  }

  async list(filter: TaskFilter = {}): Promise<TaskPage> {
    this.checkOpen();
    const { limit, afterSeq } = checkListFilter(filter, decodeCursor);
    const statuses = statusSet(filter.status);
    const params = { after: afterSeq, type: filter.type ?? null, tenant: filter.tenant ?? null, limit: limit + 1 };
    const rows = this.read('list', () =>
      statuses && statuses.size === 1 && statuses.has('dead')
        ? this.s.listDead.all(params)
        : this.s.listPage.all({ ...params, statuses: statuses ? JSON.stringify([...statuses]) : null }),
    ) as unknown as TaskRow[];
    const more = rows.length > limit;
    const page = more ? rows.slice(0, limit) : rows;
    return { tasks: page.map(toTask), nextCursor: more ? encodeCursor(page[page.length - 1].seq) : null };
  }

  async counts(): Promise<TaskCounts> {
    this.checkOpen();
    const nowMs = this.options.clock.now();
    return this.read('counts', () => {
      const byStatus = zeroCounts();
      // Null-prototype: a type named __proto__ or constructor is a key like any other.
      const byType = nullRecord<StatusCounts>();
      const arrivalsByType = nullRecord<number>();
      for (const r of this.s.allCounts.all() as { type: string; status: TaskStatus; n: number }[]) {
        if ((r.status as string) === ARRIVED) {
          arrivalsByType[r.type] = r.n;
          continue;
        }
        if (!(TASK_STATUSES as readonly string[]).includes(r.status)) continue;
        const c = (byType[r.type] ??= zeroCounts());
        c[r.status] += r.n;
        byStatus[r.status] += r.n;
      }
      const runnableByType = nullRecord<number>();
      for (const [type, c] of Object.entries(byType)) {
        const pending = c.queued + c.retrying;
        const delayed = pending > 0 ? (this.s.delayedCount.get(type, nowMs) as { n: number }).n : 0;
        runnableByType[type] = pending - delayed;
      }
      return { byStatus, byType, runnableByType, arrivalsByType };
    });
  }

  async oldestRunnableAtMs(types: readonly string[]): Promise<number | null> {
    this.checkOpen();
    const nowMs = this.options.clock.now();
    // Tasks whose runAt has come but that no claim has marked due yet: mark them first (a
    // relaxed write), so the head below is the one a claim would take.
    if (this.read('oldestRunnableAtMs', () => this.s.anyNowDue.get(nowMs))) {
      // The ready cache does not know the tasks this makes due: drop it, as a claim's own promotion does.
      await this.queue.enqueue(() => {
        this.s.promoteDue.run(nowMs);
        this.ready.invalidate();
      }, true);
    }
    return this.read('oldestRunnableAtMs', () => {
      let oldest: number | null = null;
      for (const type of new Set(types)) {
        let head: HeadRow | undefined;
        for (const { region } of this.s.regionsWithPending.all(type) as { region: string }[]) {
          for (const { tenant } of this.s.tenantsWithPending.all(type, region) as { tenant: string }[]) {
            const row = this.s.headOfTenant.get(type, tenant, nowMs, region) as HeadRow | undefined;
            if (row && (!head || row.priority > head.priority || (row.priority === head.priority && row.seq < head.seq))) head = row;
          }
        }
        if (head && (oldest === null || head.since_ms < oldest)) oldest = head.since_ms;
      }
      return oldest;
    });
  }

  // --- scaling events and metric samples ------------------------------------------

  // --- task logs ------------------------------------------------------------------

  async appendTaskLog(taskId: string, lines: readonly TaskLogLine[]): Promise<void> {
    this.checkOpen();
    const checked = checkLogLines(lines);
    if (checked.length === 0) return;
    const { seq, tail } = idKey(taskId);
    if (seq < 0) return;
    // Logs are best effort: their commit need not wait for an fsync of its own.
    await this.queue.enqueue(() => {
      const s = this.s;
      if (!s.taskExists.get(seq, tail)) return;
      let added = 0;
      for (const l of checked) {
        const bytes = logLineBytes(l.text);
        s.insertLogLine.run(seq, l.attempt, l.atMs, l.stream, l.text, bytes);
        added += bytes;
      }
      let total = (s.addLogBytes.get(seq, added) as { bytes: number }).bytes;
      while (total > TASK_LOG_MAX_BYTES) {
        const oldest = s.oldestLogLines.all(seq) as { seq: number; bytes: number }[];
        if (oldest.length === 0) break;
        let dropped = 0;
        let through = 0;
        for (const row of oldest) {
          if (total - dropped <= TASK_LOG_MAX_BYTES) break;
          dropped += row.bytes;
          through = row.seq;
        }
        s.dropLogLinesThrough.run(seq, through);
        s.markLogTruncated.run(seq, dropped);
        total -= dropped;
      }
    }, true);
  }

  async readTaskLog(taskId: string, options: { afterSeq?: number } = {}): Promise<TaskLogPage> {
    this.checkOpen();
    const afterSeq = checkAfterSeq(options.afterSeq);
    const { seq, tail } = idKey(taskId);
    return this.read('readTaskLog', () => {
      if (seq < 0 || !this.s.taskExists.get(seq, tail)) throw new TaskNotFoundError(taskId);
      const size = this.s.logSize.get(seq) as { truncated: number } | undefined;
      const rows = this.s.readLog.all(seq, afterSeq) as { seq: number; attempt: number; at_ms: number; stream: LogStream; text: string }[];
      return { lines: rows.map((r) => ({ seq: r.seq, attempt: r.attempt, atMs: r.at_ms, stream: r.stream, text: r.text })), truncated: size?.truncated === 1 };
    });
  }

  // --- coordination (the rules: shared/coordination.ts) --------------------------------
  // Writes run in the group transaction (BEGIN IMMEDIATE), so a lease grant or a fenced
  // write is atomic across every process sharing the file.

  private readonly stmts = new Map<string, StatementSync>();
  private stmt(sql: string): StatementSync {
    let st = this.stmts.get(sql);
    if (!st) this.stmts.set(sql, (st = this.db.prepare(sql)));
    return st;
  }
  private leaseRow(name: string): StoredLease | null {
    return coord.leaseFromRow(this.stmt('SELECT holder, token, acquired_at_ms, expires_at_ms FROM leases WHERE name = ?').get(name) as LeaseRow | undefined);
  }
  private saveLease(name: string, l: StoredLease): void {
    this.stmt('INSERT OR REPLACE INTO leases (name, holder, token, acquired_at_ms, expires_at_ms) VALUES (?, ?, ?, ?, ?)').run(name, l.holder, l.token, l.acquiredAtMs, l.expiresAtMs);
  }

  async acquireLease(name: string, holder: string, ttlMs: number): Promise<Lease | null> {
    this.checkOpen();
    coord.validateLeaseArgs(name, holder, ttlMs);
    return this.queue.enqueue(() => {
      const next = coord.nextLease(this.leaseRow(name), holder, ttlMs, this.options.clock.now());
      if (!next) return null;
      this.saveLease(name, next);
      return coord.toLease(name, next);
    });
  }

  async releaseLease(name: string, holder: string): Promise<boolean> {
    this.checkOpen();
    coord.validateLeaseArgs(name, holder);
    return this.queue.enqueue(() => {
      const nowMs = this.options.clock.now();
      const current = this.leaseRow(name);
      if (!current || !coord.isLive(current, nowMs) || current.holder !== holder) return false;
      this.saveLease(name, { ...current, expiresAtMs: nowMs });
      return true;
    });
  }

  async readLease(name: string): Promise<Lease | null> {
    this.checkOpen();
    coord.validateLeaseArgs(name, 'reader');
    const current = this.read('readLease', () => this.leaseRow(name));
    return current && coord.isLive(current, this.options.clock.now()) ? coord.toLease(name, current) : null;
  }

  async putState(key: string, value: Json, options: PutStateOptions = {}): Promise<StateEntry> {
    this.checkOpen();
    const text = coord.validatePutState(key, value, options);
    return this.queue.enqueue((tx) => {
      const nowMs = this.options.clock.now();
      if (options.fence) coord.checkFence(options.fence, this.leaseRow(options.fence.lease), nowMs);
      const expiresAtMs = options.ttlMs !== undefined ? nowMs + options.ttlMs : null;
      this.stmt('INSERT OR REPLACE INTO coord_state (key, value, updated_at_ms, expires_at_ms) VALUES (?, ?, ?, ?)').run(key, text, nowMs, expiresAtMs);
      tx.afterCommit(() => this.listeners.emit({ kind: 'state', reach: 'process', key }));
      return { key, value: JSON.parse(text) as Json, updatedAtMs: nowMs, expiresAtMs };
    });
  }

  async getState(key: string): Promise<StateEntry | null> {
    this.checkOpen();
    coord.validateStateKey(key);
    const nowMs = this.options.clock.now();
    const row = this.read('getState', () => this.stmt('SELECT key, value, updated_at_ms, expires_at_ms FROM coord_state WHERE key = ? AND (expires_at_ms IS NULL OR expires_at_ms > ?)').get(key, nowMs)) as StateRow | undefined;
    return row ? coord.entryFromRow(row) : null;
  }

  async listState(prefix: string): Promise<StateEntry[]> {
    this.checkOpen();
    coord.validateStatePrefix(prefix);
    const nowMs = this.options.clock.now();
    // A range on the primary key: keys >= prefix and < prefix with its last code unit + 1.
    const rows = this.read('listState', () =>
      prefix === ''
        ? this.stmt('SELECT key, value, updated_at_ms, expires_at_ms FROM coord_state WHERE (expires_at_ms IS NULL OR expires_at_ms > ?) ORDER BY key').all(nowMs)
        : this.stmt('SELECT key, value, updated_at_ms, expires_at_ms FROM coord_state WHERE key >= ? AND substr(key, 1, ?) = ? AND (expires_at_ms IS NULL OR expires_at_ms > ?) ORDER BY key').all(prefix, prefix.length, prefix, nowMs),
    ) as unknown as StateRow[];
    return rows.map(coord.entryFromRow);
  }

  async deleteState(key: string, options: { fence?: Fence } = {}): Promise<boolean> {
    this.checkOpen();
    coord.validateStateKey(key);
    const fence = coord.validateFence(options.fence);
    return this.queue.enqueue((tx) => {
      const nowMs = this.options.clock.now();
      if (fence) coord.checkFence(fence, this.leaseRow(fence.lease), nowMs);
      const row = this.stmt('DELETE FROM coord_state WHERE key = ? RETURNING expires_at_ms').get(key) as { expires_at_ms: number | null } | undefined;
      const had = !!row && (row.expires_at_ms === null || row.expires_at_ms > nowMs);
      if (had) tx.afterCommit(() => this.listeners.emit({ kind: 'state', reach: 'process', key }));
      return had;
    });
  }

  async recordScalingEvent(e: ScalingEvent): Promise<void> {
    this.checkOpen();
    await this.queue.enqueue(() => {
      this.s.insertEvent.run(e.atMs, e.pool, e.from, e.to, e.action, e.code, e.reason, e.policy);
    });
  }

  async listScalingEvents(range: TimeRange = {}): Promise<ScalingEvent[]> {
    this.checkOpen();
    const rows = this.read('listScalingEvents', () => this.s.listEvents.all(rangeParams(range))) as Record<string, any>[];
    return rows.map((r) => ({
      atMs: r.at_ms,
      pool: r.pool,
      from: r.from_workers,
      to: r.to_workers,
      action: r.action,
      code: r.code,
      reason: r.reason,
      policy: r.policy,
    }));
  }

  async recordMetricSample(sample: MetricSample): Promise<void> {
    this.checkOpen();
    const values = JSON.stringify(sample.values ?? {});
    await this.queue.enqueue(() => {
      this.s.insertSample.run(sample.atMs, sample.pool, values);
    });
  }

  async listMetricSamples(range: TimeRange = {}): Promise<MetricSample[]> {
    this.checkOpen();
    const rows = this.read('listMetricSamples', () => this.s.listSamples.all(rangeParams(range))) as Record<string, any>[];
    return rows.map((r) => ({ atMs: r.at_ms, pool: r.pool, values: JSON.parse(r.sample_values) }));
  }

  // --- lifecycle ------------------------------------------------------------------

  subscribe(listener: (event: StoreEvent) => void): () => void {
    return this.listeners.subscribe(listener);
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    await this.queue.drained();
    this.listeners.clear();
    try {
      this.db.exec('PRAGMA optimize');
    } finally {
      this.db.close();
    }
  }

  private byId(taskId: string): TaskRow | undefined {
    const { seq, tail } = idKey(taskId);
    return this.s.byId.get(seq, tail) as unknown as TaskRow | undefined;
  }

  private checkOpen(): void {
    if (this.isClosed) throw new StoreUnavailableError(`SQLite store ${this.path} is closed`);
  }

  private read<T>(during: string, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw translateSqliteError(err, this.path, during);
    }
  }
}

/**
 * The task_counts row (per type) holding the arrivals counter: tasks ever submitted. Only
 * submits add to it; purges subtract real statuses only, so it never goes down.
 */
const ARRIVED = 'arrived';

interface SucceededRow {
  seq: number;
  type: string;
  tenant: string;
  attempts: number;
  created_at_ms: number;
  run_at_ms: number;
  started_at_ms: number | null;
}

interface HeadRow {
  seq: number;
  priority: number;
  since_ms: number;
}

function rangeParams(range: TimeRange) {
  return {
    from: range.fromMs ?? Number.MIN_SAFE_INTEGER,
    to: range.toMs ?? Number.MAX_SAFE_INTEGER,
    pool: range.pool ?? null,
    limit: rangeLimit(range),
  };
}
