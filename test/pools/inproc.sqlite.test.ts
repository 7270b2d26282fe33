// The in-process pool on a real SQLite file: scaling while draining drops nothing, and a
// worker whose lease was taken over cannot record its result (fencing).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { once } from 'node:events';
import { VirtualClock, type Json } from '../../src/core/index.ts';
import { openStore } from '../../src/store/index.ts';
import { InProcessPool, type TaskContext } from '../../src/pools/index.ts';
import { advance, settle } from './settle.ts';
import { scratchDir } from '../scratch-dir.ts';

const dbUrl = () => `sqlite:${join(scratchDir('tidepool-pool-'), 'q.db')}`;

test('on SQLite, scaling up and down while 200 tasks drain runs every task exactly once', async () => {
  const store = await openStore(`${dbUrl()}?durability=normal`);
  const runs = new Map<string, number>();
  const pool = new InProcessPool({
    name: 'p', types: ['t'], store, minWorkers: 1, maxWorkers: 8, initialWorkers: 5,
    handlers: { t: async (_p: unknown, ctx: TaskContext) => { runs.set(ctx.id, (runs.get(ctx.id) ?? 0) + 1); await new Promise((r) => setTimeout(r, 1)); } },
  });
  try {
    const submitted = await store.submitBatch(Array.from({ length: 200 }, (_, i) => ({ type: 't', payload: i })));
    let completed = 0;
    pool.on('task.completed', () => completed++);
    while (completed < 50) await once(pool, 'task.completed');
    pool.scaleTo(2);
    while (completed < 120) await once(pool, 'task.completed');
    pool.scaleTo(8);
    while (completed < 200) await once(pool, 'task.completed');
    assert.equal(runs.size, 200);
    assert.ok([...runs.values()].every((n) => n === 1), 'no task ran twice');
    for (const s of submitted) assert.equal((await store.get(s.task.id))!.status, 'succeeded');
    assert.equal(pool.stats().total, 8);
  } finally {
    await pool.close(1000);
    await store.close();
  }
});

test('on SQLite, a late result from a worker whose lease was taken over is refused', async () => {
  const clock = new VirtualClock(2_000_000_000_000);
  const store = await openStore(`${dbUrl()}?durability=normal`, { clock });
  const held: ((v: Json) => void)[] = [];
  const pool = new InProcessPool({
    name: 'p', types: ['t'], store, clock, minWorkers: 1, maxWorkers: 1, leaseMs: 1000, heartbeatMs: 5000, pollMs: 3_600_000,
    handlers: { t: () => new Promise<Json>((resolve) => held.push(resolve)) },
  });
  try {
    const { task } = await store.submit({ type: 't', timeoutMs: 60_000 });
    await settle();
    assert.equal(held.length, 1);
    await advance(clock, 1500, 100);
    await store.maintain(); // maintenance reclaims the expired lease (claims never do)
    const [takeover] = await store.claim({ workerId: 'other', types: ['t'], limit: 1, leaseMs: 10_000 });
    assert.ok(takeover, 'the expired lease was taken over');
    const lost = once(pool, 'task.lease_lost');
    held[0]!('late');
    await lost;
    assert.equal((await store.get(task.id))!.status, 'running');
    await store.complete(task.id, takeover.leaseToken, 'winner');
    assert.deepEqual([(await store.get(task.id))!.status, (await store.get(task.id))!.result], ['succeeded', 'winner']);
  } finally {
    await pool.close(0);
    await store.close();
  }
});
