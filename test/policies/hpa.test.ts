// The Kubernetes HPA algorithm on busy / ready workers with target 70%: tolerance band,
// starting workers as not-yet-ready pods, stabilization window, rate policies, bounds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SEC, runRow, runSteps, type Row, type Step } from './helpers.ts';

const rows: Row[] = [
  {
    name: '7 of 10 busy is exactly on target and nothing changes',
    obs: { currentTarget: 10, workers: { busy: 7, idle: 3 } },
    expect: { action: 'none', target: 10, code: 'within_tolerance', reason: ['7 busy / 10 ready = 70% vs target 70%'] },
    why: 'ratio 1.0',
  },
  {
    name: '15 of 20 busy (75%) is inside the 10% tolerance band',
    obs: { currentTarget: 20, workers: { busy: 15, idle: 5 } },
    expect: { action: 'none', target: 20, code: 'within_tolerance', reason: ['ratio 1.07 within 0.1 of 1'] },
    why: '|75 / 70 - 1| = 0.071 <= 0.1',
  },
  {
    name: '63 of 100 busy (ratio 0.9) is on the lower edge of the band',
    obs: { currentTarget: 100, workers: { busy: 63, idle: 37 } },
    expect: { action: 'none', target: 100, code: 'within_tolerance' },
    why: '|63 / 70 - 1| = 0.1 <= 0.1',
  },
  {
    name: '8 of 10 busy (80%) is outside the band and asks ceil(1.14 x 10) = 12',
    obs: { currentTarget: 10, workers: { busy: 8, idle: 2 } },
    expect: { action: 'scale_up', target: 12, code: 'hpa_scale_up', reason: ['ceil(1.14 x 10 ready) = 12'] },
    why: 'desired = ceil(current x metric / target) over ready pods',
  },
  {
    name: '10 of 10 busy asks ceil(100 / 70 x 10) = 15',
    obs: { currentTarget: 10, workers: { busy: 10 } },
    expect: { action: 'scale_up', target: 15, code: 'hpa_scale_up' },
    why: 'the largest step utilization can ask is x 1.43',
  },
  {
    name: '2 of 10 busy asks ceil(20 / 70 x 10) = 3 at once when no earlier recommendation is higher',
    obs: { currentTarget: 10, workers: { busy: 2, idle: 8 } },
    expect: { action: 'scale_down', target: 3, code: 'hpa_scale_down' },
    why: 'a fresh controller has no history in its 300 s window',
  },
  {
    name: 'utilization is floored to a whole percent as the controller does',
    obs: { currentTarget: 3, workers: { busy: 2, idle: 1 } },
    expect: { action: 'none', target: 3, code: 'within_tolerance', reason: ['= 66% vs target 70%'] },
    why: '2 / 3 = 66.67% -> 66%, ratio 0.943',
  },
  {
    name: 'starting workers count as idle for a scale-up, which then may vanish',
    obs: { currentTarget: 8, workers: { busy: 4, idle: 0, starting: 4 } },
    expect: { action: 'none', target: 8, code: 'within_tolerance', reason: ['counting 4 starting as idle: 50%', 'no scale-up while they start'] },
    why: 'unready pods are 0% on a scale-up: 4 busy / 8 = 50% < 70%',
  },
  {
    name: 'with one worker starting, 4 busy of 5 still asks for 6',
    obs: { currentTarget: 5, workers: { busy: 4, idle: 0, starting: 1 } },
    expect: { action: 'scale_up', target: 6, code: 'hpa_scale_up', reason: ['counting 1 starting as idle: 80%', 'ceil(1.14 x 5 workers) = 6'] },
    why: '4 / 5 = 80%, ratio 1.14, ceil(5.71) = 6',
  },
  {
    name: 'starting workers are left out of a scale-down',
    obs: { currentTarget: 13, workers: { busy: 2, idle: 8, starting: 3 } },
    expect: { action: 'scale_down', target: 3, code: 'hpa_scale_down', reason: ['ceil(0.29 x 10 ready) = 3'] },
    why: 'on a scale-down the calculator uses the ready pods only',
  },
  {
    name: 'with no ready worker there is no metric and the count stays',
    obs: { currentTarget: 3, workers: { starting: 3 } },
    expect: { action: 'none', target: 3, code: 'hpa_no_ready_workers' },
    why: 'the controller errors out ("did not receive metrics for any ready pods")',
  },
  {
    name: 'draining workers are ignored like terminating pods',
    obs: { currentTarget: 10, workers: { busy: 7, idle: 3, draining: 4 } },
    expect: { action: 'none', target: 10, code: 'within_tolerance' },
    why: 'pods being deleted are skipped entirely',
  },
  {
    name: '999 busy workers are capped at max 1000',
    obs: { currentTarget: 999, workers: { busy: 999 } },
    expect: { action: 'scale_up', target: 1000, code: 'capped_max', reason: ['wanted 1428 = 999 + 429, capped at max 1000'] },
    why: 'hpa bounds 1-1000',
  },
  {
    name: 'the +4 workers policy wins over +100% for a small pool',
    config: { targetUtilization: 0.1 },
    obs: { currentTarget: 2, workers: { busy: 2 } },
    expect: { action: 'scale_up', target: 6, code: 'limited_step_up', reason: ['wanted 20 = 2 + 18, limited to +4 by the HPA scale-up rate (+100% or +4 per 15 s from 2) (6)'] },
    why: 'max(ceil(2 x 2) = 4, 2 + 4 = 6) = 6',
  },
  {
    name: 'the +100% policy wins for a large pool',
    config: { targetUtilization: 0.1 },
    obs: { currentTarget: 10, workers: { busy: 10 } },
    expect: { action: 'scale_up', target: 20, code: 'limited_step_up' },
    why: 'max(ceil(10 x 2) = 20, 10 + 4 = 14) = 20',
  },
  {
    name: 'workers added in the last 15 s count against the rate',
    obs: { currentTarget: 10, workers: { busy: 10 } },
    state: { scaleUpEvents: [{ atMs: -5 * SEC, change: 5 }] },
    expect: { action: 'none', target: 10, code: 'limited_step_up', reason: ['from 5) (10)'] },
    why: 'the period started at 5 workers: max(10, 9) = 10 is reached already',
  },
  {
    name: 'a scale-down is held at the highest recommendation of the last 300 s',
    obs: { currentTarget: 15, workers: { busy: 3, idle: 12 } },
    nowMs: 200 * SEC,
    state: { recommendations: [{ atMs: 0, workers: 15 }, { atMs: 100 * SEC, workers: 12 }] },
    expect: { action: 'none', target: 15, code: 'scale_down_stabilized', reason: ['held at 15 by the highest recommendation of the last 300 s'] },
    why: 'the window (−100 s, 200 s] holds 15, 12 and the new 5',
  },
  {
    name: 'once the highest recommendation leaves the window the scale-down goes to the next highest',
    obs: { currentTarget: 15, workers: { busy: 3, idle: 12 } },
    nowMs: 300 * SEC,
    state: { recommendations: [{ atMs: 0, workers: 15 }, { atMs: 100 * SEC, workers: 12 }] },
    expect: { action: 'scale_down', target: 12, code: 'scale_down_stabilized' },
    why: 'a sample exactly 300 s old is out of the window (the controller keeps samples strictly after the cutoff)',
  },
];

for (const row of rows) {
  test(`hpa: ${row.name}`, () => {
    runRow('hpa', row);
  });
}

test('hpa: a burst scales up at once, then the 300 s window holds the count until exactly its edge', () => {
  const steps: Step[] = [
    { atMs: 0, obs: { workers: { busy: 10 } }, expect: { action: 'scale_up', target: 15, code: 'hpa_scale_up' } },
  ];
  for (let t = 15; t < 300; t += 15) {
    steps.push({ atMs: t * SEC, obs: { workers: { busy: 3, idle: 12 } }, expect: { action: 'none', target: 15, code: 'scale_down_stabilized' } });
  }
  steps.push({ atMs: 300 * SEC - 1, obs: { workers: { busy: 3, idle: 12 } }, expect: { action: 'none', target: 15, code: 'scale_down_stabilized' } });
  steps.push({ atMs: 300 * SEC, obs: { workers: { busy: 3, idle: 12 } }, expect: { action: 'scale_down', target: 5, code: 'hpa_scale_down', reason: ['ceil(0.29 x 15 ready) = 5'] } });
  const ds = runSteps('hpa', { start: 10 }, steps);
  const last = ds.at(-1)!.state as { recommendations: unknown[] };
  assert.ok(last.recommendations.length <= 22, `old recommendations are dropped (kept ${last.recommendations.length})`);
});

test('hpa: the scale-down rate allows -100% per 15 s, so a second cut within 15 s must wait', () => {
  runSteps('hpa', { start: 20, config: { scaleDownStabilizationMs: 0, scaleDownPercent: 50 } }, [
    { atMs: 0, obs: { workers: { busy: 1, idle: 19 } }, expect: { action: 'scale_down', target: 10, code: 'limited_step_down', reason: ['limited to -10 by the HPA scale-down rate (-50% per 15 s from 20)'] } },
    { atMs: 10 * SEC, obs: { workers: { busy: 1, idle: 9 } }, expect: { action: 'none', target: 10, code: 'limited_step_down' } },
    { atMs: 15 * SEC, obs: { workers: { busy: 1, idle: 9 } }, expect: { action: 'scale_down', target: 5, code: 'limited_step_down' } },
  ]);
});

test('hpa: a clock stepped backwards re-stamps remembered recommendations at the new now', () => {
  runSteps('hpa', { start: 10 }, [
    { atMs: 1000 * SEC, obs: { workers: { busy: 10 } }, expect: { action: 'scale_up', target: 15, code: 'hpa_scale_up' } },
    // Back 500 s: the recommendation of 15 now counts from 500 s, for one more window.
    { atMs: 500 * SEC, obs: { workers: { busy: 3, idle: 12 } }, expect: { action: 'none', target: 15, code: 'scale_down_stabilized' } },
    { atMs: 799 * SEC, obs: { workers: { busy: 3, idle: 12 } }, expect: { action: 'none', target: 15, code: 'scale_down_stabilized' } },
    { atMs: 800 * SEC, obs: { workers: { busy: 3, idle: 12 } }, expect: { action: 'scale_down', target: 5, code: 'hpa_scale_down' } },
  ]);
});

test('hpa: a pool below its minimum is raised to it', () => {
  runRow('hpa', {
    name: 'below min',
    config: { minWorkers: 3 },
    obs: { currentTarget: 1, workers: { busy: 0, idle: 1 } },
    expect: { action: 'scale_up', target: 3, code: 'raised_to_min' },
    why: 'the controller sets desired = minReplicas when current < minReplicas',
  });
});

test('hpa: at 0 workers there is no pod to measure, so (as in Kubernetes) it stays at 0', () => {
  runRow('hpa', {
    name: 'zero',
    config: { minWorkers: 0 },
    obs: { currentTarget: 0, queueDepth: 25 },
    expect: { action: 'none', target: 0, code: 'hpa_no_ready_workers' },
    why: 'utilization is undefined without pods; use keda to scale from zero',
  });
});
