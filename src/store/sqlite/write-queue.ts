// Group commit. Writes that arrive in the same turn of the event loop run in one
// transaction (BEGIN IMMEDIATE, one SAVEPOINT per operation so a refused operation rolls
// back alone), and each caller's promise settles only after that COMMIT is on disk. One
// fsync then serves many submits, completions and claims.
//
// node:sqlite is synchronous, so a flush blocks the event loop while it runs; it stops
// taking operations after FLUSH_BUDGET_MS or MAX_OPS_PER_FLUSH and yields before the next.
//
// Relaxed operations (claims, heartbeats, lease reclaims) need no fsync of their own: if
// power fails, losing one only puts a task back as it was, and the workers that held it
// died with the machine. A group made only of relaxed operations therefore commits with
// synchronous=NORMAL even on a `full` store; the next full commit syncs the WAL, and the
// frames before it with it, so nothing acknowledged as durable depends on them.
import { monotonicMs, yieldToEventLoop } from '../../core/index.ts';
import { CountDeltas } from './counts.ts';
import type { Statements } from './sql.ts';

export const FLUSH_BUDGET_MS = 4;
export const MAX_OPS_PER_FLUSH = 1_000;

/** What an operation may do besides its writes: effects that run only after COMMIT. */
export interface TxContext {
  afterCommit(effect: () => void): void;
  /**
   * Facts an operation may reuse within this group transaction. An operation that queues
   * tasks clears it. A refused operation's savepoint rolls back, but what it cached was
   * read before its writes or cleared by them.
   */
  readonly memo: Map<string, unknown>;
  /** This operation's changes to task counts (written before COMMIT if it succeeds). */
  readonly counts: CountDeltas;
  /** Pending tasks added or removed by this group transaction so far, not yet in task_counts. */
  pendingDelta(): number;
}

interface PendingOp {
  run: (tx: TxContext) => unknown;
  isRelaxed: boolean;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

export class WriteQueue {
  private queue: PendingOp[] = [];
  private isScheduled = false;
  private idleWaiters: (() => void)[] = [];
  private readonly statements: Statements;
  private readonly translate: (err: unknown, during: string) => Error;

  private readonly isFull: boolean;

  /** Called whenever writes were rolled back (a refused operation, an aborted group): caches of what was written go. */
  private readonly onRollback: () => void;

  constructor(
    statements: Statements,
    translate: (err: unknown, during: string) => Error,
    durability: 'full' | 'normal',
    onRollback: () => void = () => {},
  ) {
    this.onRollback = onRollback;
    this.statements = statements;
    this.translate = translate;
    this.isFull = durability === 'full';
  }

  /**
   * Runs `run` inside the next group transaction; settles after it commits. `relaxed`:
   * the operation's own commit need not be synced to disk (see above).
   */
  enqueue<T>(run: (tx: TxContext) => T, relaxed = false): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ run, isRelaxed: relaxed, resolve: resolve as (v: unknown) => void, reject });
      this.schedule();
    });
  }

  /** Resolves once every queued operation has been flushed. */
  drained(): Promise<void> {
    if (this.queue.length === 0 && !this.isScheduled) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private schedule(): void {
    if (this.isScheduled) return;
    this.isScheduled = true;
    void yieldToEventLoop().then(() => this.flush());
  }

  private flush(): void {
    this.isScheduled = false;
    const s = this.statements;
    const startMs = monotonicMs();
    const batch = this.queue.length <= MAX_OPS_PER_FLUSH ? this.queue : this.queue.slice(0, MAX_OPS_PER_FLUSH);
    this.queue = batch === this.queue ? [] : this.queue.slice(MAX_OPS_PER_FLUSH);
    // A lone operation needs no savepoint: if it is refused, the whole transaction rolls back.
    const isAlone = batch.length === 1;
    const done: { op: PendingOp; ok: boolean; value: unknown; effects: (() => void)[] }[] = [];
    const memo = new Map<string, unknown>();
    const flushCounts = new CountDeltas();
    const isRelaxed = this.isFull && batch.every((op) => op.isRelaxed);
    try {
      if (isRelaxed) s.setSynchronous('NORMAL');
      s.begin.run();
    } catch (err) {
      this.failAll(batch, this.translate(err, 'begin transaction'));
      return this.afterFlush(isRelaxed);
    }
    let i = 0;
    for (; i < batch.length; i++) {
      if (i > 0 && monotonicMs() - startMs >= FLUSH_BUDGET_MS) break;
      const op = batch[i];
      const effects: (() => void)[] = [];
      const counts = new CountDeltas();
      if (!isAlone) s.savepoint.run();
      try {
        const value = op.run({
          afterCommit: (effect) => effects.push(effect),
          memo,
          counts,
          pendingDelta: () => flushCounts.pending() + counts.pending(),
        });
        if (!isAlone) s.release.run();
        counts.mergeInto(flushCounts);
        done.push({ op, ok: true, value, effects });
      } catch (err) {
        memo.clear();
        this.onRollback();
        const refusal = this.translate(err, 'write');
        if (isAlone) {
          this.rollbackQuietly();
          op.reject(refusal);
          return this.afterFlush(isRelaxed);
        }
        try {
          s.rollbackTo.run();
          s.release.run();
        } catch (rollbackErr) {
          // The transaction itself is broken: give up on the whole group.
          done.push({ op, ok: false, value: refusal, effects: [] });
          this.abort(done, rollbackErr);
          this.queue = batch.slice(i + 1).concat(this.queue);
          return this.afterFlush(isRelaxed);
        }
        done.push({ op, ok: false, value: refusal, effects: [] });
      }
    }
    // Operations past the time budget wait for the next transaction, ahead of newer ones.
    if (i < batch.length) this.queue = batch.slice(i).concat(this.queue);
    try {
      flushCounts.apply(s);
      s.commit.run();
    } catch (err) {
      this.abort(done, err);
      return this.afterFlush(isRelaxed);
    }
    for (const d of done) {
      if (d.ok) {
        for (const effect of d.effects) effect();
        d.op.resolve(d.value);
      } else d.op.reject(d.value);
    }
    this.afterFlush(isRelaxed);
  }

  private rollbackQuietly(): void {
    try {
      this.statements.rollback.run();
    } catch {
      // Already rolled back by SQLite (e.g. after an I/O error).
    }
  }

  private abort(done: { op: PendingOp }[], err: unknown): void {
    this.rollbackQuietly();
    this.onRollback();
    this.failAll(done.map((d) => d.op), this.translate(err, 'commit'));
  }

  private failAll(ops: PendingOp[], err: Error): void {
    for (const op of ops) op.reject(err);
  }

  private afterFlush(wasRelaxed = false): void {
    if (wasRelaxed) this.statements.setSynchronous('FULL');
    if (this.queue.length > 0) this.schedule();
    else {
      const waiters = this.idleWaiters.splice(0);
      for (const w of waiters) w();
    }
  }
}
