import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseKeepOn, chooseScaleDown, compareForDispatch, type WorkerFacts } from '../../src/core/index.ts';
import { buildObservation } from '../../src/policies/index.ts';

type W = WorkerFacts & { id: string };
const starting = (id: string, seq: number, addedAtMs: number): W => ({ id, seq, status: 'starting', addedAtMs, idleSinceMs: null, taskStartedAtMs: null });
const idle = (id: string, seq: number, idleSinceMs: number): W => ({ id, seq, status: 'idle', addedAtMs: 0, idleSinceMs, taskStartedAtMs: null });
const busy = (id: string, seq: number, taskStartedAtMs: number, status: 'busy' | 'draining' = 'busy'): W => ({ id, seq, status, addedAtMs: 0, idleSinceMs: null, taskStartedAtMs });

const pool: W[] = [busy('b-late', 1, 900), idle('i-recent', 2, 800), starting('s-old', 3, 100), busy('b-early', 4, 200), idle('i-long', 5, 50), starting('s-new', 6, 700), busy('d', 7, 10, 'draining')];
const ids = (ws: W[]) => ws.map((w) => w.id);

const rows: { name: string; count: number; remove: string[]; drain: string[]; why: string }[] = [
  { name: 'one', count: 1, remove: ['s-new'], drain: [], why: 'the newest starting worker has the least start-up sunk into it' },
  { name: 'both starting', count: 2, remove: ['s-new', 's-old'], drain: [], why: 'starting workers go before ready ones' },
  { name: 'into idle', count: 3, remove: ['s-new', 's-old', 'i-long'], drain: [], why: 'then the longest idle' },
  { name: 'into busy', count: 5, remove: ['s-new', 's-old', 'i-long', 'i-recent'], drain: ['b-early'], why: 'busy ones drain, the earliest task start first' },
  { name: 'more than live', count: 9, remove: ['s-new', 's-old', 'i-long', 'i-recent'], drain: ['b-early', 'b-late'], why: 'a draining worker is already leaving and is not counted again' },
  { name: 'none', count: 0, remove: [], drain: [], why: 'nothing to do' },
];

for (const r of rows) {
  test(`a scale-down of ${r.count} takes ${r.remove.concat(r.drain).join(', ') || 'nobody'} (${r.name}): ${r.why}`, () => {
    const c = chooseScaleDown(pool, r.count);
    assert.deepEqual(ids(c.remove), r.remove);
    assert.deepEqual(ids(c.drain), r.drain);
  });
}

test('a scale-up keeps on the draining worker whose task started last, before adding any', () => {
  const ws = [busy('d-early', 1, 100, 'draining'), busy('d-late', 2, 500, 'draining'), busy('b', 3, 50), idle('i', 4, 0)];
  assert.deepEqual(ids(chooseKeepOn(ws, 1)), ['d-late']);
  assert.deepEqual(ids(chooseKeepOn(ws, 5)), ['d-late', 'd-early']);
  assert.deepEqual(chooseKeepOn(ws, 0), []);
});

test('the most recently idle worker takes the next task; ties go to the newer worker', () => {
  const ws = [idle('a', 1, 100), idle('b', 2, 300), idle('c', 3, 300)];
  assert.deepEqual(ids([...ws].sort(compareForDispatch)), ['c', 'b', 'a']);
});

test('an observation derives its total and utilization from the facts', () => {
  const facts = {
    queueDepth: 3,
    workers: { starting: 2, idle: 1, busy: 2, draining: 1 },
    currentTarget: 5,
    waitMs: { p50: 1, p95: 2, p99: 3, count: 4 },
    runMs: { p50: 1, p95: 2, p99: 3, mean: 2, count: 4 },
    windowMs: 60_000,
    arrivalsTotal: 10,
    completionsTotal: 4,
    failuresTotal: 0,
    maxIdleMs: 7,
    oldestWaitMs: 9,
  };
  const o = buildObservation(facts);
  assert.equal(o.workers.total, 6);
  assert.equal(o.utilization, 0.75);
  assert.equal(buildObservation({ ...facts, running: 4 }).utilization, 1);
  assert.equal(buildObservation({ ...facts, workers: { starting: 1, idle: 0, busy: 0, draining: 0 } }).utilization, 0);
});
