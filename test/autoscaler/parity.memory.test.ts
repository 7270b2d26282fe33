// Live equals simulated: one trace (2,000+ tasks with bursts and a lull) through the real
// in-process pool and the real autoscaler on the memory store under a virtual clock, and
// through the simulator, with the same policy. Worker-seconds agree within 2%, the p50/p95
// waits within 2% or 10 ms, the scale actions within 2% or 1.
//
// Both sides share the rules that decide the outcome (core/scaling-choice.ts for which worker
// goes and comes back, buildObservation for what the policy sees); this test is what keeps
// them honest. The live side is driven instant by instant in the simulator's order:
// timers due (task ends, workers ready), then arrivals, then the autoscaler's tick.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock, type TimerHandle } from '../../src/core/index.ts';
import { openStore } from '../../src/store/index.ts';
import { InProcessPool } from '../../src/pools/index.ts';
import { Autoscaler, type PolicyChoice } from '../../src/autoscaler/index.ts';
import { createRng, figuresOf, nearestRank, runPolicy, type Workload } from '../../src/sim/index.ts';
import { settle } from '../pools/settle.ts';

/** A virtual clock that can say when its next timer is due. */
class TrackingClock extends VirtualClock {
  private due: { atMs: number; isLive: boolean }[] = [];
  override setTimer(fn: () => void, ms: number): TimerHandle {
    const rec = { atMs: this.now() + Math.max(0, ms), isLive: true };
    this.due.push(rec);
    const h = super.setTimer(() => {
      rec.isLive = false;
      fn();
    }, ms);
    return {
      cancel: () => {
        rec.isLive = false;
        h.cancel();
      },
    };
  }
  nextDueMs(): number {
    this.due = this.due.filter((r) => r.isLive);
    let m = Infinity;
    for (const r of this.due) if (r.atMs < m) m = r.atMs;
    return m;
  }
}

/** Poisson load with two bursts and a lull between them, integer ms. */
function parityTrace(seed: number): Workload {
  const rng = createRng(seed);
  const rows: [number, number][] = [];
  const poisson = (fromMs: number, toMs: number, perSec: number) => {
    for (let t = fromMs + rng.exponential(1000 / perSec); t < toMs; t += rng.exponential(1000 / perSec)) rows.push([Math.round(t), Math.max(50, Math.round(rng.logNormal(1800, 1)))]);
  };
  const burst = (atMs: number, count: number, spreadMs: number) => {
    for (let i = 0; i < count; i++) rows.push([Math.round(atMs + rng.next() * spreadMs), Math.max(50, Math.round(rng.logNormal(1800, 1)))]);
  };
  poisson(0, 150_000, 4);
  burst(60_000, 150, 5000);
  poisson(150_000, 270_000, 0.2); // the lull
  poisson(270_000, 500_000, 5);
  burst(330_000, 200, 8000);
  rows.sort((a, b) => a[0] - b[0]);
  return {
    count: rows.length,
    arrivalMs: Float64Array.from(rows.map((r) => r[0])),
    serviceMs: Float64Array.from(rows.map((r) => r[1])),
    priority: null,
    tenant: null,
    type: null,
  };
}

interface LiveRun {
  startMs: Float64Array;
  workerMs: number;
  scaleActions: number;
}

async function runLive(w: Workload, choice: PolicyChoice, s: { sloMs: number; startupMs: number; intervalMs: number; minWorkers: number; maxWorkers: number }): Promise<LiveRun> {
  const clock = new TrackingClock(1_000_000);
  const store = await openStore('memory', { clock });
  const startMs = new Float64Array(w.count).fill(-1);
  let originMs = 0;
  const pool = new InProcessPool({
    name: 'p',
    types: ['t'],
    handlers: {
      t: async (payload: { i: number; ms: number }) => {
        startMs[payload.i] = clock.now() - originMs;
        await clock.sleep(payload.ms);
        return null;
      },
    },
    store,
    clock,
    minWorkers: s.minWorkers,
    maxWorkers: s.maxWorkers,
    startupMs: s.startupMs,
    pollMs: 3_600_000,
    leaseMs: 3_600_000,
    stallTimeoutMs: 3_600_000,
  });
  const autoscaler = new Autoscaler({ store, clock, pools: [{ pool, policy: choice, intervalMs: s.intervalMs }], sampleEveryTicks: 0 });
  // The simulator's initial workers are ready at 0: let the live ones finish starting first.
  await clock.advance(s.startupMs);
  await settle();
  originMs = clock.now();
  let workers = pool.stats().total;
  let lastMs = 0;
  let workerMs = 0;
  const account = () => {
    const t = clock.now() - originMs;
    workerMs += workers * (t - lastMs);
    lastMs = t;
  };
  pool.on('worker.added', () => {
    account();
    workers++;
  });
  pool.on('worker.removed', () => {
    account();
    workers--;
  });
  let next = 0;
  let tickMs = 0;
  let scaleActions = 0;
  let done = 0;
  pool.on('task.completed', () => void done++);
  while (done < w.count) {
    const dueMs = clock.nextDueMs() - originMs;
    const arrivalMs = next < w.count ? w.arrivalMs[next] : Infinity;
    const t = Math.min(dueMs, arrivalMs, tickMs);
    assert.ok(Number.isFinite(t), 'the live run stalled with tasks left');
    if (t > clock.now() - originMs) await clock.advance(t - (clock.now() - originMs));
    await settle(2);
    if (done >= w.count) break;
    const batch = [];
    while (next < w.count && w.arrivalMs[next] <= t) {
      batch.push({ type: 't', payload: { i: next, ms: w.serviceMs[next] } });
      next++;
    }
    if (batch.length > 0) {
      await store.submitBatch(batch);
      await settle(2);
    }
    if (t >= tickMs) {
      const d = await autoscaler.tick('p');
      if (d.to !== d.from) scaleActions++;
      await settle(2);
      tickMs += s.intervalMs;
    }
  }
  account();
  await pool.close(0);
  await store.close();
  return { startMs, workerMs, scaleActions };
}

const SETTINGS = { sloMs: 2000, startupMs: 1000, intervalMs: 1000, minWorkers: 1, maxWorkers: 60 };
const W = parityTrace(7);

/** The knobs the simulator fills from its flags, given to the live policy the same way. */
const RUN_FACTS: Record<string, Record<string, number>> = {
  adaptive: { targetP95WaitMs: SETTINGS.sloMs, startupMs: SETTINGS.startupMs, intervalMs: SETTINGS.intervalMs },
};

for (const name of ['adaptive', 'hpa', 'queue-latency']) {
  test(`${name}: the live pool and autoscaler agree with the simulator on worker-seconds, p50/p95 waits and scale actions`, async () => {
    assert.ok(W.count >= 2000, `the trace has ${W.count} tasks`);
    const sim = runPolicy(W, { name, ...SETTINGS });
    const live = await runLive(W, { name, overrides: RUN_FACTS[name] }, SETTINGS);
    const waits = Float64Array.from(W.arrivalMs, (a, i) => live.startMs[i] - a).sort();
    const liveFig = { p50: nearestRank(waits, 0.5), p95: nearestRank(waits, 0.95), workerSeconds: live.workerMs / 1000, scaleActions: live.scaleActions };
    const simFig = figuresOf(W, sim.run, SETTINGS);
    const report = `live ${JSON.stringify(liveFig)} vs simulated ${JSON.stringify({ p50: simFig.p50WaitMs, p95: simFig.p95WaitMs, workerSeconds: simFig.workerSeconds, scaleActions: simFig.scaleActions })}`;
    if (process.env.TIDEPOOL_PARITY_REPORT) console.error(`${name}: ${report}`);
    assert.ok(live.startMs.every((x) => x >= 0), 'every task ran live');
    assert.ok(Math.abs(liveFig.workerSeconds - simFig.workerSeconds) <= 0.02 * simFig.workerSeconds, `worker-seconds: ${report}`);
    for (const [l, s, what] of [[liveFig.p50, simFig.p50WaitMs, 'p50'], [liveFig.p95, simFig.p95WaitMs, 'p95']] as const) {
      assert.ok(Math.abs(l - s) <= Math.max(10, 0.02 * s), `${what} wait: ${report}`);
    }
    assert.ok(Math.abs(liveFig.scaleActions - simFig.scaleActions) <= Math.max(1, 0.02 * simFig.scaleActions), `scale actions: ${report}`);
  });
}
