// The pool fault contract (beside pool.contract.ts, which runs through createTidepool on the
// system clock): the pool's own fault handling on every driver kind (inline and thread here; h9k's
// command/process kinds join by adding a factory in pool-faults.kinds.test.ts). A kind passes
// a factory that makes a WorkerPool with its driver over the handlers in
// fixtures/contract-handlers.ts, and its capabilities; cases that need one skip by name.
// The pool's own timers (timeouts, stalls, respawn backoff) run on a VirtualClock the test
// advances; the handlers themselves run in real time (a thread cannot see the test's clock).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock, type Task } from '../../src/core/index.ts';
import { openStore, type Store } from '../../src/store/index.ts';
import type { WorkerPool, WorkerPoolOptions } from '../../src/pools/index.ts';
import { settle } from './settle.ts';

export type PoolCapability = 'kill' | 'crash';

export interface PoolKind {
  name: string;
  capabilities: readonly PoolCapability[];
  /** A pool of this kind serving echo, sleep, hang and crash. */
  make(options: Omit<WorkerPoolOptions, 'driver'>): WorkerPool;
}

const TYPES = ['echo', 'sleep', 'hang', 'crash'];

/** Waits in real time (the handlers run in real time), settling microtasks between looks. */
async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
    await settle(1);
  }
}

export function runPoolFaultContract(kind: PoolKind): void {
  const has = (c: PoolCapability) => kind.capabilities.includes(c);

  function it(name: string, fn: (ctx: { pool: WorkerPool; store: Store; clock: VirtualClock }) => Promise<void>, options: Partial<WorkerPoolOptions> = {}, needs?: PoolCapability): void {
    test(`${kind.name}: ${name}`, { skip: needs && !has(needs) ? `needs capability ${needs}` : false, timeout: 30_000 }, async () => {
      const clock = new VirtualClock(1_000_000);
      const store = await openStore('memory', { clock, retry: { maxAttempts: 3, baseMs: 0, maxMs: 0, jitter: 0 } });
      const pool = kind.make({ name: 'c', types: TYPES, store, clock, minWorkers: 0, maxWorkers: 8, initialWorkers: 1, pollMs: 3_600_000, respawnBaseMs: 1000, ...options });
      try {
        await fn({ pool, store, clock });
      } finally {
        await pool.close(0);
        await store.close();
      }
    });
  }
  const status = async (store: Store, id: string): Promise<Task> => (await store.get(id))!;

  it('a new worker shows as starting until it is ready, and each task records the worker that ran it', async ({ pool, store }) => {
    pool.scaleTo(3);
    await until('3 workers ready', () => pool.stats().idle === 3);
    assert.ok(pool.stats().startupMs >= 0);
    const done = await store.submitBatch(Array.from({ length: 9 }, () => ({ type: 'echo' })));
    await until('9 done', async () => (await Promise.all(done.map((d) => status(store, d.task.id)))).every((t) => t.status === 'succeeded'));
    for (const d of done) {
      const t = await status(store, d.task.id);
      assert.equal(t.workerId, (t.result as { workerId: string }).workerId, 'the store names the worker that ran it');
    }
  });

  it('scale-down drains busy workers: every running task finishes, none is lost', async ({ pool, store }) => {
    pool.scaleTo(4);
    await until('4 ready', () => pool.stats().idle === 4);
    const done = await store.submitBatch(Array.from({ length: 8 }, () => ({ type: 'sleep', payload: { ms: 100 } })));
    await until('4 busy', () => pool.stats().busy === 4);
    pool.scaleTo(1);
    assert.equal(pool.stats().draining, 3);
    await until('8 done', async () => (await Promise.all(done.map((d) => status(store, d.task.id)))).every((t) => t.status === 'succeeded'));
    await until('one worker left', () => pool.stats().total === 1);
    assert.equal(pool.stats().failedAttempts, 0);
  });

  it("a task past its timeout fails as Timeout and is retried; a killable worker is killed and replaced", async ({ pool, store, clock }) => {
    await until('ready', () => pool.stats().idle === 1);
    const { task } = await store.submit({ type: 'hang', timeoutMs: 1000, maxAttempts: 1 });
    await until('busy', () => pool.stats().busy === 1);
    await clock.advance(1000);
    await until('dead', async () => (await status(store, task.id)).status === 'dead');
    assert.equal((await status(store, task.id)).error!.code, 'Timeout');
    if (has('kill')) await until('a fresh worker replaced the killed one', () => pool.stats().respawns === 1 && pool.stats().idle === 1);
  });

  it('a stalled task (no progress for stallTimeoutMs) is cut, retried, and its worker replaced', async ({ pool, store, clock }) => {
    await until('ready', () => pool.stats().idle === 1);
    const { task } = await store.submit({ type: 'hang', timeoutMs: 60_000, maxAttempts: 2 });
    await until('busy', () => pool.stats().busy === 1);
    await clock.advance(500);
    await until('stalled', () => pool.stats().stalls >= 1);
    await until('back in the queue or running again', async () => (await status(store, task.id)).attempts === 2 || (await status(store, task.id)).status === 'retrying');
    await until('replaced', () => pool.stats().total === 1 && pool.stats().failedWorkers === 0);
    assert.equal(pool.stats().respawns >= 1, true);
  }, { stallTimeoutMs: 500 });

  it('a lost lease aborts the attempt and its late result is refused', async ({ pool, store, clock }) => {
    await until('ready', () => pool.stats().idle === 1);
    const { task } = await store.submit({ type: 'hang', timeoutMs: 60_000 });
    await until('busy', () => pool.stats().busy === 1);
    await store.cancel(task.id);
    await clock.advance(400);
    await until('lease lost seen', () => pool.leaseLost === 1);
    assert.equal((await status(store, task.id)).status, 'cancelled');
  }, { leaseMs: 1200 });

  it('a worker that crashes mid-task is respawned, its task retried as WorkerCrashed, and a completed task resets the backoff', async ({ pool, store, clock }) => {
    await until('ready', () => pool.stats().idle === 1);
    const { task } = await store.submit({ type: 'crash', payload: { crashOnAttempt: 1 } });
    await until('crash seen', () => pool.stats().crashes === 1);
    assert.ok(pool.stats().total >= 1, 'the respawning worker counts toward the workers');
    assert.equal(pool.stats().health !== 'unhealthy', true);
    await clock.advance(1000); // an early exit: the respawn waits out its backoff
    await until('retried and done', async () => (await status(store, task.id)).status === 'succeeded');
    const t = await status(store, task.id);
    assert.equal(t.attempts, 2);
    assert.deepEqual(t.result, { survived: 2 });
    assert.equal(pool.stats().respawnBackoffMs, 0, 'a completed task reset the backoff');
  }, {}, 'crash');

  it('workers dying soon after ready again and again back off, and the pool turns unhealthy with the reason', async ({ pool, store, clock }) => {
    await until('ready', () => pool.stats().idle === 1);
    await store.submitBatch(Array.from({ length: 3 }, () => ({ type: 'crash', maxAttempts: 1 })));
    for (let i = 1; i <= 3; i++) {
      await until(`crash ${i}`, () => pool.stats().crashes === i);
      if (i < 3) {
        assert.equal(pool.stats().respawnBackoffMs, 1000 * 2 ** (i - 1));
        await clock.advance(pool.stats().respawnBackoffMs);
      }
    }
    const s = pool.stats();
    assert.equal(s.health, 'unhealthy');
    assert.ok(s.healthReasons.some((r) => /3 workers in a row died/.test(r)), JSON.stringify(s.healthReasons));
  }, {}, 'crash');

  it('a worker is recycled after maxTasksPerWorker tasks', async ({ pool, store }) => {
    await until('ready', () => pool.stats().idle === 1);
    const done = await store.submitBatch(Array.from({ length: 4 }, () => ({ type: 'echo' })));
    await until('4 done', async () => (await Promise.all(done.map((d) => status(store, d.task.id)))).every((t) => t.status === 'succeeded'));
    const workers = new Set(await Promise.all(done.map(async (d) => (await status(store, d.task.id)).workerId)));
    assert.equal(workers.size, 2, 'two workers of two tasks each');
    await until('2 recycles', () => pool.stats().recycles === 2);
  }, { maxTasksPerWorker: 2 });

  it('close drains: a running task finishes, then every worker is stopped', async ({ pool, store, clock }) => {
    await until('ready', () => pool.stats().idle === 1);
    const { task } = await store.submit({ type: 'sleep', payload: { ms: 100 } });
    await until('busy', () => pool.stats().busy === 1);
    const closing = pool.close(60_000);
    await until('done', async () => (await status(store, task.id)).status === 'succeeded');
    await closing;
    assert.equal(pool.stats().total, 0);
    void clock;
  });
}
