// Redis down at start or gone mid-run (issue 13, item 4), through a TCP proxy the test
// controls (the shared Redis itself is never stopped): the server stays up, /health says
// the store does not answer, submits get 503 StoreUnavailable with Retry-After, nothing
// acknowledged is lost, and work resumes once Redis is back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomSuffix } from '../store/adapters.ts';
import { dropPrefix, probeRedis, REDIS_URL } from '../store/redis-helpers.ts';
import { serverSkip } from '../store/servers.ts';
import { startTcpProxy } from '../store/tcp-proxy.ts';
import { startServer } from './helpers.ts';

const unavailable = await serverSkip(`Redis at ${REDIS_URL}`, probeRedis);
const target = new URL(REDIS_URL);

/** Retries a call until it answers `status` (the store reconnects in the background), at most ~10 s. */
async function eventually(call: () => Promise<{ status: number }>, status: number): Promise<{ status: number; body?: any }> {
  let last: { status: number } = { status: 0 };
  for (let i = 0; i < 200; i++) {
    last = await call();
    if (last.status === status) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  return last;
}

test('Redis down at start, then gone mid-run: 503 with Retry-After and /health 503 while away, nothing acknowledged lost, work resumes on reconnect', { skip: unavailable, timeout: 60_000 }, async (t) => {
  const prefix = `tp-outage-${randomSuffix()}`;
  t.after(() => dropPrefix(prefix));
  const proxy = await startTcpProxy(target.hostname, Number(target.port || 6379), { startCut: true });
  t.after(() => proxy.close());
  const storeUrl = `redis://127.0.0.1:${proxy.port}${target.pathname}?prefix=${prefix}`;
  const s = await startServer({ storeUrl });
  t.after(() => s.close());

  // Down at start: the server is up and says why it cannot serve.
  const down = await s.call('POST', '/v1/tasks', { body: { type: 'x' } });
  assert.equal(down.status, 503);
  assert.equal(down.body.error.code, 'StoreUnavailable');
  assert.equal(down.headers.get('retry-after'), '1');
  const sick = await s.call('GET', '/health');
  assert.equal(sick.status, 503);
  assert.ok(sick.body.faults.some((f: string) => f.startsWith('the store does not answer')), JSON.stringify(sick.body.faults));

  // Redis comes up: submits are acknowledged.
  await proxy.restore();
  const first = await eventually(() => s.call('POST', '/v1/tasks', { body: { type: 'x', payload: 1 } }), 201);
  assert.equal(first.status, 201);
  const acked: string[] = [first.body.id];
  for (let i = 0; i < 5; i++) acked.push((await s.call('POST', '/v1/tasks', { body: { type: 'x', payload: i } })).body.id);
  assert.equal((await eventually(() => s.call('GET', '/health'), 200)).status, 200);

  // Gone mid-run.
  await proxy.cut();
  const away = await s.call('POST', '/v1/tasks', { body: { type: 'x' } });
  assert.equal(away.status, 503);
  assert.equal(away.headers.get('retry-after'), '1');
  assert.equal((await s.call('GET', '/health')).status, 503);

  // Back: what was acknowledged is there, and new work is taken.
  await proxy.restore();
  assert.equal((await eventually(() => s.call('POST', '/v1/tasks', { body: { type: 'x' } }), 201)).status, 201);
  for (const id of acked) assert.equal((await s.call('GET', `/v1/tasks/${id}`)).body.status, 'queued');
  assert.equal((await s.store.counts()).byStatus.queued, acked.length + 1);
});
