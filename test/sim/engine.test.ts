import { test } from 'node:test';
import assert from 'node:assert/strict';
import { simulate, figuresOf, createRng, type SimPolicy, type Workload } from '../../src/sim/index.ts';
import { policyForSim } from '../../src/sim/index.ts';

function workload(rows: [number, number][]): Workload {
  return {
    count: rows.length,
    arrivalMs: Float64Array.from(rows.map((r) => r[0])),
    serviceMs: Float64Array.from(rows.map((r) => r[1])),
    priority: null,
    tenant: null,
    type: null,
  };
}

/** A scripted policy: target by evaluation time. */
function scripted(initialWorkers: number, targetAt: (tMs: number) => number): SimPolicy {
  return { name: 'scripted', initialWorkers, decide: (_o, t) => ({ target: targetAt(t), code: 'scripted', reason: 'scripted' }) };
}

const opts = { startupMs: 1000, intervalMs: 1000 };

test('fixed:N gives exactly the waits of the FIFO recursion', () => {
  const rng = createRng(42);
  const rows: [number, number][] = [];
  let t = 0;
  for (let i = 0; i < 3000; i++) {
    t += Math.floor(rng.exponential(300));
    rows.push([t, Math.max(1, Math.round(rng.logNormal(1500, 1.5)))]);
  }
  const w = workload(rows);
  for (const n of [1, 3, 5, 8]) {
    const run = simulate(w, policyForSim({ name: `fixed:${n}`, sloMs: 2000, ...opts }), opts);
    const free = new Array<number>(n).fill(0);
    for (let i = 0; i < rows.length; i++) {
      let k = 0;
      for (let j = 1; j < n; j++) if (free[j] < free[k]) k = j;
      const start = Math.max(rows[i][0], free[k]);
      free[k] = start + rows[i][1];
      assert.equal(run.startMs[i], start, `fixed:${n} task ${i}`);
    }
    assert.equal(run.scaleActions, 0);
  }
});

test('at one instant a completion frees its worker for a task arriving at that instant', () => {
  const w = workload([
    [0, 1000],
    [1000, 500],
  ]);
  const run = simulate(w, scripted(1, () => 1), opts);
  assert.deepEqual([...run.startMs], [0, 1000]);
});

test('a task arriving at an evaluation instant is dispatched before the autoscaler looks', () => {
  const w = workload([[2000, 100]]);
  const seen: number[] = [];
  const p: SimPolicy = { name: 'spy', initialWorkers: 1, decide: (o, t) => (t === 2000 && seen.push(o.workers.busy, o.queueDepth), { target: 1, code: 'x', reason: 'x' }) };
  simulate(w, p, opts);
  assert.deepEqual(seen, [1, 0]);
});

test('no worker added later is ready before its start-up time', () => {
  const w = workload([
    [0, 5000],
    [0, 5000],
    [0, 5000],
  ]);
  const run = simulate(w, scripted(1, () => 3), { startupMs: 2500, intervalMs: 1000 });
  assert.deepEqual([...run.startMs], [0, 2500, 2500]);
  assert.deepEqual(run.pool.workers.slice(0, 3), [1, 3, 3]);
  assert.deepEqual(run.pool.ready.slice(0, 3), [1, 1, 3]);
  assert.deepEqual(run.pool.tMs.slice(0, 3), [0, 0, 2500]);
});

test('a scale-down drains a busy worker: its task runs to the end before the worker leaves', () => {
  const w = workload([
    [0, 5000],
    [0, 5000],
  ]);
  const run = simulate(w, scripted(2, (t) => (t >= 1000 ? 1 : 2)), opts);
  assert.deepEqual([...run.startMs], [0, 0]);
  assert.equal(run.endMs, 5000);
  // Both workers exist until both tasks end at 5000 (nothing is interrupted); then the drained one leaves.
  assert.deepEqual(run.pool.workers, [2, 1]);
  assert.deepEqual(run.pool.tMs, [0, 5000]);
  assert.equal(run.workerMs, 10_000);
});

test('a scale-up keeps a draining worker instead of starting a new one', () => {
  const w = workload([
    [0, 5000],
    [0, 5000],
    [3000, 10],
  ]);
  const run = simulate(w, scripted(2, (t) => (t === 1000 ? 1 : 2)), opts);
  assert.equal(run.maxWorkers, 2);
  assert.equal(run.startMs[2], 5000);
});

test('figures: nearest-rank percentiles, attainment, worker-seconds until the last task ends', () => {
  const rows: [number, number][] = [];
  for (let i = 0; i < 20; i++) rows.push([0, 1000]);
  const w = workload(rows);
  const run = simulate(w, policyForSim({ name: 'fixed:1', sloMs: 2000, ...opts }), opts);
  const f = figuresOf(w, run, { sloMs: 2000, ...opts });
  assert.equal(f.p50WaitMs, 9000); // rank ceil(0.5 * 20) = 10 -> wait 9000
  assert.equal(f.p95WaitMs, 18_000); // rank 19
  assert.equal(f.p99WaitMs, 19_000); // rank 20
  assert.equal(f.sloAttainment, 3 / 20);
  assert.equal(f.workerSeconds, 20);
  assert.equal(f.busySeconds, 20);
  assert.equal(f.costRatio, 1);
});

test('priority: the highest priority runs first, then the oldest (ties by trace row)', () => {
  const w = workload([
    [0, 1000],
    [10, 10],
    [20, 10],
    [30, 10],
  ]);
  w.priority = Int32Array.from([0, 1, 5, 5]);
  const run = simulate(w, scripted(1, () => 1), opts);
  assert.deepEqual([...run.startMs], [0, 1020, 1000, 1010]);
});

test('a policy that keeps 0 workers with tasks queued for 10 evaluations is reported, not run forever', () => {
  const w = workload([[0, 100]]);
  assert.throws(() => simulate(w, scripted(0, () => 0), opts), {
    message: 'policy "scripted" kept 0 workers with 1 tasks queued for 10 evaluations in a row (t=9000 ms); a policy must keep a worker while tasks wait',
  });
});
