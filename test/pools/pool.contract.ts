// The pool contract: one suite every worker kind runs (inline, thread, command, process,
// remote), against real workers on the system clock (child processes cannot share a virtual
// one). A kind passes a pool-config factory, the handlers an inline pool needs, and its
// capability list; cases that need a capability skip by its name:
//   ownsWorkers  the pool starts, drains, recycles and respawns its own workers. A remote
//                pool does not: its workers are runners on other machines that register,
//                and scale-down, recycling, close and respawn are theirs (or their
//                orchestrator's) to do; the pool only publishes its desired count. Such a kind
//                passes `workers`, which brings its workers up for the cases that need workers
//                but not ownership (running tasks and recording who ran them, timeouts).
//   killable     a worker is a process the test can SIGKILL (and the pool respawns it).
// Task types: `echo` returns its payload, `sleep` {ms} sleeps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { systemClock, type Task } from '../../src/core/index.ts';
import { createTidepool, type Tidepool, type TidepoolConfigInput } from '../../src/index.ts';
import type { HandlerMap } from '../../src/pools/index.ts';

export type PoolCapability = 'ownsWorkers' | 'killable';

export interface PoolKindAdapter {
  kind: string;
  capabilities: readonly PoolCapability[];
  /** The kind's own pool settings (kind, command, ...). */
  pool: Record<string, unknown>;
  handlers: HandlerMap;
  /** A kind without `ownsWorkers`: starts `count` workers for pool `p` of `tp`; resolves once they joined, with how to stop them. */
  workers?(tp: Tidepool, count: number): Promise<() => Promise<void>>;
}

const clock = systemClock;

async function until<T>(what: string, read: () => Promise<T | null | undefined | false> | T | null | undefined | false, timeoutMs = 15_000): Promise<T> {
  const endMs = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (v) return v;
    if (Date.now() > endMs) throw new Error(`timed out waiting for ${what}`);
    await clock.sleep(20);
  }
}

export function runPoolContract(adapter: PoolKindAdapter): void {
  const has = (cap: PoolCapability) => adapter.capabilities.includes(cap);

  async function open(over: Record<string, unknown> = {}, config: TidepoolConfigInput = {}) {
    return createTidepool(
      {
        store: 'memory',
        retry: { baseMs: 10, maxMs: 20, maxAttempts: 2 },
        ...config,
        pools: [{ name: 'p', types: ['echo', 'sleep'], minWorkers: 0, maxWorkers: 8, policy: 'queue-latency', pollMs: 20, killGraceMs: 200, ...adapter.pool, ...over } as never],
      },
      adapter.handlers,
      { startAutoscaler: false },
    );
  }
  const ended = (tp: Awaited<ReturnType<typeof open>>, ids: string[]) => async () => {
    const tasks = (await Promise.all(ids.map((id) => tp.store.get(id)))) as Task[];
    return tasks.every((t) => t.status === 'succeeded' || t.status === 'dead') && tasks;
  };

  function it(name: string, fn: () => Promise<void>, needs: readonly PoolCapability[] = []): void {
    const missing = needs.filter((c) => !has(c));
    test(`${adapter.kind}: ${name}`, { skip: missing.length ? `needs capability ${missing.join(', ')}` : false, timeout: 60_000 }, fn);
  }
  /** Sizes the pool; a kind whose workers start outside it brings them up too. */
  async function scale(tp: Tidepool, n: number): Promise<() => Promise<void>> {
    tp.pools.get('p')!.scaleTo(n);
    return (await adapter.workers?.(tp, n)) ?? (async () => {});
  }

  it('runs tasks, stores their results, and records the worker that really ran each', async () => {
    const tp = await open();
    const stopWorkers = await scale(tp, 2);
    try {
      const subs = await tp.submitBatch([1, 2, 3, 4].map((i) => ({ type: 'echo', payload: { i } })));
      const tasks = await until('the tasks', ended(tp, subs.map((s) => s.task.id)));
      assert.deepEqual(tasks.map((t) => t.result), [1, 2, 3, 4].map((i) => ({ i })));
      const ids = new Set(tp.pools.get('p')!.workers().map((w) => w.id));
      for (const t of tasks) assert.ok(ids.has(t.workerId!), `task ${t.id} names worker ${t.workerId}, one of ${[...ids].join(', ')}`);
      assert.equal(tp.stats()[0]!.kind, adapter.kind);
    } finally {
      await stopWorkers();
      await tp.close(2000);
    }
  });

  it('a scale-down drains busy workers and loses nothing: every task runs exactly once', async () => {
    const tp = await open();
    try {
      const pool = tp.pools.get('p')!;
      pool.scaleTo(4);
      // All four started first: on a loaded machine staggered start-ups never have four busy at once.
      await until('four ready workers', () => pool.stats().idle === 4);
      const subs = await tp.submitBatch(Array.from({ length: 8 }, () => ({ type: 'sleep', payload: { ms: 150 } })));
      await until('four busy workers', () => pool.stats().busy === 4);
      pool.scaleTo(1);
      const tasks = await until('the tasks', ended(tp, subs.map((s) => s.task.id)));
      assert.ok(tasks.every((t) => t.status === 'succeeded' && t.attempts === 1), JSON.stringify(tasks.map((t) => [t.status, t.attempts])));
      await until('one worker left', () => pool.stats().total === 1);
    } finally {
      await tp.close(2000);
    }
  }, ['ownsWorkers']);

  it('an attempt past its timeout fails with Timeout and is retried', async () => {
    const tp = await open();
    const stopWorkers = await scale(tp, 1);
    try {
      const { task } = await tp.submit({ type: 'sleep', payload: { ms: 10_000 }, timeoutMs: 200 });
      const [t] = await until('the task to end', ended(tp, [task.id]));
      assert.equal(t!.status, 'dead');
      assert.equal(t!.attempts, 2);
      assert.equal(t!.error?.code, 'Timeout');
    } finally {
      await stopWorkers();
      await tp.close(2000);
    }
  });

  it('a worker is recycled after maxTasksPerWorker tasks', async () => {
    const tp = await open({ maxTasksPerWorker: 2 });
    try {
      tp.pools.get('p')!.scaleTo(1);
      const subs = await tp.submitBatch(Array.from({ length: 6 }, (_, i) => ({ type: 'echo', payload: i })));
      const tasks = await until('the tasks', ended(tp, subs.map((s) => s.task.id)));
      assert.ok(tasks.every((t) => t.status === 'succeeded'));
      assert.ok(new Set(tasks.map((t) => t.workerId)).size >= 3, 'two tasks per worker');
      assert.ok(tp.stats()[0]!.recycles >= 2);
    } finally {
      await tp.close(2000);
    }
  }, ['ownsWorkers']);

  it('close waits for a running task to finish', async () => {
    const tp = await open();
    tp.pools.get('p')!.scaleTo(1);
    const { task } = await tp.submit({ type: 'sleep', payload: { ms: 300 } });
    await until('the task to run', async () => (await tp.store.get(task.id))?.status === 'running');
    const store = tp.store;
    const closing = tp.close(5000);
    const seen = await new Promise<Task | null>((resolve) => {
      const off = store.subscribe((e) => {
        if (e.kind === 'finished' && e.task.id === task.id) {
          off();
          resolve(e.task as Task);
        }
      });
      void closing.then(() => resolve(null));
    });
    await closing;
    assert.equal(seen?.status, 'succeeded');
  }, ['ownsWorkers']);

  it('a worker killed mid-task fails its attempt as WorkerCrashed, is respawned, and the task is retried', async () => {
    const tp = await open();
    try {
      const pool = tp.pools.get('p')!;
      pool.scaleTo(1);
      const pids: number[] = [];
      const { task } = await tp.submit({ type: 'sleep', payload: { ms: 2000 } });
      await until('the task to run', async () => (await tp.store.get(task.id))?.status === 'running');
      // The worker process is the pool's only child running the example worker.
      const { readdirSync, readFileSync } = await import('node:fs');
      for (const name of readdirSync('/proc')) {
        if (!/^[0-9]+$/.test(name)) continue;
        try {
          const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
          if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === process.pid && readFileSync(`/proc/${name}/cmdline`, 'utf8').includes('worker.')) pids.push(Number(name));
        } catch {
          // gone meanwhile
        }
      }
      assert.equal(pids.length, 1);
      process.kill(pids[0]!, 'SIGKILL');
      const [t] = await until('the retried task', ended(tp, [task.id]));
      assert.equal(t!.status, 'succeeded');
      assert.equal(t!.attempts, 2);
      const s = tp.stats()[0]!;
      assert.ok(s.crashes >= 1);
      assert.ok(s.respawns >= 1);
    } finally {
      await tp.close(2000);
    }
  }, ['ownsWorkers', 'killable']);
}
