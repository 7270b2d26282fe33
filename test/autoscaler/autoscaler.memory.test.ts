// The autoscaler loop on a real in-process pool and the memory store, in virtual time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock, type Json } from '../../src/core/index.ts';
import { advance, settle } from '../pools/settle.ts';
import { openStore } from '../../src/store/index.ts';
import { InProcessPool, type TaskContext } from '../../src/pools/index.ts';
import { Autoscaler, type PolicyChoice } from '../../src/autoscaler/index.ts';

/** Threshold policy tuned to act on the first check, so one tick shows one decision. */
const EAGER: PolicyChoice = {
  name: 'threshold',
  overrides: {
    scaleUpThreshold: 1,
    scaleDownThreshold: 1,
    maxQueueDepth: 5,
    minQueueDepth: 1,
    minIdleWorkers: 0,
    maxUtilization: 1,
    minUtilization: 0.5,
    scaleUpStep: 2,
    scaleDownStep: 1,
    scaleUpCooldownMs: 0,
    scaleDownCooldownMs: 0,
    maxIdleTimeMs: 0,
  },
};

async function setup(policy: PolicyChoice = EAGER, opts: { intervalMs?: number; sampleEveryTicks?: number; applyDecisions?: boolean } = {}) {
  const clock = new VirtualClock(5_000_000);
  const store = await openStore('memory', { clock });
  const held: ((v: Json) => void)[] = [];
  const pool = new InProcessPool({
    name: 'gpu',
    types: ['infer'],
    handlers: { infer: (_p: unknown, _ctx: TaskContext) => new Promise<Json>((resolve) => held.push(resolve)) },
    store,
    clock,
    minWorkers: 1,
    maxWorkers: 10,
    pollMs: 3_600_000,
  });
  const autoscaler = new Autoscaler({ store, clock, pools: [{ pool, policy, intervalMs: 'intervalMs' in opts ? opts.intervalMs : 1000 }], sampleEveryTicks: opts.sampleEveryTicks ?? 5, applyDecisions: opts.applyDecisions });
  const release = async () => {
    for (const r of held.splice(0)) r('ok');
    await settle();
  };
  return { clock, store, pool, autoscaler, held, release };
}

test('a tick applies the policy decision to the pool and logs the event with its reason', async () => {
  const { store, pool, autoscaler, release } = await setup();
  const resized: unknown[] = [];
  autoscaler.on('pool.resized', (e) => resized.push(e));
  await store.submitBatch(Array.from({ length: 20 }, () => ({ type: 'infer' })));
  await settle();
  const d = await autoscaler.tick('gpu');
  await settle();
  assert.deepEqual([d.action, d.from, d.to, d.code], ['scale_up', 1, 3, 'scale_up_depth']);
  assert.match(d.reason, /^depth 19 > 5 for 1 check: \+2$/);
  assert.equal(pool.stats().total, 3);
  assert.equal(pool.stats().busy, 3, 'the new workers took tasks at once');
  const events = await store.listScalingEvents({ pool: 'gpu' });
  assert.equal(events.length, 1);
  assert.deepEqual(
    { from: events[0]!.from, to: events[0]!.to, action: events[0]!.action, code: events[0]!.code, policy: events[0]!.policy },
    { from: 1, to: 3, action: 'scale_up', code: 'scale_up_depth', policy: 'threshold/conservative' },
  );
  assert.equal(events[0]!.reason, d.reason);
  assert.equal(resized.length, 1);
  assert.equal(autoscaler.control('gpu').status, 'scaling_up');
  await release();
  await pool.close(0);
});

test('a decision to hold is kept as the last decision but logs no event', async () => {
  const { store, pool, autoscaler } = await setup();
  await store.submit({ type: 'infer' });
  await settle();
  const d = await autoscaler.tick('gpu');
  assert.equal(d.action, 'none');
  assert.equal(autoscaler.lastDecision('gpu')?.code, d.code);
  assert.equal(autoscaler.lastDecision('gpu')?.observation.workers.busy, 1);
  assert.deepEqual(await store.listScalingEvents(), []);
  await pool.close(0);
});

test('the observation a policy gets carries how long the pool\'s next task has waited, 0 once none waits', async () => {
  const { clock, store, pool, autoscaler, release } = await setup(EAGER, { applyDecisions: false });
  await store.submit({ type: 'other' }); // older, but not this pool's type
  await advance(clock, 1_000, 500);
  await store.submitBatch([{ type: 'infer' }, { type: 'infer' }]); // the one worker takes the first
  await settle();
  await advance(clock, 3_000, 500);
  await store.submit({ type: 'infer' });
  let d = await autoscaler.tick('gpu');
  assert.equal(d.observation.oldestWaitMs, 3_000);
  assert.equal(autoscaler.lastDecision('gpu')?.observation.oldestWaitMs, 3_000);
  await release(); // the worker takes the second task; the third, submitted this same instant, is next
  d = await autoscaler.tick('gpu');
  assert.equal(d.observation.oldestWaitMs, 0);
  assert.equal(d.observation.queueDepth, 1);
  await advance(clock, 2_000, 500);
  d = await autoscaler.tick('gpu');
  assert.equal(d.observation.oldestWaitMs, 2_000);
  await release();
  d = await autoscaler.tick('gpu');
  assert.equal(d.observation.oldestWaitMs, 0, 'nothing waits');
  await release();
  await pool.close(0);
});

test('the loop ticks every intervalMs in virtual time and scales down when the load is gone', async () => {
  const { clock, store, pool, autoscaler, release } = await setup(EAGER, { intervalMs: 500 });
  const decisions: string[] = [];
  autoscaler.on('decision', (d: { action: string }) => decisions.push(d.action));
  autoscaler.start();
  await store.submitBatch(Array.from({ length: 20 }, () => ({ type: 'infer' })));
  await advance(clock, 499);
  assert.equal(decisions.length, 0);
  await advance(clock, 1);
  assert.deepEqual(decisions, ['scale_up']);
  await advance(clock, 500);
  assert.equal(pool.stats().total, 5);
  // Let every task finish: the queue empties, utilization drops, the pool steps down to its minimum.
  for (let i = 0; i < 10; i++) {
    await release();
    await advance(clock, 500);
  }
  assert.equal(pool.stats().total, 1);
  const events = await store.listScalingEvents({ pool: 'gpu' });
  assert.ok(events.some((e) => e.action === 'scale_down' && /utilization/.test(e.reason)), JSON.stringify(events.map((e) => e.reason)));
  await autoscaler.stop();
  await pool.close(0);
});

test('setPolicy replaces the policy at runtime and the next tick follows the new one', async () => {
  const { store, pool, autoscaler } = await setup();
  await autoscaler.setPolicy('gpu', { name: 'fixed:4' });
  assert.equal(autoscaler.control('gpu').policy, 'fixed:4');
  const d = await autoscaler.tick('gpu');
  assert.deepEqual([d.action, d.to, d.policy], ['scale_up', 4, 'fixed:4']);
  assert.equal(pool.stats().total, 4);
  const events = await store.listScalingEvents({ pool: 'gpu' });
  assert.deepEqual(events.map((e) => e.code).slice(0, 2), ['policy_changed', d.code]);
  assert.match(events[0]!.reason, /policy threshold\/conservative replaced by fixed:4/);
  await autoscaler.setPolicy('gpu', { name: 'fixed:25' });
  const capped = await autoscaler.tick('gpu');
  assert.deepEqual([capped.to, capped.code], [10, 'capped_max']);
  assert.match(capped.reason, /capped at max 10/);
  await assert.rejects(autoscaler.setPolicy('gpu', { name: 'treshold' }), /policy "treshold" is unknown; known policies: threshold/);
  assert.equal(autoscaler.control('gpu').policy, 'fixed:25', 'a bad name leaves the policy as it was');
  await pool.close(0);
});

test('a runtime policy change is acted on at once, not at the old policy\'s next tick, and the tick follows the new interval', async () => {
  // threshold/conservative evaluates every 30 s; the pool's own intervalMs is left unset.
  const { clock, pool, autoscaler } = await setup({ name: 'threshold' }, { intervalMs: undefined });
  const ticks: number[] = [];
  autoscaler.on('decision', (d: { atMs: number }) => ticks.push(d.atMs));
  autoscaler.start();
  assert.equal(autoscaler.control('gpu').intervalMs, 30_000);
  await advance(clock, 3_000, 100);
  const changedAtMs = clock.now();
  await autoscaler.setPolicy('gpu', { name: 'fixed:5' });
  await clock.advance(0);
  await settle();
  assert.equal(pool.target, 5, 'fixed:5 applies within the same instant, not 27 s later');
  assert.deepEqual(ticks, [changedAtMs]);
  // fixed:N has no interval of its own: the loop now ticks every autoscaler interval (1 s by default).
  assert.equal(autoscaler.control('gpu').intervalMs, 1000);
  await advance(clock, 3_000, 100);
  assert.deepEqual(ticks, [changedAtMs, changedAtMs + 1000, changedAtMs + 2000, changedAtMs + 3000]);
  // New bounds act at once too.
  await autoscaler.setBounds('gpu', 1, 3);
  await clock.advance(0);
  await settle();
  assert.equal(ticks.length, 5);
  assert.equal(pool.target, 3);
  await autoscaler.stop();
  await pool.close(0);
});

test('setBounds moves the target inside the new bounds at once and the policy respects them', async () => {
  const { store, pool, autoscaler, release } = await setup();
  await store.submitBatch(Array.from({ length: 40 }, () => ({ type: 'infer' })));
  await settle();
  await autoscaler.tick('gpu');
  await autoscaler.tick('gpu');
  assert.equal(pool.target, 5);
  await autoscaler.setBounds('gpu', 1, 3);
  assert.equal(pool.target, 3);
  assert.deepEqual([pool.minWorkers, pool.maxWorkers], [1, 3]);
  const d = await autoscaler.tick('gpu');
  assert.equal(d.to, 3);
  assert.match(d.code, /at_max|capped_max/);
  const events = await store.listScalingEvents({ pool: 'gpu' });
  assert.equal(events.at(-1)!.code, 'bounds_changed');
  assert.match(events.at(-1)!.reason, /bounds set to \[1, 3\]; 5 workers moved to 3/);
  await release();
  await pool.close(0);
});

test('an error in a tick is emitted and counted, and the loop keeps running', async () => {
  const { clock, store, pool, autoscaler } = await setup();
  const errors: Error[] = [];
  autoscaler.on('error', (e: Error) => errors.push(e));
  autoscaler.start();
  await store.close();
  await advance(clock, 1000);
  assert.equal(autoscaler.errors(), 1);
  assert.match(errors[0]!.message, /autoscaler tick for pool "gpu"/);
  await advance(clock, 1000);
  assert.equal(autoscaler.errors(), 2, 'the next tick ran too');
  await autoscaler.stop();
  await pool.close(0);
});

test('a metric sample per pool goes to the store every sampleEveryTicks ticks', async () => {
  const { clock, store, pool, autoscaler } = await setup(EAGER, { sampleEveryTicks: 2 });
  autoscaler.start();
  await store.submit({ type: 'infer' });
  await advance(clock, 4000);
  const samples = await store.listMetricSamples({ pool: 'gpu' });
  assert.equal(samples.length, 2);
  assert.equal(samples[0]!.values.busy, 1);
  assert.equal(typeof samples[0]!.values.p95WaitMs, 'number');
  await autoscaler.stop();
  await pool.close(0);
});

test('scaling by hand is logged as manual and an unknown pool is named in the error', async () => {
  const { store, pool, autoscaler } = await setup();
  await autoscaler.scaleByHand('gpu', 6);
  assert.equal(pool.stats().total, 6);
  const [e] = await store.listScalingEvents();
  assert.deepEqual([e!.code, e!.from, e!.to, e!.reason], ['manual', 1, 6, 'set by hand from 1 to 6 workers']);
  await assert.rejects(autoscaler.scaleByHand('cpu', 2), /pool "cpu" not found; known pools: gpu/);
  await assert.rejects(autoscaler.scaleByHand('gpu', 11), /count 11 is outside its bounds; expected an integer in \[1, 10\]/);
  await pool.close(0);
});

test('with decisions switched off (autoscaler.enabled false) it decides and samples but never resizes', async () => {
  const { store, pool, autoscaler, release } = await setup(EAGER, { applyDecisions: false, sampleEveryTicks: 1 });
  await store.submitBatch(Array.from({ length: 20 }, () => ({ type: 'infer' })));
  await settle();
  const d = await autoscaler.tick('gpu');
  assert.equal(d.action, 'scale_up', 'the policy still says what it would do');
  assert.equal(pool.stats().total, 1);
  assert.deepEqual(await store.listScalingEvents(), []);
  assert.equal((await store.listMetricSamples({ pool: 'gpu' })).length, 1);
  await release();
  await pool.close(0);
});
