// One load, one policy: three nodes of a cluster together spend at most 1.1x the
// worker-seconds one node alone spends on it (the bar), and their summed workers
// never pass the pool's max. Real pools, autoscalers and cluster nodes on one shared
// memory store under a virtual clock (the store is the same object for every node, as a
// PostgreSQL or Redis server is the same database): node records, the leader lease, the
// shares and the grow lease all go through the store contract.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../../src/core/index.ts';
import { openStore, type Store } from '../../src/store/index.ts';
import { InProcessPool } from '../../src/pools/index.ts';
import { Autoscaler } from '../../src/autoscaler/index.ts';
import { ClusterNode, ClusterSeams } from '../../src/cluster/index.ts';
import { createRng } from '../../src/sim/index.ts';
import { settle } from '../pools/settle.ts';

const MAX = 30;
const STARTUP_MS = 500;

/** Arrivals (ms) and service times: a steady stream, a burst, a lull, a second stream. */
function trace(seed: number): { atMs: number; ms: number }[] {
  const rng = createRng(seed);
  const rows: { atMs: number; ms: number }[] = [];
  const poisson = (from: number, to: number, perSec: number) => {
    for (let t = from + rng.exponential(1000 / perSec); t < to; t += rng.exponential(1000 / perSec)) rows.push({ atMs: Math.round(t), ms: Math.max(50, Math.round(rng.logNormal(800, 0.8))) });
  };
  poisson(0, 60_000, 6);
  for (let i = 0; i < 120; i++) rows.push({ atMs: 30_000 + Math.round(rng.next() * 3000), ms: Math.max(50, Math.round(rng.logNormal(800, 0.8))) });
  poisson(60_000, 90_000, 0.3);
  poisson(90_000, 150_000, 10);
  return rows.sort((a, b) => a.atMs - b.atMs);
}

interface Run {
  workerSeconds: number;
  maxSummed: number;
  done: number;
}

async function run(nodes: number, policy: string): Promise<Run> {
  const clock = new VirtualClock(1_000_000);
  const store: Store = await openStore('memory', { clock });
  const members: { pool: InProcessPool; autoscaler: Autoscaler; node: ClusterNode | null }[] = [];
  let done = 0;
  for (let i = 0; i < nodes; i++) {
    const pool = new InProcessPool({
      name: 'p',
      types: ['t'],
      handlers: { t: async (payload: { ms: number }) => void (await clock.sleep(payload.ms)) },
      store,
      clock,
      minWorkers: 1,
      maxWorkers: MAX,
      startupMs: STARTUP_MS,
      pollMs: 200,
      leaseMs: 3_600_000,
      stallTimeoutMs: 3_600_000,
    });
    pool.on('task.completed', () => void done++);
    const node = nodes > 1 ? new ClusterNode({ store, clock, pools: [pool], id: `n${i}`, heartbeatMs: 500 }) : null;
    const autoscaler = new Autoscaler({ store, clock, pools: [{ pool, policy: { name: policy }, intervalMs: 1000 }], sampleEveryTicks: 0, ...(node ? { seams: new ClusterSeams(node) } : {}) });
    members.push({ pool, autoscaler, node });
  }
  for (const m of members) await m.node?.start();
  for (const m of members) m.autoscaler.start();
  const rows = trace(11);
  let next = 0;
  let workerMs = 0;
  let maxSummed = 0;
  const stepMs = 50;
  const originMs = clock.now();
  while (done < rows.length && clock.now() - originMs < 400_000) {
    const t = clock.now() - originMs;
    const batch = [];
    while (next < rows.length && rows[next]!.atMs <= t) batch.push({ type: 't', payload: { ms: rows[next++]!.ms } });
    if (batch.length) await store.submitBatch(batch);
    await clock.advance(stepMs);
    await settle(2);
    let summed = 0;
    for (const m of members) {
      const s = m.pool.stats();
      summed += s.starting + s.idle + s.busy + s.draining;
    }
    workerMs += summed * stepMs;
    maxSummed = Math.max(maxSummed, summed);
  }
  for (const m of members) await m.autoscaler.stop();
  for (const m of members) await m.node?.stop();
  for (const m of members) await m.pool.close(0);
  await store.close();
  return { workerSeconds: workerMs / 1000, maxSummed, done };
}

for (const policy of ['queue-latency', 'adaptive']) {
  test(`${policy}: three nodes under one load spend at most 1.1x one node's worker-seconds, and never run more than max together`, { timeout: 300_000 }, async () => {
    const total = trace(11).length;
    const one = await run(1, policy);
    const three = await run(3, policy);
    const ratio = three.workerSeconds / one.workerSeconds;
    const report = `one node ${one.workerSeconds.toFixed(0)} worker-s, three nodes ${three.workerSeconds.toFixed(0)} worker-s (ratio ${ratio.toFixed(3)}), max summed ${three.maxSummed}`;
    process.stderr.write(`cluster cost (${policy}): ${report}\n`);
    assert.equal(one.done, total, 'one node ran every task');
    assert.equal(three.done, total, 'three nodes ran every task');
    assert.ok(three.maxSummed <= MAX, report);
    assert.ok(ratio <= 1.1, report);
  });
}
