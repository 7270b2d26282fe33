// The maintenance loop and the database clock helper, in virtual time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../../src/core/index.ts';
import { DatabaseClock, MaintenanceLoop, openStore } from '../../src/store/index.ts';
import type { MaintenanceReport, Store } from '../../src/store/index.ts';

test('the maintenance loop reclaims an expired lease within one interval of its expiry, one run at a time', async () => {
  const clock = new VirtualClock();
  const store = await openStore('memory', { clock });
  const reports: MaintenanceReport[] = [];
  const loop = new MaintenanceLoop({ store, clock, intervalMs: 1_000, onError: (err) => assert.fail(err), onRun: (r) => reports.push(r) });
  loop.start();
  await store.submit({ type: 'x' });
  const [t] = await store.claim({ workerId: 'w', types: ['x'], limit: 1, leaseMs: 2_500 });
  await clock.advance(2_000);
  assert.equal((await store.get(t.id))!.status, 'running');
  await clock.advance(1_000);
  assert.equal((await store.get(t.id))!.status, 'retrying', 'reclaimed by the run at 3 s');
  assert.deepEqual(reports.map((r) => r.reclaimed), [0, 0, 1]);
  await loop.stop();
  await clock.advance(5_000);
  assert.equal(reports.length, 3, 'a stopped loop runs no more');
  await store.close();
});

test('a failed maintenance run is reported, and the loop goes on', async () => {
  const clock = new VirtualClock();
  let calls = 0;
  const store = { maintain: async () => { calls++; throw new Error('disk full'); } } as unknown as Store;
  const errors: string[] = [];
  const loop = new MaintenanceLoop({ store, clock, intervalMs: 100, onError: (err) => errors.push(err.message) });
  loop.start();
  await clock.advance(300);
  await loop.stop();
  assert.equal(calls, 3);
  assert.deepEqual(errors, ['disk full', 'disk full', 'disk full']);
  assert.throws(() => new MaintenanceLoop({ store, clock, intervalMs: 0, onError: () => {} }), /^InvalidInput|maintenance\.intervalMs: got 0; expected an integer >= 1/);
});

test('the database clock is the local clock plus the measured offset, and an injected clock keeps the offset it measured', async () => {
  const clock = new VirtualClock(1_000_000);
  let dbMs = 1_060_000;
  const db = new DatabaseClock(clock, async () => dbMs);
  await db.sync();
  assert.ok(Math.abs(db.skewMs - 60_000) <= 1, `skew ${db.skewMs}`);
  await clock.advance(5_000);
  assert.ok(Math.abs(db.now() - 1_065_000) <= 1);
  dbMs = 5_000_000;
  await db.resync();
  assert.ok(Math.abs(db.now() - 1_065_000) <= 1, 'virtual time: the offset stays, so tests step the clock on purpose');
});
