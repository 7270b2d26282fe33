// Runtime pool changes validate everything before changing anything (issue 8, item 10):
// a refused PATCH or scale leaves the pool as it was, and worker counts are capped at
// what the config allows (pools[i].maxWorkers <= 100,000), over HTTP and for library callers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_POOL_WORKERS, VirtualClock } from '../../src/core/index.ts';
import { resolveStartConfig, startTidepool } from '../../src/cli/start.ts';
import { request } from './helpers.ts';

async function start() {
  const clock = new VirtualClock();
  const config = resolveStartConfig({ store: 'memory', port: '0', 'interval-ms': '1000' }, {});
  config.pools = [{ name: 'gen', types: ['gen'], minWorkers: 1, maxWorkers: 6, policy: 'queue-latency' }] as typeof config.pools;
  const running = await startTidepool({ config, clock, apiKeysEnv: '', handlers: { gen: async () => 'ok' } });
  const call = (method: string, path: string, body?: unknown) => request(running.url, method, path, { body });
  const pool = async () => (await call('GET', '/v1/pools')).body.pools[0];
  return { running, call, pool };
}

test('a refused PATCH /v1/pools/{name} changes nothing, and bounds past the config range are refused naming the field', async () => {
  const t = await start();
  try {
    const before = await t.pool();
    for (const body of [{ max: 4_294_967_296 }, { max: MAX_POOL_WORKERS + 1 }, { min: 2, max: MAX_POOL_WORKERS + 1 }, { min: MAX_POOL_WORKERS + 1 }, { max: 8, policy: 'no-such-policy' }, { min: 2, max: 9, policy: 'threshold', preset: 'nope' }]) {
      const res = await t.call('PATCH', '/v1/pools/gen', body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.body.error.code, 'InvalidInput');
      assert.match(res.body.error.message, /^body\.(min|max|policy|preset)[:\s]/, res.body.error.message);
      const after = await t.pool();
      assert.deepEqual({ min: after.min, max: after.max, policy: after.policy, preset: after.preset, target: after.target }, { min: before.min, max: before.max, policy: before.policy, preset: before.preset, target: before.target }, `${JSON.stringify(body)} changed nothing`);
    }
    const ok = await t.call('PATCH', '/v1/pools/gen', { max: MAX_POOL_WORKERS });
    assert.equal(ok.status, 200, 'the config maximum itself is accepted');
    assert.equal(ok.body.max, MAX_POOL_WORKERS);
  } finally {
    await t.running.stop(0);
  }
});

test('a scale past the pool maximum or the config range is refused and starts no worker', async () => {
  const t = await start();
  try {
    for (const count of [2_147_483_648, MAX_POOL_WORKERS + 1, 7]) {
      const res = await t.call('POST', '/v1/pools/gen/scale', { count });
      assert.equal(res.status, 400, `count ${count}`);
      assert.match(res.body.error.message, /^body\.count: /);
    }
    const p = await t.pool();
    assert.equal(p.target, 1);
    assert.ok(p.current <= 1);
  } finally {
    await t.running.stop(0);
  }
});

test('library callers get the same rule: setBounds past the config range throws and leaves pool and policy as they were', async () => {
  const t = await start();
  try {
    const [pool] = t.running.pools;
    await assert.rejects(t.running.autoscaler.setBounds('gen', 0, MAX_POOL_WORKERS + 1), /maxWorkers/);
    assert.equal(pool.maxWorkers, 6);
    assert.equal(pool.minWorkers, 1);
    assert.throws(() => pool.setBounds(0, 2 ** 32), /maxWorkers got 4294967296; expected an integer >= minWorkers \(0\), >= 1 and <= 100000/);
    assert.equal(pool.maxWorkers, 6);
    assert.throws(() => pool.scaleTo(2_147_483_648), /outside its bounds/);
  } finally {
    await t.running.stop(0);
  }
});

test("GET /v1/pools shows a worker's running task id only to the tenant the task belongs to", async () => {
  const clock = new VirtualClock();
  const config = resolveStartConfig({ store: 'memory', port: '0' }, {});
  config.pools = [{ name: 'gen', types: ['gen'], minWorkers: 1, maxWorkers: 1, policy: 'fixed:1' }] as typeof config.pools;
  const gate: Array<() => void> = [];
  const running = await startTidepool({
    config,
    clock,
    apiKeysEnv: 'a=tenant-a-key-0001,b=tenant-b-key-0002',
    handlers: { gen: () => new Promise((resolve) => gate.push(() => resolve('ok'))) },
  });
  try {
    const submitted = await request(running.url, 'POST', '/v1/tasks', { key: 'tenant-b-key-0002', body: { type: 'gen' } });
    assert.equal(submitted.status, 201);
    await clock.advance(10);
    for (let i = 0; i < 100 && gate.length === 0; i++) await clock.advance(10);
    assert.equal(gate.length, 1, "tenant b's task is running");
    const seen = async (key: string) => (await request(running.url, 'GET', '/v1/pools', { key })).body.pools[0].workers.map((w: { taskId: string | null }) => w.taskId);
    assert.deepEqual(await seen('tenant-b-key-0002'), [submitted.body.id], 'the owner sees its task id');
    assert.deepEqual(await seen('tenant-a-key-0001'), [null], "another tenant sees that the worker is busy, not with which task");
  } finally {
    gate.splice(0).forEach((f) => f());
    await running.stop(0);
  }
});
