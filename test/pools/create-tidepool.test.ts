// createTidepool: config -> store + pools + autoscaler, on memory (virtual time) and SQLite.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { once } from 'node:events';
import { VirtualClock } from '../../src/core/index.ts';
import { createTidepool } from '../../src/tidepool.ts';
import type { RemotePool } from '../../src/pools/index.ts';
import { settle } from './settle.ts';
import { scratchDir } from '../scratch-dir.ts';

test('createTidepool makes one pool per handler type, named after it, and runs submitted tasks', async () => {
  const clock = new VirtualClock(0);
  const tp = await createTidepool(
    { store: 'memory', poolDefaults: { policy: 'fixed:2' } },
    { double: async (n: number) => n * 2, shout: async (s: string) => s.toUpperCase() },
    { clock },
  );
  assert.deepEqual([...tp.pools.keys()], ['double', 'shout']);
  assert.deepEqual(tp.stats().map((s) => [s.name, s.total, s.minWorkers, s.maxWorkers]), [['double', 2, 2, 2], ['shout', 2, 2, 2]]);
  const doubled = once(tp.pools.get('double')!, 'task.completed');
  const shouted = once(tp.pools.get('shout')!, 'task.completed');
  const a = await tp.submit({ type: 'double', payload: 21 });
  const b = await tp.submit({ type: 'shout', payload: 'hi' });
  await Promise.all([doubled, shouted]);
  assert.equal((await tp.store.get(a.task.id))!.result, 42);
  assert.equal((await tp.store.get(b.task.id))!.result, 'HI');
  await tp.close(0);
});

test('createTidepool groups types into the configured pools and takes the policy bounds when none are set', async () => {
  const clock = new VirtualClock(0);
  const tp = await createTidepool(
    { store: 'memory', pools: [{ name: 'llm', types: ['chat', 'embed'], policy: 'threshold', maxWorkers: 30 }] },
    { chat: async () => 'c', embed: async () => 'e', other: async () => 'o' },
    { clock, startAutoscaler: false },
  );
  const llm = tp.pools.get('llm')!;
  assert.deepEqual([llm.types, llm.minWorkers, llm.maxWorkers], [['chat', 'embed'], 2, 30]);
  assert.ok(tp.pools.has('other'));
  assert.equal(tp.autoscaler.control('llm').policy, 'threshold');
  assert.equal(tp.autoscaler.control('llm').intervalMs, 30_000, "threshold's own evaluation interval");
  await tp.close(0);
});

test('createTidepool refuses a bad config naming every problem', async () => {
  await assert.rejects(
    createTidepool({ leaseMs: 5, pools: [{ types: ['a'], minWorkers: 3, maxWorkers: 1 }] } as never, { a: async () => null }),
    (err: Error & { problems?: string[] }) => {
      assert.deepEqual(err.problems, ['leaseMs (createTidepool config): got 5; expected a duration in ms (an integer, or 500ms/30s/2m/1h) in [100, 86400000]']);
      return true;
    },
  );
  await assert.rejects(
    createTidepool({ store: 'memory', pools: [{ types: ['a'], minWorkers: 3, maxWorkers: 1 }] }, { a: async () => null }),
    /pools\[0\]\.maxWorkers \(createTidepool config\): got 1; expected an integer >= minWorkers \(3\)/,
  );
  await assert.rejects(createTidepool({ store: 'memory', pools: [{ types: ['a', 'b'] }] }, { a: async () => null }), /no handler for type "b"/);
  await assert.rejects(
    createTidepool({ store: 'memory', pools: [{ types: ['a'], policy: 'threshold', policyOptions: { maxQueueDepth: 3 } }] }, { a: async () => null }),
    /pools\[0\]\.policyOptions\.minQueueDepth \(createTidepool config\): got 10; expected at most maxQueueDepth \(3\)/,
  );
});

test('createTidepool on SQLite runs tasks end to end and its autoscaler scales the pool up on a backlog', async () => {
  const dir = scratchDir('tidepool-create-');
  const tp = await createTidepool(
    {
      store: `sqlite:${join(dir, 'q.db')}`,
      durability: 'normal',
      autoscaler: { intervalMs: 20 },
      pools: [{ types: ['work'], policy: 'threshold', minWorkers: 1, maxWorkers: 4, intervalMs: 20, policyOptions: { scaleUpThreshold: 1, scaleUpCooldownMs: 0, maxQueueDepth: 3, minQueueDepth: 0, minIdleWorkers: 0, maxUtilization: 1 } }],
    },
    { work: async (ms: number) => { await new Promise((r) => setTimeout(r, ms)); return ms; } },
  );
  try {
    // On SQLite the process is a node of a cluster (of one): its pool starts empty and the
    // leader's first decision raises it to its minimum; the backlog then scales it up. The
    // backlog goes in once the raise happened (before it, the first tick may scale 0 -> 2).
    const pool = tp.pools.get('work')!;
    while (pool.target < 1) await once(tp.autoscaler, 'pool.resized');
    const resized = (async () => {
      for (;;) {
        const [e] = (await once(tp.autoscaler, 'pool.resized')) as [{ from: number; to: number; code: string }];
        if (e.code !== 'raised_to_min') return e;
      }
    })();
    const submitted = await tp.submitBatch(Array.from({ length: 30 }, () => ({ type: 'work', payload: 20 })));
    const event = await resized;
    assert.deepEqual([event.from, event.to, event.code], [1, 3, 'scale_up_depth']);
    while (tp.pools.get('work')!.stats().completed < 30) await once(tp.pools.get('work')!, 'task.completed');
    for (const s of submitted) assert.equal((await tp.store.get(s.task.id))!.status, 'succeeded');
  } finally {
    await tp.close(1000);
  }
});

test('a remote pool records its workers registering, failing and leaving in the event log', async () => {
  const clock = new VirtualClock(0);
  const notes: string[] = [];
  const tp = await createTidepool(
    { store: 'memory', leaseMs: 3000, heartbeatMs: 1000, pools: [{ name: 'far', kind: 'remote', types: ['render'], policy: 'fixed:0' }] },
    {},
    { clock, startAutoscaler: false, onPoolEvent: (n) => notes.push(n.code) },
  );
  try {
    const far = tp.pools.get('far') as RemotePool;
    const quiet = far.register({ tenant: 'default', concurrency: 2, name: 'box-1', host: '10.0.0.7' });
    const leaving = far.register({ tenant: 'default', concurrency: 1, name: 'box-2' });
    far.deregister(leaving);
    // box-1 sends nothing more: past workerTimeoutMs (3 heartbeats) it is failed.
    await clock.advance(far.workerTimeoutMs + 2000);
    await settle();
    const events = (await tp.store.listScalingEvents({ fromMs: 0, toMs: clock.now() })).map((e) => [e.pool, e.code, e.reason]);
    assert.deepEqual(events, [
      ['far', 'worker_registered', `remote worker ${quiet.id} (box-1 on 10.0.0.7) registered for render with 2 slots`],
      ['far', 'worker_registered', `remote worker ${leaving.id} (box-2) registered for render with 1 slot`],
      ['far', 'worker_deregistered', `remote worker ${leaving.id} left (deregistered)`],
      ['far', 'worker_failed', `remote worker ${quiet.id} failed: no heartbeat for ${events[3]![2]!.match(/for (\d+) ms/)![1]} ms >= 3000 ms`],
    ]);
    assert.deepEqual(notes, ['worker_registered', 'worker_registered', 'worker_deregistered', 'worker_failed'], 'the server log hears them too');
  } finally {
    await tp.close(0);
  }
});

test('createTidepool with a region (a cluster node on SQLite) runs its region\'s tasks and those without one, and leaves another live region\'s tasks alone', async () => {
  const dir = scratchDir('tidepool-create-region-');
  const tp = await createTidepool(
    { store: `sqlite:${join(dir, 'q.db')}`, durability: 'normal', region: 'east', pools: [{ types: ['work'], policy: 'fixed:1' }] },
    { work: async () => 'done' },
  );
  try {
    assert.deepEqual(tp.cluster?.claimRegions(), ['east']);
    // A live node of west, as another process's record would say.
    await tp.store.putState('node/west-1', { id: 'west-1', host: 'h', pid: 1, version: '0', region: 'west', startedAtMs: 0, pools: [] }, { ttlMs: 60_000 });
    await tp.store.putState('region/west', { region: 'west', node: 'west-1' });
    const west = await tp.submit({ type: 'work', region: 'west' });
    const east = await tp.submit({ type: 'work', region: 'east' });
    const none = await tp.submit({ type: 'work' });
    const pool = tp.pools.get('work')!;
    while (pool.stats().completed < 2) await once(pool, 'task.completed');
    assert.equal((await tp.store.get(east.task.id))!.status, 'succeeded');
    assert.equal((await tp.store.get(none.task.id))!.status, 'succeeded');
    assert.equal((await tp.store.get(west.task.id))!.status, 'queued');
  } finally {
    await tp.close(1000);
  }
});
