// GET /v1/nodes on a process that runs alone (memory store, or cluster.enabled off): it lists
// itself as the one node, leading and answering, with its pools.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../server/helpers.ts';

test('a process alone lists itself as the one live node, leader and self', async () => {
  const s = await startServer();
  try {
    const res = await s.call('GET', '/v1/nodes');
    assert.equal(res.status, 200);
    assert.equal(res.body.nodes.length, 1);
    const [n] = res.body.nodes;
    assert.equal(n.leader, true);
    assert.equal(n.self, true);
    assert.equal(n.pid, process.pid);
    assert.equal(typeof n.startedAtMs, 'number');
    assert.equal(typeof n.lastSeenMs, 'number');
    assert.deepEqual(n.pools, []);
    assert.equal(res.body.leader, null, 'no leadership lease: nothing to elect');
  } finally {
    await s.close();
  }
});
