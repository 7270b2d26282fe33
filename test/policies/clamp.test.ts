// The one shared clamp: bounds and step limits, explained the same way for every policy
// (a named-field table, like the HPA's TestConvertDesiredReplicasWithRules).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clampDecision, clampTarget, type ClampLimits, type Decision } from '../../src/policies/index.ts';

interface ClampRow {
  name: string;
  current: number;
  wanted: number;
  limits: ClampLimits;
  expect: { target: number; bound: string | null; code: string | null; note: string | null };
  why: string;
}

const b = (minWorkers: number, maxWorkers: number, steps: Partial<ClampLimits> = {}): ClampLimits => ({ minWorkers, maxWorkers, ...steps });

const rows: ClampRow[] = [
  { name: 'a wish inside the bounds passes untouched', current: 10, wanted: 12, limits: b(2, 20), expect: { target: 12, bound: null, code: null, note: null }, why: 'nothing to limit' },
  { name: '18 + 5 is capped at max 20', current: 18, wanted: 23, limits: b(2, 20), expect: { target: 20, bound: 'max', code: 'capped_max', note: 'wanted 23 = 18 + 5, capped at max 20' }, why: 'seed 000 "Worker Limits"' },
  { name: 'at max a scale-up does nothing', current: 20, wanted: 22, limits: b(2, 20), expect: { target: 20, bound: 'max', code: 'at_max', note: 'wanted 22 = 20 + 2, already at max 20' }, why: 'the pool stays' },
  { name: 'at min a scale-down does nothing', current: 2, wanted: 1, limits: b(2, 20), expect: { target: 2, bound: 'min', code: 'at_min', note: 'wanted 1 = 2 - 1, already at min 2' }, why: 'the pool stays' },
  { name: 'a pool below its minimum is raised to it', current: 0, wanted: 0, limits: b(2, 20), expect: { target: 2, bound: 'min', code: 'raised_to_min', note: 'wanted 0 = 0 + 0, raised to min 2' }, why: 'bounds changed or a fresh pool' },
  { name: 'a pool above its maximum is brought down to it', current: 25, wanted: 25, limits: b(2, 20), expect: { target: 20, bound: 'max', code: 'capped_max', note: 'wanted 25 = 25 + 0, capped at max 20' }, why: 'max lowered at runtime' },
  { name: 'a step limit caps a large scale-up', current: 10, wanted: 30, limits: b(1, 100, { maxStepUp: 8 }), expect: { target: 18, bound: 'step_up', code: 'limited_step_up', note: 'wanted 30 = 10 + 20, limited to +8 per decision (18)' }, why: 'maxStepUp 8' },
  { name: 'a step limit caps a large scale-down', current: 10, wanted: 2, limits: b(1, 100, { maxStepDown: 4 }), expect: { target: 6, bound: 'step_down', code: 'limited_step_down', note: 'wanted 2 = 10 - 8, limited to -4 per decision (6)' }, why: 'maxStepDown 4' },
  { name: 'max wins over a looser step limit', current: 18, wanted: 30, limits: b(1, 20, { maxStepUp: 8 }), expect: { target: 20, bound: 'max', code: 'capped_max', note: 'wanted 30 = 18 + 12, capped at max 20' }, why: 'the bound is the tighter limit' },
  { name: 'min wins over a step limit when the pool is far below it', current: 1, wanted: 1, limits: b(10, 20, { maxStepUp: 2 }), expect: { target: 10, bound: 'min', code: 'raised_to_min', note: 'wanted 1 = 1 + 0, raised to min 10' }, why: 'bounds win over step limits' },
  { name: 'a fractional wish is rounded', current: 4, wanted: 5.6, limits: b(1, 10), expect: { target: 6, bound: null, code: null, note: null }, why: 'worker counts are whole' },
];

for (const row of rows) {
  test(`clamp: ${row.name}`, () => {
    const r = clampTarget(row.current, row.wanted, row.limits);
    assert.deepEqual({ target: r.target, bound: r.bound, code: r.code, note: r.note }, row.expect, row.why);
  });
}

test('clamp: clampDecision names the bound after the policy\'s own reason and recomputes the action', () => {
  const d: Decision<{ n: number }> = { action: 'scale_up', target: 23, code: 'scale_up_depth', reason: 'depth 340 > 50 for 3 checks: +5', state: { n: 1 } };
  const clamped = clampDecision(d, 18, { minWorkers: 2, maxWorkers: 20 });
  assert.deepEqual(clamped, {
    action: 'scale_up',
    target: 20,
    code: 'capped_max',
    reason: 'depth 340 > 50 for 3 checks: +5; wanted 23 = 18 + 5, capped at max 20',
    state: { n: 1 },
  });
  assert.deepEqual(clampDecision(clamped, 18, { minWorkers: 2, maxWorkers: 20 }), clamped, 'clamping twice changes nothing');
  const atMax = clampDecision({ ...d, target: 22 }, 20, { minWorkers: 2, maxWorkers: 20 });
  assert.equal(atMax.action, 'none');
  assert.equal(atMax.code, 'at_max');
});
