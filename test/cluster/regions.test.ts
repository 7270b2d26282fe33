// Region-aware pools: a node in region R claims R's tasks and tasks without a region; a
// task of region S goes to other regions' nodes only once no live node of S has been seen
// for regionFailoverMs. Real pools and cluster nodes in virtual time, on one shared memory
// store (the same object for both nodes, as one database is) and on one SQLite file opened
// twice (two connections, as two processes would).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VirtualClock } from '../../src/core/index.ts';
import { openStore, type Store } from '../../src/store/index.ts';
import { InProcessPool } from '../../src/pools/index.ts';
import { ClusterNode } from '../../src/cluster/index.ts';
import { advance } from '../pools/settle.ts';
import { serverSkip } from '../store/servers.ts';
import { REDIS_URL, dropPrefix, probeRedis } from '../store/redis-helpers.ts';

const redisSkip = await serverSkip(`Redis at ${REDIS_URL}`, probeRedis);

const HEARTBEAT_MS = 500;
const NODE_TTL_MS = 2_000;
const FAILOVER_MS = 10_000;

interface Member {
  node: ClusterNode;
  pool: InProcessPool;
  ran: Map<string, string>;
}

function member(store: Store, clock: VirtualClock, id: string, region: string | null, ranBy: Map<string, string>, workers = 1): Member {
  const holder: { node: ClusterNode | null } = { node: null };
  const pool = new InProcessPool({
    name: 'p',
    types: ['t'],
    handlers: { t: async () => 'ok' },
    store,
    clock,
    minWorkers: 0,
    maxWorkers: 1,
    initialWorkers: workers,
    pollMs: 100,
    leaseMs: 60_000,
    regions: () => holder.node?.claimRegions(),
  });
  pool.on('task.completed', (e: { taskId: string }) => void ranBy.set(e.taskId, id));
  const node = new ClusterNode({ store, clock, pools: [pool], id, region, heartbeatMs: HEARTBEAT_MS, nodeTtlMs: NODE_TTL_MS, leaderTtlMs: NODE_TTL_MS, regionFailoverMs: FAILOVER_MS });
  holder.node = node;
  return { node, pool, ran: ranBy };
}

/** Advances virtual time in steps until `cond` holds (real I/O may lag behind virtual time), at most maxMs. */
async function until(clock: VirtualClock, cond: () => boolean | Promise<boolean>, maxMs: number): Promise<void> {
  const end = clock.now() + maxMs;
  while (!(await cond()) && clock.now() < end) await advance(clock, 100, 100);
}

/**
 * `slackMs`: how far from the exact failover time the checks look. A heartbeat on stores whose
 * clock is the injected one; more on Redis, whose time of record is the server's clock
 * offset to the virtual one per connection (two connections differ by the real time between
 * their syncs).
 */
async function failover(stores: [Store, Store], clock: VirtualClock, slackMs = 2 * HEARTBEAT_MS): Promise<void> {
  const ranBy = new Map<string, string>();
  // East runs no worker: whatever east's tasks do is up to west.
  const east = member(stores[0], clock, 'east-1', 'east', ranBy, 0);
  const west = member(stores[1], clock, 'west-1', 'west', ranBy);
  try {
    await east.node.start();
    await west.node.start();
    assert.deepEqual(west.node.claimRegions(), ['west']);
    await advance(clock, 1_000, 100);
    // East lives but runs no worker: its tasks wait for it; tasks without a region run on west.
    const eastTask = (await stores[0].submit({ type: 't', region: 'east' })).task;
    const anyTask = (await stores[0].submit({ type: 't' })).task;
    await advance(clock, 5_000, 100);
    assert.equal(ranBy.get(anyTask.id), 'west-1', 'a task without a region runs on any node');
    assert.equal((await stores[1].get(eastTask.id))!.status, 'queued', 'east\'s task waits while a node of east is live');
    // East goes away without a word (its record lapses): west takes east's tasks once
    // nodeTtlMs + regionFailoverMs have passed since east's last heartbeat, not before.
    await east.pool.close(0);
    // Its last heartbeat now (on Redis, real I/O may have let virtual time run past its beats).
    await east.node.beat();
    const lastBeat = clock.now();
    await east.node.stop().catch(() => undefined);
    await advance(clock, NODE_TTL_MS + FAILOVER_MS - slackMs, 100);
    assert.equal((await stores[1].get(eastTask.id))!.status, 'queued', 'not before the failover time');
    assert.deepEqual(west.node.failedOverRegions(), []);
    await until(clock, () => west.node.failedOverRegions().length > 0, 20 * slackMs);
    assert.deepEqual(west.node.claimRegions(), ['west', 'east']);
    // On the store's time of record, east was last seen before it stopped.
    const seen = await stores[1].getState('region/east');
    assert.ok(seen && (await stores[1].now()) - seen.updatedAtMs >= NODE_TTL_MS + FAILOVER_MS);
    await until(clock, () => ranBy.has(eastTask.id), 20_000);
    assert.equal(ranBy.get(eastTask.id), 'west-1', 'east\'s task ran on west after the failover');
    assert.ok(clock.now() - lastBeat >= NODE_TTL_MS + FAILOVER_MS - slackMs);
    // A node of east comes back: west stops taking east's tasks at its next heartbeat.
    const back = member(stores[0], clock, 'east-2', 'east', ranBy, 0);
    await back.node.start();
    await until(clock, () => west.node.failedOverRegions().length === 0, 20_000);
    assert.deepEqual(west.node.claimRegions(), ['west']);
    const later = (await stores[0].submit({ type: 't', region: 'east' })).task;
    await advance(clock, 3_000, 100);
    assert.equal((await stores[1].get(later.id))!.status, 'queued', 'east is back: its tasks wait for it again');
    back.pool.scaleTo(1);
    await until(clock, () => ranBy.has(later.id), 20_000);
    assert.equal(ranBy.get(later.id), 'east-2');
    await back.node.stop();
    await back.pool.close(0);
  } finally {
    await west.node.stop();
    await west.pool.close(0);
    await east.node.stop().catch(() => undefined);
  }
}

test('memory: a region\'s tasks wait for its node while it lives, and go to another region after its record lapsed + regionFailoverMs', async () => {
  const clock = new VirtualClock(1_000_000);
  const store = await openStore('memory', { clock });
  try {
    await failover([store, store], clock);
  } finally {
    await store.close();
  }
});

test('sqlite: the same failover with two connections to one file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tidepool-regions-'));
  const clock = new VirtualClock(1_000_000);
  const url = `sqlite:${join(dir, 'r.db')}`;
  const a = await openStore(url, { clock });
  const b = await openStore(url, { clock });
  try {
    await failover([a, b], clock);
  } finally {
    await a.close();
    await b.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('redis: the same failover with two connections to one store (the store\'s time of record)', { skip: redisSkip }, async () => {
  const clock = new VirtualClock(1_000_000);
  const prefix = `tp-regions-${Math.random().toString(36).slice(2, 10)}`;
  const url = `${REDIS_URL}${REDIS_URL.includes('?') ? '&' : '?'}prefix=${prefix}`;
  const a = await openStore(url, { clock });
  const b = await openStore(url, { clock });
  try {
    await failover([a, b], clock, 3_000);
  } finally {
    await a.close();
    await b.close();
    await dropPrefix(prefix);
  }
});

test('a node without a region claims every task, and a node in a region never sees another region\'s tasks before the failover', async () => {
  const clock = new VirtualClock(1_000_000);
  const store = await openStore('memory', { clock });
  const ranBy = new Map<string, string>();
  const plain = member(store, clock, 'plain', null, ranBy);
  try {
    assert.equal(plain.node.claimRegions(), undefined);
    await plain.node.start();
    const t = (await store.submit({ type: 't', region: 'mars' })).task;
    await advance(clock, 1_000, 100);
    assert.equal(ranBy.get(t.id), 'plain');
  } finally {
    await plain.node.stop();
    await plain.pool.close(0);
    await store.close();
  }
});
