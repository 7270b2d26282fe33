// Fuzz: >= 10,000 malformed or hostile requests against a real server with keys on a
// real SQLite file. Every one must get a 4xx in the `{error: {code, message}}` shape
// (never a 5xx, never a dropped connection), the server must stay healthy, and no task
// it accepted may be lost. The classes of issue 8: names from Object.prototype (as
// types and idempotency keys, accepted), every numeric field at its range (accepted) and
// past it (refused), nesting depth, bad bytes and lone surrogates, unknown methods and
// CONNECT over raw sockets, and slow clients that never finish their headers or body
// (closed with a 408 while the fuzz runs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { connect } from 'node:net';
import { OBJECT_PROTOTYPE_NAMES, TASK_LIMITS } from '../../src/core/index.ts';
import { parseApiKeys } from '../../src/server/index.ts';
import { rawHttp, startServer, tempDir } from './helpers.ts';

const KEY_A = 'tenant-a-key-0001';
const KEY_B = 'tenant-b-key-0002';
const BODY_LIMIT = 64 * 1024;
const HOSTILE = 10_500;
const VALID_EVERY = 20;
const CONCURRENCY = 24;

/** mulberry32: a small seeded PRNG so a failure can be replayed. */
function rng(seed: number): () => number {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Req {
  kind: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
  /** Sent as is over a raw socket (methods fetch cannot send). */
  raw?: string;
}

const L = TASK_LIMITS;
/** Each numeric field just past its documented range. */
const PAST_RANGE: Array<[string, unknown]> = [
  ['delayMs', L.maxDelayMs + 1], ['delayMs', -1], ['runAt', L.maxRunAtMs + 1], ['runAt', '9999-01-01T00:00:00Z'], ['runAt', 2 ** 53 - 1], ['runAt', -1],
  ['timeoutMs', 2 ** 31], ['timeoutMs', 0], ['maxAttempts', L.maxAttempts + 1], ['maxAttempts', 2 ** 53 - 1], ['maxAttempts', 0],
  ['priority', 2 ** 53], ['priority', -(2 ** 53)],
];
/** Each numeric field at its documented bound: accepted. */
const AT_RANGE: Array<[string, unknown]> = [
  ['delayMs', L.maxDelayMs], ['runAt', L.maxRunAtMs], ['runAt', new Date(L.maxRunAtMs).toISOString()], ['timeoutMs', 2 ** 31 - 1], ['maxAttempts', L.maxAttempts], ['maxAttempts', 1], ['priority', L.maxPriority], ['priority', -L.maxPriority],
];

function nestedJson(depth: number): string {
  return '['.repeat(depth) + ']'.repeat(depth);
}

const WEIRD_VALUES: unknown[] = [
  null, true, false, -1, 0, 1.5, -0.0001, 2 ** 53, -(2 ** 53), 1e308, -1e308, '', ' ', 'x'.repeat(5000), '12', '1e3', [], [1, 2], {}, { a: { b: { c: [] } } },
  '\u0000', '\ud800', '<script>alert(1)</script>', "'; DROP TABLE tasks; --", '../../etc/passwd', 'NaN', 'Infinity',
];
const FIELDS = ['type', 'payload', 'priority', 'delayMs', 'runAt', 'maxAttempts', 'timeoutMs', 'idempotencyKey'];

function makeGenerator(random: () => number, foreignId: string) {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
  const auth = (key = KEY_A) => ({ authorization: `Bearer ${key}` });
  const json = (value: unknown, key = KEY_A): Pick<Req, 'headers' | 'body'> => ({ headers: { ...auth(key), 'content-type': 'application/json' }, body: JSON.stringify(value) });
  const kinds: Array<() => Req> = [
    // Bad JSON.
    () => ({ kind: 'bad-json', method: 'POST', path: '/v1/tasks', headers: { ...auth(), 'content-type': 'application/json' }, body: pick(['{', '{"type":', '{"type":"a",}', 'nul', '{"type":"a"}}', '\ufeff{"type":"a"', "{'type':'a'}", '{"type":"a","payload":NaN}', '[', '"', '{"a":1e999999}x', '\u0000\u0001\u0002']) }),
    () => ({ kind: 'bad-json-bytes', method: 'POST', path: '/v1/tasks', headers: { ...auth(), 'content-type': 'application/json' }, body: Uint8Array.from({ length: 1 + Math.floor(random() * 200) }, () => Math.floor(random() * 256)) }),
    // Wrong types and out-of-range numbers in a field.
    () => {
      const field = pick(FIELDS);
      const value = pick(WEIRD_VALUES);
      const body: Record<string, unknown> = { type: 'fuzz', [field]: value };
      // Keep only combinations that are invalid by construction.
      if (field === 'payload') body.maxAttempts = -1;
      if (field === 'type' && typeof value === 'string' && /^[A-Za-z0-9_.:-]{1,200}$/.test(value)) body.type = value + ' !';
      if (field === 'idempotencyKey' && typeof value === 'string' && value.length >= 1 && value.length <= 500) body.idempotencyKey = 7;
      if (field === 'priority' && typeof value === 'number' && Number.isSafeInteger(value)) body.priority = 1.5;
      if ((field === 'delayMs' || field === 'runAt') && typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) body[field] = -5;
      if ((field === 'maxAttempts' || field === 'timeoutMs') && typeof value === 'number' && Number.isSafeInteger(value) && value >= 1) body[field] = 0;
      return { kind: 'wrong-type', method: 'POST', path: '/v1/tasks', ...json(body) };
    },
    () => ({ kind: 'huge-number', method: 'POST', path: '/v1/tasks', headers: { ...auth(), 'content-type': 'application/json' }, body: `{"type":"fuzz","${pick(['delayMs', 'maxAttempts', 'timeoutMs', 'runAt'])}":${pick(['9007199254740992', '1e400', '-1e400', '123456789012345678901234567890', '-9007199254740992'])}}` }),
    () => ({ kind: 'huge-string', method: 'POST', path: '/v1/tasks', ...json({ type: 'x'.repeat(201 + Math.floor(random() * 50_000)) }) }),
    () => ({ kind: 'huge-key', method: 'POST', path: '/v1/tasks', ...json({ type: 'fuzz', idempotencyKey: 'k'.repeat(501 + Math.floor(random() * 50_000)) }) }),
    // Unknown fields and prototype pollution.
    () => ({ kind: 'unknown-field', method: 'POST', path: '/v1/tasks', ...json({ type: 'fuzz', [pick(['tenant', 'status', 'id', 'attempts', 'extra', 'Type', 'payload ', 'result'])]: 'x' }) }),
    () => ({ kind: 'proto', method: 'POST', path: '/v1/tasks', headers: { ...auth(), 'content-type': 'application/json' }, body: pick(['{"type":"fuzz","__proto__":{"admin":true}}', '{"type":"fuzz","constructor":{"prototype":{"x":1}}}', '{"__proto__":{"type":"fuzz"}}']) }),
    () => ({ kind: 'not-an-object', method: 'POST', path: '/v1/tasks', ...json(pick([null, 1, 'task', [], [{ type: 'fuzz' }], true])) }),
    // Batches that must be refused whole.
    () => ({ kind: 'batch', method: 'POST', path: '/v1/tasks/batch', ...json(pick([{ tasks: [] }, { tasks: {} }, { tasks: [{ type: 'fuzz' }, { type: 5 }] }, { tasks: Array.from({ length: 1001 }, () => ({ type: 'fuzz' })) }, { task: [{ type: 'fuzz' }] }, {}])) }),
    // Path tricks.
    () => ({ kind: 'path', method: pick(['GET', 'POST']), path: pick(['/v1/tasks/../../etc/passwd', '/v1/tasks/%2e%2e%2f%2e%2e%2fetc%2fpasswd', '/v1/tasks/%00', '/v1//tasks', '/v1/tasks/' + 'a'.repeat(300), '/v1/tasks/a%2Fb/cancel', '/v1/tasks/\u00e9t\u00e9', '/v1/pools/..%2f..%2f', '/v1/tasks/%', '/v1/tasks/%zz', '/V1/TASKS', '/v1/tasks;x=1', '/.env', '/dashboard/../../package.json', '/dashboard/%2e%2e/%2e%2e/package.json']), headers: auth() }),
    // Keys.
    () => ({ kind: 'no-key', method: pick(['GET', 'POST']), path: pick(['/v1/tasks', '/v1/pools', '/v1/events', `/v1/tasks/${foreignId}`]), headers: {} }),
    () => ({ kind: 'bad-key', method: 'GET', path: '/v1/tasks', headers: { authorization: pick(['Bearer', 'Bearer ', `Bearer ${KEY_A}x`, `Basic ${KEY_A}`, `bearer  ${'z'.repeat(5000)}`, `${KEY_A}`, 'Bearer \u00ff\u00fe']) } }),
    () => ({ kind: 'other-tenant', method: pick(['GET', 'POST']), path: pick([`/v1/tasks/${foreignId}`, `/v1/tasks/${foreignId}/cancel`, `/v1/tasks/${foreignId}/retry`, `/v1/tasks/${foreignId}?wait=10`]), headers: auth(KEY_A) }),
    // Oversized bodies.
    () => ({ kind: 'oversized', method: 'POST', path: pick(['/v1/tasks', '/v1/tasks/batch']), headers: { ...auth(), 'content-type': 'application/json' }, body: JSON.stringify({ type: 'fuzz', payload: 'p'.repeat(BODY_LIMIT + 1 + Math.floor(random() * BODY_LIMIT)) }) }),
    // Wrong methods and media types.
    () => ({ kind: 'method', method: pick(['DELETE', 'PUT', 'PATCH']), path: pick(['/v1/tasks', '/v1/tasks/batch', '/health']), headers: auth() }),
    () => ({ kind: 'media-type', method: 'POST', path: '/v1/tasks', headers: { ...auth(), 'content-type': pick(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml']) }, body: pick(['type=fuzz', '<task/>', '{"type":"fuzz"}']) }),
    // Bad query parameters.
    () => ({ kind: 'query', method: 'GET', path: pick(['/v1/tasks?limit=0', '/v1/tasks?limit=1001', '/v1/tasks?limit=abc', '/v1/tasks?status=done', '/v1/tasks?cursor=garbage!', '/v1/tasks?cursor=' + 'c'.repeat(300), '/v1/tasks?foo=bar', '/v1/tasks?type=a%20b', '/v1/events?from=yesterday', '/v1/events?limit=-1', '/v1/metrics/history?to=1e99', '/v1/tasks/x?wait=-1', '/v1/tasks/x?wait=999999999', '/v1/events?pool=']), headers: auth() }),
    // Bad pool changes.
    () => ({ kind: 'pool', method: pick(['PATCH', 'POST']), path: '/v1/pools/nope' + pick(['', '/scale']), ...json(pick([{ min: -1 }, { count: 'all' }, { count: -1 }, { min: 5, max: 1 }, { policy: '' }, { extra: true }, {}])) }),
    () => ({ kind: 'pool-range', method: pick(['PATCH', 'POST']), path: '/v1/pools/' + pick(OBJECT_PROTOTYPE_NAMES) + pick(['', '/scale']), ...json(pick([{ max: 4_294_967_296 }, { max: 100_001 }, { count: 2_147_483_648 }, { min: 100_001 }])) }),
    // Every numeric field just past its range.
    () => {
      const [field, value] = pick(PAST_RANGE);
      return { kind: 'past-range', method: 'POST', path: pick(['/v1/tasks', '/v1/tasks/batch']), ...json({ type: 'fuzz', [field]: value }) };
    },
    // Nesting deeper than the payload limit, up to far past any stack.
    () => ({ kind: 'depth', method: 'POST', path: '/v1/tasks', headers: { ...auth(), 'content-type': 'application/json' }, body: `{"type":"fuzz","payload":${nestedJson(L.maxPayloadDepth + 1 + Math.floor(random() * 20_000))}}` }),
    // Bytes that are not UTF-8, and keys with lone surrogates.
    () => ({ kind: 'bad-utf8', method: 'POST', path: '/v1/tasks', headers: { ...auth(), 'content-type': 'application/json' }, body: Buffer.concat([Buffer.from('{"type":"fuzz","idempotencyKey":"k'), Buffer.from([pick([0xff, 0xc0, 0xed, 0x80])]), Buffer.from('"}')]) }),
    () => ({ kind: 'lone-surrogate', method: 'POST', path: '/v1/tasks', headers: { ...auth(), 'content-type': 'application/json' }, body: `{"type":"fuzz","idempotencyKey":"${pick(['\\ud800', '\\udfff', 'a\\udbff', '\\udc00b'])}"}` }),
    // Prototype keys deep in a payload.
    () => ({ kind: 'proto-deep', method: 'POST', path: '/v1/tasks', headers: { ...auth(), 'content-type': 'application/json' }, body: `{"type":"fuzz","payload":{"a":[{"b":{"__proto__":{"polluted":1}}}]}}` }),
    // Methods HTTP does not know, and CONNECT, over a raw socket.
    () => ({ kind: 'raw-method', method: 'RAW', path: '', headers: {}, raw: `${pick(['FOO', 'CONNECT', 'G3T', 'M-SEARCH'])} ${pick(['/v1/tasks', 'example.com:443', '*'])} HTTP/1.1\r\nHost: x\r\n\r\n` }),
  ];
  return () => pick(kinds)();
}

test('10,000+ malformed and hostile requests all get a 4xx, the server stays healthy and loses no accepted task', { timeout: 240_000 }, async () => {
  const tmp = tempDir();
  const s = await startServer({ storeUrl: `sqlite:${join(tmp.dir, 'fuzz.db')}`, apiKeys: parseApiKeys(`a=${KEY_A},b=${KEY_B}`, 'test'), bodyLimitBytes: BODY_LIMIT, headersTimeoutMs: 3000, requestTimeoutMs: 5000 });
  try {
    const foreign = await s.call('POST', '/v1/tasks', { key: KEY_B, body: { type: 'fuzz', payload: 'b-owned' } });
    assert.equal(foreign.status, 201);
    const next = makeGenerator(rng(20261123), foreign.body.id);
    const accepted: string[] = [foreign.body.id];
    /** Accepted tasks by type (the valid submits use the prototype names as types too). */
    const acceptedByType = new Map<string, Set<string>>([['fuzz', new Set([foreign.body.id])]]);
    // Slow clients that never finish their headers or their body, open through the whole run.
    const slow = Array.from({ length: 60 }, (_, k) => {
      const { hostname, port } = new URL(s.url);
      const socket = connect(Number(port), hostname);
      let data = '';
      const closed = new Promise<string>((resolve) => {
        socket.on('data', (c) => (data += c.toString('latin1')));
        socket.on('close', () => resolve(data));
        socket.on('error', () => undefined);
      });
      socket.write(k % 2 ? `POST /v1/tasks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${KEY_A}\r\n` : `POST /v1/tasks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${KEY_A}\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"type":"fuzz",`);
      return closed;
    });
    const bad: string[] = [];
    const byKind = new Map<string, number>();
    let hostile = 0;
    let valid = 0;
    let i = 0;

    async function worker(): Promise<void> {
      while (hostile < HOSTILE) {
        const n = i++;
        if (n % VALID_EVERY === 0) {
          valid++;
          // Every third valid submit carries a name from Object.prototype (type and key), every third a number at its bound.
          const v = valid % 3;
          const name = OBJECT_PROTOTYPE_NAMES[valid % OBJECT_PROTOTYPE_NAMES.length];
          const [field, value] = AT_RANGE[valid % AT_RANGE.length];
          const submit = v === 1 ? { type: name, idempotencyKey: name, payload: { n } } : v === 2 ? { type: 'fuzz', [field]: value, payload: { n } } : { type: 'fuzz', payload: { n } };
          const res = await fetch(s.url + '/v1/tasks', { method: 'POST', headers: { authorization: `Bearer ${KEY_A}`, 'content-type': 'application/json' }, body: JSON.stringify(submit) });
          const body = (await res.json()) as { id: string };
          const expected = v === 1 && acceptedByType.has(name) ? 200 : 201;
          if (res.status !== expected && !(v === 1 && res.status === 200)) bad.push(`valid submit ${n} ${JSON.stringify(submit).slice(0, 120)}: ${res.status} ${JSON.stringify(body)}`);
          else {
            accepted.push(body.id);
            const set = acceptedByType.get(submit.type) ?? new Set<string>();
            set.add(body.id);
            acceptedByType.set(submit.type, set);
          }
          continue;
        }
        hostile++;
        const req = next();
        byKind.set(req.kind, (byKind.get(req.kind) ?? 0) + 1);
        try {
          let status: number;
          let text: string;
          if (req.raw !== undefined) {
            const res = await rawHttp(s.url, req.raw);
            status = res.status;
            text = typeof res.body === 'string' ? res.body : JSON.stringify(res.body);
          } else {
            const res = await fetch(s.url + req.path, { method: req.method, headers: req.headers, body: req.body });
            status = res.status;
            text = await res.text();
          }
          let shaped = false;
          try {
            const parsed = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
            shaped = Object.keys(parsed).length === 1 && typeof parsed.error?.code === 'string' && typeof parsed.error?.message === 'string';
          } catch {
            shaped = false;
          }
          if (status < 400 || status >= 500) bad.push(`${req.kind} ${req.method} ${req.path.slice(0, 80)}: ${status} ${text.slice(0, 200)}`);
          else if (!shaped) bad.push(`${req.kind} ${req.method} ${req.path.slice(0, 80)}: ${status} not in the {error: {code, message}} shape: ${text.slice(0, 200)}`);
          else if (/\/work\/|\/tmp\/|node_modules|\.ts:\d|\n\s+at /.test(text)) bad.push(`${req.kind}: internal detail leaked: ${text.slice(0, 200)}`);
        } catch (err) {
          bad.push(`${req.kind} ${req.method} ${req.path.slice(0, 80)}: connection failed: ${(err as Error).message} ${String((err as { cause?: Error }).cause?.message ?? '')}`);
        }
      }
    }
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));

    assert.deepEqual(bad.slice(0, 20), [], `${bad.length} bad answers`);
    assert.ok(hostile >= 10_000, `${hostile} hostile requests`);
    assert.equal(byKind.size, 26, `every kind of hostile request was sent: ${[...byKind.keys()].join(', ')}`);
    // The slow clients were all cut off with a 408 in the error shape.
    for (const raw of await Promise.all(slow)) assert.match(raw, /^HTTP\/1\.1 408 [^]*"code":"RequestTimeout"/, raw.slice(0, 200));
    const health = await s.call('GET', '/health');
    assert.equal(health.status, 200);
    assert.equal(health.body.status, 'healthy');
    assert.deepEqual(health.body.faults, []);
    // Every accepted task reads back over the API, one by one and page by page.
    for (const id of new Set(accepted)) {
      const got = await s.call('GET', `/v1/tasks/${id}`, { key: id === foreign.body.id ? KEY_B : KEY_A });
      assert.equal(got.status, 200, `accepted task ${id} reads back: ${JSON.stringify(got.body)}`);
    }
    let listed = 0;
    for (let cursor: string | null = null, pages = 0; pages === 0 || cursor; pages++) {
      const page = await s.call('GET', `/v1/tasks?limit=1000${cursor ? `&cursor=${cursor}` : ''}`, { key: KEY_A });
      assert.equal(page.status, 200);
      listed += page.body.tasks.length;
      cursor = page.body.nextCursor;
    }
    assert.equal(listed, new Set(accepted).size - 1, "tenant a's list pages hold every task it had accepted");
    const counts = await s.store.counts();
    for (const [type, ids] of acceptedByType) assert.equal(counts.byType[type].queued, ids.size, `type ${type}: no task beyond the accepted ones was stored, none lost`);
    assert.equal(counts.byStatus.queued, new Set(accepted).size);
    assert.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype was not polluted');
    process.stderr.write(`fuzz: ${hostile} hostile requests (${[...byKind].map(([k, n]) => `${k} ${n}`).join(', ')}), ${valid} valid submits, all accepted tasks stored\n`);
  } finally {
    await s.close();
    tmp.remove();
  }
});
