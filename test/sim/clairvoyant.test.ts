// The clairvoyant floor: an offline schedule that knows the whole trace. It holds the SLO
// attainment, is feasible (every task once, after its arrival, on a ready worker), costs no
// more than the online policies on the same workload, and is refused outside the simulator.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clairvoyant, figuresOf, generate, runPolicy, type SimRun, type Workload } from '../../src/sim/index.ts';
import { resolvePolicy } from '../../src/policies/index.ts';

/** Running tasks never exceed ready workers, and no worker is ready before its start-up. */
function checkFeasible(w: Workload, run: SimRun, startupMs: number): void {
  const p = run.pool;
  const points: [number, number][] = [];
  for (let i = 0; i < w.count; i++) {
    assert.ok(run.startMs[i] >= w.arrivalMs[i], `task ${i} starts before it arrives`);
    points.push([run.startMs[i], 1], [run.startMs[i] + w.serviceMs[i], -1]);
  }
  points.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let running = 0;
  let k = 0;
  for (const [t, d] of points) {
    running += d;
    while (k + 1 < p.tMs.length && p.tMs[k + 1] <= t) k++;
    if (d > 0) assert.ok(running <= p.ready[k], `at ${t} ms ${running} tasks run on ${p.ready[k]} ready workers`);
  }
  // Readiness: workers added after 0 become ready no sooner than a start-up later.
  const added: number[] = Array(p.workers[0]).fill(-startupMs);
  for (let i = 1; i < p.tMs.length; i++) {
    const t = p.tMs[i];
    if (p.workers[i] > p.workers[i - 1]) for (let j = p.workers[i - 1]; j < p.workers[i]; j++) added.push(t);
    else added.length = p.workers[i];
    assert.ok(p.ready[i] <= added.filter((x) => x + startupMs <= t).length, `at ${t} ms ${p.ready[i]} ready, too soon`);
  }
}

for (const setting of [
  { name: 'A', sloMs: 2000, startupMs: 1000 },
  { name: 'B', sloMs: 5000, startupMs: 10_000 },
]) {
  test(`on the bursty generator in setting ${setting.name} the floor holds 0.95, is feasible and costs less than adaptive and the best fixed pool`, () => {
    const w = generate('bursty', { seed: 3 });
    const run = clairvoyant(w, setting);
    const f = figuresOf(w, run, { ...setting, intervalMs: 1000 });
    assert.ok(f.sloAttainment >= 0.95, `attainment ${f.sloAttainment}`);
    checkFeasible(w, run, setting.startupMs);
    const online = runPolicy(w, { ...setting, name: 'adaptive', intervalMs: 1000 }).figures;
    assert.ok(f.workerSeconds < online.workerSeconds, `clairvoyant ${f.workerSeconds} vs adaptive ${online.workerSeconds}`);
    assert.ok(f.costRatio >= 1, 'no schedule costs less than the busy time');
  });
}

test('a workload whose tasks fit one warm worker back to back costs exactly its busy time', () => {
  const w: Workload = { count: 3, arrivalMs: Float64Array.from([0, 100, 200]), serviceMs: Float64Array.from([100, 100, 100]), priority: null, tenant: null, type: null };
  const run = clairvoyant(w, { sloMs: 50, startupMs: 1000 });
  assert.equal(run.workerMs, 300);
  assert.deepEqual([...run.startMs], [0, 100, 200]);
});

test('a task may wait up to the SLO for a worker about to free up instead of starting another', () => {
  const w: Workload = { count: 2, arrivalMs: Float64Array.from([0, 0]), serviceMs: Float64Array.from([500, 500]), priority: null, tenant: null, type: null };
  const run = clairvoyant(w, { sloMs: 600, startupMs: 1000, attainment: 1 });
  assert.deepEqual([...run.startMs], [0, 500]);
  assert.equal(run.maxWorkers, 1);
});

test('the live autoscaler and the config refuse clairvoyant, saying where it runs', () => {
  assert.throws(() => resolvePolicy({ name: 'clairvoyant', path: 'pools[0]' }), /pools\[0\]: policy "clairvoyant" is the simulator's offline floor: it needs the whole trace in advance, so a live pool cannot run it; use it with `tidepool simulate --policy clairvoyant`/);
});
