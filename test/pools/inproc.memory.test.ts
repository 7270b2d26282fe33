// The in-process pool on the memory store, in virtual time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { VirtualClock, type Json } from '../../src/core/index.ts';
import { advance, settle } from './settle.ts';
import { openStore, type Store, type StoreOptions } from '../../src/store/index.ts';
import { InProcessPool, type InProcessPoolOptions, type TaskContext } from '../../src/pools/index.ts';

async function setup(pool: Partial<InProcessPoolOptions> & Pick<InProcessPoolOptions, 'handlers'>, storeOptions: StoreOptions = {}) {
  const clock = new VirtualClock(1_000_000);
  const store: Store = await openStore('memory', { clock, ...storeOptions });
  const p = new InProcessPool({ name: 'p', types: Object.keys(pool.handlers), store, clock, minWorkers: 0, maxWorkers: 10, initialWorkers: 1, pollMs: 3_600_000, ...pool });
  return { clock, store, pool: p };
}

/** A handler whose runs end only when the test says so. */
function gate() {
  const waiting: { id: string; resolve: (v: Json) => void; ctx: TaskContext }[] = [];
  const handler = (_payload: unknown, ctx: TaskContext) => new Promise<Json>((resolve) => waiting.push({ id: ctx.id, resolve, ctx }));
  return { handler, waiting };
}

test('an idle worker picks up a task submitted in the same process without waiting for a poll', async () => {
  const seen: string[] = [];
  const { store, pool } = await setup({ handlers: { echo: async (payload: Json) => { seen.push(String(payload)); return payload; } } });
  const { task } = await store.submit({ type: 'echo', payload: 'hi' });
  await settle();
  assert.deepEqual(seen, ['hi']);
  assert.equal((await store.get(task.id))!.status, 'succeeded');
  assert.deepEqual((await store.get(task.id))!.result, 'hi');
  await pool.close(0);
});

test('several idle workers are filled by one batch of submits and every task runs once', async () => {
  const runs = new Map<string, number>();
  const { store, pool } = await setup({ initialWorkers: 4, handlers: { t: async (_p: unknown, ctx: TaskContext) => { runs.set(ctx.id, (runs.get(ctx.id) ?? 0) + 1); } } });
  const results = await store.submitBatch(Array.from({ length: 50 }, (_, i) => ({ type: 't', payload: i })));
  await settle();
  assert.equal(runs.size, 50);
  assert.ok([...runs.values()].every((n) => n === 1));
  for (const r of results) assert.equal((await store.get(r.task.id))!.status, 'succeeded');
  assert.equal(pool.stats().completed, 50);
  await pool.close(0);
});

test('every task of a batch claim records the worker that really runs it', async () => {
  const ran = new Map<string, string>();
  const { store, pool } = await setup({ initialWorkers: 3, handlers: { t: async (_p: unknown, ctx: TaskContext) => { ran.set(ctx.id, ctx.workerId); } } });
  const results = await store.submitBatch(Array.from({ length: 9 }, () => ({ type: 't' })));
  await settle();
  assert.equal(ran.size, 9);
  for (const r of results) assert.equal((await store.get(r.task.id))!.workerId, ran.get(r.task.id));
  assert.equal(new Set(ran.values()).size, 3, 'spread over the three workers');
  await pool.close(0);
});

test('scaleTo adds workers at once and a pool refuses a count outside its bounds', async () => {
  const { pool } = await setup({ minWorkers: 1, maxWorkers: 5, handlers: { t: async () => null } });
  pool.scaleTo(4);
  assert.equal(pool.stats().total, 4);
  assert.equal(pool.stats().idle, 4);
  assert.throws(() => pool.scaleTo(6), /pool "p": count 6 is outside its bounds; expected an integer in \[1, 5\]/);
  assert.throws(() => pool.scaleTo(0), /count 0 is outside its bounds/);
  await pool.close(0);
});

test('scaleTo down removes idle workers first, then drains busy ones without dropping their tasks', async () => {
  const g = gate();
  const { clock, store, pool } = await setup({ initialWorkers: 4, handlers: { slow: g.handler } });
  const a = await store.submit({ type: 'slow' });
  const b = await store.submit({ type: 'slow' });
  await settle();
  assert.equal(g.waiting.length, 2);
  assert.deepEqual([pool.stats().busy, pool.stats().idle], [2, 2]);

  pool.scaleTo(1);
  let s = pool.stats();
  assert.equal(s.idle, 0, 'both idle workers went first');
  assert.equal(s.draining, 1, 'one busy worker drains');
  assert.equal(s.busy, 1);
  assert.equal(s.target, 1);
  assert.equal(s.status, 'scaling_down');

  const c = await store.submit({ type: 'slow' });
  await advance(clock, 10);
  assert.equal(g.waiting.length, 2, 'no worker is free for a third task');
  // Each gated run ends; the draining worker leaves, the remaining one takes the third task.
  for (const w of g.waiting.splice(0)) w.resolve('done');
  await settle();
  assert.equal((await store.get(a.task.id))!.status, 'succeeded');
  assert.equal((await store.get(b.task.id))!.status, 'succeeded');
  s = pool.stats();
  assert.equal(s.total, 1);
  assert.equal(s.draining, 0);
  assert.equal(g.waiting.length, 1, 'the kept worker took the third task');
  g.waiting[0]!.resolve('done');
  await settle();
  assert.equal((await store.get(c.task.id))!.status, 'succeeded');
  await pool.close(0);
});

test("a task's timeout aborts the handler's signal and records a Timeout failure", async () => {
  let aborted: unknown = null;
  const { clock, store, pool } = await setup({
    handlers: {
      hang: (_p: unknown, ctx: TaskContext) =>
        new Promise<Json>((_resolve, reject) => ctx.signal.addEventListener('abort', () => { aborted = ctx.signal.reason; reject(ctx.signal.reason); })),
    },
  }, { retry: { maxAttempts: 1 } });
  const { task } = await store.submit({ type: 'hang', timeoutMs: 500 });
  await advance(clock, 499);
  assert.equal(aborted, null);
  await advance(clock, 1);
  assert.match(String((aborted as unknown as Error).message), /attempt 1 passed its timeout of 500 ms/);
  const after = (await store.get(task.id))!;
  assert.equal(after.status, 'dead');
  assert.equal(after.error?.code, 'Timeout');
  assert.equal(pool.stats().failed, 1);
  await pool.close(0);
});

test("heartbeats keep a long task's lease, so nobody else can take it over", async () => {
  const g = gate();
  const { clock, store, pool } = await setup({ leaseMs: 1000, handlers: { long: g.handler } });
  const { task } = await store.submit({ type: 'long', timeoutMs: 60_000 });
  await settle();
  for (let t = 0; t < 10; t++) {
    await advance(clock, 500);
    const stolen = await store.claim({ workerId: 'thief', types: ['long'], limit: 1, leaseMs: 1000 });
    assert.equal(stolen.length, 0, `still leased after ${(t + 1) * 500} ms`);
  }
  g.waiting[0]!.resolve('finally');
  await settle();
  const done = (await store.get(task.id))!;
  assert.equal(done.status, 'succeeded');
  assert.equal(done.attempts, 1);
  await pool.close(0);
});

test('a handler that runs past its lease without heartbeats loses it, and its late result is refused', async () => {
  const g = gate();
  const lost: string[] = [];
  // heartbeatMs > leaseMs stands in for a blocked event loop: the lease lapses between beats.
  const { clock, store, pool } = await setup({ leaseMs: 1000, heartbeatMs: 5000, handlers: { t: g.handler } });
  pool.on('task.lease_lost', (e: { taskId: string }) => lost.push(e.taskId));
  const { task } = await store.submit({ type: 't', timeoutMs: 60_000 });
  await settle();
  await advance(clock, 1500);
  await store.maintain(); // maintenance reclaims the expired lease (claims never do)
  const [takeover] = await store.claim({ workerId: 'other', types: ['t'], limit: 1, leaseMs: 10_000 });
  assert.ok(takeover, 'the expired lease was taken over');
  g.waiting[0]!.resolve('late result');
  await settle();
  assert.deepEqual(lost, [task.id]);
  assert.equal((await store.get(task.id))!.status, 'running', 'the late result was not recorded');
  await store.complete(task.id, takeover.leaseToken, 'second run');
  const done = (await store.get(task.id))!;
  assert.equal(done.status, 'succeeded');
  assert.equal(done.result, 'second run');
  assert.equal(pool.stats().completed, 0);
  assert.equal(pool.leaseLost, 1);
  await pool.close(0);
});

test("a heartbeat refused after a takeover aborts the handler's signal", async () => {
  const reasons: string[] = [];
  const { clock, store, pool } = await setup({
    leaseMs: 1000,
    heartbeatMs: 2000,
    handlers: { t: (_p: unknown, ctx: TaskContext) => new Promise<Json>((_r, reject) => ctx.signal.addEventListener('abort', () => { reasons.push((ctx.signal.reason as Error).message); reject(ctx.signal.reason); })) },
  });
  const { task } = await store.submit({ type: 't', timeoutMs: 60_000 });
  await settle();
  await advance(clock, 1500);
  await store.maintain(); // maintenance reclaims the expired lease (claims never do)
  const [takeover] = await store.claim({ workerId: 'other', types: ['t'], limit: 1, leaseMs: 10_000 });
  assert.ok(takeover);
  await advance(clock, 500);
  assert.equal(reasons.length, 1);
  assert.match(reasons[0]!, new RegExp(`task ${task.id}`));
  assert.equal((await store.get(task.id))!.status, 'running', 'the takeover still holds it');
  assert.equal(pool.leaseLost, 1);
  await pool.close(0);
});

test('a failing task is retried with backoff until it succeeds, and stats count the failed attempts', async () => {
  let calls = 0;
  const { clock, store, pool } = await setup(
    { pollMs: 100, handlers: { flaky: async () => { calls++; if (calls < 3) throw new Error(`boom ${calls}`); return 'ok'; } } },
    { retry: { maxAttempts: 3, baseMs: 200, maxMs: 1000, jitter: 0 } },
  );
  const { task } = await store.submit({ type: 'flaky' });
  await settle();
  assert.equal(calls, 1);
  assert.equal((await store.get(task.id))!.status, 'retrying');
  assert.equal((await store.get(task.id))!.error?.message, 'boom 1');
  await advance(clock, 1000);
  await advance(clock, 1000);
  const done = (await store.get(task.id))!;
  assert.equal(done.status, 'succeeded');
  assert.equal(done.attempts, 3);
  const s = pool.stats();
  assert.equal(s.completed, 1);
  assert.equal(s.failedAttempts, 2);
  assert.equal(s.failed, 0, 'failed counts tasks that ended dead only');
  await pool.close(0);
});

test('an error with retryable false ends the task dead at once', async () => {
  const { store, pool } = await setup({ handlers: { bad: async () => { throw Object.assign(new Error('invalid payload'), { retryable: false, code: 'BadPayload' }); } } });
  const { task } = await store.submit({ type: 'bad' });
  await settle();
  const t = (await store.get(task.id))!;
  assert.equal(t.status, 'dead');
  assert.deepEqual([t.attempts, t.error?.code], [1, 'BadPayload']);
  await pool.close(0);
});

test('stats report wait and run percentiles, throughput and success rate over the window', async () => {
  const { clock, store, pool } = await setup({
    initialWorkers: 1,
    handlers: { t: async (p: { ms: number; fail?: boolean }) => { await clock.sleep(p.ms); if (p.fail) throw new Error('no'); } },
  }, { retry: { maxAttempts: 1 } });
  assert.equal(pool.stats().health, 'healthy', 'healthy before anything ended');
  assert.equal(pool.stats().successRate, 1);
  await store.submitBatch([{ type: 't', payload: { ms: 100 } }, { type: 't', payload: { ms: 300 } }, { type: 't', payload: { ms: 200, fail: true } }]);
  await advance(clock, 1000);
  const s = pool.stats();
  assert.equal(s.completed, 2);
  assert.equal(s.failed, 1);
  assert.deepEqual([s.runMs.p50, s.runMs.p99, s.runMs.count], [200, 300, 3]);
  // One worker: the tasks waited 0, 100 and 400 ms.
  assert.deepEqual([s.waitMs.p50, s.waitMs.p99], [100, 400]);
  assert.equal(Number(s.successRate.toFixed(3)), 0.667);
  assert.equal(s.health, 'healthy', 'three ended attempts are too few to judge the rate (HEALTH_THRESHOLDS.minAttemptsForRate)');
  assert.ok(s.throughputPerMin > 0);
  await pool.close(0);
});

test('a worker is recycled after maxTasksPerWorker tasks and a fresh one takes its place', async () => {
  const workersSeen = new Set<string>();
  const { store, pool } = await setup({ maxTasksPerWorker: 2, handlers: { t: async (_p: unknown, ctx: TaskContext) => { workersSeen.add(ctx.workerId); } } });
  const removed: string[] = [];
  pool.on('worker.removed', (e: { workerId: string }) => removed.push(e.workerId));
  await store.submitBatch(Array.from({ length: 6 }, () => ({ type: 't' })));
  await settle();
  assert.equal(pool.stats().completed, 6);
  assert.equal(workersSeen.size, 3, 'three workers of two tasks each');
  assert.equal(removed.length, 3);
  assert.equal(pool.stats().total, 1);
  assert.ok(pool.workers().every((w) => w.tasksDone === 0));
  await pool.close(0);
});

test('a task with no progress for stallTimeoutMs counts as a stall, goes back to the queue and its worker is replaced', async () => {
  const g = gate();
  const { clock, store, pool } = await setup({ stallTimeoutMs: 1000, handlers: { t: g.handler } });
  const stalls = once(pool, 'stall');
  const { task } = await store.submit({ type: 't', timeoutMs: 60_000 });
  await settle();
  g.waiting[0]!.ctx.progress();
  await advance(clock, 900);
  g.waiting[0]!.ctx.progress();
  await advance(clock, 900);
  assert.equal(pool.stats().stalls, 0, 'progress reset the stall clock');
  await advance(clock, 200);
  await stalls;
  await settle();
  const s = pool.stats();
  assert.equal(s.stalls, 1);
  assert.equal(pool.windowFigures().recentStalls, 1, 'the stall counts toward health for one window');
  assert.equal(s.total, 1, 'a fresh worker replaced the stalled one');
  const t = (await store.get(task.id))!;
  assert.ok(t.status === 'retrying' || t.status === 'running', `back in the queue, got ${t.status}`);
  assert.equal(g.waiting[0]!.ctx.signal.aborted, true);
  await pool.close(0);
});

test('close waits for running tasks to finish within its timeout and takes no new ones', async () => {
  const { clock, store, pool } = await setup({ initialWorkers: 2, handlers: { t: async (p: { ms: number }) => { await clock.sleep(p.ms); return p.ms; } } });
  const a = await store.submit({ type: 't', payload: { ms: 300 } });
  await settle();
  let closed = false;
  const closing = pool.close(1000).then(() => (closed = true));
  const b = await store.submit({ type: 't', payload: { ms: 10 } });
  await advance(clock, 299);
  assert.equal(closed, false);
  await advance(clock, 1);
  await closing;
  assert.equal((await store.get(a.task.id))!.status, 'succeeded');
  assert.equal((await store.get(b.task.id))!.status, 'queued', 'a closing pool claims nothing new');
  assert.equal(pool.stats().total, 0);
});

test('close aborts tasks still running at its timeout and hands them back to the queue', async () => {
  const g = gate();
  const { clock, store, pool } = await setup({ handlers: { t: g.handler } });
  const { task } = await store.submit({ type: 't', timeoutMs: 60_000 });
  await settle();
  let closed = false;
  const closing = pool.close(1000).then(() => (closed = true));
  await advance(clock, 999);
  assert.equal(closed, false);
  await advance(clock, 1);
  await closing;
  assert.equal(g.waiting[0]!.ctx.signal.aborted, true);
  const t = (await store.get(task.id))!;
  assert.equal(t.status, 'retrying');
  assert.equal(t.error?.code, 'ShuttingDown');
});

test('a pool without a handler for one of its types is refused at construction, naming the type', async () => {
  const clock = new VirtualClock(0);
  const store = await openStore('memory', { clock });
  assert.throws(
    () => new InProcessPool({ name: 'mix', types: ['a', 'b'], handlers: { a: async () => null }, store, clock, minWorkers: 0, maxWorkers: 2 }),
    /pool "mix": no handler for type "b"; handlers given: a/,
  );
  assert.throws(
    () => new InProcessPool({ name: 'x', types: ['a'], handlers: { a: async () => null }, store, clock, minWorkers: 3, maxWorkers: 2 }),
    /pool "x": maxWorkers got 2; expected an integer >= minWorkers \(3\)/,
  );
});

test('a clock that steps backwards mid-task records no negative times and the pool keeps working', async () => {
  const g = gate();
  const { clock, store, pool } = await setup({ handlers: { t: g.handler } });
  const first = await store.submit({ type: 't', timeoutMs: 60_000 });
  await settle();
  await advance(clock, 500);
  clock.set(clock.now() - 10_000);
  g.waiting[0]!.resolve('done');
  await settle();
  assert.equal((await store.get(first.task.id))!.status, 'succeeded');
  const s = pool.stats();
  assert.ok(s.runMs.p50 >= 0 && s.waitMs.p50 >= 0, JSON.stringify([s.runMs, s.waitMs]));
  const second = await store.submit({ type: 't', timeoutMs: 60_000 });
  await settle();
  g.waiting[1]!.resolve('again');
  await settle();
  assert.equal((await store.get(second.task.id))!.status, 'succeeded');
  await pool.close(0);
});

test("an idle worker's last heartbeat follows the poll, a busy one's follows its lease extensions", async () => {
  const g = gate();
  const { clock, store, pool } = await setup({ initialWorkers: 2, pollMs: 1000, leaseMs: 3000, handlers: { t: g.handler } });
  await store.submit({ type: 't', timeoutMs: 60_000 });
  await settle();
  const start = clock.now();
  await advance(clock, 2500, 100);
  const [busy, idle] = [...pool.workers()].sort((a, b) => (a.taskId ? -1 : 1) - (b.taskId ? -1 : 1));
  assert.equal(busy!.status, 'busy');
  assert.equal(busy!.lastHeartbeatMs, start + 2000, 'lease extended every leaseMs / 3 = 1000 ms');
  assert.equal(idle!.status, 'idle');
  assert.equal(idle!.lastHeartbeatMs, start + 2000, 'polled every 1000 ms');
  g.waiting[0]!.resolve(null);
  await pool.close(0);
});

test('scaling up again keeps draining workers on before adding new ones', async () => {
  const g = gate();
  const { store, pool } = await setup({ initialWorkers: 3, handlers: { t: g.handler } });
  await store.submitBatch([{ type: 't' }, { type: 't' }, { type: 't' }]);
  await settle();
  pool.scaleTo(1);
  assert.deepEqual([pool.stats().busy, pool.stats().draining], [1, 2]);
  pool.scaleTo(3);
  const s = pool.stats();
  assert.deepEqual([s.total, s.busy, s.draining], [3, 3, 0]);
  for (const w of g.waiting.splice(0)) w.resolve(null);
  await settle();
  assert.equal(pool.stats().total, 3);
  assert.equal(pool.stats().idle, 3);
  await pool.close(0);
});

// Look-ahead (pool.ts runLoop): while runs are short a worker holds tasks ahead of the one it runs.

/** Submits one quick `t` task (the pool learns that runs are short), then `t`, `slow`, and `held` more `t` tasks in one batch. */
async function holdBehindSlow(store: Store, held: number) {
  await store.submit({ type: 't' });
  await settle();
  const batch = await store.submitBatch([{ type: 't' }, { type: 'slow', timeoutMs: 600_000 }, ...Array.from({ length: held }, () => ({ type: 't' }))]);
  await settle();
  return batch.map((r) => r.task.id);
}

test('a worker holds short tasks ahead while it runs one, each leased to it and kept alive past the lease until it runs them once', async () => {
  const g = gate();
  const runs = new Map<string, number>();
  const { clock, store, pool } = await setup({ leaseMs: 1000, handlers: { t: async (_p: unknown, ctx: TaskContext) => void runs.set(ctx.id, (runs.get(ctx.id) ?? 0) + 1), slow: g.handler } });
  const ids = await holdBehindSlow(store, 10);
  assert.equal(g.waiting.length, 1, 'the slow task runs');
  assert.equal((await store.counts()).byStatus.running, 11, 'the worker holds the ten tasks behind it');
  const [worker] = pool.workers();
  for (const id of ids.slice(2)) assert.equal((await store.get(id))!.workerId, worker!.id, 'a held task is leased to the worker that will run it');
  await advance(clock, 5000, 100);
  assert.equal(await store.reclaimExpired(), 0, 'no held lease expired in five lease periods');
  g.waiting[0]!.resolve('done');
  await settle();
  for (const id of ids) {
    const t = (await store.get(id))!;
    assert.equal(t.status, 'succeeded');
    assert.equal(t.attempts, 1);
  }
  assert.ok([...runs.values()].every((n) => n === 1));
  await pool.close(0);
});

test('close runs the tasks a worker holds ahead: none stays leased to a closed pool', async () => {
  const g = gate();
  const { store, pool } = await setup({ handlers: { t: async () => null, slow: g.handler } });
  const ids = await holdBehindSlow(store, 10);
  const closing = pool.close(60_000);
  await settle();
  g.waiting[0]!.resolve('done');
  await closing;
  for (const id of ids) assert.equal((await store.get(id))!.status, 'succeeded');
  assert.equal((await store.counts()).byStatus.running, 0);
});

test('close at its timeout hands the tasks a worker holds back to the queue at once, without running them', async () => {
  const g = gate();
  let ran = 0;
  const { clock, store, pool } = await setup({ handlers: { t: async () => void ran++, slow: g.handler } });
  const ids = await holdBehindSlow(store, 10);
  const before = ran;
  const closing = pool.close(1000);
  await advance(clock, 1000);
  await closing;
  assert.equal(ran, before, 'no held task started after the timeout');
  assert.equal((await store.counts()).byStatus.running, 0);
  for (const id of ids.slice(2)) {
    const t = (await store.get(id))!;
    assert.equal(t.status, 'retrying');
    assert.equal(t.error?.code, 'ShuttingDown');
  }
});

test('a worker whose runs are long holds nothing ahead: the next task stays in the queue for any worker', async () => {
  const g = gate();
  const { clock, store, pool } = await setup({ handlers: { t: g.handler } });
  await store.submit({ type: 't' });
  await settle();
  await advance(clock, 200);
  g.waiting[0]!.resolve(null);
  await settle();
  await store.submitBatch(Array.from({ length: 5 }, () => ({ type: 't' })));
  await settle();
  for (let i = 1; i <= 5; i++) {
    assert.equal((await store.counts()).byStatus.running, 1, 'only the running task is leased');
    await advance(clock, 200);
    g.waiting[i]!.resolve(null);
    await settle();
  }
  assert.equal((await store.counts()).byStatus.succeeded, 6);
  await pool.close(0);
});
