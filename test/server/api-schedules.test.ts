// /v1/schedules over a real HTTP server: create (201, the same again 200, another
// definition 409), list with the next run and the scheduler's holder, get, delete, errors
// that name the field, and tenants who see only their own schedules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../../src/core/index.ts';
import { Scheduler } from '../../src/schedules/index.ts';
import { startServer } from './helpers.ts';

const T0 = Date.UTC(2026, 0, 15, 12, 0, 0, 250);

test('POST /v1/schedules creates a schedule, the same again answers 200, another definition under the name 409', async () => {
  const clock = new VirtualClock(T0);
  const s = await startServer({ clock, storeOptions: { clock }, pools: () => [{ name: 'reports', stats: () => ({ types: ['report'] }) } as never] });
  try {
    const body = { name: 'nightly', cron: '0 3 * * *', timezone: 'Europe/Berlin', type: 'report', payload: { full: true }, priority: 2 };
    const created = await s.call('POST', '/v1/schedules', { body });
    assert.equal(created.status, 201);
    assert.deepEqual(created.body, {
      name: 'nightly', cron: '0 3 * * *', timezone: 'Europe/Berlin', type: 'report', payload: { full: true }, priority: 2, tenant: 'default', catchUp: 'latest',
      source: 'api', createdAtMs: T0, lastTickMs: null, lastTaskId: null, nextRunMs: Date.UTC(2026, 0, 16, 2, 0, 0),
    });
    const again = await s.call('POST', '/v1/schedules', { body });
    assert.equal(again.status, 200);
    const other = await s.call('POST', '/v1/schedules', { body: { ...body, cron: '0 4 * * *' } });
    assert.equal(other.status, 409);
    assert.equal(other.body.error.code, 'ScheduleConflict');
    assert.match(other.body.error.message, /schedule "nightly" exists with another definition .*delete it first/);

    const list = await s.call('GET', '/v1/schedules');
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.schedules.map((x: any) => [x.name, x.nextRunMs]), [['nightly', Date.UTC(2026, 0, 16, 2, 0, 0)]]);
    assert.equal(list.body.scheduler, null, 'no scheduler runs on this store');
    const one = await s.call('GET', '/v1/schedules/nightly');
    assert.equal(one.body.name, 'nightly');

    const removed = await s.call('DELETE', '/v1/schedules/nightly');
    assert.equal(removed.status, 200);
    assert.equal(removed.body.name, 'nightly');
    const gone = await s.call('GET', '/v1/schedules/nightly');
    assert.equal(gone.status, 404);
    assert.deepEqual(gone.body.error, { code: 'ScheduleNotFound', message: 'schedule "nightly" not found' });
    assert.equal((await s.call('DELETE', '/v1/schedules/nightly')).status, 404);
  } finally {
    await s.close();
  }
});

test('a bad schedule is a 400 that names the field and what is allowed', async () => {
  const s = await startServer();
  try {
    const cases: [unknown, RegExp][] = [
      [{ name: 'x', cron: '61 * * * *', type: 't' }, /^body\.cron: expected a cron expression of 5 fields .*\(Invalid value for minute: 61\)$/],
      [{ name: 'x', cron: '* * * * *', type: 't', timezone: 'Nowhere/Land' }, /^body\.timezone: expected an IANA time zone name/],
      [{ name: 'no spaces', cron: '* * * * *', type: 't' }, /^body\.name: expected 1-128 letters, digits/],
      [{ name: 'x', cron: '* * * * *', type: 't', catchUp: 'some' }, /^body\.catchUp: expected one of latest, all, none$/],
      [{ name: 'x', cron: '* * * * *' }, /^body\.type: /],
      [{ name: 'x', cron: '* * * * *', type: 't', every: 5 }, /every/],
    ];
    for (const [body, message] of cases) {
      const res = await s.call('POST', '/v1/schedules', { body });
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.body.error.code, 'InvalidInput');
      assert.match(res.body.error.message, message);
    }
    const badName = await s.call('GET', '/v1/schedules/a%20b');
    assert.equal(badName.status, 400);
    assert.match(badName.body.error.message, /^params\.name: expected a schedule name/);
  } finally {
    await s.close();
  }
});

test('with API keys a tenant creates schedules for itself and sees only its own', async () => {
  const s = await startServer({ apiKeys: [{ tenant: 'acme', key: 'key-acme' }, { tenant: 'globex', key: 'key-globex' }] });
  try {
    const created = await s.call('POST', '/v1/schedules', { key: 'key-acme', body: { name: 'acme-beat', cron: '*/5 * * * * *', type: 'echo' } });
    assert.equal(created.status, 201);
    assert.equal(created.body.tenant, 'acme');
    const foreign = await s.call('POST', '/v1/schedules', { key: 'key-acme', body: { name: 'sneaky', cron: '* * * * *', type: 'echo', tenant: 'globex' } });
    assert.equal(foreign.status, 400);
    assert.match(foreign.body.error.message, /^body\.tenant: got "globex"; a schedule's tasks belong to the tenant of the key that creates it \("acme"\)/);
    assert.deepEqual((await s.call('GET', '/v1/schedules', { key: 'key-globex' })).body.schedules, []);
    assert.equal((await s.call('GET', '/v1/schedules/acme-beat', { key: 'key-globex' })).status, 404);
    assert.equal((await s.call('DELETE', '/v1/schedules/acme-beat', { key: 'key-globex' })).status, 404);
    assert.equal((await s.call('GET', '/v1/schedules', { key: 'key-acme' })).body.schedules.length, 1);
    assert.equal((await s.call('GET', '/v1/schedules')).status, 401);
  } finally {
    await s.close();
  }
});

test('GET /v1/schedules names the node whose scheduler holds the lease, and shows the last tick and its task', async () => {
  const clock = new VirtualClock(T0);
  const s = await startServer({ clock, storeOptions: { clock } });
  const scheduler = new Scheduler({ store: s.store, clock, holder: 'node-1:4242:abc' });
  try {
    await s.call('POST', '/v1/schedules', { body: { name: 'beat', cron: '* * * * * *', type: 'echo' } });
    scheduler.start();
    for (let i = 0; i < 20; i++) {
      await clock.advance(100);
      await new Promise((r) => setImmediate(r));
    }
    const list = await s.call('GET', '/v1/schedules');
    assert.deepEqual(list.body.scheduler?.holder, 'node-1:4242:abc');
    const [beat] = list.body.schedules;
    assert.equal(beat.lastTickMs, Date.UTC(2026, 0, 15, 12, 0, 2));
    assert.equal(beat.nextRunMs, Date.UTC(2026, 0, 15, 12, 0, 3));
    const task = await s.call('GET', `/v1/tasks/${beat.lastTaskId}`);
    assert.equal(task.body.idempotencyKey, `schedule:beat:${beat.lastTickMs}`);
  } finally {
    await scheduler.close();
    await s.close();
  }
});

test('a schedule of a type no pool here serves is created with a warning naming the types that are served', async () => {
  const s = await startServer();
  try {
    const res = await s.call('POST', '/v1/schedules', { body: { name: 'orphan', cron: '@hourly', type: 'nobody-serves-this' } });
    assert.equal(res.status, 201);
    assert.equal(res.body.warning, 'no pool serves type "nobody-serves-this", so the task waits until one does; pools serve: (none)');
  } finally {
    await s.close();
  }
});
