// Admin tenants (server.adminTenants): who may change pools. A real server wired by
// startTidepool (memory store, in-process pool) on an ephemeral port and a virtual clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../../src/core/index.ts';
import { resolveStartConfig, startTidepool } from '../../src/cli/start.ts';
import { request } from './helpers.ts';

const KEYS = 'ops=ops-key-0001,team=team-key-0001';

async function start(options: { keys?: string; flags?: Record<string, string>; env?: Record<string, string> } = {}) {
  const clock = new VirtualClock();
  const config = resolveStartConfig({ store: 'memory', port: '0', autoscale: 'false', ...options.flags }, options.env ?? {});
  config.pools = [{ name: 'gen', types: ['gen'], minWorkers: 1, maxWorkers: 6, policy: 'queue-latency' }] as typeof config.pools;
  const log: string[] = [];
  const running = await startTidepool({ config, clock, apiKeysEnv: options.keys ?? '', log: (line) => log.push(line), handlers: { gen: async () => 'done' } });
  const call = (method: string, path: string, body?: unknown, key?: string) => request(running.url, method, path, { body, key });
  const pool = async (key?: string) => (await call('GET', '/v1/pools', undefined, key)).body.pools[0];
  return { running, call, pool, log, config };
}

const adminWarning = /adminTenants is not set, so every tenant may change pools/;

test('an admin tenant can PATCH a pool and scale it by hand', async () => {
  const t = await start({ keys: KEYS, flags: { 'admin-tenants': 'ops' } });
  try {
    const patched = await t.call('PATCH', '/v1/pools/gen', { min: 2, max: 5 }, 'ops-key-0001');
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    assert.equal(patched.body.min, 2);
    assert.equal(patched.body.max, 5);
    const scaled = await t.call('POST', '/v1/pools/gen/scale', { count: 4 }, 'ops-key-0001');
    assert.equal(scaled.status, 200, JSON.stringify(scaled.body));
    assert.equal(scaled.body.target, 4);
    assert.deepEqual(t.log.filter((l) => adminWarning.test(l)), []);
  } finally {
    await t.running.stop(0);
  }
});

test('a tenant not in adminTenants gets 403 Forbidden naming it and the admins, and the pool is unchanged', async () => {
  const t = await start({ keys: KEYS, flags: { 'admin-tenants': 'ops,platform' } });
  try {
    const before = await t.pool('ops-key-0001');
    const forbidden = { error: { code: 'Forbidden', message: 'tenant "team" may not change pools; admin tenants: ops, platform' } };
    const patched = await t.call('PATCH', '/v1/pools/gen', { min: 3, max: 4 }, 'team-key-0001');
    assert.equal(patched.status, 403);
    assert.deepEqual(patched.body, forbidden);
    const scaled = await t.call('POST', '/v1/pools/gen/scale', { count: 5 }, 'team-key-0001');
    assert.equal(scaled.status, 403);
    assert.deepEqual(scaled.body, forbidden);
    // Refused before the body is looked at: a bad body or an unknown pool still says 403.
    const badBody = await t.call('POST', '/v1/pools/nope/scale', { count: 'many' }, 'team-key-0001');
    assert.equal(badBody.status, 403);
    assert.equal(badBody.body.error.code, 'Forbidden');
    const after = await t.pool('ops-key-0001');
    assert.equal(after.min, before.min);
    assert.equal(after.max, before.max);
    assert.equal(after.target, before.target);
    // A missing key is still 401, not 403.
    const noKey = await t.call('PATCH', '/v1/pools/gen', { min: 3 });
    assert.equal(noKey.status, 401);
  } finally {
    await t.running.stop(0);
  }
});

test('reads stay open to every tenant when adminTenants is set', async () => {
  const t = await start({ keys: KEYS, flags: { 'admin-tenants': 'ops' } });
  try {
    for (const path of ['/v1/pools', '/v1/events?from=0', '/v1/metrics/history?from=0']) {
      const res = await t.call('GET', path, undefined, 'team-key-0001');
      assert.equal(res.status, 200, `${path}: ${JSON.stringify(res.body)}`);
    }
    assert.equal((await t.pool('team-key-0001')).name, 'gen');
  } finally {
    await t.running.stop(0);
  }
});

test('with keys and no adminTenants every tenant may change pools, and the server warns once at start', async () => {
  const t = await start({ keys: KEYS });
  try {
    assert.equal(t.log.filter((l) => adminWarning.test(l)).length, 1, t.log.join('\n'));
    const scaled = await t.call('POST', '/v1/pools/gen/scale', { count: 3 }, 'team-key-0001');
    assert.equal(scaled.status, 200, JSON.stringify(scaled.body));
    const patched = await t.call('PATCH', '/v1/pools/gen', { max: 4 }, 'ops-key-0001');
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
  } finally {
    await t.running.stop(0);
  }
});

test('without API keys the default tenant changes pools as before, with no warning, even if adminTenants is set', async () => {
  for (const flags of [{}, { 'admin-tenants': 'ops' }] as Array<Record<string, string>>) {
    const t = await start({ flags });
    try {
      assert.deepEqual(t.log, []);
      const patched = await t.call('PATCH', '/v1/pools/gen', { min: 2 });
      assert.equal(patched.status, 200, JSON.stringify(patched.body));
      const scaled = await t.call('POST', '/v1/pools/gen/scale', { count: 3 });
      assert.equal(scaled.status, 200, JSON.stringify(scaled.body));
    } finally {
      await t.running.stop(0);
    }
  }
});

test('adminTenants comes from TIDEPOOL_ADMIN_TENANTS (comma-separated) or --admin-tenants, the flag winning', async () => {
  const fromEnv = resolveStartConfig({ store: 'memory' }, { TIDEPOOL_ADMIN_TENANTS: 'ops, platform' });
  assert.deepEqual((fromEnv.server as { adminTenants?: string[] }).adminTenants, ['ops', 'platform']);
  const fromFlag = resolveStartConfig({ store: 'memory', 'admin-tenants': 'root' }, { TIDEPOOL_ADMIN_TENANTS: 'ops' });
  assert.deepEqual((fromFlag.server as { adminTenants?: string[] }).adminTenants, ['root']);
  assert.equal((resolveStartConfig({ store: 'memory' }, {}).server as { adminTenants?: string[] }).adminTenants, undefined);
  assert.throws(() => resolveStartConfig({ store: 'memory', 'admin-tenants': ' , ' }, {}), /--admin-tenants \(flag\): got .*; expected a non-empty list of non-empty strings/);
});

test('the OpenAPI document lists 403 on the two routes that change pools, and not on reads', async () => {
  const t = await start();
  try {
    const doc = (await t.call('GET', '/v1/openapi.json')).body;
    assert.ok(doc.paths['/v1/pools/{name}'].patch.responses['403'], 'PATCH /v1/pools/{name} 403');
    assert.ok(doc.paths['/v1/pools/{name}/scale'].post.responses['403'], 'POST /v1/pools/{name}/scale 403');
    assert.match(doc.paths['/v1/pools/{name}/scale'].post.responses['403'].description, /adminTenants/);
    assert.equal(doc.paths['/v1/pools'].get.responses['403'], undefined);
  } finally {
    await t.running.stop(0);
  }
});
