// Group commit. Writes that arrive in the same turn of the event loop run in one
// transaction (BEGIN IMMEDIATE, one SAVEPOINT per operation so a refused operation rolls
// back alone), and each caller's promise settles only after that COMMIT is on disk. One
// fsync then serves many submits, completions and claims.
//
// node:sqlite is synchronous, so a flush blocks the event loop while it runs; it stops
// taking operations after FLUSH_BUDGET_MS or MAX_OPS_PER_FLUSH and yields before the next.
import { monotonicMs, yieldToEventLoop } from '../../core/index.ts';
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
}

interface PendingOp {
  run: (tx: TxContext) => unknown;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

export class WriteQueue {
  private queue: PendingOp[] = [];
  private isScheduled = false;
  private idleWaiters: (() => void)[] = [];
  private readonly statements: Statements;
  private readonly translate: (err: unknown, during: string) => Error;

  constructor(statements: Statements, translate: (err: unknown, during: string) => Error) {
    this.statements = statements;
    this.translate = translate;
  }

  /** Runs `run` inside the next group transaction; settles after it commits. */
  enqueue<T>(run: (tx: TxContext) => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ run, resolve: resolve as (v: unknown) => void, reject });
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
    const done: { op: PendingOp; ok: boolean; value: unknown; effects: (() => void)[] }[] = [];
    const memo = new Map<string, unknown>();
    try {
      s.begin.run();
    } catch (err) {
      this.failAll(this.queue.splice(0), this.translate(err, 'begin transaction'));
      return this.afterFlush();
    }
    while (this.queue.length > 0 && done.length < MAX_OPS_PER_FLUSH && monotonicMs() - startMs < FLUSH_BUDGET_MS) {
      const op = this.queue.shift()!;
      const effects: (() => void)[] = [];
      s.savepoint.run();
      try {
        const value = op.run({ afterCommit: (effect) => effects.push(effect), memo });
        s.release.run();
        done.push({ op, ok: true, value, effects });
      } catch (err) {
        memo.clear();
        try {
          s.rollbackTo.run();
          s.release.run();
        } catch (rollbackErr) {
          // The transaction itself is broken: give up on the whole group.
          done.push({ op, ok: false, value: this.translate(err, 'write'), effects: [] });
          this.abort(done, rollbackErr);
          return this.afterFlush();
        }
        done.push({ op, ok: false, value: this.translate(err, 'write'), effects: [] });
      }
    }
    try {
      s.commit.run();
    } catch (err) {
      this.abort(done, err);
      return this.afterFlush();
    }
    for (const d of done) {
      if (d.ok) {
        for (const effect of d.effects) effect();
        d.op.resolve(d.value);
      } else d.op.reject(d.value);
    }
    this.afterFlush();
  }

  private abort(done: { op: PendingOp }[], err: unknown): void {
    try {
      this.statements.rollback.run();
    } catch {
      // Already rolled back by SQLite (e.g. after an I/O error); the commit error below says why.
    }
    this.failAll(done.map((d) => d.op), this.translate(err, 'commit'));
  }

  private failAll(ops: PendingOp[], err: Error): void {
    for (const op of ops) op.reject(err);
  }

  private afterFlush(): void {
    if (this.queue.length > 0) this.schedule();
    else {
      const waiters = this.idleWaiters.splice(0);
      for (const w of waiters) w();
    }
  }
}
