// The cluster's state through the store contract, on every adapter (memory, SQLite,
// PostgreSQL, Redis), in virtual time: node records that lapse, one leader at a time with a
// fencing token, handover on stop, the leader's shares written fenced and read by every
// node, and policy state a new leader takes over.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../../src/core/index.ts';
import type { Store } from '../../src/store/index.ts';
import { ClusterNode, ClusterSeams } from '../../src/cluster/index.ts';
import { STORE_ADAPTERS } from '../store/adapters.ts';
import { serverSkip } from '../store/servers.ts';

for (const adapter of STORE_ADAPTERS) {
  const unavailable = adapter.probe ? await serverSkip(adapter.server ?? adapter.name, adapter.probe) : false;
  const it = (name: string, fn: (ctx: { clock: VirtualClock; stores: Store[] }) => Promise<void>) =>
    test(`${adapter.name}: ${name}`, { skip: unavailable }, async () => {
      const clock = new VirtualClock(1_700_000_000_000);
      const ns = adapter.namespace();
      // Two handles on one store, as two processes would have (memory: the same object).
      const first = await ns.open({ clock });
      const second = adapter.capabilities.includes('multiProcess') ? await ns.open({ clock }) : first;
      try {
        await fn({ clock, stores: [first, second] });
      } finally {
        await first.close();
        if (second !== first) await second.close();
        await ns.drop?.();
      }
    });

  it('nodes register, list each other with one leader, and a node that stops renewing lapses', async ({ clock, stores }) => {
    const a = new ClusterNode({ store: stores[0]!, clock, pools: [], id: 'node-a', heartbeatMs: 60_000, nodeTtlMs: 5_000, leaderTtlMs: 5_000 });
    const b = new ClusterNode({ store: stores[1]!, clock, pools: [], id: 'node-b', heartbeatMs: 60_000, nodeTtlMs: 5_000, leaderTtlMs: 5_000 });
    await a.start();
    await b.start();
    const seen = (await b.nodes()).nodes;
    assert.deepEqual(seen.map((n) => [n.id, n.leader, n.self]), [['node-a', true, false], ['node-b', false, true]]);
    assert.equal(a.isLeader, true);
    assert.equal(b.isLeader, false);
    await clock.advance(6_000); // neither renewed: both records and the lease lapsed
    assert.deepEqual((await b.nodes()).nodes, []);
    await b.beat(); // b renews first now: it takes the lease, with the next token
    assert.equal(b.isLeader, true);
    assert.equal(b.fence()?.token, 2);
    assert.deepEqual(((await a.nodes()).nodes).map((n) => [n.id, n.leader]), [['node-b', true]]);
    await a.stop();
    await b.stop();
  });

  it('a leader that stops hands over: the lease is free at once and the next node takes it with token + 1', async ({ clock, stores }) => {
    const a = new ClusterNode({ store: stores[0]!, clock, pools: [], id: 'node-a', heartbeatMs: 60_000 });
    const b = new ClusterNode({ store: stores[1]!, clock, pools: [], id: 'node-b', heartbeatMs: 60_000 });
    await a.start();
    await b.start();
    assert.equal(a.fence()?.token, 1);
    await a.stop();
    assert.equal((await stores[1]!.getState('cluster/handover'))?.value && true, true, 'the handover is announced');
    await b.beat();
    assert.equal(b.isLeader, true);
    assert.equal(b.fence()?.token, 2);
    assert.deepEqual(((await b.nodes()).nodes).map((n) => n.id), ['node-b'], 'the stopped node left the list');
    await b.stop();
  });

  it("the leader's decision is written fenced; a deposed leader's is refused and changes nothing", async ({ clock, stores }) => {
    const a = new ClusterNode({ store: stores[0]!, clock, pools: [], id: 'node-a', heartbeatMs: 60_000, leaderTtlMs: 2_000 });
    const b = new ClusterNode({ store: stores[1]!, clock, pools: [], id: 'node-b', heartbeatMs: 60_000, leaderTtlMs: 2_000 });
    await a.start();
    await b.start();
    const d = await a.decide('llm', { pool: 'llm', total: 4, shares: { 'node-a': 2, 'node-b': 2 }, min: 0, max: 8, reason: 'test' });
    assert.equal(d.token, 1);
    assert.deepEqual((await stores[1]!.getState('desired/llm'))?.value, d);
    const heldFence = a.fence()!;
    await clock.advance(3_000);
    await b.beat();
    assert.equal(b.isLeader, true);
    await assert.rejects(stores[0]!.putState('desired/llm', { total: 99 }, { fence: heldFence }), /fencing token 1 is no longer current \(the lease is at token 2, held by "node-b"\)/);
    await assert.rejects(a.decide('llm', { pool: 'llm', total: 99, shares: {}, min: 0, max: 8, reason: 'stale' }), /does not lead/);
    assert.equal(((await stores[0]!.getState('desired/llm'))?.value as { total: number }).total, 4);
    await a.stop();
    await b.stop();
  });

  it('policy state saved by one leader is what the next leader loads', async ({ clock, stores }) => {
    const a = new ClusterNode({ store: stores[0]!, clock, pools: [], id: 'node-a', heartbeatMs: 60_000 });
    const b = new ClusterNode({ store: stores[1]!, clock, pools: [], id: 'node-b', heartbeatMs: 60_000 });
    await a.start();
    await b.start();
    await new ClusterSeams(a).saveState('llm', { lastScaleAtMs: 123, history: [1, 2, 3] });
    await new ClusterSeams(b).saveState('llm', { lastScaleAtMs: -1 }); // not the leader: nothing written
    await a.stop();
    await b.beat();
    assert.deepEqual(await new ClusterSeams(b).loadState('llm'), { lastScaleAtMs: 123, history: [1, 2, 3] });
    await b.stop();
  });
}
