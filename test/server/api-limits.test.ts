// Tenants, keys, rate limit, backpressure, body limit, health, metrics and the
// OpenAPI document, on a real server over a real store.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request, Agent } from 'node:http';
import { z } from 'zod';
import { VirtualClock } from '../../src/core/index.ts';
import { TidepoolServer, parseApiKeys } from '../../src/server/index.ts';
import { openStore } from '../../src/store/index.ts';
import { startServer } from './helpers.ts';
import { BatchBodySchema, ListQuerySchema, PoolPatchBodySchema, RangeQuerySchema, ScaleBodySchema, SubmitBodySchema, WaitQuerySchema } from '../../src/server/schemas.ts';

const KEYS = parseApiKeys('acme=acme-key-123,globex=globex-key-456', 'test');

test('with keys configured a request without a valid key gets 401, and /health and /metrics need none', async () => {
  const s = await startServer({ apiKeys: KEYS });
  try {
    const none = await s.call('GET', '/v1/tasks');
    assert.equal(none.status, 401);
    assert.equal(none.body.error.message, 'missing API key; send Authorization: Bearer KEY');
    const wrong = await s.call('GET', '/v1/tasks', { key: 'not-a-key-at-all' });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.error.message, 'the API key is not valid');
    const basic = await s.call('GET', '/v1/tasks', { headers: { authorization: 'Basic YWNtZTphY21l' } });
    assert.equal(basic.status, 401);
    assert.equal((await s.call('GET', '/health')).status, 200);
    assert.equal((await s.call('GET', '/metrics')).status, 200);
    assert.equal((await s.call('GET', '/v1/tasks', { key: 'acme-key-123' })).status, 200);
  } finally {
    await s.close();
  }
});

test("a tenant sees, waits on and cancels only its own tasks; another tenant's are 404", async () => {
  const s = await startServer({ apiKeys: KEYS });
  try {
    const mine = await s.call('POST', '/v1/tasks', { key: 'acme-key-123', body: { type: 't' } });
    assert.equal(mine.status, 201);
    assert.equal(mine.body.tenant, 'acme');
    const theirs = await s.call('POST', '/v1/tasks', { key: 'globex-key-456', body: { type: 't' } });
    for (const [method, path] of [
      ['GET', `/v1/tasks/${theirs.body.id}`],
      ['GET', `/v1/tasks/${theirs.body.id}?wait=5000`],
      ['POST', `/v1/tasks/${theirs.body.id}/cancel`],
      ['POST', `/v1/tasks/${theirs.body.id}/retry`],
    ] as const) {
      const res = await s.call(method, path, { key: 'acme-key-123' });
      assert.equal(res.status, 404, `${method} ${path}`);
      assert.equal(res.body.error.message, `task "${theirs.body.id}" not found`);
    }
    const list = await s.call('GET', '/v1/tasks', { key: 'acme-key-123' });
    assert.deepEqual(list.body.tasks.map((t: { id: string }) => t.id), [mine.body.id]);
    assert.equal((await s.store.get(theirs.body.id))?.status, 'queued', 'the other tenant could not cancel it');
    // The same idempotency key in two tenants makes two tasks.
    const a = await s.call('POST', '/v1/tasks', { key: 'acme-key-123', body: { type: 't', idempotencyKey: 'same' } });
    const b = await s.call('POST', '/v1/tasks', { key: 'globex-key-456', body: { type: 't', idempotencyKey: 'same' } });
    assert.equal(a.status, 201);
    assert.equal(b.status, 201);
    assert.notEqual(a.body.id, b.body.id);
  } finally {
    await s.close();
  }
});

test('without keys the server refuses to listen on anything but loopback', async () => {
  const store = await openStore('memory');
  const server = await TidepoolServer.create({ runtime: { store, pools: () => [] }, clock: new VirtualClock() });
  try {
    await assert.rejects(server.listen({ host: '0.0.0.0', port: 0 }), (err: Error) => {
      assert.match(err.message, /server\.host: got "0\.0\.0\.0"; without API keys the server listens on loopback only/);
      return true;
    });
  } finally {
    await server.close();
    await store.close();
  }
});

test('the global rate limit answers 429 with Retry-After, and refills with time', async () => {
  const clock = new VirtualClock();
  const s = await startServer({ clock, rateLimit: { ratePerSec: 2, burst: 3 } });
  try {
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await s.call('GET', '/v1/tasks')).status);
    assert.deepEqual(statuses, [200, 200, 200, 429]);
    const limited = await s.call('GET', '/v1/tasks');
    assert.equal(limited.headers.get('retry-after'), '1');
    assert.equal(limited.body.error.code, 'RateLimited');
    assert.match(limited.body.error.message, /^global rate limit of 2 requests\/s exceeded; retry after 500 ms$/);
    assert.equal((await s.call('GET', '/health')).status, 200, '/health is not rate limited');
    await clock.advance(500);
    assert.equal((await s.call('GET', '/v1/tasks')).status, 200);
    const metrics = await s.call('GET', '/metrics');
    assert.match(metrics.body, /tidepool_rate_limit_rejections_total 2/);
  } finally {
    await s.close();
  }
});

test('above the maximum queue depth a submit gets 429 with Retry-After, counted per pool', async () => {
  const s = await startServer({ storeOptions: { maxQueueDepth: 2 } });
  try {
    assert.equal((await s.call('POST', '/v1/tasks', { body: { type: 'bp' } })).status, 201);
    assert.equal((await s.call('POST', '/v1/tasks', { body: { type: 'bp' } })).status, 201);
    const full = await s.call('POST', '/v1/tasks', { body: { type: 'bp' } });
    assert.equal(full.status, 429);
    assert.equal(full.body.error.code, 'QueueFull');
    assert.ok(Number(full.headers.get('retry-after')) >= 1);
    const batch = await s.call('POST', '/v1/tasks/batch', { body: { tasks: [{ type: 'bp' }] } });
    assert.equal(batch.status, 429);
    const metrics = await s.call('GET', '/metrics');
    assert.match(metrics.body, /tidepool_backpressure_rejections_total\{pool="none"\} 2/);
    const health = await s.call('GET', '/health');
    assert.equal(health.body.status, 'healthy', 'rejected requests never make it unhealthy');
  } finally {
    await s.close();
  }
});

test('a body over the size limit gets 413 and the same connection serves the next request', async () => {
  const s = await startServer({ bodyLimitBytes: 10_000 });
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const send = (body: string) =>
    new Promise<{ status: number; reused: boolean; text: string }>((resolve, reject) => {
      const req = request(s.url + '/v1/tasks', { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, reused: req.reusedSocket, text }));
      });
      req.on('error', reject);
      req.end(body);
    });
  try {
    const first = await send(JSON.stringify({ type: 'small' }));
    assert.equal(first.status, 201);
    const big = await send(JSON.stringify({ type: 'big', payload: 'x'.repeat(20_000) }));
    assert.equal(big.status, 413);
    assert.equal(JSON.parse(big.text).error.code, 'PayloadTooLarge');
    const after = await send(JSON.stringify({ type: 'small' }));
    assert.equal(after.status, 201);
    assert.equal(after.reused, true, 'the keep-alive connection was reused after the 413');
  } finally {
    agent.destroy();
    await s.close();
  }
});

test('/health is healthy before any task has ended and 503 while the server drains', async () => {
  let release!: () => void;
  const drained = new Promise<void>((r) => (release = r));
  const s = await startServer({ drain: () => drained });
  try {
    const before = await s.call('GET', '/health');
    assert.deepEqual(before.body, { status: 'healthy', reasons: [], draining: false, faults: [], unserved: { tasks: 0, types: {} } });
    const draining = s.server.drain(1000);
    const during = await s.call('GET', '/health');
    assert.equal(during.status, 503);
    assert.equal(during.body.draining, true);
    assert.ok(during.body.reasons.includes('the server is draining (shutting down)'));
    const submit = await s.call('POST', '/v1/tasks', { body: { type: 'late' } });
    assert.equal(submit.status, 503);
    assert.equal(submit.body.error.code, 'ShuttingDown');
    release();
    await draining;
  } finally {
    await s.store.close();
  }
});

test('/metrics exposes queue depth by type, workers, wait and run histograms, outcomes, scale operations and rejections', async () => {
  const s = await startServer();
  try {
    await s.call('POST', '/v1/tasks', { body: { type: 'm' } });
    const [c] = await s.store.claim({ workerId: 'w', types: ['m'], limit: 1, leaseMs: 10_000 });
    await s.store.complete(c.id, c.leaseToken, null);
    await s.call('POST', '/v1/tasks', { body: { type: 'm' } });
    const text: string = (await s.call('GET', '/metrics')).body;
    for (const name of [
      'tidepool_queue_depth{type="m",pool="none"} 1',
      'tidepool_task_wait_seconds_count{pool="none"} 1',
      'tidepool_task_run_seconds_count{pool="none"} 1',
      'tidepool_tasks_finished_total{pool="none",outcome="succeeded"} 1',
      '# TYPE tidepool_workers gauge',
      '# TYPE tidepool_pool_desired_workers gauge',
      '# TYPE tidepool_scale_operations_total counter',
      '# TYPE tidepool_backpressure_rejections_total counter',
      'tidepool_rate_limit_rejections_total 0',
    ]) assert.ok(text.includes(name), `missing ${name}`);
  } finally {
    await s.close();
  }
});

test('the OpenAPI document is generated from the schemas that validate requests', async () => {
  const s = await startServer();
  try {
    const doc = (await s.call('GET', '/v1/openapi.json')).body;
    assert.equal(doc.openapi, '3.1.0');
    const resolve = (schema: any): any => (schema?.$ref ? doc.components.schemas[schema.$ref.split('/').pop()] : schema);
    const bodyOf = (path: string, method: string) => resolve(doc.paths[path][method].requestBody.content['application/json'].schema);
    const queryOf = (path: string, method: string) => (doc.paths[path][method].parameters ?? []).filter((p: any) => p.in === 'query');
    const shape = (schema: z.ZodType) => {
      const js = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as any;
      return js.$ref ? js.$defs[js.$ref.split('/').pop()] : js;
    };
    const table = [
      { path: '/v1/tasks', method: 'post', schema: SubmitBodySchema },
      { path: '/v1/tasks/batch', method: 'post', schema: BatchBodySchema },
      { path: '/v1/pools/{name}', method: 'patch', schema: PoolPatchBodySchema },
      { path: '/v1/pools/{name}/scale', method: 'post', schema: ScaleBodySchema },
    ];
    for (const row of table) {
      const documented = bodyOf(row.path, row.method);
      const own = shape(row.schema);
      assert.deepEqual(Object.keys(documented.properties).sort(), Object.keys(own.properties).sort(), `${row.method} ${row.path} properties`);
      assert.deepEqual([...(documented.required ?? [])].sort(), [...(own.required ?? [])].sort(), `${row.method} ${row.path} required`);
      assert.equal(documented.additionalProperties, false, `${row.method} ${row.path} refuses unknown fields, as the validator does`);
    }
    const queries = [
      { path: '/v1/tasks', method: 'get', schema: ListQuerySchema },
      { path: '/v1/tasks', method: 'post', schema: WaitQuerySchema },
      { path: '/v1/tasks/{id}', method: 'get', schema: WaitQuerySchema },
      { path: '/v1/events', method: 'get', schema: RangeQuerySchema },
      { path: '/v1/metrics/history', method: 'get', schema: RangeQuerySchema },
    ];
    for (const row of queries) {
      const names = queryOf(row.path, row.method).map((p: any) => p.name).sort();
      assert.deepEqual(names, Object.keys(shape(row.schema).properties).sort(), `${row.method} ${row.path} query`);
    }
    // Every response says what it means, not the generator's placeholder.
    assert.equal(doc.paths['/v1/tasks'].post.responses['201'].description, 'Created: the task is stored (on disk, at the default durability)');
    for (const [path, methods] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
      for (const [method, op] of Object.entries(methods)) {
        for (const [code, response] of Object.entries(op.responses ?? {}) as [string, any][]) {
          assert.notEqual(response.description, 'Default Response', `${method} ${path} ${code}`);
        }
      }
    }
    // Every documented operation answers (is a real route), none is a 404 from the router.
    for (const [path, ops] of Object.entries<any>(doc.paths)) {
      for (const method of Object.keys(ops)) {
        if (path === '/v1/stream') continue;
        const url = path.replace('{id}', 'nonexistent').replace('{name}', 'nonexistent');
        const res = await s.call(method.toUpperCase(), url, method === 'get' ? {} : { body: {} });
        assert.notEqual(res.body?.error?.code, 'NotFound', `${method} ${path} is documented but not routed`);
      }
    }
  } finally {
    await s.close();
  }
});

test('closing the server ends open dashboard streams and answers held ?wait requests at once', async () => {
  const s = await startServer();
  const stream = await fetch(s.url + '/v1/stream');
  await stream.body!.getReader().read();
  const task = await s.call('POST', '/v1/tasks', { body: { type: 'never-served' } });
  const held = s.call('GET', `/v1/tasks/${task.body.id}?wait=300000`);
  // Ask the server (real I/O each turn) until it holds the request.
  while (!/tidepool_http_held_waits 1\b/.test((await s.call('GET', '/metrics')).body));
  assert.match((await s.call('GET', '/metrics')).body, /tidepool_stream_clients 1\b/);
  const started = performance.now();
  await s.close();
  const res = await held;
  assert.equal(res.status, 200);
  assert.equal(res.body.status, 'queued');
  assert.ok(performance.now() - started < 5000, 'close did not wait for the stream or the held request');
});
