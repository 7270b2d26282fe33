// The PostgreSQL store: one schema per Tidepool queue (`?schema=`), shared by any number
// of processes. Claims lease rows with FOR UPDATE SKIP LOCKED inside one server-side
// function (tidepool_claim, sql.ts) that also commits the completions handed to it, so a
// worker's completion and its next task cost one round trip. Concurrent submits and
// completions are grouped into one statement each (Batcher). A dedicated connection
// LISTENs for other processes' commits (ChannelListener).
//
// Time of record: the database's clock for leases, runAt and backoff. The store keeps the
// offset between the injected clock and the server's (shared/db-clock.ts, measured at
// connect and again in maintain()) and passes clock + offset to every statement as `now`,
// so nodes with skewed clocks agree, and tests still move time with a virtual clock.
//
// Events: `submitted` and `finished` are told to this process's listeners right after the
// commit and to every other process by NOTIFY at commit (reach `shared`).
//
// Outages: the store opens even while PostgreSQL is down; every operation then fails with
// StoreUnavailableError (HTTP 503) until a connection succeeds, when migrations run and
// work resumes. Nothing is acknowledged before its transaction committed.
//
// Task states and transitions: see src/core/types.ts.
import pg from 'pg';
import type { PoolClient, PoolConfig, QueryResultRow } from 'pg';
import {
  InvalidInputError,
  LeaseLostError,
  QueueFullError,
  StoreUnavailableError,
  TASK_STATUSES,
  TASK_LOG_MAX_BYTES,
  TaskConflictError,
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
import { DatabaseClock } from '../shared/db-clock.ts';
import { runMaintenance } from '../shared/maintenance.ts';
import { checkAfterSeq, checkLogLines, logLineBytes } from '../shared/task-log.ts';
import { backoffMs } from '../shared/backoff.ts';
import { decodeCursor, encodeCursor } from '../shared/cursor.ts';
import { Listeners } from '../shared/listeners.ts';
import { leaseLostDetail, normalizeError } from '../shared/lease.ts';
import { resolveStoreOptions } from '../shared/options.ts';
import type { ResolvedStoreOptions } from '../shared/options.ts';
import { checkListFilter, rangeLimit, statusSet, zeroCounts } from '../shared/queries.ts';
import { CompletionRate, estimateRetryAfterMs } from '../shared/rate.ts';
import { buildTask, tenantOf, validateResult, validateClaim, validateLeaseMs, validateSubmit } from '../shared/submit.ts';
import { claimedFromColumns, formatId, idKey, newIdTail, taskFromColumns } from '../shared/task-rows.ts';
import type { TaskColumns } from '../shared/task-rows.ts';
import { Batcher, claimShapeKey } from '../shared/batcher.ts';
import { isConnectionError, translatePgError } from './errors.ts';
import { ChannelListener } from './listener.ts';
import { lockKey, migrate, quoteIdent } from './migrate.ts';
import * as coord from '../shared/coordination.ts';
import type { Fence, Lease, LeaseRow, PutStateOptions, StateEntry, StateRow } from '../shared/coordination.ts';
import * as SQL from './sql.ts';
import type { PostgresUrl } from '../url.ts';
import { postgresConnection } from './url.ts';
import type { PostgresConnection } from './url.ts';

const PURGE_CHUNK = 5_000;
/** counts() folds the count deltas once they pass this many rows. */
const FOLD_AT_ROWS = 2_000;
const MAX_BATCH = 1_000;
/** Submits and completions: batches in flight at once (each on its own connection). */
const BATCHES_IN_FLIGHT = 2;

/** A row of `tasks` (and of tidepool_claimed) as the driver returns it. */
interface TaskRow extends TaskColumns {
  seq: number;
  id_tail: string;
  claimed_from?: string | null;
  is_waiting?: boolean;
}

function toTask(row: TaskRow): Task {
  return taskFromColumns(row, formatId(row.seq, row.id_tail));
}

function toClaimed(row: TaskRow): ClaimedTask {
  return claimedFromColumns(row, formatId(row.seq, row.id_tail));
}

// bigint (int8) as a number: every bigint here is an epoch ms, a count or a seq, all < 2^53.
const INT8_OID = 20;
const pgTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID && format !== 'binary') return (v: string) => Number(v);
    return (pg.types.getTypeParser as (oid: number, format?: string) => unknown)(oid, format);
  },
} as PoolConfig['types'];

interface SubmitItem {
  inputs: readonly SubmitInput[];
  payloads: string[];
}

interface CompleteItem {
  taskId: string;
  seq: number;
  tail: string;
  token: string;
  resultJson: string;
  next?: ClaimRequest;
}

export class PostgresStore implements Store {
  readonly kind = 'postgres';
  readonly capabilities: readonly StoreCapability[] = ['durable', 'multiProcess', 'listenNotify', 'databaseClock'];
  readonly eventReach: StoreEventReach = 'shared';
  readonly timeOfRecord: TimeOfRecord = 'database';
  readonly schema: string;
  /** The URL as messages show it (no password). */
  readonly label: string;

  private readonly url: PostgresConnection;
  private readonly pool: pg.Pool;
  private readonly options: ResolvedStoreOptions;
  private readonly dbClock: DatabaseClock;
  private readonly listeners = new Listeners();
  private readonly completions = new CompletionRate();
  private readonly submits: Batcher<SubmitItem, SubmitResult[]>;
  private readonly finishes: Batcher<CompleteItem, ClaimedTask[]>;
  private readonly listener: ChannelListener;
  private readonly channel: string;
  private readonly processTag = newIdTail();
  private readonly capTenants: string[];
  private readonly capLimits: number[];
  private readonly claimLockKey: number;
  /** Types this process has claimed: what a reconnect tells its pools to look at again. */
  private readonly typesSeen = new Set<string>();
  private isReady = false;
  private readying: Promise<void> | null = null;
  private isClosed = false;
  /** The last connection problem, for health reports; null while connected. */
  private lastError: Error | null = null;

  /** Opens the store a postgres:// URL names; never fails because the server is down (see above). */
  static async open(url: PostgresUrl, options: StoreOptions = {}): Promise<PostgresStore> {
    const store = new PostgresStore(postgresConnection(url), options);
    try {
      await store.ensureReady();
    } catch (err) {
      if (!(err instanceof StoreUnavailableError) || !isConnectionError(err.cause)) {
        await store.close();
        throw err;
      }
      process.emitWarning(`${err.message}; the store will keep trying`, { code: 'TIDEPOOL_STORE_UNAVAILABLE' });
    }
    return store;
  }

  private constructor(url: PostgresConnection, options: StoreOptions) {
    this.options = resolveStoreOptions(options);
    this.dbClock = new DatabaseClock(this.options.clock, async () => {
      const { rows } = await this.pool.query<{ ms: number }>(SQL.DB_NOW);
      return rows[0]!.ms;
    });
    this.url = url;
    this.schema = url.schema;
    this.label = `PostgreSQL store ${url.redactedUrl}`;
    this.channel = `tidepool_${url.schema}`;
    this.capTenants = Object.keys(this.options.tenantLimits);
    this.capLimits = this.capTenants.map((t) => this.options.tenantLimits[t]!);
    this.claimLockKey = lockKey(url.schema, 'claim');
    const config: PoolConfig = {
      connectionString: url.connectionString,
      max: url.poolSize,
      // Names this store's backends, so an operator (or a test) can find them in pg_stat_activity.
      application_name: `tidepool/${url.schema}/${this.processTag}`.slice(0, 63),
      options: `-c search_path=${quoteIdent(url.schema)}`,
      types: pgTypes,
      connectionTimeoutMillis: 5_000,
    };
    this.pool = new pg.Pool(config);
    // An idle connection that breaks is dropped by the pool; the next query opens a fresh one.
    this.pool.on('error', (err) => this.noteConnectionError(err));
    this.submits = new Batcher(BATCHES_IN_FLIGHT, MAX_BATCH, (items) => this.submitGroup(items));
    this.finishes = new Batcher(BATCHES_IN_FLIGHT, MAX_BATCH, (items) => this.completeGroup(items));
    this.listener = new ChannelListener(
      { connectionString: url.connectionString, application_name: `tidepool/${url.schema}/${this.processTag}`.slice(0, 63), types: pgTypes },
      this.channel,
      (payload) => this.onNotification(payload),
      () => {
        this.lastError = null;
        // A NOTIFY sent while the connection was down is lost: have the pools look again.
        if (this.typesSeen.size) this.listeners.emit({ kind: 'submitted', reach: 'shared', types: [...this.typesSeen] });
      },
      (err) => this.noteConnectionError(err),
    );
  }

  /** What /health and messages say about the store: null when the last contact worked. */
  get problem(): string | null {
    return this.lastError ? `${this.label}: ${this.lastError.message}` : null;
  }

  private noteConnectionError(err: Error): void {
    this.lastError = err;
  }

  /** The time of record every statement gets as `now` (clock + measured offset). */
  private dbNow(): number {
    return this.dbClock.now();
  }

  async now(): Promise<number> {
    this.checkOpen();
    await this.ensureReady().catch(() => undefined);
    return this.dbNow();
  }

  private async ensureReady(): Promise<void> {
    if (this.isReady) return;
    this.readying ??= (async () => {
      let client: PoolClient;
      try {
        client = await this.pool.connect();
      } catch (err) {
        this.noteConnectionError(err as Error);
        throw translatePgError(err, this.label, 'connecting');
      }
      try {
        await migrate(client, this.schema, this.label);
        await this.dbClock.sync();
        this.isReady = true;
        this.lastError = null;
      } catch (err) {
        throw translatePgError(err, this.label, 'applying migrations');
      } finally {
        client.release();
      }
    })().finally(() => (this.readying = null));
    return this.readying;
  }

  private async query<R extends QueryResultRow>(during: string, sql: string, params: unknown[] = []): Promise<R[]> {
    this.checkOpen();
    try {
      await this.ensureReady();
      const result = await this.pool.query<R>(sql, params);
      this.lastError = null;
      return result.rows;
    } catch (err) {
      if (isConnectionError(err)) this.noteConnectionError(err as Error);
      throw translatePgError(err, this.label, during);
    }
  }

  /** Runs `fn` in a transaction on one connection; rolls back when it throws. */
  private async tx<T>(during: string, fn: (q: <R extends QueryResultRow>(sql: string, params?: unknown[]) => Promise<R[]>) => Promise<T>): Promise<T> {
    this.checkOpen();
    let client: PoolClient | undefined;
    try {
      await this.ensureReady();
      client = await this.pool.connect();
      await client.query('BEGIN');
      const c = client;
      const out = await fn(async <R extends QueryResultRow>(sql: string, params: unknown[] = []) => (await c.query<R>(sql, params)).rows);
      await client.query('COMMIT');
      return out;
    } catch (err) {
      if (client) await client.query('ROLLBACK').catch(() => undefined);
      if (isConnectionError(err)) this.noteConnectionError(err as Error);
      throw translatePgError(err, this.label, during);
    } finally {
      client?.release();
    }
  }

  private onNotification(payload: string): void {
    let msg: { p?: string; t?: string[]; f?: FinishedTask[]; s?: string };
    try {
      msg = JSON.parse(payload) as typeof msg;
    } catch {
      return;
    }
    // This process told its own listeners right after its commit.
    if (msg.p === this.processTag) return;
    if (Array.isArray(msg.t)) this.listeners.emit({ kind: 'submitted', reach: 'shared', types: msg.t });
    if (Array.isArray(msg.f)) for (const task of msg.f) this.listeners.emit({ kind: 'finished', reach: 'shared', task });
    if (typeof msg.s === 'string') this.listeners.emit({ kind: 'state', reach: 'shared', key: msg.s });
  }

  /** A finished event's snapshot of an ended row. */
  private static finishedOf(row: TaskRow): FinishedTask {
    return {
      id: formatId(row.seq, row.id_tail),
      type: row.type,
      tenant: row.tenant,
      status: row.status as FinishedTask['status'],
      attempts: row.attempts,
      createdAtMs: row.created_at_ms,
      runAtMs: row.run_at_ms,
      startedAtMs: row.started_at_ms,
      finishedAtMs: row.finished_at_ms ?? row.updated_at_ms,
    };
  }

  /** Tells every process sharing the store (this one at once, the others by NOTIFY at commit). */
  private announce(types: string[]): string {
    return JSON.stringify({ p: this.processTag, t: types });
  }

  // --- submit ---------------------------------------------------------------------

  async submit(input: SubmitInput): Promise<SubmitResult> {
    return (await this.submitBatch([input]))[0]!;
  }

  async submitBatch(inputs: readonly SubmitInput[]): Promise<SubmitResult[]> {
    this.checkOpen();
    if (!Array.isArray(inputs)) throw new InvalidInputError('tasks: expected an array of submits');
    const single = inputs.length === 1;
    inputs.forEach((input, i) => validateSubmit(input, single ? undefined : i));
    if (inputs.length === 0) return [];
    const payloads = inputs.map((input) => JSON.stringify(input.payload === undefined ? null : input.payload));
    return this.submits.push({ inputs, payloads });
  }

  /** One statement for every submit of the group; each caller's batch stays all or none. */
  private async submitGroup(items: SubmitItem[]): Promise<(SubmitResult[] | Error)[]> {
    const outcomes: (SubmitResult[] | Error)[] = new Array(items.length);
    let accepted = items.map((_, i) => i);
    if (this.options.maxQueueDepth > 0) {
      // Only tasks that would be new count against the depth: an idempotent repeat still answers.
      const keyed = items.flatMap((item) => item.inputs.filter((i) => i.idempotencyKey !== undefined));
      const taken = new Set<string>();
      if (keyed.length) {
        const found = await this.query<TaskRow>('reading tasks by idempotency key', SQL.BY_IDEMPOTENCY_KEYS, [
          keyed.map(tenantOf), keyed.map((i) => i.idempotencyKey),
        ]);
        for (const r of found) taken.add(`${r.tenant}\u0000${r.idempotency_key}`);
      }
      const [row] = await this.query<{ n: number }>('checking the queue depth', SQL.PENDING_DEPTH);
      let depth = row?.n ?? 0;
      const max = this.options.maxQueueDepth;
      accepted = [];
      items.forEach((item, i) => {
        const fresh = new Set<string>();
        let n = 0;
        for (const input of item.inputs) {
          if (input.idempotencyKey === undefined) n++;
          else {
            const key = `${tenantOf(input)}\u0000${input.idempotencyKey}`;
            if (!taken.has(key) && !fresh.has(key)) n++;
            fresh.add(key);
          }
        }
        if (n > 0 && depth + n > max) {
          const nowMs = this.options.clock.now();
          outcomes[i] = new QueueFullError(depth, max, estimateRetryAfterMs(depth + n - max, this.completions.perSecond(nowMs)));
        } else {
          depth += n;
          accepted.push(i);
        }
      });
      if (accepted.length === 0) return outcomes;
    }
    const cols: unknown[][] = Array.from({ length: 10 }, () => []);
    const regions: string[] = [];
    const tails: string[][] = [];
    const types = new Set<string>();
    for (const i of accepted) {
      const item = items[i]!;
      const itemTails: string[] = [];
      item.inputs.forEach((input, j) => {
        const tail = newIdTail();
        itemTails.push(tail);
        cols[0]!.push(tail);
        cols[1]!.push(input.type);
        cols[2]!.push(tenantOf(input));
        cols[3]!.push(input.priority ?? 0);
        cols[4]!.push(input.runAtMs ?? null);
        cols[5]!.push(input.delayMs ?? 0);
        cols[6]!.push(input.maxAttempts ?? this.options.retry.maxAttempts);
        cols[7]!.push(input.timeoutMs ?? this.options.defaultTimeoutMs);
        cols[8]!.push(input.idempotencyKey ?? null);
        cols[9]!.push(item.payloads[j]);
        regions.push(input.region ?? '');
        types.add(input.type);
      });
      tails.push(itemTails);
    }
    const rows = await this.query<{ seq: number; id_tail: string; run_at_ms: number; created_at_ms: number }>(
      'submitting', SQL.INSERT_TASKS, [this.dbNow(), ...cols, this.channel, this.announce([...types]), regions],
    );
    const byTail = new Map(rows.map((r) => [r.id_tail, r]));
    // Submits whose idempotency key was taken (earlier, or by another submit of this group).
    const missing: { tenant: string; key: string }[] = [];
    accepted.forEach((i, k) => {
      items[i]!.inputs.forEach((input, j) => {
        if (!byTail.has(tails[k]![j]!)) missing.push({ tenant: tenantOf(input), key: input.idempotencyKey! });
      });
    });
    const earlier = new Map<string, Task>();
    if (missing.length) {
      const found = await this.query<TaskRow>('reading tasks by idempotency key', SQL.BY_IDEMPOTENCY_KEYS, [
        missing.map((m) => m.tenant), missing.map((m) => m.key),
      ]);
      for (const r of found) earlier.set(`${r.tenant}\u0000${r.idempotency_key}`, toTask(r));
    }
    let created = 0;
    accepted.forEach((i, k) => {
      const item = items[i]!;
      const results: SubmitResult[] = [];
      const firstInItem = new Map<string, SubmitResult>();
      item.inputs.forEach((input, j) => {
        const row = byTail.get(tails[k]![j]!);
        const key = input.idempotencyKey === undefined ? null : `${tenantOf(input)}\u0000${input.idempotencyKey}`;
        if (row) {
          const task = buildTask(input, this.options, row.created_at_ms, formatId(row.seq, row.id_tail));
          task.runAtMs = row.run_at_ms;
          const result = { task, created: true };
          if (key) firstInItem.set(key, result);
          results.push(result);
          created++;
          return;
        }
        const first = key ? firstInItem.get(key) : undefined;
        const task = first?.task ?? (key ? earlier.get(key) : undefined);
        if (!task) throw new StoreUnavailableError(`${this.label}: submitting failed: the task with idempotency key ${JSON.stringify(input.idempotencyKey)} vanished`);
        results.push({ task: { ...task }, created: false });
      });
      outcomes[i] = results;
    });
    if (created > 0) this.listeners.emit({ kind: 'submitted', reach: 'shared', types: [...types] });
    return outcomes;
  }

  // --- claim, heartbeat, complete, fail -------------------------------------------

  async claim(req: ClaimRequest): Promise<ClaimedTask[]> {
    this.checkOpen();
    if (!validateClaim(req)) return [];
    // The i-th task goes to workerIds[i], the rest to workerId.
    const workers = req.workerIds?.length ? Array.from({ length: req.limit }, (_, i) => req.workerIds![i] ?? req.workerId) : [req.workerId];
    const rows = await this.claimRows('claiming', workers, req.types, req.limit, req.leaseMs, [], req.tenants, req.regions);
    return this.claimedOf(rows);
  }

  /** The claimed rows of tidepool_claim's answer; tells listeners of the leases it reclaimed. */
  private claimedOf(rows: TaskRow[]): ClaimedTask[] {
    const claimed: ClaimedTask[] = [];
    const requeued = new Set<string>();
    for (const r of rows) {
      if (r.claimed_from === 'expired') {
        if (r.status === 'dead') this.emitFinished(r);
        else requeued.add(r.type);
      } else if (r.claimed_from !== 'completed') claimed.push(toClaimed(r));
    }
    if (requeued.size) this.listeners.emit({ kind: 'submitted', reach: 'shared', types: [...requeued] });
    return claimed;
  }

  private async claimRows(
    during: string, workers: string[], types: readonly string[], limit: number, leaseMs: number, done: CompleteItem[], tenants?: readonly string[],
    regions?: readonly string[],
  ): Promise<TaskRow[]> {
    const uniqueTypes = [...new Set(types)];
    for (const t of uniqueTypes) this.typesSeen.add(t);
    return this.query<TaskRow>(during, SQL.CLAIM, [
      this.dbNow(), workers, uniqueTypes, limit, leaseMs, this.capTenants, this.capLimits,
      this.options.tenantConcurrency, this.claimLockKey,
      done.map((d) => d.seq), done.map((d) => d.tail), done.map((d) => d.token), done.map((d) => d.resultJson),
      tenants === undefined ? null : [...tenants], this.channel, this.processTag,
      regions === undefined ? null : [...new Set(regions)],
    ]);
  }

  async heartbeat(taskId: string, leaseToken: string, leaseMs: number): Promise<{ leaseExpiresAtMs: number }> {
    this.checkOpen();
    validateLeaseMs(leaseMs);
    const { seq, tail } = idKey(taskId);
    const [row] = await this.query<{ lease_expires_at_ms: number }>('extending a lease', SQL.HEARTBEAT, [this.dbNow(), seq, tail, leaseToken, leaseMs]);
    if (!row) throw await this.leaseError(taskId);
    return { leaseExpiresAtMs: row.lease_expires_at_ms };
  }

  async complete(taskId: string, leaseToken: string, result: Json, next?: ClaimRequest): Promise<ClaimedTask[]> {
    this.checkOpen();
    validateResult(result);
    const hasNext = next ? validateClaim(next, 'next') : false;
    const resultJson = JSON.stringify(result === undefined ? null : result);
    const { seq, tail } = idKey(taskId);
    return this.finishes.push({ taskId, seq, tail, token: leaseToken, resultJson, next: hasNext ? next : undefined });
  }

  /**
   * Completes a group in one call of tidepool_claim, which also claims the group's next
   * tasks (the nexts that ask for the same types and lease; others claim after). A next
   * whose completion was refused gets nothing: what was claimed for it goes back.
   */
  private async completeGroup(all: CompleteItem[]): Promise<(ClaimedTask[] | Error)[]> {
    // One statement tells a task's completions apart by seq only: a second one of the same
    // task (a repeat, or another token) goes in a later statement, where it is refused or
    // counts, as if it had come alone.
    const seen = new Set<number>();
    const items = all.filter((i) => !seen.has(i.seq) && seen.add(i.seq));
    const later = all.filter((i) => !items.includes(i));
    if (later.length) {
      const now = await this.completeGroup(items);
      const after = await this.completeGroup(later);
      return all.map((i) => (items.includes(i) ? now[items.indexOf(i)]! : after[later.indexOf(i)]!));
    }
    const withNext = items.filter((i) => i.next);
    const mainKey = withNext.length ? claimShapeKey(withNext[0]!.next!) : '';
    const main = withNext.filter((i) => claimShapeKey(i.next!) === mainKey);
    const workers = main.flatMap((i) => Array<string>(i.next!.limit).fill(i.next!.workerId));
    const first = main[0]?.next;
    const rows = await this.claimRows('completing', workers, first?.types ?? [], workers.length, first?.leaseMs ?? 1, items, first?.tenants, first?.regions);
    const doneSeqs = new Set<number>();
    for (const r of rows) if (r.claimed_from === 'completed') doneSeqs.add(r.seq);
    const claimed = this.claimedOf(rows);
    const nowMs = this.options.clock.now();
    const outcomes = new Map<CompleteItem, ClaimedTask[] | Error>();
    const release: ClaimedTask[] = [];
    let at = 0;
    for (const item of main) {
      const share = claimed.slice(at, at + item.next!.limit);
      at += item.next!.limit;
      if (doneSeqs.has(item.seq)) outcomes.set(item, share);
      else release.push(...share);
    }
    if (release.length) {
      await this.query('giving back tasks claimed for a refused completion', SQL.RELEASE, [release.map((r) => idKey(r.id).seq), release.map((r) => r.leaseToken)]);
    }
    for (const item of items) {
      if (!doneSeqs.has(item.seq)) {
        outcomes.set(item, await this.leaseError(item.taskId));
        continue;
      }
      this.completions.record(nowMs);
      if (!outcomes.has(item)) {
        outcomes.set(item, item.next ? await this.claim(item.next) : []);
      }
    }
    if (this.listeners.size > 0) {
      for (const r of rows) if (r.claimed_from === 'completed') this.emitFinished(r);
    }
    return items.map((i) => outcomes.get(i)!);
  }

  /** Tells this process's listeners a task ended (the others hear it by NOTIFY). */
  private emitFinished(row: TaskRow): void {
    if (this.listeners.size > 0) this.listeners.emit({ kind: 'finished', reach: 'shared', task: PostgresStore.finishedOf(row) });
  }

  /** NOTIFY the other processes of tasks that ended outside the completion path. */
  private notifyFinished(q: (sql: string, params?: unknown[]) => Promise<unknown>, rows: TaskRow[]): Promise<unknown> {
    return q(SQL.NOTIFY, [this.channel, JSON.stringify({ p: this.processTag, f: rows.map(PostgresStore.finishedOf) })]);
  }

  async fail(taskId: string, leaseToken: string, error: TaskError, options: FailOptions = {}, next?: ClaimRequest): Promise<ClaimedTask[]> {
    this.checkOpen();
    const hasNext = next ? validateClaim(next, 'next') : false;
    const errorJson = JSON.stringify(normalizeError(error));
    const { seq, tail } = idKey(taskId);
    const outcome = await this.tx('recording a failed attempt', async (q) => {
      const [current] = await q<TaskRow>(SQL.BY_ID_FOR_UPDATE, [seq, tail]);
      if (!current || current.status !== 'running' || current.lease_token !== leaseToken) return { current: current ?? null, row: null };
      let row: TaskRow;
      if (options.retryable === false || current.attempts >= current.max_attempts) {
        [row] = (await q<TaskRow>(SQL.BURY_TASK, [this.dbNow(), seq, tail, errorJson])) as [TaskRow];
      } else {
        const waitMs = backoffMs(current.attempts, this.options.retry, this.options.random);
        [row] = (await q<TaskRow>(SQL.RETRY_TASK, [this.dbNow(), seq, tail, waitMs, errorJson])) as [TaskRow];
      }
      await q(SQL.ADD_COUNTS, [[row.type, row.type], ['running', row.status], [-1, 1]]);
      if (row.status === 'dead') await this.notifyFinished(q, [row]);
      else if (!row.is_waiting) await q(SQL.NOTIFY, [this.channel, this.announce([row.type])]);
      return { current, row };
    });
    if (!outcome.row) throw this.leaseErrorFor(taskId, outcome.current);
    const task = toTask(outcome.row);
    if (task.status === 'dead') {
      this.completions.record(this.options.clock.now());
      this.emitFinished(outcome.row);
    } else if (task.runAtMs <= this.dbNow()) {
      this.listeners.emit({ kind: 'submitted', reach: 'shared', types: [task.type] });
    }
    return hasNext ? this.claim(next!) : [];
  }

  /** LeaseLostError saying why, or TaskNotFoundError. */
  private async leaseError(taskId: string): Promise<Error> {
    const { seq, tail } = idKey(taskId);
    try {
      const [row] = await this.query<TaskRow>('reading a task', SQL.BY_ID, [seq, tail]);
      return this.leaseErrorFor(taskId, row ?? null);
    } catch (err) {
      return err as Error;
    }
  }

  private leaseErrorFor(taskId: string, row: TaskRow | null): Error {
    if (!row) return new TaskNotFoundError(taskId);
    return new LeaseLostError(taskId, leaseLostDetail(row.status as TaskStatus));
  }

  // --- cancel, retry, reclaim, purge ----------------------------------------------

  async cancel(taskId: string): Promise<Task> {
    this.checkOpen();
    const { seq, tail } = idKey(taskId);
    const row = await this.tx('cancelling a task', async (q) => {
      const [current] = await q<TaskRow>(SQL.BY_ID_FOR_UPDATE, [seq, tail]);
      if (!current) throw new TaskNotFoundError(taskId);
      if (current.status === 'succeeded' || current.status === 'dead' || current.status === 'cancelled') {
        throw new TaskConflictError(`task ${taskId} is ${current.status}; only queued, retrying or running tasks can be cancelled`);
      }
      const [row] = (await q<TaskRow>(SQL.CANCEL_TASK, [this.dbNow(), seq, tail])) as [TaskRow];
      await q(SQL.ADD_COUNTS, [[row.type, row.type], [current.status, 'cancelled'], [-1, 1]]);
      await this.notifyFinished(q, [row]);
      return row;
    });
    const task = toTask(row);
    this.completions.record(this.options.clock.now());
    this.emitFinished(row);
    return task;
  }

  async retryDead(taskId: string): Promise<Task> {
    this.checkOpen();
    const { seq, tail } = idKey(taskId);
    const row = await this.tx('retrying a dead task', async (q) => {
      const [current] = await q<TaskRow>(SQL.BY_ID_FOR_UPDATE, [seq, tail]);
      if (!current) throw new TaskNotFoundError(taskId);
      if (current.status !== 'dead') throw new TaskConflictError(`task ${taskId} is ${current.status}; only dead tasks can be retried`);
      const [row] = (await q<TaskRow>(SQL.REQUEUE_DEAD, [this.dbNow(), seq, tail])) as [TaskRow];
      await q(SQL.ADD_COUNTS, [[row.type, row.type], ['dead', 'queued'], [-1, 1]]);
      await q(SQL.NOTIFY, [this.channel, this.announce([row.type])]);
      return row;
    });
    this.listeners.emit({ kind: 'submitted', reach: 'shared', types: [row.type] });
    return toTask(row);
  }

  async reclaimExpired(): Promise<number> {
    const rows = await this.tx('reclaiming expired leases', async (q) => {
      const moved = await q<TaskRow>(SQL.RECLAIM, [this.dbNow()]);
      const dead = moved.filter((r) => r.status === 'dead');
      const requeued = [...new Set(moved.filter((r) => r.status !== 'dead').map((r) => r.type))];
      if (dead.length) await this.notifyFinished(q, dead);
      if (requeued.length) await q(SQL.NOTIFY, [this.channel, this.announce(requeued)]);
      return moved;
    });
    const requeued = new Set<string>();
    for (const row of rows) {
      if (row.status === 'dead') this.emitFinished(row);
      else requeued.add(row.type);
    }
    if (requeued.size) this.listeners.emit({ kind: 'submitted', reach: 'shared', types: [...requeued] });
    return rows.length;
  }

  async purgeFinished(beforeMs: number): Promise<number> {
    this.checkOpen();
    if (typeof beforeMs !== 'number' || !Number.isFinite(beforeMs)) {
      throw new InvalidInputError(`beforeMs: got ${String(beforeMs)}; expected epoch milliseconds`);
    }
    let total = 0;
    for (;;) {
      // Chunks keep each transaction short; other writes interleave between them.
      const [row] = await this.query<{ n: number }>('purging finished tasks', SQL.PURGE_CHUNK, [beforeMs, PURGE_CHUNK]);
      const n = row?.n ?? 0;
      total += n;
      if (n < PURGE_CHUNK) return total;
    }
  }

  // --- reads ----------------------------------------------------------------------

  async get(taskId: string): Promise<Task | null> {
    const { seq, tail } = idKey(taskId);
    if (seq < 0) {
      this.checkOpen();
      return null;
    }
    const [row] = await this.query<TaskRow>('reading a task', SQL.BY_ID, [seq, tail]);
    return row ? toTask(row) : null;
  }

  async list(filter: TaskFilter = {}): Promise<TaskPage> {
    this.checkOpen();
    const { limit, afterSeq } = checkListFilter(filter, decodeCursor);
    const statuses = statusSet(filter.status);
    const type = filter.type ?? null;
    const tenant = filter.tenant ?? null;
    const rows =
      statuses && statuses.size === 1 && statuses.has('dead')
        ? await this.query<TaskRow>('listing tasks', SQL.LIST_DEAD, [afterSeq, type, tenant, limit + 1])
        : await this.query<TaskRow>('listing tasks', SQL.LIST_PAGE, [afterSeq, statuses ? [...statuses] : null, type, tenant, limit + 1]);
    const more = rows.length > limit;
    const page = more ? rows.slice(0, limit) : rows;
    return { tasks: page.map(toTask), nextCursor: more ? encodeCursor(page[page.length - 1]!.seq) : null };
  }

  async counts(): Promise<TaskCounts> {
    const [size] = await this.query<{ n: number }>('counting tasks', SQL.COUNT_DELTA_ROWS);
    if ((size?.n ?? 0) > FOLD_AT_ROWS) await this.query('folding task counts', SQL.FOLD_COUNTS);
    const rows = await this.query<{ type: string; status: TaskStatus; n: number }>('counting tasks', SQL.ALL_COUNTS);
    const waiting = await this.query<{ type: string; n: number }>('counting tasks not yet due', SQL.WAITING_BY_TYPE, [this.dbNow()]);
    const byStatus = zeroCounts();
    const byType: Record<string, StatusCounts> = nullRecord<StatusCounts>();
    const arrivalsByType = nullRecord<number>();
    for (const r of rows) {
      if (r.status === ('arrived' as TaskStatus)) {
        arrivalsByType[r.type] = r.n;
        continue;
      }
      if (!(TASK_STATUSES as readonly string[]).includes(r.status)) continue;
      const c = (byType[r.type] ??= zeroCounts());
      c[r.status] += r.n;
      byStatus[r.status] += r.n;
    }
    // Every type that ever had a task is listed, with zeros once its tasks are purged.
    for (const type of Object.keys(arrivalsByType)) byType[type] ??= zeroCounts();
    const waitingByType = new Map(waiting.map((w) => [w.type, w.n]));
    const runnableByType = nullRecord<number>();
    for (const [type, c] of Object.entries(byType)) runnableByType[type] = c.queued + c.retrying - (waitingByType.get(type) ?? 0);
    return { byStatus, byType, runnableByType, arrivalsByType };
  }

  async oldestRunnableAtMs(types: readonly string[]): Promise<number | null> {
    if (types.length === 0) {
      this.checkOpen();
      return null;
    }
    await this.query('moving due tasks to the ready index', SQL.PROMOTE_DUE, [this.dbNow()]);
    const [row] = await this.query<{ since_ms: number | null }>('reading the oldest runnable task', SQL.OLDEST_RUNNABLE, [[...new Set(types)]]);
    return row?.since_ms ?? null;
  }

  // --- maintenance ----------------------------------------------------------------

  async maintain(policy?: MaintenancePolicy): Promise<MaintenanceReport> {
    this.checkOpen();
    await this.ensureReady();
    await this.dbClock.resync().catch(() => undefined);
    const report = await runMaintenance(
      {
        now: () => this.now(),
        reclaimExpired: () => this.reclaimExpired(),
        purgeFinished: (beforeMs) => this.purgeFinished(beforeMs),
        purgeScalingEvents: async (beforeMs) => this.affected('purging scaling events', SQL.PURGE_EVENTS, [beforeMs]),
        purgeMetricSamples: async (beforeMs) => this.affected('purging metric samples', SQL.PURGE_SAMPLES, [beforeMs]),
        purgeExpiredState: async (nowMs) => this.affected('purging lapsed state', SQL.STATE_PURGE, [nowMs]),
      },
      policy,
    );
    const [size] = await this.query<{ n: number }>('counting task count rows', SQL.COUNT_DELTA_ROWS);
    if ((size?.n ?? 0) > FOLD_AT_ROWS / 4) await this.query('folding task counts', SQL.FOLD_COUNTS);
    return report;
  }

  /** Rows a statement changed. */
  private async affected(during: string, sql: string, params: unknown[]): Promise<number> {
    this.checkOpen();
    try {
      await this.ensureReady();
      return (await this.pool.query(sql, params)).rowCount ?? 0;
    } catch (err) {
      throw translatePgError(err, this.label, during);
    }
  }

  // --- task logs ------------------------------------------------------------------

  async appendTaskLog(taskId: string, lines: readonly TaskLogLine[]): Promise<void> {
    this.checkOpen();
    const checked = checkLogLines(lines);
    if (checked.length === 0) return;
    const { seq, tail } = idKey(taskId);
    if (seq < 0) return;
    await this.query('appending to a task log', SQL.APPEND_LOG, [
      seq, tail, checked.map((l) => l.attempt), checked.map((l) => l.atMs), checked.map((l) => l.stream),
      checked.map((l) => l.text), checked.map((l) => logLineBytes(l.text)), TASK_LOG_MAX_BYTES,
    ]);
  }

  async readTaskLog(taskId: string, options: { afterSeq?: number } = {}): Promise<TaskLogPage> {
    this.checkOpen();
    const afterSeq = checkAfterSeq(options.afterSeq);
    const { seq, tail } = idKey(taskId);
    if (seq < 0) throw new TaskNotFoundError(taskId);
    const [exists] = await this.query('reading a task log', SQL.TASK_EXISTS, [seq, tail]);
    if (!exists) throw new TaskNotFoundError(taskId);
    const [size] = await this.query<{ truncated: boolean }>('reading a task log', SQL.LOG_SIZE, [seq]);
    const rows = await this.query<{ seq: number; attempt: number; at_ms: number; stream: TaskLogLine['stream']; text: string }>(
      'reading a task log', SQL.READ_LOG, [seq, afterSeq],
    );
    return { lines: rows.map((r) => ({ seq: r.seq, attempt: r.attempt, atMs: r.at_ms, stream: r.stream, text: r.text })), truncated: size?.truncated === true };
  }

  // --- coordination (rules: ../shared/coordination.ts) ----------------------------
  // A lease grant locks the lease row (FOR UPDATE); a fenced write holds it FOR SHARE until
  // its commit, so no grant can slip between the fence check and the write.

  async acquireLease(name: string, holder: string, ttlMs: number): Promise<Lease | null> {
    this.checkOpen();
    coord.validateLeaseArgs(name, holder, ttlMs);
    return this.tx('acquiring a lease', async (q) => {
      await q(SQL.LEASE_ENSURE, [name]);
      const [row] = await q<LeaseRow>(SQL.LEASE_LOCK, [name]);
      const next = coord.nextLease(coord.leaseFromRow(row), holder, ttlMs, this.dbNow());
      if (!next) return null;
      await q(SQL.LEASE_SAVE, [name, next.holder, next.token, next.acquiredAtMs, next.expiresAtMs]);
      return coord.toLease(name, next);
    });
  }

  async releaseLease(name: string, holder: string): Promise<boolean> {
    this.checkOpen();
    coord.validateLeaseArgs(name, holder);
    return this.tx('releasing a lease', async (q) => {
      const current = coord.leaseFromRow((await q<LeaseRow>(SQL.LEASE_LOCK, [name]))[0]);
      const nowMs = this.dbNow();
      if (!current || !coord.isLive(current, nowMs) || current.holder !== holder) return false;
      await q(SQL.LEASE_SAVE, [name, current.holder, current.token, current.acquiredAtMs, nowMs]);
      return true;
    });
  }

  async readLease(name: string): Promise<Lease | null> {
    coord.validateLeaseArgs(name, 'reader');
    const current = coord.leaseFromRow((await this.query<LeaseRow>('reading a lease', SQL.LEASE_READ, [name]))[0]);
    return current && coord.isLive(current, this.dbNow()) ? coord.toLease(name, current) : null;
  }

  async putState(key: string, value: Json, options: PutStateOptions = {}): Promise<StateEntry> {
    this.checkOpen();
    const text = coord.validatePutState(key, value, options);
    const fence = options.fence;
    return this.tx('writing state', async (q) => {
      if (fence) coord.checkFence(fence, coord.leaseFromRow((await q<LeaseRow>(SQL.LEASE_SHARE, [fence.lease]))[0]), this.dbNow());
      const nowMs = this.dbNow();
      const expiresAtMs = options.ttlMs !== undefined ? nowMs + options.ttlMs : null;
      await q(SQL.STATE_PUT, [key, text, nowMs, expiresAtMs]);
      await q(SQL.NOTIFY, [this.channel, JSON.stringify({ p: this.processTag, s: key })]);
      return { key, value: JSON.parse(text) as Json, updatedAtMs: nowMs, expiresAtMs };
    }).then((entry) => {
      this.listeners.emit({ kind: 'state', reach: 'shared', key });
      return entry;
    });
  }

  async getState(key: string): Promise<StateEntry | null> {
    coord.validateStateKey(key);
    const [row] = await this.query<StateRow>('reading state', SQL.STATE_GET, [key, this.dbNow()]);
    return row ? coord.entryFromRow(row) : null;
  }

  async listState(prefix: string): Promise<StateEntry[]> {
    coord.validateStatePrefix(prefix);
    return (await this.query<StateRow>('listing state', SQL.STATE_LIST, [prefix, this.dbNow()])).map(coord.entryFromRow);
  }

  async deleteState(key: string, options: { fence?: Fence } = {}): Promise<boolean> {
    this.checkOpen();
    coord.validateStateKey(key);
    const fence = coord.validateFence(options.fence);
    const had = await this.tx('deleting state', async (q) => {
      if (fence) coord.checkFence(fence, coord.leaseFromRow((await q<LeaseRow>(SQL.LEASE_SHARE, [fence.lease]))[0]), this.dbNow());
      const [row] = await q<{ expires_at_ms: number | null }>(SQL.STATE_DELETE, [key]);
      const live = !!row && (row.expires_at_ms === null || row.expires_at_ms > this.dbNow());
      if (live) await q(SQL.NOTIFY, [this.channel, JSON.stringify({ p: this.processTag, s: key })]);
      return live;
    });
    if (had) this.listeners.emit({ kind: 'state', reach: 'shared', key });
    return had;
  }

  // --- scaling events and metric samples ------------------------------------------

  async recordScalingEvent(e: ScalingEvent): Promise<void> {
    await this.query('recording a scaling event', SQL.INSERT_EVENT, [e.atMs, e.pool, e.from, e.to, e.action, e.code, e.reason, e.policy]);
  }

  async listScalingEvents(range: TimeRange = {}): Promise<ScalingEvent[]> {
    const rows = await this.query<Record<string, any>>('listing scaling events', SQL.LIST_EVENTS, rangeParams(range));
    return rows.map((r) => ({
      atMs: r.at_ms, pool: r.pool, from: r.from_workers, to: r.to_workers, action: r.action, code: r.code, reason: r.reason, policy: r.policy,
    }));
  }

  async recordMetricSample(sample: MetricSample): Promise<void> {
    await this.query('recording a metric sample', SQL.INSERT_SAMPLE, [sample.atMs, sample.pool, JSON.stringify(sample.values ?? {})]);
  }

  async listMetricSamples(range: TimeRange = {}): Promise<MetricSample[]> {
    const rows = await this.query<Record<string, any>>('listing metric samples', SQL.LIST_SAMPLES, rangeParams(range));
    return rows.map((r) => ({ atMs: r.at_ms, pool: r.pool, values: JSON.parse(r.sample_values) }));
  }

  // --- lifecycle ------------------------------------------------------------------

  subscribe(listener: (event: StoreEvent) => void): () => void {
    return this.listeners.subscribe(listener);
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    await Promise.all([this.submits.drained(), this.finishes.drained()]);
    this.isClosed = true;
    this.listeners.clear();
    await this.listener.close();
    await this.pool.end().catch(() => undefined);
  }

  private checkOpen(): void {
    if (this.isClosed) throw new StoreUnavailableError(`${this.label} is closed`);
  }
}

function rangeParams(range: TimeRange): unknown[] {
  return [range.fromMs ?? Number.MIN_SAFE_INTEGER, range.toMs ?? Number.MAX_SAFE_INTEGER, range.pool ?? null, rangeLimit(range)];
}
