// The cluster on PostgreSQL: failover under load with three real nodes, and fencing of a
// paused leader (runs in test/cluster/cluster-run.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { freshSchema, pgSkip, schemaUrl } from '../store/postgres-helpers.ts';
import { MAX_WORKERS, runCrossNodeWait, runFailover, runPausedLeader } from './cluster-run.ts';

const skip = await pgSkip();

test('three nodes on PostgreSQL: the leader SIGKILLed mid-load is replaced within 10 s, nothing is lost, the summed workers never pass max', { skip, timeout: 240_000 }, async () => {
  const report = await runFailover(schemaUrl(freshSchema('tp_cluster')));
  process.stderr.write(`cluster failover (postgres): ${JSON.stringify(report)}\n`);
  assert.equal(report.lost, 0);
  assert.ok(report.acked >= 3000, `acknowledged ${report.acked}`);
  assert.ok(report.failoverMs < 10_000, `new leader after ${report.failoverMs} ms`);
  assert.ok(report.maxSummedCurrent <= MAX_WORKERS, `summed current reached ${report.maxSummedCurrent} > ${MAX_WORKERS}`);
});

test('a leader paused with SIGSTOP past its lease and resumed has its fenced write refused on PostgreSQL', { skip, timeout: 60_000 }, async () => {
  const r = await runPausedLeader(schemaUrl(freshSchema('tp_fence')));
  assert.match(r.refused, /^Fenced: lease "leader": fencing token 1 is no longer current \(the lease is at token 2, held by "new-leader"\); the write was refused$/);
  assert.equal(r.leadsAfter, false);
  assert.deepEqual(r.valueAfter, { total: 3, by: 'new-leader' });
});

test('on PostgreSQL, a ?wait request and the dashboard stream on one node hear a task end on another node through notifications, and a PATCH to the follower takes effect over the cluster at once', { skip, timeout: 90_000 }, async () => {
  const r = await runCrossNodeWait(schemaUrl(freshSchema('tp_cross')));
  process.stderr.write(`cross-node (postgres): ${JSON.stringify(r)}\n`);
  assert.ok(r.waitMs < 3000, `the wait answered after ${r.waitMs} ms`);
  assert.ok(r.streamMs >= 0 && r.streamMs < 3000, `the stream told of the end after ${r.streamMs} ms`);
  assert.ok(r.patchMs >= 0 && r.patchMs < 5000, `the cluster ran the follower's new policy after ${r.patchMs} ms`);
});
