// The /v1/tasks API on a real server (ephemeral port) over a real store.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openStore } from '../../src/store/index.ts';
import { startServer, tempDir } from './helpers.ts';
import { TaskSchema } from '../../src/server/schemas.ts';

const MAX = Number.MAX_SAFE_INTEGER;

test('POST /v1/tasks answers 201 with the task object itself, no envelope', async () => {
  const s = await startServer();
  try {
    const res = await s.call('POST', '/v1/tasks', { body: { type: 'echo', payload: { n: 1 }, priority: 5 } });
    assert.equal(res.status, 201);
    assert.equal(typeof res.body.id, 'string');
    assert.equal(res.body.status, 'queued');
    assert.deepEqual(res.body.payload, { n: 1 });
    assert.equal(res.body.priority, 5);
    assert.equal(res.body.attempts, 0);
    assert.ok(res.body.maxAttempts >= 3, 'maxAttempts defaults to at least 3');
    assert.equal(typeof res.body.createdAtMs, 'number');
    const stored = await s.store.get(res.body.id);
    assert.equal(stored?.type, 'echo');
  } finally {
    await s.close();
  }
});

test('a repeated idempotency key answers 200 with the first task whatever the rest of the body says', async () => {
  const s = await startServer();
  try {
    const first = await s.call('POST', '/v1/tasks', { body: { type: 'echo', payload: 1, idempotencyKey: 'order-42' } });
    const again = await s.call('POST', '/v1/tasks', { body: { type: 'other', payload: 2, priority: 9, idempotencyKey: 'order-42' } });
    assert.equal(first.status, 201);
    assert.equal(again.status, 200);
    assert.equal(again.body.id, first.body.id);
    assert.equal(again.body.type, 'echo');
    assert.equal(again.body.payload, 1);
  } finally {
    await s.close();
  }
});

test('a task may name a region (POST /v1/tasks and /v1/tasks/batch); the task JSON carries it, null when none; a bad one is a 400 naming the field', async () => {
  const s = await startServer();
  try {
    const one = await s.call('POST', '/v1/tasks', { body: { type: 'echo', region: 'eu-west.1' } });
    assert.equal(one.status, 201);
    assert.equal(one.body.region, 'eu-west.1');
    assert.equal((await s.call('GET', `/v1/tasks/${one.body.id}`)).body.region, 'eu-west.1');
    const plain = await s.call('POST', '/v1/tasks', { body: { type: 'echo' } });
    assert.equal(plain.body.region, null);
    const batch = await s.call('POST', '/v1/tasks/batch', { body: { tasks: [{ type: 'echo', region: 'us_east' }, { type: 'echo' }] } });
    assert.equal(batch.status, 201);
    assert.deepEqual(batch.body.tasks.map((t: { region: string | null }) => t.region), ['us_east', null]);
    for (const bad of ['', 'eu west', 'x'.repeat(101), 7]) {
      const res = await s.call('POST', '/v1/tasks', { body: { type: 'echo', region: bad } });
      assert.equal(res.status, 400, JSON.stringify(bad));
      assert.match(res.body.error.message, /^body\.region: /);
    }
    const badBatch = await s.call('POST', '/v1/tasks/batch', { body: { tasks: [{ type: 'echo' }, { type: 'echo', region: 'a b' }] } });
    assert.equal(badBatch.status, 400);
    assert.match(badBatch.body.error.message, /^body\.tasks\[1\]\.region: |^body\.tasks\.1\.region: /);
    assert.equal((await s.store.counts()).byStatus.queued, 4);
  } finally {
    await s.close();
  }
});

test('runAt takes epoch milliseconds or an ISO 8601 string, and not together with delayMs', async () => {
  const s = await startServer();
  try {
    const a = await s.call('POST', '/v1/tasks', { body: { type: 'echo', runAt: 4_102_444_800_000 } });
    assert.equal(a.status, 201);
    assert.equal(a.body.runAtMs, 4_102_444_800_000);
    const b = await s.call('POST', '/v1/tasks', { body: { type: 'echo', runAt: '2100-01-01T00:00:00Z' } });
    assert.equal(b.status, 201);
    assert.equal(b.body.runAtMs, 4_102_444_800_000);
    const c = await s.call('POST', '/v1/tasks', { body: { type: 'echo', runAt: 'tomorrow' } });
    assert.equal(c.status, 400);
    assert.match(c.body.error.message, /^body\.runAt: /);
    const d = await s.call('POST', '/v1/tasks', { body: { type: 'echo', runAt: 5, delayMs: 5 } });
    assert.equal(d.status, 400);
    assert.equal(d.body.error.message, 'body.runAt: give delayMs or runAt, not both');
  } finally {
    await s.close();
  }
});

test('integers must lie within +/-(2^53 - 1) and only priority may be negative; the 400 names the field', async () => {
  const s = await startServer();
  try {
    const table = [
      { name: 'priority at the lowest bound', body: { type: 'e', priority: -MAX }, status: 201 },
      { name: 'priority at the highest bound', body: { type: 'e', priority: MAX }, status: 201 },
      { name: 'priority below the bound', body: { type: 'e', priority: -MAX - 2 }, status: 400, field: 'body.priority' },
      { name: 'huge maxAttempts', body: { type: 'e', maxAttempts: 1e300 }, status: 400, field: 'body.maxAttempts' },
      { name: 'negative delayMs', body: { type: 'e', delayMs: -1 }, status: 400, field: 'body.delayMs' },
      { name: 'fractional timeoutMs', body: { type: 'e', timeoutMs: 1.5 }, status: 400, field: 'body.timeoutMs' },
      { name: 'zero maxAttempts', body: { type: 'e', maxAttempts: 0 }, status: 400, field: 'body.maxAttempts' },
      { name: 'negative runAt', body: { type: 'e', runAt: -5 }, status: 400, field: 'body.runAt' },
      { name: 'string priority', body: { type: 'e', priority: '5' }, status: 400, field: 'body.priority' },
      { name: 'missing type', body: { payload: 1 }, status: 400, field: 'body.type' },
      { name: 'unknown field', body: { type: 'e', colour: 'red' }, status: 400, field: 'body' },
    ];
    for (const row of table) {
      const res = await s.call('POST', '/v1/tasks', { body: row.body });
      assert.equal(res.status, row.status, row.name);
      if (row.field) {
        assert.equal(res.body.error.code, 'InvalidInput', row.name);
        assert.ok(res.body.error.message.startsWith(row.field + ':') || res.body.error.message.startsWith(row.field + ' '), `${row.name}: ${res.body.error.message}`);
      }
    }
    const unknown = await s.call('POST', '/v1/tasks', { body: { type: 'e', colour: 'red' } });
    assert.equal(unknown.body.error.message, 'body: Unrecognized key: "colour"');
  } finally {
    await s.close();
  }
});

test('POST /v1/tasks/batch stores up to 1,000 tasks, and nothing when one item is bad', async () => {
  const s = await startServer();
  try {
    const ok = await s.call('POST', '/v1/tasks/batch', { body: { tasks: Array.from({ length: 1000 }, (_, i) => ({ type: 'b', payload: i })) } });
    assert.equal(ok.status, 201);
    assert.equal(ok.body.tasks.length, 1000);
    assert.equal(ok.body.created.every(Boolean), true);
    // The batch answer carries exactly the documented task fields (it skips the zod serializer).
    assert.deepEqual(Object.keys(ok.body.tasks[0]).sort(), Object.keys(TaskSchema.shape).sort());
    assert.deepEqual(ok.body.tasks[7].payload, 7);
    const bad = await s.call('POST', '/v1/tasks/batch', { body: { tasks: [{ type: 'c' }, { type: 'c', priority: 'high' }] } });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /^body\.tasks\[1\]\.priority: /);
    const tooMany = await s.call('POST', '/v1/tasks/batch', { body: { tasks: Array.from({ length: 1001 }, () => ({ type: 'c' })) } });
    assert.equal(tooMany.status, 400);
    assert.match(tooMany.body.error.message, /^body\.tasks: Too big: expected array to have <=1000 items/);
    const counts = await s.store.counts();
    assert.equal(counts.byType.c, undefined, 'no task of a refused batch was stored');
  } finally {
    await s.close();
  }
});

test('GET /v1/tasks/{id}?wait=MS answers as soon as the task ends', async () => {
  const s = await startServer();
  try {
    const t = await s.call('POST', '/v1/tasks', { body: { type: 'w', payload: 3 } });
    const started = performance.now();
    const held = s.call('GET', `/v1/tasks/${t.body.id}?wait=20000`);
    const [claimed] = await s.store.claim({ workerId: 'test', types: ['w'], limit: 1, leaseMs: 10_000 });
    await s.store.complete(claimed.id, claimed.leaseToken, { doubled: 6 });
    const res = await held;
    assert.equal(res.status, 200);
    assert.equal(res.body.status, 'succeeded');
    assert.deepEqual(res.body.result, { doubled: 6 });
    assert.ok(performance.now() - started < 10_000);
  } finally {
    await s.close();
  }
});

test('POST /v1/tasks?wait=MS returns the task unfinished once MS passes', async () => {
  const s = await startServer();
  try {
    const started = performance.now();
    const res = await s.call('POST', '/v1/tasks?wait=300', { body: { type: 'nobody-serves-this' } });
    const elapsedMs = performance.now() - started;
    assert.equal(res.status, 201);
    assert.equal(res.body.status, 'queued');
    assert.ok(elapsedMs >= 250, `held ${elapsedMs} ms`);
    const bad = await s.call('POST', '/v1/tasks?wait=-1', { body: { type: 'x' } });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /^query\.wait: /);
  } finally {
    await s.close();
  }
});

test('GET /v1/tasks lists with status, type, limit and cursor', async () => {
  const s = await startServer();
  try {
    for (let i = 0; i < 5; i++) await s.call('POST', '/v1/tasks', { body: { type: 'l1', payload: i } });
    await s.call('POST', '/v1/tasks', { body: { type: 'l2' } });
    const seen = new Set<string>();
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: { status: number; body: any } = await s.call('GET', `/v1/tasks?type=l1&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      assert.equal(res.status, 200);
      for (const t of res.body.tasks) {
        assert.equal(t.type, 'l1');
        seen.add(t.id);
      }
      cursor = res.body.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    assert.equal(seen.size, 5);
    assert.equal(pages, 3);
    const queued = await s.call('GET', '/v1/tasks?status=queued&limit=1000');
    assert.equal(queued.body.tasks.length, 6);
    const bad = await s.call('GET', '/v1/tasks?status=done');
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /^query\.status: Invalid option/);
  } finally {
    await s.close();
  }
});

test('cancel ends a waiting task, and a second cancel is a 409', async () => {
  const s = await startServer();
  try {
    const t = await s.call('POST', '/v1/tasks', { body: { type: 'c' } });
    const res = await s.call('POST', `/v1/tasks/${t.body.id}/cancel`);
    assert.equal(res.status, 200);
    assert.equal(res.body.status, 'cancelled');
    const again = await s.call('POST', `/v1/tasks/${t.body.id}/cancel`);
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, 'TaskConflict');
    const missing = await s.call('POST', '/v1/tasks/doesnotexist/cancel');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.message, 'task "doesnotexist" not found');
  } finally {
    await s.close();
  }
});

test('retry re-queues a dead task, which the dead-letter view lists', async () => {
  const s = await startServer();
  try {
    const t = await s.call('POST', '/v1/tasks', { body: { type: 'd', maxAttempts: 1 } });
    const [claimed] = await s.store.claim({ workerId: 'test', types: ['d'], limit: 1, leaseMs: 10_000 });
    await s.store.fail(claimed.id, claimed.leaseToken, { message: 'boom' });
    const dead = await s.call('GET', '/v1/tasks?status=dead');
    assert.deepEqual(dead.body.tasks.map((x: { id: string }) => x.id), [t.body.id]);
    assert.equal(dead.body.tasks[0].error.message, 'boom');
    const res = await s.call('POST', `/v1/tasks/${t.body.id}/retry`);
    assert.equal(res.status, 200);
    assert.equal(res.body.status, 'queued');
    const again = await s.call('POST', `/v1/tasks/${t.body.id}/retry`);
    assert.equal(again.status, 409);
  } finally {
    await s.close();
  }
});

test('an unknown route or a path trick is a 404 that echoes no internal path', async () => {
  const s = await startServer();
  try {
    for (const path of ['/v1/nothing', '/v1/tasks/../../etc/passwd', '/v1/tasks/%2e%2e%2fetc', '/v1/tasks/a%00b']) {
      const res = await s.call('GET', path);
      assert.ok(res.status === 404 || res.status === 400, `${path}: ${res.status}`);
      assert.doesNotMatch(JSON.stringify(res.body), /\/work\/|node_modules|\.ts:|at [A-Za-z]+ \(/);
    }
  } finally {
    await s.close();
  }
});

test('an error inside the server is a 500 with a generic message and no stack trace', async () => {
  const s = await startServer({
    pools: () => {
      throw new Error('pool table broken at /srv/tidepool/src/pools/inproc/pool.ts:120');
    },
  });
  try {
    const res = await s.call('GET', '/v1/pools');
    assert.equal(res.status, 500);
    assert.deepEqual(res.body, { error: { code: 'Internal', message: 'internal error; the server log has the details' } });
  } finally {
    await s.close();
  }
});

test('a ?wait request also sees a task ended by another process sharing the SQLite file', async () => {
  const tmp = tempDir();
  const s = await startServer({ storeUrl: `sqlite:${join(tmp.dir, 'shared.db')}` });
  const other = await openStore(`sqlite:${join(tmp.dir, 'shared.db')}`);
  try {
    const t = await s.call('POST', '/v1/tasks', { body: { type: 'elsewhere' } });
    const held = s.call('GET', `/v1/tasks/${t.body.id}?wait=20000`);
    const [claimed] = await other.claim({ workerId: 'other-process', types: ['elsewhere'], limit: 1, leaseMs: 10_000 });
    await other.complete(claimed.id, claimed.leaseToken, 'done elsewhere');
    const started = performance.now();
    const res = await held;
    assert.equal(res.body.status, 'succeeded');
    assert.equal(res.body.result, 'done elsewhere');
    assert.ok(performance.now() - started < 5000, 'answered on a re-check, not at the end of the wait');
  } finally {
    await other.close();
    await s.close();
    tmp.remove();
  }
});
