// Seed 002 (cluster system autoscaler): queue > 10 or load > 80% grows by 20%, queue < 2
// and load < 20% shrinks by 20%, 5-minute cooldown, bounds 3-20.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MIN, SEC, runRow, runSteps, type Row } from './helpers.ts';
import { grownBy, shrunkBy } from '../../src/policies/percent.ts';

const rows: Row[] = [
  {
    name: 'queue 15 at 6 workers grows to 8 as the seed observed',
    obs: { currentTarget: 6, queueDepth: 15, workers: { busy: 6 } },
    expect: { action: 'scale_up', target: 8, code: 'scale_up_queue', reason: ['queue 15 > 10', '+20% of 6 = 8'] },
    why: 'seed 002 manual test: "High load (queue=15) -> Scale UP: 6 -> 8 workers" (ceil 7.2)',
  },
  {
    name: 'queue 0 at 8 workers shrinks to 6 as the seed observed',
    obs: { currentTarget: 8, queueDepth: 0, workers: { idle: 8 } },
    expect: { action: 'scale_down', target: 6, code: 'scale_down_low_load', reason: ['queue 0 < 2 and load 0% < 20%', '-20% of 8 = 6'] },
    why: 'seed 002 manual test: "Low load (queue=0) -> Scale DOWN: 8 -> 6 workers" (floor 6.4)',
  },
  {
    name: 'a queue of exactly 10 is not above the threshold',
    obs: { currentTarget: 6, queueDepth: 10, workers: { busy: 3, idle: 3 } },
    expect: { action: 'none', target: 6, code: 'steady' },
    why: 'queue_length > 10, strictly',
  },
  {
    name: 'load above 80% grows the pool with an empty queue',
    obs: { currentTarget: 10, queueDepth: 0, workers: { busy: 9, idle: 1 } },
    expect: { action: 'scale_up', target: 12, code: 'scale_up_load', reason: ['load 90% > 80%', '+20% of 10 = 12'] },
    why: 'seed 002: cpu_usage > 80% (here: busy / ready workers)',
  },
  {
    name: 'a short queue with 30% load does not shrink',
    obs: { currentTarget: 10, queueDepth: 1, workers: { busy: 3, idle: 7 } },
    expect: { action: 'none', target: 10, code: 'steady' },
    why: 'the down-conditions are all-of: load 30% is not < 20%',
  },
  {
    name: 'a pool of 3 grows to 4, where int(3 x 1.2) = 3 would not grow',
    obs: { currentTarget: 3, queueDepth: 11, workers: { busy: 3 } },
    expect: { action: 'scale_up', target: 4, code: 'scale_up_queue' },
    why: 'issue 4: percent moves at least one worker per step',
  },
  {
    name: 'a pool of 4 shrinks to 3, where int(4 x 0.8) = 3 is already one less',
    obs: { currentTarget: 4, queueDepth: 0, workers: { idle: 4 } },
    expect: { action: 'scale_down', target: 3, code: 'scale_down_low_load' },
    why: 'floor(3.2) = 3',
  },
  {
    name: '18 workers grow by 20% to 22, capped at 20',
    obs: { currentTarget: 18, queueDepth: 40, workers: { busy: 18 } },
    expect: { action: 'scale_up', target: 20, code: 'capped_max', reason: ['wanted 22 = 18 + 4, capped at max 20'] },
    why: 'cluster-test-001: max_workers 20',
  },
  {
    name: 'at min 3 an idle pool stays',
    obs: { currentTarget: 3, queueDepth: 0, workers: { idle: 3 } },
    expect: { action: 'none', target: 3, code: 'at_min' },
    why: 'cluster-test-001: min_workers 3 ("stable at minimum workers (3)")',
  },
];

for (const row of rows) {
  test(`percent: ${row.name}`, () => {
    runRow('percent', row);
  });
}

test('percent: steps move at least one worker for every pool size and never less than int(x 1.2)', () => {
  for (let n = 1; n <= 200; n++) {
    assert.ok(grownBy(n, 20) >= n + 1, `grow ${n}`);
    assert.ok(grownBy(n, 20) >= Math.trunc(n * 1.2), `grow ${n} at least the seed's int()`);
    assert.ok(shrunkBy(n, 20) <= n - 1, `shrink ${n}`);
  }
  assert.equal(grownBy(5, 20), 6, '5 x 1.2 = 6 exactly, despite 6.000000000000001 in floating point');
  assert.equal(grownBy(0, 20), 1, 'an empty pool gets one worker');
  assert.equal(shrunkBy(1, 20), 0);
});

test('percent: the 5-minute cooldown blocks until 21:55:00 and a scale-down at 21:55:05 is allowed', () => {
  const t = (h: number, m: number, s: number) => ((h * 60 + m) * 60 + s) * SEC;
  runSteps('percent', { start: 6 }, [
    { atMs: t(21, 50, 0), obs: { queueDepth: 15, workers: { busy: 6 } }, expect: { action: 'scale_up', target: 8, code: 'scale_up_queue' } },
    { atMs: t(21, 50, 5), obs: { queueDepth: 0, workers: { idle: 8 } }, expect: { action: 'none', target: 8, code: 'cooldown', reason: ['last scaling action 5 s ago, cooldown 300 s (295 s left)'] } },
    { atMs: t(21, 54, 59), obs: { queueDepth: 0, workers: { idle: 8 } }, expect: { action: 'none', target: 8, code: 'cooldown', reason: ['(1 s left)'] } },
    { atMs: t(21, 55, 5), obs: { queueDepth: 0, workers: { idle: 8 } }, expect: { action: 'scale_down', target: 6, code: 'scale_down_low_load' } },
  ]);
});

test('percent: exactly 5 minutes after the last action the cooldown is over', () => {
  runSteps('percent', { start: 6 }, [
    { atMs: 0, obs: { queueDepth: 15, workers: { busy: 6 } }, expect: { action: 'scale_up', target: 8, code: 'scale_up_queue' } },
    { atMs: 5 * MIN - 1, obs: { queueDepth: 15, workers: { busy: 8 } }, expect: { action: 'none', target: 8, code: 'cooldown' } },
    { atMs: 5 * MIN, obs: { queueDepth: 15, workers: { busy: 8 } }, expect: { action: 'scale_up', target: 10, code: 'scale_up_queue' } },
  ]);
});

test('percent: a clock stepped backwards blocks for at most one cooldown', () => {
  runSteps('percent', { start: 6 }, [
    { atMs: 60 * MIN, obs: { queueDepth: 15, workers: { busy: 6 } }, expect: { action: 'scale_up', target: 8, code: 'scale_up_queue' } },
    { atMs: 10 * MIN, obs: { queueDepth: 15, workers: { busy: 8 } }, expect: { action: 'none', target: 8, code: 'cooldown', reason: ['the clock stepped back'] } },
    { atMs: 15 * MIN, obs: { queueDepth: 15, workers: { busy: 8 } }, expect: { action: 'scale_up', target: 10, code: 'scale_up_queue' } },
  ]);
});
