// Start-up awareness (issue 9 item 4): a pool whose workers take 2 s to start measures
// about 2,000 ms, the autoscaler hands that and its real interval to the policy in the
// observation, and adaptive sizes with them instead of its knobs' guesses (1 s, 1 s).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../../src/core/index.ts';
import { openStore } from '../../src/store/index.ts';
import { InProcessPool } from '../../src/pools/index.ts';
import { Autoscaler } from '../../src/autoscaler/index.ts';
import { resolvePolicy } from '../../src/policies/index.ts';
import { advance, settle } from '../pools/settle.ts';

test('a 2 s start-up is measured (~2000 ms startupMs) and adaptive sizes with it and the real interval, saying so in its reason', async () => {
  const clock = new VirtualClock(1_000_000);
  let release = () => {};
  const held = new Promise<null>((resolve) => (release = () => resolve(null)));
  const store = await openStore('memory', { clock });
  const pool = new InProcessPool({
    name: 'p',
    types: ['t'],
    // Holds its worker until the test ends (no virtual time needs to pass for it).
    handlers: { t: () => held },
    store,
    clock,
    minWorkers: 1,
    maxWorkers: 40,
    startupMs: 2000,
    pollMs: 3_600_000,
    leaseMs: 3_600_000,
    stallTimeoutMs: 3_600_000,
  });
  const autoscaler = new Autoscaler({ store, clock, pools: [{ pool, policy: { name: 'adaptive', overrides: { targetP95WaitMs: 2000 } }, intervalMs: 5000 }], sampleEveryTicks: 0 });
  try {
    assert.equal(pool.stats().starting, 1, 'the first worker is starting');
    await advance(clock, 2000, 100);
    const measured = pool.stats().startupMs;
    assert.ok(measured >= 1900 && measured <= 2100, `startupMs ${measured} is about 2000`);

    for (let i = 0; i < 30; i++) await store.submit({ type: 't' });
    await settle();
    const d = await autoscaler.tick('p');
    assert.equal(d.observation.startupMs, measured, 'the observation carries the measured start-up');
    assert.equal(d.observation.intervalMs, 5000, 'and the real interval');
    assert.match(d.reason, /start-up 2\d{3} ms \(measured\), every 5000 ms/);

    // The same facts without the measurements: adaptive falls back to its knobs (1 s start-up,
    // 1 s interval), sees no blind window, and sizes differently.
    const { definition, config } = resolvePolicy({ name: 'adaptive', overrides: { targetP95WaitMs: 2000 }, minWorkers: 1, maxWorkers: 40 });
    const { startupMs: _s, intervalMs: _i, ...guessed } = d.observation;
    const blind = definition.decide(guessed, config, definition.initialState(config), clock.now());
    assert.match(blind.reason, /start-up 1000 ms, every 1000 ms; no blind window/);
    assert.doesNotMatch(d.reason, /no blind window/, 'with a 2 s start-up and a 5 s interval a new worker comes too late for the 2 s target');
  } finally {
    release();
    await autoscaler.stop();
    await settle();
    await pool.close(0);
    await store.close();
  }
});
