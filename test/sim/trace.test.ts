import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTrace, formatTrace, generate, SCENARIOS } from '../../src/sim/index.ts';

test('a trace with extra columns is read, unknown columns ignored', () => {
  const w = parseTrace('arrival_ms,service_ms,tenant,priority,type,zone\n0,10,a,1,llm,x\n5,20,b,0,llm,y\n', 't.csv');
  assert.equal(w.count, 2);
  assert.deepEqual([...w.arrivalMs], [0, 5]);
  assert.deepEqual([...w.serviceMs], [10, 20]);
  assert.deepEqual([...w.priority!], [1, 0]);
  assert.deepEqual(w.tenant, ['a', 'b']);
});

test('a byte-order mark and Windows line ends are accepted', () => {
  const w = parseTrace('\ufeffarrival_ms,service_ms\r\n0,10\r\n5,20\r\n', 't.csv');
  assert.deepEqual([...w.serviceMs], [10, 20]);
});

const bad = [
  { name: 'a non-integer arrival', text: 'arrival_ms,service_ms\n0,1\n12a,5\n', message: 't.csv line 3: arrival_ms "12a" is not a non-negative integer' },
  { name: 'a negative service time', text: 'arrival_ms,service_ms\n0,-1\n', message: 't.csv line 2: service_ms "-1" is not a non-negative integer' },
  { name: 'arrivals going backwards', text: 'arrival_ms,service_ms\n10,1\n5,1\n', message: "t.csv line 3: arrival_ms 5 is before the previous row's 10; arrivals must be non-decreasing" },
  { name: 'a short row', text: 'arrival_ms,service_ms\n0,1\n7\n', message: 't.csv line 3: 1 fields, expected 2 (arrival_ms,service_ms)' },
  { name: 'a missing column', text: 'arrival,service_ms\n0,1\n', message: 't.csv line 1: header "arrival,service_ms" lacks column arrival_ms; expected a header starting arrival_ms,service_ms' },
  { name: 'a bad priority', text: 'arrival_ms,service_ms,priority\n0,1,high\n', message: 't.csv line 2: priority "high" is not an integer' },
];
for (const row of bad) {
  test(`a trace with ${row.name} is rejected with its line number`, () => {
    assert.throws(() => parseTrace(row.text, 't.csv'), { message: row.message });
  });
}

test('every generator is deterministic for a seed and differs between seeds', () => {
  for (const name of SCENARIOS) {
    const a = formatTrace(generate(name, { seed: 3 }));
    assert.equal(a, formatTrace(generate(name, { seed: 3 })), name);
    assert.notEqual(a, formatTrace(generate(name, { seed: 4 })), name);
    const w = generate(name, { seed: 3 });
    assert.ok(w.count > 1000, `${name} has ${w.count} tasks`);
    for (let i = 1; i < w.count; i++) assert.ok(w.arrivalMs[i] >= w.arrivalMs[i - 1]);
  }
});

test('an unknown scenario names the known ones', () => {
  assert.throws(() => generate('spiky', { seed: 1 }), { message: '--scenario: got "spiky"; expected one of step, spike, ramp, diurnal, bursty' });
});
