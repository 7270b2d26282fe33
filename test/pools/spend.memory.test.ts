// Cost in money: a pool counts its worker-time and starts and prices them (pricePerWorkerHour,
// pricePerStart), in virtual time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../../src/core/index.ts';
import { openStore } from '../../src/store/index.ts';
import { InProcessPool } from '../../src/pools/index.ts';
import { settle } from './settle.ts';

test('a pool reports worker-seconds, starts and spend at its prices, counting a worker until it is removed', async () => {
  const clock = new VirtualClock(1_000_000);
  const store = await openStore('memory', { clock });
  const pool = new InProcessPool({ name: 'p', types: ['t'], handlers: { t: () => null }, store, clock, minWorkers: 0, maxWorkers: 5, initialWorkers: 2, pollMs: 3_600_000, pricePerWorkerHour: 0.4, pricePerStart: 0.01 });
  await clock.advance(1_800_000);
  pool.scaleTo(1);
  await settle();
  await clock.advance(1_800_000);
  const s = pool.stats();
  assert.equal(s.workerSeconds, 2 * 1800 + 1800);
  assert.equal(s.starts, 2);
  assert.ok(Math.abs(s.spend! - (1.5 * 0.4 + 2 * 0.01)) < 1e-9, `spend ${s.spend}`);
  await pool.close(0);
  await store.close();
});
