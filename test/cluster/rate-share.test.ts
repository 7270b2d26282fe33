// The global rate limit holds across the nodes together: each live node takes an equal
// share of the rate and the burst (the cluster tells its server how many nodes are live).
// Two real servers over one store, in virtual time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../../src/core/index.ts';
import { openStore } from '../../src/store/index.ts';
import { ClusterNode } from '../../src/cluster/index.ts';
import { TidepoolServer } from '../../src/server/index.ts';
import { request } from '../server/helpers.ts';
import { settle } from '../pools/settle.ts';

test('two nodes under a global limit of 20 requests/s (burst 20) admit 20 together, 10 each, and 20/s after that', async () => {
  const clock = new VirtualClock(1_000_000);
  const store = await openStore('memory', { clock });
  const nodes = [new ClusterNode({ store, clock, pools: [], id: 'a' }), new ClusterNode({ store, clock, pools: [], id: 'b' })];
  const servers: TidepoolServer[] = [];
  try {
    for (const node of nodes) {
      servers.push(await TidepoolServer.create({ clock, stallMs: 60_000, runtime: { store, pools: () => [], cluster: node }, rateLimit: { ratePerSec: 20, burst: 20 }, logStream: { write: () => undefined } }));
    }
    for (const node of nodes) await node.start();
    await nodes[0]!.beat(); // a saw only itself at its start; now both are live
    await settle();
    const urls = await Promise.all(servers.map((s) => s.listen({ port: 0, host: '127.0.0.1' })));
    const admitted = async (url: string, n: number) => {
      let ok = 0;
      for (let i = 0; i < n; i++) if ((await request(url, 'GET', '/v1/pools')).status === 200) ok++;
      return ok;
    };
    assert.deepEqual([await admitted(urls[0]!, 30), await admitted(urls[1]!, 30)], [10, 10], 'each node: half the burst');
    await clock.advance(1000);
    assert.deepEqual([await admitted(urls[0]!, 30), await admitted(urls[1]!, 30)], [10, 10], 'each node: half the rate');
    const refused = await request(urls[0]!, 'GET', '/v1/pools');
    assert.equal(refused.status, 429);
    assert.match(refused.body.error.message, /global rate limit of 20 requests\/s exceeded \(this node's share: 1\/2 of it, one per live node\)/);
  } finally {
    for (const s of servers) await s.close();
    for (const node of nodes) await node.stop();
    await store.close();
  }
});
