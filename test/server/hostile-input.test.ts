// Hostile input, one class per test (issue 8, items 9, 11, 13, 16): names from
// Object.prototype in every map keyed by an outside name, every numeric field at and
// past its documented range, payload depth, and every 4xx in the documented
// `{error: {code, message}}` shape, including what node's HTTP parser refuses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { OBJECT_PROTOTYPE_NAMES, TASK_LIMITS } from '../../src/core/index.ts';
import { openStore } from '../../src/store/index.ts';
import { rawHttp, startServer, tempDir } from './helpers.ts';

function nested(depth: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = i % 2 ? { a: v } : [v];
  return v;
}

for (const storeKind of ['memory', 'sqlite']) {
  test(`names from Object.prototype work as task types, idempotency keys and tenants (${storeKind} store), and /metrics and /health keep answering`, async () => {
    const tmp = tempDir();
    const storeUrl = storeKind === 'memory' ? 'memory' : `sqlite:${join(tmp.dir, 'proto.db')}`;
    const before = Object.getOwnPropertyNames(Object.prototype).sort();
    const s = await startServer({ storeUrl, storeOptions: { tenantConcurrency: 5, tenantLimits: { constructor: 2, __proto__: 1 } as Record<string, number> } });
    try {
      const ids = new Map<string, string>();
      for (const name of OBJECT_PROTOTYPE_NAMES) {
        const res = await s.call('POST', '/v1/tasks', { body: { type: name, idempotencyKey: name, payload: { name } } });
        assert.equal(res.status, 201, `${name}: ${JSON.stringify(res.body)}`);
        ids.set(name, res.body.id);
        const again = await s.call('POST', '/v1/tasks', { body: { type: name, idempotencyKey: name } });
        assert.equal(again.status, 200, `${name}: the repeated key finds the first task`);
        assert.equal(again.body.id, res.body.id);
        await s.store.submit({ type: 'tenanted', tenant: name, idempotencyKey: name });
      }
      const counts = await s.store.counts();
      for (const name of OBJECT_PROTOTYPE_NAMES) {
        assert.ok(Object.hasOwn(counts.byType, name), `counts.byType has its own ${name}`);
        assert.equal(counts.byType[name].queued, 1, `one queued task of type ${name}`);
        assert.equal(counts.runnableByType[name], 1);
      }
      assert.equal(counts.byType.tenanted.queued, OBJECT_PROTOTYPE_NAMES.length, 'one task per tenant named after a prototype member');
      assert.deepEqual(Object.getOwnPropertyNames(Object.prototype).sort(), before, 'Object.prototype gained nothing');
      assert.equal(({} as Record<string, unknown>).queued, undefined);
      // Fair claiming across tenants named constructor, __proto__, ... with per-tenant limits.
      const claimed = await s.store.claim({ workerId: 'w1', types: ['tenanted'], limit: 100, leaseMs: 60_000 });
      assert.equal(claimed.length, OBJECT_PROTOTYPE_NAMES.length, 'each tenant got its task claimed (limits 1, 2 and 5 all allow one)');
      const metrics = await s.call('GET', '/metrics');
      assert.equal(metrics.status, 200);
      assert.match(metrics.body, /tidepool_queue_depth\{type="__proto__",pool="none"\} 1/);
      const health = await s.call('GET', '/health');
      assert.equal(health.status, 200);
      assert.equal(health.body.status, 'healthy');
      for (const [name, id] of ids) {
        const got = await s.call('GET', `/v1/tasks/${id}`);
        assert.equal(got.status, 200);
        assert.equal(got.body.type, name);
        assert.deepEqual(got.body.payload, { name });
      }
      const listed = await s.call('GET', '/v1/tasks?type=__proto__');
      assert.equal(listed.status, 200);
      assert.equal(listed.body.tasks.length, 1);
    } finally {
      await s.close();
    }
    if (storeKind === 'sqlite') {
      // The same file opens again and counts the same (the crash loop came back after every restart).
      const reopened = await openStore(storeUrl);
      try {
        const counts = await reopened.counts();
        assert.equal(counts.byType.__proto__.queued, 1);
        assert.equal(counts.byType['constructor' as string].queued, 1);
      } finally {
        await reopened.close();
      }
    }
    tmp.remove();
  });
}

test('every numeric submit field is accepted at its documented bound, refused just past it naming the field, and what was stored reads back', async () => {
  const tmp = tempDir();
  const s = await startServer({ storeUrl: `sqlite:${join(tmp.dir, 'bounds.db')}` });
  try {
    const L = TASK_LIMITS;
    const maxIso = new Date(L.maxRunAtMs).toISOString();
    const table = [
      { field: 'delayMs', ok: L.maxDelayMs, bad: L.maxDelayMs + 1 },
      { field: 'delayMs', ok: 0, bad: -1 },
      { field: 'runAt', ok: L.maxRunAtMs, bad: L.maxRunAtMs + 1 },
      { field: 'runAt', ok: maxIso, bad: '9999-01-01T00:00:00Z' },
      { field: 'runAt', ok: 0, bad: 2 ** 53 - 1 },
      { field: 'timeoutMs', ok: 2 ** 31 - 1, bad: 2 ** 31 },
      { field: 'timeoutMs', ok: 1, bad: 0 },
      { field: 'maxAttempts', ok: 1000, bad: 1001 },
      { field: 'maxAttempts', ok: 1, bad: 2 ** 53 - 1 },
      { field: 'priority', ok: Number.MAX_SAFE_INTEGER, bad: 2 ** 53 },
      { field: 'priority', ok: -Number.MAX_SAFE_INTEGER, bad: -(2 ** 53) },
    ];
    const stored: string[] = [];
    for (const row of table) {
      const good = await s.call('POST', '/v1/tasks', { body: { type: 'bounds', [row.field]: row.ok } });
      assert.equal(good.status, 201, `${row.field} = ${row.ok}: ${JSON.stringify(good.body)}`);
      stored.push(good.body.id);
      const bad = await s.call('POST', '/v1/tasks', { body: { type: 'bounds', [row.field]: row.bad } });
      assert.equal(bad.status, 400, `${row.field} = ${row.bad} is refused`);
      assert.equal(bad.body.error.code, 'InvalidInput');
      assert.ok(bad.body.error.message.startsWith(`body.${row.field}:`), bad.body.error.message);
    }
    // The store's own edge (library callers skip the HTTP schema) holds the same ranges.
    const storeRows: Array<[string, number]> = [['delayMs', L.maxDelayMs + 1], ['runAtMs', L.maxRunAtMs + 1], ['timeoutMs', 2 ** 31], ['maxAttempts', 1001]];
    for (const [field, value] of storeRows) {
      await assert.rejects(s.store.submit({ type: 'bounds', [field]: value }), new RegExp(`^InvalidInput|${field}: got ${value}; expected an integer >= \\d+ and <= \\d+`));
    }
    // Everything accepted reads back: one by one, as a list page, and cancel works.
    for (const id of stored) assert.equal((await s.call('GET', `/v1/tasks/${id}`)).status, 200);
    const page = await s.call('GET', '/v1/tasks?limit=1000');
    assert.equal(page.status, 200);
    assert.equal(page.body.tasks.length, stored.length);
    const cancelled = await s.call('POST', `/v1/tasks/${stored[0]}/cancel`);
    assert.equal(cancelled.status, 200);
    assert.equal(cancelled.body.status, 'cancelled');
  } finally {
    await s.close();
    tmp.remove();
  }
});

test('a payload may nest 64 levels; deeper is a 400 that says so, the server never 500s on depth, and stored payloads read back', async () => {
  const s = await startServer();
  try {
    const ok = await s.call('POST', '/v1/tasks', { body: { type: 'deep', payload: nested(TASK_LIMITS.maxPayloadDepth) } });
    assert.equal(ok.status, 201);
    assert.equal((await s.call('GET', `/v1/tasks/${ok.body.id}`)).status, 200);
    assert.equal((await s.call('GET', '/v1/tasks')).status, 200);
    const over = await s.call('POST', '/v1/tasks', { body: { type: 'deep', payload: nested(TASK_LIMITS.maxPayloadDepth + 1) } });
    assert.equal(over.status, 400);
    assert.equal(over.body.error.message, 'body.payload: nests more than 64 levels of arrays/objects (the limit); flatten it');
    for (const depth of [100, 2_500, 100_000]) {
      const raw = `{"type":"deep","payload":${'['.repeat(depth)}${']'.repeat(depth)}}`;
      const res = await s.call('POST', '/v1/tasks', { raw });
      assert.equal(res.status, 400, `depth ${depth}`);
      assert.match(res.body.error.message, /^body: nests more than 68 levels of arrays\/objects; a payload may nest at most 64 levels/);
    }
    const batch = await s.call('POST', '/v1/tasks/batch', { body: { tasks: [{ type: 'deep' }, { type: 'deep', payload: nested(65) }] } });
    assert.equal(batch.status, 400);
    assert.match(batch.body.error.message, /^body\.tasks\[1\]\.payload: nests more than 64 levels/);
    await assert.rejects(s.store.submit({ type: 'deep', payload: nested(65) as never }), /^InvalidInput|payload: nests more than 64 levels/);
    assert.equal((await s.store.counts()).byType.deep.queued, 1, 'only the task within the limit was stored');
  } finally {
    await s.close();
  }
});

test('every 500 is logged with its details, and the client sees only that the log has them', async () => {
  const s = await startServer({
    pools: () => {
      throw new Error('pool table broken at /srv/tidepool/pool.ts:120');
    },
  });
  try {
    const res = await s.call('GET', '/v1/pools');
    assert.equal(res.status, 500);
    assert.deepEqual(res.body, { error: { code: 'Internal', message: 'internal error; the server log has the details' } });
    const line = s.logs.map((l) => JSON.parse(l)).find((l) => l.level === 50);
    assert.ok(line, `a log line at error level: ${s.logs.join('')}`);
    assert.equal(line.err.message, 'pool table broken at /srv/tidepool/pool.ts:120');
    assert.equal(line.url, '/v1/pools');
  } finally {
    await s.close();
  }
});

test('every 4xx is in the {error: {code, message}} shape: bad URL encoding, long params, unknown and bad methods, CONNECT, 431, bad bytes and prototype keys', async () => {
  const s = await startServer();
  try {
    const shaped = (res: { status: number; body: any }, status: number, code: string, message?: RegExp) => {
      assert.equal(res.status, status, JSON.stringify(res.body));
      assert.deepEqual(Object.keys(res.body), ['error']);
      assert.deepEqual(Object.keys(res.body.error).sort(), ['code', 'message']);
      assert.equal(res.body.error.code, code);
      if (message) assert.match(res.body.error.message, message);
    };
    shaped(await s.call('GET', '/v1/tasks/%zz'), 400, 'InvalidInput', /not a valid url component/);
    shaped(await s.call('GET', '/v1/tasks/%E0%A4%A'), 400, 'InvalidInput');
    shaped(await s.call('GET', '/v1/tasks/' + 'a'.repeat(300)), 414, 'UriTooLong');
    shaped(await s.call('PROPFIND', '/v1/tasks'), 404, 'NotFound');
    shaped(await s.call('GET', '/v1/tasks', { headers: { 'x-big': 'a'.repeat(20_000) } }), 431, 'HeadersTooLarge');
    shaped(await rawHttp(s.url, 'FOO /v1/tasks HTTP/1.1\r\nHost: x\r\n\r\n'), 405, 'MethodNotAllowed');
    shaped(await rawHttp(s.url, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n'), 405, 'MethodNotAllowed', /CONNECT is not supported/);
    shaped(await rawHttp(s.url, 'GET /v1/tasks HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n'), 400, 'BadRequest');
    shaped(await rawHttp(s.url, 'GARBAGE\r\n\r\n'), 405, 'MethodNotAllowed');
    // Prototype keys: refused naming the field, not as "not valid JSON".
    shaped(await s.call('POST', '/v1/tasks', { raw: '{"type":"a","__proto__":{"x":1}}' }), 400, 'InvalidInput', /^body\.__proto__: a key named "__proto__" is refused/);
    shaped(await s.call('POST', '/v1/tasks', { raw: '{"type":"a","payload":{"list":[{"__proto__":1}]}}' }), 400, 'InvalidInput', /^body\.payload\.list\[0\]\.__proto__: /);
    shaped(await s.call('POST', '/v1/tasks', { raw: '{"type":"a","payload":{"constructor":{"prototype":{"x":1}}}}' }), 400, 'InvalidInput', /^body\.payload\.constructor: a "constructor" object holding "prototype" is refused/);
    const plain = await s.call('POST', '/v1/tasks', { raw: '{"type":"a","payload":{"constructor":"fine","toString":1}}' });
    assert.equal(plain.status, 201, 'other prototype names are ordinary payload keys');
    // Bytes that are not UTF-8 and keys with lone surrogates are refused, never merged into U+FFFD.
    const bad = Buffer.concat([Buffer.from('{"type":"a","idempotencyKey":"k'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]);
    const res = await fetch(s.url + '/v1/tasks', { method: 'POST', headers: { 'content-type': 'application/json' }, body: bad });
    shaped({ status: res.status, body: await res.json() }, 400, 'InvalidInput', /^body: is not valid UTF-8/);
    for (const key of ['k\\ud800', 'k\\udfff', '\\udc00k']) {
      shaped(await s.call('POST', '/v1/tasks', { raw: `{"type":"a","idempotencyKey":"${key}"}` }), 400, 'InvalidInput', /^body\.idempotencyKey: contains a lone UTF-16 surrogate/);
    }
    const replacement = await s.call('POST', '/v1/tasks', { body: { type: 'a', idempotencyKey: 'k\ufffd' } });
    assert.equal(replacement.status, 201, 'a real U+FFFD is a key like any other');
    shaped(await s.call('POST', '/v1/tasks', { raw: '{"type":' }), 400, 'InvalidInput', /^body: is not valid JSON/);
    shaped(await s.call('POST', '/v1/tasks', { raw: '' }), 400, 'InvalidInput');
    await assert.rejects(s.store.submit({ type: 'a', idempotencyKey: 'x\ud800' }), /idempotencyKey: got .*; contains a lone UTF-16 surrogate/);
    // The server still answers normally afterwards.
    assert.equal((await s.call('GET', '/health')).status, 200);
  } finally {
    await s.close();
  }
});
