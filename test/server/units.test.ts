// The server's small pure parts: the token bucket (virtual time, including a clock
// that steps back), API key parsing, and seed 003's health table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../../src/core/index.ts';
import type { PoolStats } from '../../src/core/index.ts';
import { TokenBucket, parseApiKeys, poolHealth, combineHealth, isLoopbackHost } from '../../src/server/index.ts';

test('the token bucket allows its burst, then one token per 1/rate seconds, and says how long to wait', async () => {
  const clock = new VirtualClock();
  const bucket = new TokenBucket({ ratePerSec: 4, burst: 2 }, clock);
  assert.deepEqual([bucket.take(), bucket.take(), bucket.take()], [{ isAllowed: true }, { isAllowed: true }, { isAllowed: false, retryAfterMs: 250 }]);
  await clock.advance(249);
  assert.deepEqual(bucket.take(), { isAllowed: false, retryAfterMs: 1 });
  await clock.advance(1);
  assert.deepEqual(bucket.take(), { isAllowed: true });
  await clock.advance(60_000);
  assert.deepEqual([bucket.take(), bucket.take(), bucket.take().isAllowed], [{ isAllowed: true }, { isAllowed: true }, false], 'refills up to the burst only');
});

test('a clock that steps backwards adds no tokens and removes none', () => {
  const clock = new VirtualClock(1_000_000);
  const bucket = new TokenBucket({ ratePerSec: 1, burst: 1 }, clock);
  assert.equal(bucket.take().isAllowed, true);
  clock.set(500_000);
  assert.equal(bucket.take().isAllowed, false);
  clock.set(1_000_999);
  assert.equal(bucket.take().isAllowed, false, 'the step back did not count as elapsed time');
  clock.set(1_001_000);
  assert.equal(bucket.take().isAllowed, true);
});

test('a bad rate or burst is refused naming the setting', () => {
  assert.throws(() => new TokenBucket({ ratePerSec: 0, burst: 1 }, new VirtualClock()), { message: 'rateLimit.ratePerSec: got 0; expected a number > 0' });
  assert.throws(() => new TokenBucket({ ratePerSec: 1, burst: 0.5 }, new VirtualClock()), { message: 'rateLimit.burst: got 0.5; expected a number >= 1' });
});

test('API keys parse from tenant=key pairs, and every bad entry is reported at once with its source', () => {
  assert.deepEqual(parseApiKeys('acme=key-acme-1, globex=key-globex-2\n# comment\n', 'TIDEPOOL_API_KEYS (environment)'), [
    { tenant: 'acme', key: 'key-acme-1' },
    { tenant: 'globex', key: 'key-globex-2' },
  ]);
  assert.throws(
    () => parseApiKeys('acme=short,bad tenant=long-enough-key,nokey,dup=long-enough-key', 'keys.txt'),
    (err: Error & { problems: string[] }) => {
      assert.deepEqual(err.problems, [
        'keys.txt entry 1 (tenant acme): key has 5 characters; expected at least 8',
        'keys.txt entry 2: tenant "bad tenant" is not 1-100 letters, digits, _ . -',
        'keys.txt entry 3: got "nok..." (5 characters); expected tenant=key',
        'keys.txt entry 4 (tenant dup): the same key is given twice',
      ]);
      return true;
    },
  );
});

test('loopback hosts are told apart from the rest', () => {
  const table = [
    { host: '127.0.0.1', isLoopback: true },
    { host: '127.5.0.9', isLoopback: true },
    { host: '::1', isLoopback: true },
    { host: 'localhost', isLoopback: true },
    { host: '0.0.0.0', isLoopback: false },
    { host: '::', isLoopback: false },
    { host: '10.0.0.5', isLoopback: false },
  ];
  for (const row of table) assert.equal(isLoopbackHost(row.host), row.isLoopback, row.host);
});

function stats(fields: Partial<PoolStats>): PoolStats {
  const p = { p50: 0, p95: 0, p99: 0, count: 0 };
  return {
    name: 'p', types: ['t'], status: 'active', total: 1, starting: 0, idle: 1, busy: 0, draining: 0, failedWorkers: 0, target: 1, minWorkers: 1, maxWorkers: 2,
    utilization: 0, queueDepth: 0, completed: 0, failed: 0, failedAttempts: 0, stalls: 0, waitMs: p, runMs: p, throughputPerMin: 0, successRate: 1, health: 'healthy', maxIdleMs: 0,
    kind: 'inline', startupMs: 0, crashes: 0, startFailures: 0, respawns: 0, recycles: 0, respawnBackoffMs: 0, healthReasons: [],
    ...fields,
  };
}

test("/health takes each pool's own verdict (seed 003's table), the worst pool winning, with reasons", () => {
  const table = [
    { name: 'all healthy', pools: [stats({ name: 'a' }), stats({ name: 'b' })], status: 'healthy', reasons: [] },
    {
      name: 'a low success rate',
      pools: [stats({ name: 'a' }), stats({ name: 'llm', health: 'unhealthy', successRate: 0.45, healthReasons: ['success rate 45.0% < 50.0%'] })],
      status: 'unhealthy',
      reasons: ['pool llm: success rate 45.0% < 50.0% (recent window)'],
    },
    {
      name: 'stalls with a good success rate',
      pools: [stats({ name: 'cpu', health: 'degraded', successRate: 0.95, stalls: 1, healthReasons: ['1 stalled worker'] })],
      status: 'degraded',
      reasons: ['pool cpu: 1 stalled worker (recent window)'],
    },
    {
      name: 'the worst of a degraded and an unhealthy pool',
      pools: [stats({ name: 'a', health: 'degraded', successRate: 0.7, healthReasons: ['success rate 70.0% < 80.0%'] }), stats({ name: 'b', health: 'unhealthy', successRate: 0.2, healthReasons: ['success rate 20.0% < 50.0%'] })],
      status: 'unhealthy',
      reasons: ['pool a: success rate 70.0% < 80.0% (recent window)', 'pool b: success rate 20.0% < 50.0% (recent window)'],
    },
  ] as const;
  for (const row of table) {
    const got = combineHealth(row.pools);
    assert.equal(got.status, row.status, row.name);
    assert.deepEqual(got.reasons, row.reasons, row.name);
  }
  assert.deepEqual(poolHealth(stats({})), { status: 'healthy', reasons: [] });
});
