// The adaptive policy: its decisions on hand-built observations (a table), and its
// behaviour on whole workloads in the simulator (virtual time): step, spike, lull, bursts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeObservation, resolvePolicy, type Observation } from '../../src/policies/index.ts';
import { simulate, figuresOf, policyForSim, smallestFixedPool, createRng, type Workload } from '../../src/sim/index.ts';

const A = { sloMs: 2000, startupMs: 1000, intervalMs: 1000 };
const B = { sloMs: 5000, startupMs: 10_000, intervalMs: 1000 };

/** Poisson arrivals whose rate (per second) follows rateAt(tMs); log-normal service times. */
function workload(seed: number, spanMs: number, rateAt: (tMs: number) => number, serviceMeanMs: number): Workload {
  const rng = createRng(seed);
  const arrivals: number[] = [];
  const services: number[] = [];
  let maxRate = 0;
  for (let t = 0; t < spanMs; t += 1000) maxRate = Math.max(maxRate, rateAt(t));
  let t = 0;
  for (;;) {
    t += rng.exponential(1000 / maxRate);
    if (t >= spanMs) break;
    if (rng.next() * maxRate <= rateAt(t)) {
      arrivals.push(Math.floor(t));
      services.push(Math.max(1, Math.round(rng.logNormal(serviceMeanMs, 1))));
    }
  }
  return { count: arrivals.length, arrivalMs: Float64Array.from(arrivals), serviceMs: Float64Array.from(services), priority: null, tenant: null, type: null };
}

function run(w: Workload, s: typeof A) {
  const r = simulate(w, policyForSim({ name: 'adaptive', ...s }), s);
  return { run: r, f: figuresOf(w, r, s) };
}

const MIN = 60_000;

test('on a step from 2/s to 10/s it holds the wait target for 95% of tasks, cheaper than the smallest fixed pool that does', () => {
  const w = workload(1, 30 * MIN, (t) => (t < 10 * MIN ? 2 : 10), 3000);
  for (const s of [A, B]) {
    const { f } = run(w, s);
    const fixed = smallestFixedPool(w, s);
    assert.ok(f.sloAttainment >= 0.95, `attainment ${f.sloAttainment} with start-up ${s.startupMs}`);
    assert.ok(f.costRatio < fixed.figures.costRatio, `cost ${f.costRatio} vs fixed:${fixed.workers} ${fixed.figures.costRatio}`);
  }
});

test('on a spike to 8x the rate it holds the wait target and returns to a small pool afterwards', () => {
  const w = workload(2, 30 * MIN, (t) => (t >= 10 * MIN && t < 12 * MIN ? 16 : 2), 2000);
  const { f, run: r } = run(w, A);
  assert.ok(f.sloAttainment >= 0.95, `attainment ${f.sloAttainment}`);
  const at = (tMs: number) => r.timeline.ready[r.timeline.tMs.indexOf(tMs)] + r.timeline.starting[r.timeline.tMs.indexOf(tMs)];
  assert.ok(at(11 * MIN) >= 25, `during the spike ${at(11 * MIN)} workers`);
  assert.ok(at(25 * MIN) <= 12, `long after the spike ${at(25 * MIN)} workers`);
});

test('after a lull it keeps its workers for one start-up, then lets them go as their tasks end', () => {
  // 10/s with 20 s tasks, then nothing from minute 10 to 20, then 10/s again; slow starts.
  const w = workload(3, 30 * MIN, (t) => (t >= 10 * MIN && t < 20 * MIN ? 0.01 : 10), 20_000);
  const { f, run: r } = run(w, B);
  const total = (tMs: number) => {
    const i = r.timeline.tMs.indexOf(tMs);
    return r.timeline.ready[i] + r.timeline.starting[i];
  };
  const peak = total(10 * MIN);
  // Releasing a worker in a lull shorter than its start-up and starting another costs more
  // than keeping it: the pool holds for one start-up (10 s) ...
  assert.ok(total(10 * MIN + 8000) >= peak * 0.95, `8 s into the lull ${total(10 * MIN + 8000)} of ${peak}`);
  // ... and not for minutes: a minute in, most of the 20 s tasks have ended and their workers gone.
  assert.ok(total(10 * MIN + 60_000) <= peak * 0.5, `a minute into the lull ${total(10 * MIN + 60_000)} of ${peak}`);
  // Ten minutes of nothing: the pool is back near its minimum.
  assert.ok(total(20 * MIN - 1000) <= 3, `end of the lull ${total(20 * MIN - 1000)}`);
  assert.ok(f.sloAttainment >= 0.95, `attainment ${f.sloAttainment}`);
});

test('with slow starts it keeps headroom for the bursts it has seen, and bursts then wait less', () => {
  // 1/s background with a burst of 60 tasks every 2 minutes.
  const rows: [number, number][] = [];
  const rng = createRng(4);
  for (let t = 0; t < 40 * MIN; t += Math.floor(rng.exponential(1000))) rows.push([t, Math.round(rng.logNormal(4000, 1))]);
  for (let b = MIN; b < 40 * MIN; b += 2 * MIN) for (let i = 0; i < 60; i++) rows.push([b + i * 50, Math.round(rng.logNormal(4000, 1))]);
  rows.sort((x, y) => x[0] - y[0]);
  const w: Workload = { count: rows.length, arrivalMs: Float64Array.from(rows.map((r) => r[0])), serviceMs: Float64Array.from(rows.map((r) => r[1])), priority: null, tenant: null, type: null };
  const { run: r, f } = run(w, B);
  // The spares are sized for bursts as fast as they come (60 tasks in 3 s), not spread over
  // the blind window: sized as if spread, this workload ends at 0.94.
  assert.ok(f.sloAttainment >= 0.95, `attainment ${f.sloAttainment}`);
  const headroomReasons = r.decisions.filter((d) => /burst \d+ beyond the rate per 6000 ms -> \+[1-9]/.test(d.reason));
  assert.ok(headroomReasons.length > 0, 'no decision kept burst headroom');
  // Waits of the bursts in the second half (after bursts were seen) vs the first burst.
  const waitOfBurst = (b: number) => {
    let worst = 0;
    for (let i = 0; i < w.count; i++) if (w.arrivalMs[i] >= b && w.arrivalMs[i] < b + 3000) worst = Math.max(worst, r.startMs[i] - w.arrivalMs[i]);
    return worst;
  };
  const late = waitOfBurst(35 * MIN);
  assert.ok(late < waitOfBurst(MIN), `first burst waited ${waitOfBurst(MIN)} ms at worst, a late one ${late} ms`);
  assert.ok(late <= B.sloMs, `a late burst waited ${late} ms at worst`);
});

const resolved = resolvePolicy({ name: 'adaptive', overrides: { targetP95WaitMs: 2000, startupMs: 1000, intervalMs: 1000 } });
const def = resolved.definition;
const config = resolved.config;

function decideOnce(obs: Observation, nowMs = 60_000) {
  // A minute of history at the observation's rate, then the decision under test.
  let state = def.initialState(config);
  const perSec = obs.arrivalsTotal / 60;
  for (let t = 0; t < nowMs; t += 1000) {
    state = def.decide(makeObservation({ ...obs, arrivalsTotal: Math.floor((perSec * t) / 1000), queueDepth: 0, waitMs: { count: 0 } }), config, state, t).state;
  }
  return def.decide(obs, config, state, nowMs);
}

const table = [
  {
    name: 'a queue beyond what running tasks free up in time scales up at once',
    obs: makeObservation({ currentTarget: 10, queueDepth: 30, workers: { busy: 10 }, arrivalsTotal: 300, runMs: { mean: 2000, p50: 1500, count: 50 }, completionsTotal: 250, oldestWaitMs: 500 }),
    action: 'scale_up',
    code: 'scale_up_model',
    why: '30 queued, about 7 freed within the 1.5 s budget: 23+ more workers',
    check: (target: number) => target >= 33,
  },
  {
    name: 'an idle pool far above the load shrinks to the model sizing',
    obs: makeObservation({ currentTarget: 50, queueDepth: 0, workers: { busy: 2, idle: 48 }, arrivalsTotal: 60, runMs: { mean: 1000, p50: 800, count: 60 }, completionsTotal: 58 }),
    action: 'scale_down',
    code: 'scale_down_model',
    why: '1/s x 1 s = load 1: a handful of workers hold a 2 s target',
    check: (target: number) => target >= 2 && target <= 6,
  },
  {
    name: 'without a blind window a pool that runs every task it holds keeps its size',
    obs: makeObservation({ currentTarget: 10, queueDepth: 0, workers: { busy: 10 }, arrivalsTotal: 300, runMs: { mean: 2000, p50: 1500, count: 50 }, completionsTotal: 290 }),
    action: 'none',
    code: 'steady',
    why: 'a new worker is ready within the 2 s target (start-up 1 s + interval 1 s), so the running tasks and the queue are the sizing',
    check: (target: number) => target === 10,
  },
  {
    name: 'without a blind window idle workers beyond the running tasks go',
    obs: makeObservation({ currentTarget: 12, queueDepth: 0, workers: { busy: 10, idle: 2 }, arrivalsTotal: 300, runMs: { mean: 2000, p50: 1500, count: 50 }, completionsTotal: 290 }),
    action: 'scale_down',
    code: 'scale_down_model',
    why: 'no need to provision for the variance of 5/s x 2 s when a fresh worker makes the target: 10 running',
    check: (target: number) => target === 10,
  },
];
for (const row of table) {
  test(`decide: ${row.name}`, () => {
    const d = decideOnce(row.obs);
    assert.equal(d.code, row.code, `${row.why}: ${d.reason}`);
    assert.equal(d.action, row.action, d.reason);
    assert.ok(row.check(d.target), `${row.why}: target ${d.target}; ${d.reason}`);
  });
}

for (const s of [A, B]) {
  test(`with minWorkers 0 it goes to zero in a quiet spell, and the first task after waits at most one start-up plus one interval (start-up ${s.startupMs} ms)`, () => {
    // Two minutes of 2/s, twenty quiet minutes, then one task.
    const rows: [number, number][] = [];
    const rng = createRng(9);
    for (let t = 0; t < 2 * MIN; t += Math.floor(rng.exponential(500))) rows.push([t, Math.round(rng.logNormal(2000, 1))]);
    rows.push([22 * MIN + 333, 1500]);
    const w: Workload = { count: rows.length, arrivalMs: Float64Array.from(rows.map((r) => r[0])), serviceMs: Float64Array.from(rows.map((r) => r[1])), priority: null, tenant: null, type: null };
    const r = simulate(w, policyForSim({ name: 'adaptive', ...s, minWorkers: 0 }), s);
    const zeroAt = r.pool.tMs.find((t, i) => t > 2 * MIN && r.pool.workers[i] === 0);
    assert.ok(zeroAt !== undefined && zeroAt < 22 * MIN, `the pool never reached 0 workers in the quiet spell (log ends ${r.pool.workers.slice(-4).join(', ')})`);
    const last = w.count - 1;
    const waited = r.startMs[last] - w.arrivalMs[last];
    assert.ok(waited <= s.startupMs + s.intervalMs, `the first task after the quiet spell waited ${waited} ms > start-up ${s.startupMs} + interval ${s.intervalMs}`);
  });
}

test('a price per start keeps an idle worker through a lull shorter than what a fresh start costs', () => {
  // A task every 20 s: without a start price the pool releases its worker in each gap.
  const rows: [number, number][] = [];
  for (let t = 0; t < 10 * MIN; t += 20_000) rows.push([t, 1000]);
  const w: Workload = { count: rows.length, arrivalMs: Float64Array.from(rows.map((r) => r[0])), serviceMs: Float64Array.from(rows.map((r) => r[1])), priority: null, tenant: null, type: null };
  const free = simulate(w, policyForSim({ name: 'adaptive', ...A, minWorkers: 0 }), A);
  // A start costs as much as a minute of a worker: keeping it through a 19 s gap is cheaper.
  const priced = simulate(w, policyForSim({ name: 'adaptive', ...A, minWorkers: 0, pricePerWorkerHour: 1, pricePerStart: 1 / 60 }), A);
  assert.ok(free.starts >= 25, `without a start price ${free.starts} starts`);
  assert.ok(priced.starts <= 1, `with a start price of a worker-minute ${priced.starts} starts`);
  const spend = (run: typeof free) => figuresOf(w, run, { ...A, pricePerWorkerHour: 1, pricePerStart: 1 / 60 }).spend;
  assert.ok(spend(priced) < spend(free), `spend ${spend(priced)} with the price weighed vs ${spend(free)} without`);
});

test('a bad knob is rejected naming the field, the value and the range', () => {
  assert.throws(() => resolvePolicy({ name: 'adaptive', overrides: { tailProbability: 2 } }), {
    message: /tailProbability: got 2; expected a number from 0\.001 to 0\.5 \(probability\)/,
  });
});
