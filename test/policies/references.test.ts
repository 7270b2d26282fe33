// The reference autoscalers people run, with their projects' documented defaults:
// Knative's KPA, AWS target tracking on backlog per worker, Judoscale's queue-time band.
import { test } from 'node:test';
import { MIN, SEC, runRow, runSteps, type Row, type Step } from './helpers.ts';

const kpaRows: Row[] = [
  {
    name: 'kpa sizes for 0.7 tasks per worker',
    obs: { currentTarget: 10, queueDepth: 2, workers: { busy: 10 } },
    expect: { action: 'scale_up', target: 18, code: 'kpa_scale_up', reason: ['concurrency 12', 'target 0.7 per worker'] },
    why: 'ceil(12 / 0.7) = 18; 17.1 / 10 ready is below the 200% panic threshold',
  },
  {
    name: 'kpa panics at 200% of the ready workers',
    obs: { currentTarget: 10, queueDepth: 4, workers: { busy: 10 } },
    expect: { action: 'scale_up', target: 20, code: 'kpa_panic', reason: ['panic (20 / 10 ready >= 200%'] },
    why: '14 / 0.7 = 20 = 200% of 10',
  },
];

for (const row of kpaRows) test(`kpa: ${row.name} (${row.why})`, () => void runRow('kpa', row));

test('kpa: below the panic threshold, the stable window decides and a scale-down at most halves the pool', () => {
  runRow('kpa', {
    name: 'halving',
    obs: { currentTarget: 10, queueDepth: 0, workers: { busy: 1, idle: 9 } },
    expect: { action: 'scale_down', target: 5, code: 'kpa_scale_down', reason: ['stable ceil(1 / 0.7) = 5', 'rate limits 5-10000'] },
    why: 'ceil(1 / 0.7) = 2, but max-scale-down-rate 2 keeps at least 10 / 2 = 5',
  });
});

test('kpa: no scale-down while panicking; the panic ends a stable window after the burst', () => {
  const steps: Step[] = [
    { atMs: 0, obs: { queueDepth: 30, workers: { busy: 2 } }, expect: { action: 'scale_up', target: 46, code: 'kpa_panic' } },
    { atMs: 2 * SEC, obs: { queueDepth: 0, workers: { busy: 3, idle: 43 } }, expect: { action: 'none', target: 46, code: 'kpa_panic' } },
    { atMs: 30 * SEC, obs: { queueDepth: 0, workers: { busy: 3, idle: 43 } }, expect: { action: 'none', target: 46, code: 'kpa_panic' } },
    { atMs: 63 * SEC, obs: { queueDepth: 0, workers: { busy: 3, idle: 43 } }, expect: { action: 'scale_down', target: 23, code: 'kpa_scale_down' } },
  ];
  runSteps('kpa', { start: 2 }, steps);
});

test('kpa: with minWorkers 0 the last worker goes only after a stable window and the grace period without tasks', () => {
  const steps: Step[] = [
    { atMs: 0, obs: { queueDepth: 0, workers: { busy: 1 } }, expect: { action: 'scale_up', target: 2, code: 'kpa_scale_up' } },
    { atMs: 70 * SEC, obs: { queueDepth: 0, workers: { idle: 2 } }, expect: { action: 'scale_down', target: 1, code: 'kpa_scale_down', reason: ['rate limits 1-2000'] } },
    { atMs: 89 * SEC, obs: { queueDepth: 0, workers: { idle: 1 } }, expect: { action: 'none', target: 1, code: 'kpa_grace' } },
    { atMs: 91 * SEC, obs: { queueDepth: 0, workers: { idle: 1 } }, expect: { action: 'scale_down', target: 0, code: 'kpa_scale_down', reason: ['to 0'] } },
  ];
  runSteps('kpa', { start: 1 }, steps);
});

test('target-tracking: scales out after 3 one-minute datapoints above acceptable latency / time per task', () => {
  // target backlog per worker = 2000 / 4000 = 0.5; 20 queued on 4 workers = 5 per worker.
  const obs = { queueDepth: 20, workers: { busy: 4 }, runMs: { mean: 4000, count: 10 } };
  const steps: Step[] = [
    { atMs: 0, obs, expect: { action: 'none', target: 4, code: 'steady' } },
    { atMs: 1 * MIN, obs, expect: { action: 'none', target: 4, code: 'steady', reason: ['1 datapoints above'] } },
    { atMs: 2 * MIN, obs, expect: { action: 'none', target: 4, code: 'steady', reason: ['2 datapoints above'] } },
    { atMs: 3 * MIN, obs, expect: { action: 'scale_up', target: 40, code: 'scale_out_backlog', reason: ['ceil(20 / 0.5) = 40'] } },
  ];
  runSteps('target-tracking', { start: 4 }, steps);
});

test('target-tracking: scales in only after 15 low datapoints, never below the tasks running', () => {
  const obs = { queueDepth: 0, workers: { busy: 3, idle: 7 }, runMs: { mean: 4000, count: 10 } };
  const steps: Step[] = [];
  for (let i = 0; i <= 15; i++) {
    steps.push({ atMs: i * MIN, obs, expect: i < 15 ? { action: 'none', target: 10, code: 'steady' } : { action: 'scale_down', target: 3, code: 'scale_in_backlog', reason: ['for 15 datapoints', 'no fewer than the 3 running'] } });
  }
  runSteps('target-tracking', { start: 10 }, steps);
});

test('target-tracking: without a finished task there is no backlog target, and the count holds', () => {
  runRow('target-tracking', { name: 'no task time', obs: { currentTarget: 2, queueDepth: 50, workers: { busy: 2 } }, expect: { action: 'none', target: 2, code: 'no_task_time' }, why: 'acceptable latency / unknown' });
});

test('queue-time: +1 above the band, then no second upscale within 3 minutes', () => {
  const steps: Step[] = [
    { atMs: 0, obs: { queueDepth: 9, oldestWaitMs: 2500, workers: { busy: 3 } }, expect: { action: 'scale_up', target: 4, code: 'scale_up_queue_time', reason: ['oldest wait 2.5 s, band 200 ms-2 s'] } },
    { atMs: 60 * SEC, obs: { queueDepth: 9, oldestWaitMs: 3000, workers: { busy: 4 } }, expect: { action: 'none', target: 4, code: 'cooldown' } },
    { atMs: 180 * SEC, obs: { queueDepth: 9, oldestWaitMs: 3000, workers: { busy: 4 } }, expect: { action: 'scale_up', target: 5, code: 'scale_up_queue_time' } },
  ];
  runSteps('queue-time', { start: 3 }, steps);
});

test('queue-time: -1 only after every sample stayed below the band for the 10-minute downscale delay, and again a delay later', () => {
  const low = { queueDepth: 0, oldestWaitMs: 0, workers: { idle: 5 } };
  const steps: Step[] = [
    { atMs: 0, obs: { queueDepth: 1, oldestWaitMs: 500, workers: { busy: 5 } }, expect: { action: 'none', target: 5, code: 'steady', reason: ['inside the band'] } },
    { atMs: 9 * MIN, obs: low, expect: { action: 'none', target: 5, code: 'steady' } },
    { atMs: 10 * MIN, obs: low, expect: { action: 'scale_down', target: 4, code: 'scale_down_queue_time' } },
    { atMs: 15 * MIN, obs: low, expect: { action: 'none', target: 4, code: 'steady' } },
    { atMs: 20 * MIN, obs: low, expect: { action: 'scale_down', target: 3, code: 'scale_down_queue_time' } },
  ];
  runSteps('queue-time', { start: 5 }, steps);
});
