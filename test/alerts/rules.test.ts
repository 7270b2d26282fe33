// The alert rules in virtual time: each fires once when its condition holds and
// resolves when it stops holding.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AlertRules } from '../../src/alerts/rules.ts';
import type { PoolStats } from '../../src/core/index.ts';

function stats(over: Partial<PoolStats> = {}): PoolStats {
  const p = { p50: 0, p95: 0, p99: 0, count: 0 };
  return {
    name: 'gen', types: ['gen'], status: 'active', total: 2, starting: 0, idle: 2, busy: 0, draining: 0, failedWorkers: 0, target: 2, minWorkers: 0, maxWorkers: 4,
    utilization: 0, queueDepth: 0, completed: 0, failed: 0, failedAttempts: 0, stalls: 0, waitMs: p, runMs: p, throughputPerMin: 0, successRate: 1, health: 'healthy',
    maxIdleMs: 0, kind: 'inline', startupMs: 0, crashes: 0, startFailures: 0, respawns: 0, recycles: 0, respawnBackoffMs: 0, healthReasons: [],
    ...over,
  } as PoolStats;
}

const T0 = 1_800_000_000_000;

test('pool_health fires on each change of level and resolves when healthy', () => {
  const r = new AlertRules();
  assert.deepEqual(r.evaluate([{ stats: stats() }], T0), []);
  const degraded = r.evaluate([{ stats: stats({ health: 'degraded', healthReasons: ['success rate 70%'] }) }], T0 + 1000);
  assert.deepEqual(degraded.map((a) => [a.rule, a.state, a.severity]), [['pool_health', 'firing', 'warning']]);
  assert.match(degraded[0]!.message, /degraded: success rate 70%/);
  assert.deepEqual(r.evaluate([{ stats: stats({ health: 'degraded' }) }], T0 + 2000), [], 'no repeat while the level stays');
  const worse = r.evaluate([{ stats: stats({ health: 'unhealthy' }) }], T0 + 3000);
  assert.deepEqual(worse.map((a) => [a.rule, a.state, a.severity]), [['pool_health', 'firing', 'critical']]);
  const back = r.evaluate([{ stats: stats() }], T0 + 4000);
  assert.deepEqual(back.map((a) => [a.rule, a.state]), [['pool_health', 'resolved']]);
  assert.deepEqual(r.firing(), []);
});

test('slo_breach needs N evaluations above sloMs in a row; a pool without sloMs never breaches', () => {
  const r = new AlertRules({ sloBreachEvaluations: 3 });
  const slow = stats({ waitMs: { p50: 900, p95: 2500, p99: 3000, count: 50 } });
  const ok = stats({ waitMs: { p50: 100, p95: 800, p99: 900, count: 50 } });
  assert.deepEqual(r.evaluate([{ stats: slow, sloMs: 2000 }], T0), []);
  assert.deepEqual(r.evaluate([{ stats: slow, sloMs: 2000 }], T0 + 1), []);
  assert.deepEqual(r.evaluate([{ stats: ok, sloMs: 2000 }], T0 + 2), [], 'a good evaluation restarts the count');
  r.evaluate([{ stats: slow, sloMs: 2000 }], T0 + 3);
  r.evaluate([{ stats: slow, sloMs: 2000 }], T0 + 4);
  const fired = r.evaluate([{ stats: slow, sloMs: 2000 }], T0 + 5);
  assert.deepEqual(fired.map((a) => [a.rule, a.state, a.value]), [['slo_breach', 'firing', 2500]]);
  assert.deepEqual(r.evaluate([{ stats: ok, sloMs: 2000 }], T0 + 6).map((a) => [a.rule, a.state]), [['slo_breach', 'resolved']]);
  const none = new AlertRules({ sloBreachEvaluations: 1 });
  assert.deepEqual(none.evaluate([{ stats: slow }], T0), []);
});

test('backlog_growing fires after the depth grew without falling for backlogGrowingMs', () => {
  const r = new AlertRules({ backlogGrowingMs: 60_000 });
  let depth = 10;
  for (let t = 0; t < 60_000; t += 10_000) {
    assert.deepEqual(r.evaluate([{ stats: stats({ queueDepth: depth }) }], T0 + t), []);
    depth += 5;
  }
  const fired = r.evaluate([{ stats: stats({ queueDepth: depth }) }], T0 + 60_000);
  assert.deepEqual(fired.map((a) => [a.rule, a.state]), [['backlog_growing', 'firing']]);
  assert.match(fired[0]!.message, /grew from 10 to 40/);
  const resolved = r.evaluate([{ stats: stats({ queueDepth: depth - 1 }) }], T0 + 70_000);
  assert.deepEqual(resolved.map((a) => [a.rule, a.state]), [['backlog_growing', 'resolved']]);
  // A queue that falls now and then never fires.
  const q = new AlertRules({ backlogGrowingMs: 30_000 });
  for (let t = 0; t < 120_000; t += 5_000) assert.deepEqual(q.evaluate([{ stats: stats({ queueDepth: t % 20_000 === 0 ? 5 : 50 }) }], T0 + t), []);
});

test('dead_tasks counts tasks ending dead over the last minute against deadPerMinute', () => {
  const r = new AlertRules({ deadPerMinute: 10 });
  assert.deepEqual(r.evaluate([{ stats: stats({ failed: 100 }) }], T0), [], 'dead tasks from before the first look do not count');
  assert.deepEqual(r.evaluate([{ stats: stats({ failed: 105 }) }], T0 + 30_000), []);
  const fired = r.evaluate([{ stats: stats({ failed: 112 }) }], T0 + 60_000);
  assert.deepEqual(fired.map((a) => [a.rule, a.state, a.value]), [['dead_tasks', 'firing', 12]]);
  assert.deepEqual(r.evaluate([{ stats: stats({ failed: 112 }) }], T0 + 125_000).map((a) => [a.rule, a.state]), [['dead_tasks', 'resolved']]);
});

test('worker_crash_loop fires while workers keep dying before ready and resolves when the backoff resets', () => {
  const r = new AlertRules();
  assert.deepEqual(r.evaluate([{ stats: stats({ crashes: 1, respawnBackoffMs: 500 }) }], T0), [], 'one crash is not a loop');
  const fired = r.evaluate([{ stats: stats({ crashes: 2, startFailures: 2, respawnBackoffMs: 4000 }) }], T0 + 1000);
  assert.deepEqual(fired.map((a) => [a.rule, a.state]), [['worker_crash_loop', 'firing']]);
  assert.deepEqual(r.evaluate([{ stats: stats({ crashes: 2, startFailures: 2, respawnBackoffMs: 0 }) }], T0 + 2000).map((a) => [a.rule, a.state]), [['worker_crash_loop', 'resolved']]);
});
