// Seed 003 (agent harness ScaleManager: 4-30 workers, > 2.0 up by ceil(ratio), < 0.5
// down by 1, 60 s cooldown) and seed 004 (preset koubou: 1-5 workers, pending > 2 x
// workers adds one, an empty queue stops idle workers after 30 s).
import { test } from 'node:test';
import { SEC, runRow, runSteps, type Row } from './helpers.ts';

const rows: Row[] = [
  {
    name: '40 pending with 10 workers scales up by ceil(4) to 14',
    obs: { currentTarget: 10, queueDepth: 40, workers: { busy: 10 } },
    expect: { action: 'scale_up', target: 14, code: 'scale_up_ratio', reason: ['40 pending / 10 workers = 4 > 2', '+4'] },
    why: 'seed 003: "40 pending issues with 10 workers -> scale up"; its code adds ceil(ratio)',
  },
  {
    name: '5 pending with 20 workers scales down by one',
    obs: { currentTarget: 20, queueDepth: 5, workers: { busy: 5, idle: 15 } },
    expect: { action: 'scale_down', target: 19, code: 'scale_down_ratio', reason: ['5 pending / 20 workers = 0.25 < 0.5', '-1'] },
    why: 'seed 003: "5 pending issues with 20 workers -> scale down"; its code removes 1',
  },
  {
    name: 'a ratio of exactly 2.0 is not above the threshold',
    obs: { currentTarget: 10, queueDepth: 20, workers: { busy: 10 } },
    expect: { action: 'none', target: 10, code: 'steady', reason: ['= 2 within 0.5..2'] },
    why: 'scale up only when ratio > 2.0',
  },
  {
    name: 'a ratio of exactly 0.5 is not below the threshold',
    obs: { currentTarget: 10, queueDepth: 5, workers: { busy: 10 } },
    expect: { action: 'none', target: 10, code: 'steady' },
    why: 'scale down only when ratio < 0.5',
  },
  {
    name: '28 workers with 100 pending are capped at 30',
    obs: { currentTarget: 28, queueDepth: 100, workers: { busy: 28 } },
    expect: { action: 'scale_up', target: 30, code: 'capped_max', reason: ['wanted 32 = 28 + 4, capped at max 30'] },
    why: 'seed 003 bounds 4-30; ceil(100 / 28) = 4',
  },
  {
    name: 'at 4 workers an empty queue changes nothing',
    obs: { currentTarget: 4, queueDepth: 0, workers: { idle: 4 } },
    expect: { action: 'none', target: 4, code: 'at_min', reason: ['already at min 4'] },
    why: 'seed 003 minimum: 4 workers (Phase 1 baseline)',
  },
  {
    name: 'with no workers and tasks waiting one worker starts',
    config: { minWorkers: 0 },
    obs: { currentTarget: 0, queueDepth: 3 },
    expect: { action: 'scale_up', target: 1, code: 'scale_up_ratio', reason: ['3 pending / 0 workers', '+1'] },
    why: 'the ratio is unbounded at 0 workers; seed 003 would divide by zero',
  },
  {
    name: 'koubou: 3 pending with 1 worker adds one worker',
    preset: 'koubou',
    obs: { currentTarget: 1, queueDepth: 3, workers: { busy: 1 } },
    expect: { action: 'scale_up', target: 2, code: 'scale_up_ratio', reason: ['+1'] },
    why: 'seed 004: pending_tasks > active_workers * 2 -> spawn_worker()',
  },
  {
    name: 'koubou: 10 pending with 5 workers is not above twice the workers',
    preset: 'koubou',
    obs: { currentTarget: 5, queueDepth: 10, workers: { busy: 5 } },
    expect: { action: 'none', target: 5, code: 'steady' },
    why: 'seed 004: 10 > 5 * 2 is false',
  },
  {
    name: 'koubou: 11 pending with 5 workers is at max 5',
    preset: 'koubou',
    obs: { currentTarget: 5, queueDepth: 11, workers: { busy: 5 } },
    expect: { action: 'none', target: 5, code: 'at_max' },
    why: 'seed 004: max_workers 5',
  },
  {
    name: 'koubou: one pending task keeps idle workers',
    preset: 'koubou',
    obs: { currentTarget: 4, queueDepth: 1, workers: { busy: 1, idle: 3 }, maxIdleMs: 60 * SEC },
    expect: { action: 'none', target: 4, code: 'steady' },
    why: 'seed 004 scales down only when pending_tasks == 0',
  },
  {
    name: 'koubou: an empty queue waits for a worker idle 30 s',
    preset: 'koubou',
    obs: { currentTarget: 4, queueDepth: 0, workers: { busy: 1, idle: 3 }, maxIdleMs: 29_999 },
    expect: { action: 'none', target: 4, code: 'waiting_idle', reason: ['no worker idle 30 s yet'] },
    why: 'seed 004: idle_timeout 30 s',
  },
  {
    name: 'koubou: an empty queue stops the idle workers once one was idle 30 s',
    preset: 'koubou',
    obs: { currentTarget: 4, queueDepth: 0, workers: { busy: 1, idle: 3 }, maxIdleMs: 30_000 },
    expect: { action: 'scale_down', target: 1, code: 'scale_down_idle', reason: ['queue empty', '-3 (every idle worker)'] },
    why: 'seed 004: shutdown_idle_workers(), down to min_workers 1',
  },
];

for (const row of rows) {
  test(`ratio: ${row.name}`, () => {
    runRow('ratio', row);
  });
}

test('ratio: one 60 s cooldown separates any two scaling actions', () => {
  runSteps('ratio', { start: 10 }, [
    { atMs: 0, obs: { queueDepth: 40 }, expect: { action: 'scale_up', target: 14, code: 'scale_up_ratio' } },
    { atMs: 30 * SEC, obs: { queueDepth: 60 }, expect: { action: 'none', target: 14, code: 'cooldown', reason: ['60 pending / 14 workers = 4.29 > 2', '(30 s left)'] } },
    { atMs: 60 * SEC - 1, obs: { queueDepth: 0 }, expect: { action: 'none', target: 14, code: 'cooldown' } },
    { atMs: 60 * SEC, obs: { queueDepth: 0 }, expect: { action: 'scale_down', target: 13, code: 'scale_down_ratio' } },
    { atMs: 90 * SEC, obs: { queueDepth: 0 }, expect: { action: 'none', target: 13, code: 'cooldown' } },
    { atMs: 120 * SEC, obs: { queueDepth: 0 }, expect: { action: 'scale_down', target: 12, code: 'scale_down_ratio' } },
  ]);
});

test('ratio: a clock stepped backwards restarts the cooldown from the new now', () => {
  runSteps('ratio', { start: 10 }, [
    { atMs: 500 * SEC, obs: { queueDepth: 40 }, expect: { action: 'scale_up', target: 14, code: 'scale_up_ratio' } },
    { atMs: 100 * SEC, obs: { queueDepth: 60 }, expect: { action: 'none', target: 14, code: 'cooldown', reason: ['the clock stepped back', '(60 s left)'] } },
    { atMs: 160 * SEC, obs: { queueDepth: 60 }, expect: { action: 'scale_up', target: 19, code: 'scale_up_ratio', reason: ['+5'] } },
  ]);
});
