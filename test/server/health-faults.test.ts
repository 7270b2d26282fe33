// /health's status code is for probes (issue 8, items 7 and 15): 503 only for
// server-level faults (the store refusing writes, e.g. a full disk; the store not
// answering; the event loop stalled; draining), with those faults named in `faults`;
// pool verdicts stay 200 with status and reasons. Storage errors reach clients
// without the server's file paths.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import type { PoolStats } from '../../src/core/index.ts';
import type { PoolControl } from '../../src/server/index.ts';
import { startServer, tempDir } from './helpers.ts';

function failingPool(): PoolControl {
  const stats = {
    name: 'gen', types: ['gen'], status: 'active', total: 1, starting: 0, idle: 1, busy: 0, draining: 0, failedWorkers: 0, target: 1, minWorkers: 1, maxWorkers: 2,
    utilization: 0, queueDepth: 0, completed: 1, failed: 9, failedAttempts: 27, stalls: 0, waitMs: { p50: 0, p95: 0, p99: 0, count: 0 }, runMs: { p50: 0, p95: 0, p99: 0, count: 0 },
    throughputPerMin: 0, successRate: 0.1, health: 'unhealthy', healthReasons: ['success rate 10% < 50%'], maxIdleMs: 0,
  } as PoolStats;
  return { name: 'gen', stats: () => stats, workers: () => [], policy: () => ({ name: 'fixed:1', preset: null }), update() {}, scaleTo() {} };
}

test('a pool whose tasks fail is named in reasons but /health stays 200: probes must not restart a server for its tasks', async () => {
  const s = await startServer({ pools: () => [failingPool()] });
  try {
    const res = await s.call('GET', '/health');
    assert.equal(res.status, 200);
    assert.equal(res.body.status, 'unhealthy');
    assert.deepEqual(res.body.faults, []);
    assert.ok(res.body.reasons.some((r: string) => r.startsWith('pool gen: ')), JSON.stringify(res.body.reasons));
  } finally {
    await s.close();
  }
});

test('a full disk: writes answer 503 without the database path, /health answers 503 while every write fails, and 200 once writes succeed again', async () => {
  const tmp = tempDir();
  const file = join(tmp.dir, 'full.db');
  const s = await startServer({ storeUrl: `sqlite:${file}` });
  try {
    assert.equal((await s.call('POST', '/v1/tasks', { body: { type: 'x' } })).status, 201);
    // SQLite's own page limit makes the next page a "disk full" (SQLITE_FULL), as a full disk would.
    const db = (s.store as unknown as { db: DatabaseSync }).db;
    const pages = (db.prepare('PRAGMA page_count').get() as { page_count: number }).page_count;
    db.exec(`PRAGMA max_page_count = ${pages}`);
    const big = 'p'.repeat(64 * 1024);
    for (let i = 0; i < 3; i++) {
      const res = await s.call('POST', '/v1/tasks', { body: { type: 'x', payload: big } });
      assert.equal(res.status, 503);
      assert.equal(res.body.error.code, 'StoreUnavailable');
      assert.match(res.body.error.message, /disk is full/);
      assert.ok(!res.body.error.message.includes(tmp.dir), `no server path in ${res.body.error.message}`);
    }
    const sick = await s.call('GET', '/health');
    assert.equal(sick.status, 503);
    assert.equal(sick.body.status, 'unhealthy');
    assert.equal(sick.body.faults.length, 1);
    assert.match(sick.body.faults[0], /^the store refuses writes: the last write, \d+ ms ago, failed \(.*disk is full\) and none succeeded since$/);
    assert.ok(!JSON.stringify(sick.body).includes(tmp.dir), 'no server path in /health');
    assert.ok(s.logs.some((l) => l.includes(file)), 'the log keeps the whole message, path included');
    // Room again: the next write succeeds and /health recovers.
    db.exec('PRAGMA max_page_count = 1073741823');
    assert.equal((await s.call('POST', '/v1/tasks', { body: { type: 'x', payload: big } })).status, 201);
    const well = await s.call('GET', '/health');
    assert.equal(well.status, 200);
    assert.deepEqual(well.body.faults, []);
  } finally {
    await s.close();
    tmp.remove();
  }
});

test('a store that does not answer makes /health 503 naming it', async () => {
  const tmp = tempDir();
  const s = await startServer({ storeUrl: `sqlite:${join(tmp.dir, 'gone.db')}` });
  try {
    await s.store.close();
    const res = await s.call('GET', '/health');
    assert.equal(res.status, 503);
    assert.ok(res.body.faults.includes('the store does not answer reads'), JSON.stringify(res.body));
    const get = await s.call('GET', '/v1/tasks');
    assert.equal(get.status, 503);
    assert.ok(!get.body.error.message.includes(tmp.dir), get.body.error.message);
  } finally {
    await s.server.close();
    tmp.remove();
  }
});

test('a stalled event loop makes /health 503 naming the stall', async () => {
  const s = await startServer({ stallMs: 200 });
  try {
    assert.equal((await s.call('GET', '/health')).status, 200);
    // Block the event loop (the server runs in this process) well past the limit.
    const end = performance.now() + 700;
    while (performance.now() < end);
    const res = await s.call('GET', '/health');
    assert.equal(res.status, 503);
    assert.match(res.body.faults.join('; '), /the event loop stalled: a timer ran \d+ ms late/);
  } finally {
    await s.close();
  }
});
