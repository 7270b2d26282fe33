// The shared cooldown check: the edge, a clock stepped backwards, no previous action.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkCooldown } from '../../src/policies/index.ts';

const rows = [
  { name: 'no previous action never blocks', lastAtMs: null, cooldownMs: 120_000, nowMs: 5, expect: { isBlocked: false, remainingMs: 0, lastAtMs: null, hasSteppedBack: false }, why: 'nothing to wait for' },
  { name: 'one minute into a two-minute cooldown blocks with one minute left', lastAtMs: 600_000, cooldownMs: 120_000, nowMs: 660_000, expect: { isBlocked: true, remainingMs: 60_000, lastAtMs: 600_000, hasSteppedBack: false }, why: 'seed 000: 10:01 blocked' },
  { name: 'one millisecond before the edge still blocks', lastAtMs: 600_000, cooldownMs: 120_000, nowMs: 719_999, expect: { isBlocked: true, remainingMs: 1, lastAtMs: 600_000, hasSteppedBack: false }, why: 'elapsed < cooldown' },
  { name: 'exactly on the edge the cooldown is over', lastAtMs: 600_000, cooldownMs: 120_000, nowMs: 720_000, expect: { isBlocked: false, remainingMs: 0, lastAtMs: 600_000, hasSteppedBack: false }, why: 'seed 000: 10:02 allowed' },
  { name: 'a clock stepped back restarts the cooldown from the new now', lastAtMs: 600_000, cooldownMs: 120_000, nowMs: 100_000, expect: { isBlocked: true, remainingMs: 120_000, lastAtMs: 100_000, hasSteppedBack: true }, why: 'at most one full cooldown, never the size of the jump' },
  { name: 'a zero cooldown never blocks, even on the same instant', lastAtMs: 600_000, cooldownMs: 0, nowMs: 600_000, expect: { isBlocked: false, remainingMs: 0, lastAtMs: 600_000, hasSteppedBack: false }, why: 'seed 004 has no cooldown' },
];

for (const row of rows) {
  test(`cooldown: ${row.name}`, () => {
    const c = checkCooldown(row.lastAtMs, row.cooldownMs, row.nowMs);
    assert.deepEqual({ isBlocked: c.isBlocked, remainingMs: c.remainingMs, lastAtMs: c.lastAtMs, hasSteppedBack: c.hasSteppedBack }, row.expect, row.why);
  });
}
