// A task of a type no pool serves is accepted (a pool may start later) but never runs
// here: the submit answer carries a `warning`, the server logs it, and GET /v1/pools and
// /health show an `unserved` figure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../../src/core/index.ts';
import { resolveStartConfig, startTidepool } from '../../src/cli/start.ts';
import { request, startServer } from './helpers.ts';

test('a submit of a type no pool serves answers with a warning, and pools and health count it as unserved', async () => {
  const config = resolveStartConfig({ store: 'memory', port: '0' }, {});
  config.pools = [{ name: 'gen', types: ['gen'], minWorkers: 1, maxWorkers: 2, policy: 'queue-latency', policyOptions: {} }] as typeof config.pools;
  const running = await startTidepool({ config, clock: new VirtualClock(), apiKeysEnv: '', handlers: { gen: async () => 'ok' } });
  try {
    const call = (method: string, path: string, body?: unknown) => request(running.url, method, path, { body });
    const served = await call('POST', '/v1/tasks', { type: 'gen' });
    assert.equal(served.status, 201);
    assert.equal(served.body.warning, undefined, 'a served type has no warning');
    const unknown = await call('POST', '/v1/tasks', { type: 'unknowntype' });
    assert.equal(unknown.status, 201);
    assert.equal(unknown.body.status, 'queued');
    assert.equal(unknown.body.warning, 'no pool serves type "unknowntype", so the task waits until one does; pools serve: gen');
    const batch = await call('POST', '/v1/tasks/batch', { tasks: [{ type: 'unknowntype' }, { type: 'other' }, { type: 'gen' }] });
    assert.equal(batch.status, 201);
    assert.deepEqual(batch.body.warnings, [
      'no pool serves type "unknowntype", so the task waits until one does; pools serve: gen',
      'no pool serves type "other", so the task waits until one does; pools serve: gen',
    ]);
    const pools = await call('GET', '/v1/pools');
    assert.deepEqual(pools.body.unserved, { tasks: 3, types: { unknowntype: 2, other: 1 } });
    const health = await call('GET', '/health');
    assert.equal(health.status, 200);
    assert.deepEqual(health.body.unserved, { tasks: 3, types: { unknowntype: 2, other: 1 } });
    assert.equal(health.body.status, 'healthy', 'another node may serve them: a figure, not a verdict');
    // Cancelled, they no longer count.
    await call('POST', `/v1/tasks/${unknown.body.id}/cancel`);
    assert.equal((await call('GET', '/v1/pools')).body.unserved.tasks, 2);
  } finally {
    await running.stop(0);
  }
});

test('the server logs the warning for an unserved submit, and a type named like an Object.prototype key is counted safely', async () => {
  const srv = await startServer();
  try {
    const res = await srv.call('POST', '/v1/tasks', { body: { type: 'constructor' } });
    assert.equal(res.status, 201);
    assert.match(res.body.warning, /^no pool serves type "constructor"/);
    assert.ok(srv.logs.some((l) => /no pool serves type \\"constructor\\"/.test(l) && /"level":40/.test(l)), srv.logs.join('\n'));
    const health = await srv.call('GET', '/health');
    assert.deepEqual(health.body.unserved, { tasks: 1, types: { constructor: 1 } });
  } finally {
    await srv.close();
  }
});
