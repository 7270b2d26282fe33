// The remote worker API (/v1/workers) on a real server over a real store: register, claim
// by long poll, heartbeat, complete and fail with lease tokens, tenants, and the desired
// count a remote pool publishes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { systemClock } from '../../src/core/index.ts';
import { openStore } from '../../src/store/index.ts';
import { RemotePool } from '../../src/pools/index.ts';
import { TidepoolServer, type PoolControl } from '../../src/server/index.ts';
import { request } from './helpers.ts';

async function start(options: { keys?: Array<{ tenant: string; key: string }>; adminTenants?: string[] } = {}) {
  const clock = systemClock;
  const store = await openStore('memory', { clock });
  const remote = new RemotePool({ name: 'far', types: ['render', 'scan'], store, clock, minWorkers: 0, maxWorkers: 8, leaseMs: 5000, heartbeatMs: 1000 });
  const control: PoolControl = {
    name: 'far',
    stats: () => remote.stats(),
    workers: () => remote.workers(),
    policy: () => ({ name: 'fixed:0', preset: null }),
    update: () => {},
    scaleTo: (n) => remote.scaleTo(n),
  };
  const server = await TidepoolServer.create({ clock, apiKeys: options.keys, adminTenants: options.adminTenants, runtime: { store, pools: () => [control], remotePools: () => [remote] } });
  const url = await server.listen({ port: 0, host: '127.0.0.1' });
  return {
    store,
    remote,
    call: (method: string, path: string, body?: unknown, key?: string) => request(url, method, path, { body, key }),
    async close() {
      await server.close();
      await remote.close();
      await store.close();
    },
  };
}

test('a remote worker registers, long-polls a task that arrives later, extends its lease and completes it', async () => {
  const t = await start();
  try {
    const reg = await t.call('POST', '/v1/workers/register', { types: ['render'], concurrency: 2, name: 'box-1' });
    assert.equal(reg.status, 201);
    assert.equal(reg.body.pool, 'far');
    assert.deepEqual(reg.body.types, ['render']);
    const id = reg.body.workerId;
    const claiming = t.call('POST', `/v1/workers/${id}/claim`, { waitMs: 10_000 });
    await new Promise((resolve) => setImmediate(resolve));
    const sub = await t.call('POST', '/v1/tasks', { type: 'render', payload: { page: 3 } });
    const claim = await claiming;
    assert.equal(claim.status, 200);
    assert.equal(claim.body.tasks.length, 1);
    const task = claim.body.tasks[0];
    assert.deepEqual([task.id, task.payload, task.attempt], [sub.body.id, { page: 3 }, 1]);
    assert.equal(t.remote.stats().busy, 1);
    assert.equal(t.remote.stats().idle, 1);
    const hb = await t.call('POST', `/v1/workers/${id}/heartbeat`, { tasks: [{ id: task.id, leaseToken: task.leaseToken }] });
    assert.equal(hb.body.isRegistered, true);
    assert.equal(hb.body.leases[0].isLost, false);
    const list = await t.call('GET', '/v1/workers');
    assert.deepEqual(list.body.workers.map((w: { id: string; taskIds: string[] }) => [w.id, w.taskIds]), [[id, [task.id]]]);
    const done = await t.call('POST', `/v1/workers/${id}/complete`, { taskId: task.id, leaseToken: task.leaseToken, result: { ok: true } });
    assert.deepEqual(done.body, { id: task.id, status: 'succeeded' });
    const got = await t.call('GET', `/v1/tasks/${task.id}`);
    assert.deepEqual([got.body.status, got.body.result, got.body.workerId], ['succeeded', { ok: true }, id]);
    assert.equal(t.remote.stats().completed, 1);
    const again = await t.call('POST', `/v1/workers/${id}/complete`, { taskId: task.id, leaseToken: task.leaseToken, result: 1 });
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, 'LeaseLost');
    const bye = await t.call('DELETE', `/v1/workers/${id}`);
    assert.equal(bye.body.status, 'removed');
    assert.equal(t.remote.stats().total, 0);
  } finally {
    await t.close();
  }
});

test('a claim with nothing to do answers an empty list once waitMs passes; an unknown worker must register again', async () => {
  const t = await start();
  try {
    const reg = await t.call('POST', '/v1/workers/register', {});
    assert.deepEqual(reg.body.types, ['render', 'scan']);
    const empty = await t.call('POST', `/v1/workers/${reg.body.workerId}/claim`, { waitMs: 0 });
    assert.deepEqual(empty.body, { tasks: [] });
    const unknown = await t.call('POST', '/v1/workers/far.r-000000000000/claim', { waitMs: 0 });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, 'WorkerNotFound');
    assert.match(unknown.body.error.message, /register again/);
    const wrong = await t.call('POST', '/v1/workers/register', { types: ['paint'] });
    assert.equal(wrong.status, 404);
    assert.match(wrong.body.error.message, /no remote pool serving paint; remote pools: far \(render, scan\)/);
  } finally {
    await t.close();
  }
});

test('a heartbeat from a worker the server forgot still extends its leases and says to register again', async () => {
  const t = await start();
  try {
    const reg = await t.call('POST', '/v1/workers/register', { types: ['scan'] });
    await t.call('POST', '/v1/tasks', { type: 'scan' });
    const [task] = (await t.call('POST', `/v1/workers/${reg.body.workerId}/claim`, { waitMs: 0 })).body.tasks;
    await t.call('DELETE', `/v1/workers/${reg.body.workerId}`); // draining: one task still held
    t.remote.sweep();
    const hb = await t.call('POST', '/v1/workers/far.r-ffffffffffff/heartbeat', { tasks: [{ id: task.id, leaseToken: task.leaseToken }, { id: task.id, leaseToken: 'stale-token' }] });
    assert.equal(hb.body.isRegistered, false);
    assert.deepEqual(hb.body.leases.map((l: { isLost: boolean }) => l.isLost), [false, true]);
    const failed = await t.call('POST', `/v1/workers/${reg.body.workerId}/fail`, { taskId: task.id, leaseToken: task.leaseToken, error: { message: 'bad scan', code: 'BadInput' }, retryable: false });
    assert.deepEqual(failed.body, { id: task.id, status: 'dead' });
    assert.equal(t.remote.stats().failed, 1);
    assert.equal(t.remote.stats().total, 0, 'the draining worker left once its task ended');
  } finally {
    await t.close();
  }
});

test('a worker key claims only its tenant\'s tasks; an admin tenant\'s worker claims any', async () => {
  const t = await start({ keys: [{ tenant: 'acme', key: 'acme-key-1' }, { tenant: 'ops', key: 'ops-key-12' }], adminTenants: ['ops'] });
  try {
    const globex = await t.store.submit({ type: 'render', tenant: 'globex' });
    const acme = await t.call('POST', '/v1/tasks', { type: 'render' }, 'acme-key-1');
    const a = (await t.call('POST', '/v1/workers/register', { concurrency: 4 }, 'acme-key-1')).body.workerId;
    const mine = await t.call('POST', `/v1/workers/${a}/claim`, { waitMs: 0 }, 'acme-key-1');
    assert.deepEqual(mine.body.tasks.map((x: { id: string }) => x.id), [acme.body.id]);
    const notYours = await t.call('POST', `/v1/workers/${a}/claim`, { waitMs: 0 }, 'ops-key-12');
    assert.equal(notYours.status, 404, 'another tenant cannot act for a registered worker');
    const o = (await t.call('POST', '/v1/workers/register', {}, 'ops-key-12')).body.workerId;
    const any = await t.call('POST', `/v1/workers/${o}/claim`, { waitMs: 0 }, 'ops-key-12');
    assert.deepEqual(any.body.tasks.map((x: { id: string }) => x.id), [globex.task.id]);
    assert.equal((await t.call('GET', '/v1/workers', undefined, 'acme-key-1')).body.workers.length, 1);
  } finally {
    await t.close();
  }
});

test('GET /v1/pools/{name}/desired publishes the count the pool wants, never 0 while its tasks wait', async () => {
  const t = await start();
  try {
    assert.deepEqual((await t.call('GET', '/v1/pools/far/desired')).body, { pool: 'far', desired: 0, current: 0, min: 0, max: 8 });
    // At once, before any autoscaler tick or refresh: the counts are read at the request.
    await t.store.submit({ type: 'render' });
    assert.equal((await t.call('GET', '/v1/pools/far/desired')).body.desired, 1);
    assert.match((await t.call('GET', '/metrics')).body, /tidepool_pool_desired_workers\{pool="far"\} 1\n/, 'the gauge carries the same count');
    // A running task keeps it too (the pool's target is still 0).
    const early = (await t.call('POST', '/v1/workers/register', { types: ['render'] })).body.workerId;
    const [held] = (await t.call('POST', `/v1/workers/${early}/claim`, { waitMs: 0 })).body.tasks;
    assert.equal((await t.call('GET', '/v1/pools/far/desired')).body.desired, 1);
    await t.call('POST', `/v1/workers/${early}/complete`, { taskId: held.id, leaseToken: held.leaseToken, result: null });
    assert.equal((await t.call('DELETE', `/v1/workers/${early}`)).body.status, 'removed');
    assert.equal((await t.call('GET', '/v1/pools/far/desired')).body.desired, 0, 'no task runs or waits: 0 again');
    t.remote.scaleTo(5);
    await t.call('POST', '/v1/workers/register', { concurrency: 2 });
    assert.deepEqual((await t.call('GET', '/v1/pools/far/desired')).body, { pool: 'far', desired: 5, current: 2, min: 0, max: 8 });
    assert.equal((await t.call('GET', '/v1/pools/nope/desired')).status, 404);
    const doc = (await t.call('GET', '/v1/openapi.json')).body;
    for (const path of ['/v1/workers/register', '/v1/workers/{id}/claim', '/v1/workers/{id}/heartbeat', '/v1/workers/{id}/complete', '/v1/workers/{id}/fail', '/v1/workers/{id}', '/v1/pools/{name}/desired']) {
      assert.ok(doc.paths[path], `OpenAPI has ${path}`);
    }
  } finally {
    await t.close();
  }
});

test('a completion with next claims the worker\'s next task in the same request', async () => {
  const t = await start();
  try {
    const id = (await t.call('POST', '/v1/workers/register', { types: ['scan'] })).body.workerId;
    await t.store.submitBatch([{ type: 'scan', payload: 1 }, { type: 'scan', payload: 2 }]);
    const [first] = (await t.call('POST', `/v1/workers/${id}/claim`, { waitMs: 0 })).body.tasks;
    const done = await t.call('POST', `/v1/workers/${id}/complete`, { taskId: first.id, leaseToken: first.leaseToken, result: 'a', next: { max: 5 } });
    assert.equal(done.status, 200);
    assert.equal(done.body.status, 'succeeded');
    assert.deepEqual(done.body.tasks.map((x: { payload: number }) => x.payload), [2], 'one free slot: one task');
    const last = done.body.tasks[0];
    const end = await t.call('POST', `/v1/workers/${id}/fail`, { taskId: last.id, leaseToken: last.leaseToken, error: { message: 'x' }, next: { max: 1 } });
    assert.deepEqual(end.body.tasks, []);
    assert.equal(t.remote.stats().busy, 0);
  } finally {
    await t.close();
  }
});
