// KEDA's queue-length scaler (queued + running, 1 per worker) driving the HPA, plus
// KEDA's own 0 <-> 1 activation.
import { test } from 'node:test';
import { SEC, runRow, runSteps, type Row, type Step } from './helpers.ts';

const rows: Row[] = [
  {
    name: '10 queued + running for 10 workers is on target',
    obs: { currentTarget: 10, queueDepth: 2, workers: { busy: 8, idle: 2 } },
    expect: { action: 'none', target: 10, code: 'within_tolerance', reason: ['queued 2 + running 8 = 10 tasks for 10 workers'] },
    why: 'ratio 10 / (1 x 10) = 1',
  },
  {
    name: '9 tasks for 10 workers is inside the tolerance band',
    obs: { currentTarget: 10, queueDepth: 0, workers: { busy: 9, idle: 1 } },
    expect: { action: 'none', target: 10, code: 'within_tolerance' },
    why: '|0.9 - 1| <= 0.1',
  },
  {
    name: '12 tasks for 10 workers asks for 12',
    obs: { currentTarget: 10, queueDepth: 2, workers: { busy: 10 } },
    expect: { action: 'scale_up', target: 12, code: 'keda_scale_up', reason: ['ceil(12 / 1) = 12'] },
    why: 'AverageValue: desired = ceil(metric / target)',
  },
  {
    name: '30 tasks for 5 workers grows by at most +100% or +4 in 15 s',
    obs: { currentTarget: 5, queueDepth: 25, workers: { busy: 5 } },
    expect: { action: 'scale_up', target: 10, code: 'limited_step_up', reason: ['wanted 30 = 5 + 25', 'from 5) (10)'] },
    why: 'the HPA default scale-up policies: max(ceil(5 x 2), 5 + 4) = 10',
  },
  {
    name: 'starting workers count as existing, so they are not asked for twice',
    obs: { currentTarget: 10, queueDepth: 6, workers: { busy: 4, starting: 6 } },
    expect: { action: 'none', target: 10, code: 'within_tolerance' },
    why: 'the scale subresource counts every pod: 10 tasks / 10 workers',
  },
  {
    name: 'the target value sets tasks per worker',
    config: { targetValue: 5 },
    obs: { currentTarget: 4, queueDepth: 46, workers: { busy: 4 } },
    expect: { action: 'scale_up', target: 8, code: 'limited_step_up' },
    why: 'ceil(50 / 5) = 10, limited to +100% (8)',
  },
  {
    name: 'an empty queue shrinks to the HPA minimum of 1 without history',
    obs: { currentTarget: 6, queueDepth: 0, workers: { idle: 6 } },
    expect: { action: 'scale_down', target: 1, code: 'raised_to_min', reason: ['raised to min 1'] },
    why: 'desired 0 is below the bounds 1-1000',
  },
  {
    name: 'at 0 workers one queued task activates one worker',
    config: { minWorkers: 0 },
    obs: { currentTarget: 0, queueDepth: 1 },
    expect: { action: 'scale_up', target: 1, code: 'keda_activate', reason: ['1 > activation 0: activate 0 -> 1'] },
    why: 'KEDA scales 0 -> 1 when the metric exceeds activationValue',
  },
  {
    name: 'at 0 workers an empty queue stays at 0',
    config: { minWorkers: 0 },
    obs: { currentTarget: 0, queueDepth: 0 },
    expect: { action: 'none', target: 0, code: 'keda_inactive' },
    why: 'metric 0 <= activation 0',
  },
  {
    name: 'with minWorkers 0 an idle pool returns to 0 after the 300 s cooldown',
    config: { minWorkers: 0 },
    obs: { currentTarget: 2, queueDepth: 0, workers: { idle: 2 } },
    state: { lastActiveAtMs: 0 },
    nowMs: 300 * SEC,
    expect: { action: 'scale_down', target: 0, code: 'keda_deactivate', reason: ['no queued or running task for 300 s >= cooldown 300 s'] },
    why: 'KEDA cooldownPeriod 300 s',
  },
  {
    name: 'with minWorkers 0 an idle pool keeps one worker until the cooldown ends',
    config: { minWorkers: 0 },
    obs: { currentTarget: 2, queueDepth: 0, workers: { idle: 2 } },
    state: { lastActiveAtMs: 1 },
    nowMs: 300 * SEC,
    expect: { action: 'scale_down', target: 1, code: 'raised_to_min', reason: ['raised to min 1'] },
    why: 'KEDA\'s HPA has minReplicas 1; only KEDA goes to 0',
  },
];

for (const row of rows) {
  test(`keda: ${row.name}`, () => {
    runRow('keda', row);
  });
}

test('keda: after a burst the 300 s scale-down window holds the workers', () => {
  const steps: Step[] = [
    { atMs: 0, obs: { queueDepth: 4, workers: { busy: 4 } }, expect: { action: 'scale_up', target: 8, code: 'keda_scale_up' } },
    { atMs: 15 * SEC, obs: { queueDepth: 0, workers: { busy: 2, idle: 6 } }, expect: { action: 'none', target: 8, code: 'scale_down_stabilized', reason: ['held at 8'] } },
    { atMs: 299 * SEC, obs: { queueDepth: 0, workers: { busy: 2, idle: 6 } }, expect: { action: 'none', target: 8, code: 'scale_down_stabilized' } },
    { atMs: 300 * SEC, obs: { queueDepth: 0, workers: { busy: 2, idle: 6 } }, expect: { action: 'scale_down', target: 2, code: 'keda_scale_down' } },
  ];
  runSteps('keda', { start: 4 }, steps);
});

test('keda: scale to zero and back, with minWorkers 0', () => {
  runSteps('keda', { start: 1, config: { minWorkers: 0 } }, [
    { atMs: 0, obs: { queueDepth: 0, workers: { busy: 1 } }, expect: { action: 'none', target: 1, code: 'within_tolerance' } },
    { atMs: 60 * SEC, obs: { queueDepth: 0, workers: { idle: 1 } }, expect: { action: 'none', target: 1, code: 'scale_down_stabilized' } },
    // Last active at 0 s (one running task): the cooldown ends exactly at 300 s.
    { atMs: 300 * SEC - 1, obs: { queueDepth: 0, workers: { idle: 1 } }, expect: { action: 'none', target: 1, code: 'scale_down_stabilized' } },
    { atMs: 300 * SEC, obs: { queueDepth: 0, workers: { idle: 1 } }, expect: { action: 'scale_down', target: 0, code: 'keda_deactivate' } },
    { atMs: 400 * SEC, obs: { queueDepth: 0, workers: {} }, expect: { action: 'none', target: 0, code: 'keda_inactive' } },
    { atMs: 410 * SEC, obs: { queueDepth: 3, workers: {} }, expect: { action: 'scale_up', target: 1, code: 'keda_activate' } },
    { atMs: 425 * SEC, obs: { queueDepth: 2, workers: { busy: 1 } }, expect: { action: 'scale_up', target: 3, code: 'keda_scale_up' } },
  ]);
});

test('keda: a clock stepped backwards cannot make the pool look idle for longer than it was', () => {
  runSteps('keda', { start: 2, config: { minWorkers: 0 } }, [
    { atMs: 1000 * SEC, obs: { queueDepth: 0, workers: { busy: 2 } }, expect: { action: 'none', target: 2, code: 'within_tolerance' } },
    // Back 500 s: the last activity (1000 s) seems to be in the future; it counts from 500 s.
    { atMs: 500 * SEC, obs: { queueDepth: 0, workers: { idle: 2 } }, expect: { action: 'none', target: 2, code: 'scale_down_stabilized' } },
    { atMs: 800 * SEC - 1, obs: { queueDepth: 0, workers: { idle: 2 } }, expect: { action: 'none', target: 2, code: 'scale_down_stabilized' } },
    { atMs: 800 * SEC, obs: { queueDepth: 0, workers: { idle: 2 } }, expect: { action: 'scale_down', target: 0, code: 'keda_deactivate', reason: ['for 300 s >= cooldown 300 s'] } },
  ]);
});
