// Group commit. Writes that arrive in the same turn of the event loop run in one
// transaction (BEGIN IMMEDIATE, one SAVEPOINT per operation so a refused operation rolls
// back alone), and each caller's promise settles only after that COMMIT is on disk. One
// fsync then serves many submits, completions and claims.
//
// node:sqlite is synchronous, so a flush blocks the event loop while it runs; it stops
// taking operations after FLUSH_BUDGET_MS or MAX_OPS_PER_FLUSH and yields before the next.
// Operations that callers enqueue as soon as their last one settled (a sequential submitter)
// are flushed right after those callers' microtasks, for up to CHAIN_BUDGET_MS of flushes in
// a row, instead of waiting a turn of the event loop (see afterFlush).
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
/**
 * Flushes may follow one another without a turn of the event loop (see settle) for this
 * long; then the loop gets its turn. Kept short: the loop waits for the whole run.
 */
export const CHAIN_BUDGET_MS = 1;

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
  /** Between the end of a flush and the end of its callers' microtasks (see afterFlush). */
  private isSettling = false;
  /** When the current run of back-to-back flushes began (see settle). */
  private chainStartMs = 0;
  private readonly flushNow = () => {
    this.chainStartMs = monotonicMs();
    this.flush();
  };
  private readonly settleNow = () => this.settle();

  constructor(statements: Statements, translate: (err: unknown, during: string) => Error, durability: 'full' | 'normal') {
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
    // Enqueued by a caller the last flush just settled: settle() flushes it once every such
    // caller has had its turn, without a round through the event loop.
    if (this.isSettling) return;
    void yieldToEventLoop().then(this.flushNow);
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
    this.failAll(done.map((d) => d.op), this.translate(err, 'commit'));
  }

  private failAll(ops: PendingOp[], err: Error): void {
    for (const op of ops) op.reject(err);
  }

  private afterFlush(wasRelaxed = false): void {
    if (wasRelaxed) this.statements.setSynchronous('FULL');
    if (this.queue.length > 0) return this.schedule();
    const waiters = this.idleWaiters.splice(0);
    for (const w of waiters) w();
    // The callers this flush settled resume in microtasks, and a sequential caller enqueues
    // its next operation there. A tick queued from a microtask runs once the whole cascade of
    // microtasks is done, so every caller that resumed has enqueued by then: settle() flushes
    // them together, as the next turn would have, without the turn (about 10 us after an
    // fsync). Operations from I/O callbacks (HTTP requests) still gather in the next turn.
    this.isSettling = true;
    queueMicrotask(() => process.nextTick(this.settleNow));
  }

  /** Flushes what the settled callers enqueued, unless this run of flushes used its budget. */
  private settle(): void {
    this.isSettling = false;
    if (!this.isScheduled) return;
    if (monotonicMs() - this.chainStartMs < CHAIN_BUDGET_MS) this.flush();
    else void yieldToEventLoop().then(this.flushNow);
  }
}
