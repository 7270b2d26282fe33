// Two `tidepool start` processes on one SQLite file elect one autoscaler: both list the
// same two nodes with one leader (`tidepool nodes` too); under a backlog their pool runs at
// most its max over both (two autoscalers would each scale to max); SIGTERM on the leader
// hands leadership over at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { tempDir } from '../server/helpers.ts';
import { nodesOf, startNode, stopAll, type ClusterProc } from './cluster-run.ts';

const MAIN = join(import.meta.dirname, '../../src/cli/main.ts');
const run = promisify(execFile);

test('two processes on one SQLite file elect one autoscaler, keep the pool within its max together, and hand over on SIGTERM', { timeout: 120_000 }, async () => {
  const tmp = tempDir('tidepool-sqlite-cluster-');
  const storeUrl = `sqlite:${join(tmp.dir, 'shared.db')}`;
  const env = { TIDEPOOL_TEST_EXEC_LOG: join(tmp.dir, 'exec.log') };
  const nodes: ClusterProc[] = [];
  try {
    nodes.push(...(await Promise.all([0, 1].map(() => startNode(storeUrl, env, ['--policy', 'queue-latency', '--min', '1', '--max', '4'])))));
    let views = await Promise.all(nodes.map(nodesOf));
    for (let i = 0; i < 50 && !views.every((v) => v.nodes.length === 2); i++) {
      await new Promise((r) => setTimeout(r, 100));
      views = await Promise.all(nodes.map(nodesOf));
    }
    for (const v of views) {
      assert.equal(v.nodes.length, 2, 'each node lists both');
      assert.equal(v.nodes.filter((n) => n.leader).length, 1, 'one leader');
      assert.equal(v.nodes.filter((n) => n.self).length, 1, 'one self');
    }
    const leaderPid = views[0]!.nodes.find((n) => n.leader)!.pid;
    assert.equal(views[1]!.nodes.find((n) => n.leader)!.pid, leaderPid, 'both name the same leader');

    const { stdout } = await run(process.execPath, [MAIN, 'nodes', '--url', nodes[0]!.url]);
    assert.match(stdout, /NODE\s+ROLE/);
    assert.equal(stdout.match(/ leader /g)?.length, 1, stdout);
    assert.equal(stdout.match(/ follower /g)?.length, 1, stdout);

    // A backlog: both nodes would scale to 4 each if each ran its own autoscaler.
    const res = await fetch(`${nodes[0]!.url}/v1/tasks/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ tasks: Array.from({ length: 300 }, () => ({ type: 'work', payload: { ms: 40 } })) }),
    });
    assert.equal(res.status, 201);
    let maxSummed = 0;
    let sawAbove1 = false;
    for (let i = 0; i < 200; i++) {
      const pools = await Promise.all(nodes.map(async (n) => ((await (await fetch(`${n.url}/v1/pools`)).json()) as { pools: { current: number; queueDepth: number; cluster?: { current: number } }[] }).pools[0]!));
      const summed = pools.reduce((s, p) => s + p.current, 0);
      maxSummed = Math.max(maxSummed, summed);
      if (summed > 2) sawAbove1 = true;
      if (pools.every((p) => p.queueDepth === 0) && sawAbove1) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(sawAbove1, 'the leader scaled the pool up over both nodes');
    assert.ok(maxSummed <= 4, `the pool ran ${maxSummed} workers over both nodes; its max is 4`);

    // SIGTERM hands over at once.
    const leader = nodes.find((n) => n.pid === leaderPid)!;
    const other = nodes.find((n) => n !== leader)!;
    const t0 = performance.now();
    leader.proc.kill('SIGTERM');
    await once(leader.proc, 'exit');
    let newLeader = false;
    while (performance.now() - t0 < 10_000 && !newLeader) {
      const v = await nodesOf(other);
      newLeader = v.nodes.length === 1 && v.nodes[0]!.leader && v.nodes[0]!.self;
      if (!newLeader) await new Promise((r) => setTimeout(r, 50));
    }
    const handoverMs = performance.now() - t0;
    process.stderr.write(`sqlite cluster: max summed ${maxSummed} of 4; handover after SIGTERM ${Math.round(handoverMs)} ms (drain included)\n`);
    assert.ok(newLeader, 'the remaining node leads');
    assert.ok(handoverMs < 5_000, `handover took ${Math.round(handoverMs)} ms`);
  } finally {
    await stopAll(nodes);
    tmp.remove();
  }
});
