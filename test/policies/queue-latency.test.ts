// Seed 001 (the Python worker pool's make_scale_decision), with its own numbers:
// TARGET_QUEUE_DEPTH 50, TARGET_P95_LATENCY_MS 2000, +2 / -1, 1-12 workers, 1500 ms interval.
import { test } from 'node:test';
import { runRow, runSteps, type Row } from './helpers.ts';

// Ten workers, seven busy (load 70%), nothing queued, p95 wait 1000 ms: every down-condition
// holds exactly on its edge. Each row below breaks one thing.
const calm = { currentTarget: 10, queueDepth: 15, workers: { busy: 7, idle: 3 }, waitMs: { p95: 1000 } };

const rows: Row[] = [
  {
    name: 'queue depth above the target scales up by 2',
    obs: { currentTarget: 4, queueDepth: 51, workers: { busy: 2, idle: 2 } },
    expect: { action: 'scale_up', target: 6, code: 'scale_up_depth', reason: ['depth 51 > target 50', '+2'] },
    why: 'up-trigger 1: queue_depth > TARGET_QUEUE_DEPTH',
  },
  {
    name: 'p95 latency above the target scales up by 2',
    obs: { currentTarget: 4, queueDepth: 3, workers: { busy: 2, idle: 2 }, waitMs: { p95: 2001 } },
    expect: { action: 'scale_up', target: 6, code: 'scale_up_latency', reason: ['p95 wait 2001 ms > target 2000 ms'] },
    why: 'up-trigger 2: p95_latency_ms > TARGET_P95_LATENCY_MS',
  },
  {
    name: 'all workers busy with a backlog scales up by 2',
    obs: { currentTarget: 4, queueDepth: 1, workers: { busy: 4, idle: 0 } },
    expect: { action: 'scale_up', target: 6, code: 'scale_up_all_busy', reason: ['all 4 workers busy (4) with 1 queued'] },
    why: 'up-trigger 3: in_flight_jobs >= current_workers and queue_depth > 0',
  },
  {
    name: 'all workers busy without a backlog is not a trigger',
    obs: { currentTarget: 4, queueDepth: 0, workers: { busy: 4, idle: 0 } },
    expect: { action: 'none', target: 4, code: 'steady', reason: ['load 100% > 70%'] },
    why: 'trigger 3 needs queue_depth > 0, and load 100% blocks a scale-down',
  },
  {
    name: 'starting workers keep the all-busy trigger quiet',
    obs: { currentTarget: 6, queueDepth: 2, workers: { busy: 4, idle: 0, starting: 2 } },
    expect: { action: 'none', target: 6, code: 'steady', reason: ['load 100% > 70%'] },
    why: 'busy 4 < current 6: two workers are on their way; and they are not idle capacity to remove',
  },
  {
    name: 'all three down-conditions on their edges remove one worker',
    obs: calm,
    expect: { action: 'scale_down', target: 9, code: 'scale_down_low_load', reason: ['depth 15 <= 15', 'p95 wait 1000 ms <= 1000 ms', 'load 70% <= 70%', '-1'] },
    why: 'queue <= 50 x 0.3, p95 <= 2000 x 0.5, in_flight / workers <= 0.7',
  },
  {
    name: 'a queue of 16 blocks the scale-down',
    obs: { ...calm, queueDepth: 16 },
    expect: { action: 'none', target: 10, code: 'steady', reason: ['depth 16 > 15 (30% of target)'] },
    why: 'down-condition 1 fails: 16 > 50 x 0.3',
  },
  {
    name: 'a p95 of 1001 ms blocks the scale-down',
    obs: { ...calm, waitMs: { p95: 1001 } },
    expect: { action: 'none', target: 10, code: 'steady', reason: ['p95 wait 1001 ms > 1000 ms (50% of target)'] },
    why: 'down-condition 2 fails: 1001 > 2000 x 0.5',
  },
  {
    name: 'a load of 80% blocks the scale-down',
    obs: { ...calm, workers: { busy: 8, idle: 2 } },
    expect: { action: 'none', target: 10, code: 'steady', reason: ['load 80% > 70%'] },
    why: 'down-condition 3 fails: 8 / 10 > 0.7',
  },
  {
    name: '11 workers + 2 capped at 12',
    obs: { currentTarget: 11, queueDepth: 80, workers: { busy: 11 } },
    expect: { action: 'scale_up', target: 12, code: 'capped_max', reason: ['wanted 13 = 11 + 2, capped at max 12'] },
    why: 'MAX_WORKERS 12',
  },
  {
    name: 'at MIN_WORKERS 1 a calm pool stays',
    obs: { currentTarget: 1, queueDepth: 0, workers: { busy: 0, idle: 1 } },
    expect: { action: 'none', target: 1, code: 'at_min' },
    why: 'MIN_WORKERS 1',
  },
  {
    name: 'low-latency preset: p95 above 500 ms adds 3',
    preset: 'low-latency',
    obs: { currentTarget: 4, queueDepth: 2, workers: { busy: 3, idle: 1 }, waitMs: { p95: 501 } },
    expect: { action: 'scale_up', target: 7, code: 'scale_up_latency', reason: ['> target 500 ms', '+3'] },
    why: 'low-latency: TARGET_P95_LATENCY_MS 500, SCALE_UP_STEP 3, MIN_WORKERS 4',
  },
  {
    name: 'high-throughput preset: depth 200 is within target',
    preset: 'high-throughput',
    obs: { currentTarget: 8, queueDepth: 200, workers: { busy: 7, idle: 1 }, waitMs: { p95: 4000 } },
    expect: { action: 'none', target: 8, code: 'steady' },
    why: 'high-throughput: TARGET_QUEUE_DEPTH 200, TARGET_P95_LATENCY_MS 5000',
  },
  {
    name: 'high-throughput preset: depth 201 adds 4',
    preset: 'high-throughput',
    obs: { currentTarget: 8, queueDepth: 201, workers: { busy: 7, idle: 1 } },
    expect: { action: 'scale_up', target: 12, code: 'scale_up_depth', reason: ['+4'] },
    why: 'high-throughput: SCALE_UP_STEP 4',
  },
  {
    name: 'cost-optimized preset: 6 workers is the ceiling',
    preset: 'cost-optimized',
    obs: { currentTarget: 6, queueDepth: 101, workers: { busy: 6 } },
    expect: { action: 'none', target: 6, code: 'at_max', reason: ['already at max 6'] },
    why: 'cost-optimized: MAX_WORKERS 6',
  },
];

rows.push({
  name: 'seed 001\'s rollback (SCALE_UP_STEP=0, SCALE_DOWN_STEP=0, 4-4 workers) never scales',
  config: { minWorkers: 4, maxWorkers: 4, scaleUpStep: 0, scaleDownStep: 0 },
  obs: { currentTarget: 4, queueDepth: 500, workers: { busy: 4 } },
  expect: { action: 'none', target: 4, code: 'step_zero', reason: ['but scaleUpStep is 0'] },
  why: 'seed 001 "Immediate Rollback": fix the worker count',
});

for (const row of rows) {
  test(`queue-latency: ${row.name}`, () => {
    runRow('queue-latency', row);
  });
}

test('queue-latency: one 1500 ms interval separates any two scaling actions, and ends exactly on its edge', () => {
  const backlog = { queueDepth: 60, workers: { busy: 2, idle: 0 } };
  runSteps('queue-latency', { start: 2 }, [
    { atMs: 0, obs: backlog, expect: { action: 'scale_up', target: 4, code: 'scale_up_depth' } },
    { atMs: 1000, obs: backlog, expect: { action: 'none', target: 4, code: 'cooldown', reason: ['last scaling action 1 s ago, cooldown 1.5 s (500 ms left)'] } },
    { atMs: 1499, obs: backlog, expect: { action: 'none', target: 4, code: 'cooldown' } },
    { atMs: 1500, obs: backlog, expect: { action: 'scale_up', target: 6, code: 'scale_up_depth' } },
    // The load vanishes at once: the scale-down waits for the same interval.
    { atMs: 2000, obs: { queueDepth: 0, workers: { busy: 0, idle: 6 } }, expect: { action: 'none', target: 6, code: 'cooldown' } },
    { atMs: 3000, obs: { queueDepth: 0, workers: { busy: 0, idle: 6 } }, expect: { action: 'scale_down', target: 5, code: 'scale_down_low_load' } },
  ]);
});

test('queue-latency: the cost-optimized preset waits 3000 ms between actions', () => {
  const backlog = { queueDepth: 150, workers: { busy: 1, idle: 0 } };
  runSteps('queue-latency', { start: 1, preset: 'cost-optimized' }, [
    { atMs: 0, obs: backlog, expect: { action: 'scale_up', target: 2, code: 'scale_up_depth', reason: ['+1'] } },
    { atMs: 2999, obs: backlog, expect: { action: 'none', target: 2, code: 'cooldown' } },
    { atMs: 3000, obs: backlog, expect: { action: 'scale_up', target: 3, code: 'scale_up_depth' } },
  ]);
});

test('queue-latency: a clock stepped backwards blocks for at most one interval', () => {
  const backlog = { queueDepth: 60, workers: { busy: 2, idle: 0 } };
  runSteps('queue-latency', { start: 2 }, [
    { atMs: 100_000, obs: backlog, expect: { action: 'scale_up', target: 4, code: 'scale_up_depth' } },
    { atMs: 10_000, obs: backlog, expect: { action: 'none', target: 4, code: 'cooldown', reason: ['the clock stepped back'] } },
    { atMs: 11_500, obs: backlog, expect: { action: 'scale_up', target: 6, code: 'scale_up_depth' } },
  ]);
});
