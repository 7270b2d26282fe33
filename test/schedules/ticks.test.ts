// Which ticks a pass submits (src/schedules/ticks.ts): a table over the catch-up rules,
// the grace window, clocks that step back, and time zones (croner computes the instants).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planTicks, nextTickMs, type TickPlanInput } from '../../src/schedules/index.ts';

const S = 1000;
const T0 = Date.UTC(2026, 0, 15, 12, 0, 0); // a whole minute
const base: TickPlanInput = { cron: '* * * * * *', timezone: 'UTC', catchUp: 'latest', afterMs: T0, nowMs: T0, graceMs: 30 * S, catchUpLimit: 100 };

interface Row {
  name: string;
  input: Partial<TickPlanInput>;
  submitMs: number[];
  advanceToMs: number | null;
  isMissed: boolean;
  why: string;
}

const range = (fromMs: number, toMs: number, stepMs = S) => Array.from({ length: Math.floor((toMs - fromMs) / stepMs) + 1 }, (_, i) => fromMs + i * stepMs);

const ROWS: Row[] = [
  { name: 'nothing due at the last tick', input: {}, submitMs: [], advanceToMs: null, isMissed: false, why: 'ticks are strictly after afterMs' },
  { name: 'one tick due', input: { nowMs: T0 + S }, submitMs: [T0 + S], advanceToMs: T0 + S, isMissed: false, why: 'the tick at now is due' },
  { name: 'a late pass submits every tick within grace', input: { nowMs: T0 + 3 * S + 400 }, submitMs: [T0 + S, T0 + 2 * S, T0 + 3 * S], advanceToMs: T0 + 3 * S, isMissed: false, why: 'a busy event loop loses no tick' },
  { name: 'exactly on the grace edge is on time', input: { nowMs: T0 + 31 * S, catchUp: 'none' }, submitMs: range(T0 + S, T0 + 31 * S), advanceToMs: T0 + 31 * S, isMissed: false, why: 'the oldest due tick is exactly graceMs old' },
  { name: 'latest after downtime submits the most recent tick only', input: { nowMs: T0 + 120 * S + 500 }, submitMs: [T0 + 120 * S], advanceToMs: T0 + 120 * S, isMissed: true, why: 'catchUp latest' },
  { name: 'all after downtime submits every missed tick', input: { nowMs: T0 + 50 * S, catchUp: 'all' }, submitMs: range(T0 + S, T0 + 50 * S), advanceToMs: T0 + 50 * S, isMissed: true, why: 'catchUp all, within its limit' },
  { name: 'all keeps the most recent catchUpLimit ticks', input: { nowMs: T0 + 500 * S, catchUp: 'all', catchUpLimit: 10 }, submitMs: range(T0 + 491 * S, T0 + 500 * S), advanceToMs: T0 + 500 * S, isMissed: true, why: 'bounded: older ticks are skipped' },
  { name: 'none after downtime submits only the ticks within grace', input: { nowMs: T0 + 100 * S, catchUp: 'none', graceMs: 3 * S }, submitMs: [T0 + 97 * S, T0 + 98 * S, T0 + 99 * S, T0 + 100 * S], advanceToMs: T0 + 100 * S, isMissed: true, why: 'missed ticks are skipped, the recent ones are on time' },
  { name: 'none with an hourly cron skips the missed hour', input: { cron: '0 * * * *', afterMs: T0, nowMs: T0 + 3_600_000 + 60 * S, catchUp: 'none' }, submitMs: [], advanceToMs: T0 + 3_600_000, isMissed: true, why: 'the 13:00 tick is a minute late, past the 30 s grace' },
  { name: 'latest with an hourly cron after a long outage', input: { cron: '0 * * * *', afterMs: T0, nowMs: T0 + 5 * 3_600_000 + 1234 }, submitMs: [T0 + 5 * 3_600_000], advanceToMs: T0 + 5 * 3_600_000, isMissed: true, why: 'runs once for the outage' },
  { name: 'a clock that stepped back finds nothing due', input: { afterMs: T0 + 10 * S, nowMs: T0 + 2 * S }, submitMs: [], advanceToMs: null, isMissed: false, why: 'the tick at T0+2s was already handled' },
  { name: 'creation mid-second starts at the next whole second', input: { afterMs: T0 + 300, nowMs: T0 + S }, submitMs: [T0 + S], advanceToMs: T0 + S, isMissed: false, why: 'croner ticks on whole seconds' },
  { name: 'five fields read as minutes', input: { cron: '*/15 * * * *', nowMs: T0 + 15 * 60 * S }, submitMs: [T0 + 15 * 60 * S], advanceToMs: T0 + 15 * 60 * S, isMissed: false, why: 'no seconds field: second 0 of each 15th minute' },
];

for (const row of ROWS) {
  test(`planTicks: ${row.name}`, () => {
    const plan = planTicks({ ...base, ...row.input });
    assert.deepEqual(plan.submitMs, row.submitMs, row.why);
    assert.equal(plan.advanceToMs, row.advanceToMs, row.why);
    assert.equal(plan.missed !== null, row.isMissed, row.why);
  });
}

test('a time zone moves the instant: 09:00 in Berlin is 08:00Z in winter and 07:00Z in summer', () => {
  const winter = nextTickMs('0 9 * * *', 'Europe/Berlin', Date.UTC(2026, 0, 15, 0, 0));
  const summer = nextTickMs('0 9 * * *', 'Europe/Berlin', Date.UTC(2026, 6, 15, 0, 0));
  assert.equal(new Date(winter!).toISOString(), '2026-01-15T08:00:00.000Z');
  assert.equal(new Date(summer!).toISOString(), '2026-07-15T07:00:00.000Z');
});

test('a daily tick in a DST gap still runs once that day (croner moves it past the gap)', () => {
  // 2026-03-29 02:30 does not exist in Berlin (clocks jump 02:00 -> 03:00).
  const plan = planTicks({ ...base, cron: '30 2 * * *', timezone: 'Europe/Berlin', afterMs: Date.UTC(2026, 2, 28, 12), nowMs: Date.UTC(2026, 2, 29, 12), catchUp: 'all' });
  assert.equal(plan.submitMs.length, 1);
  assert.equal(new Date(plan.submitMs[0]!).toISOString(), '2026-03-29T01:00:00.000Z');
});
