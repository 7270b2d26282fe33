// Table tests for the store's shared helpers: backoff with jitter, fair tenant ordering,
// the retry-after estimate and option validation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffMs } from '../../src/store/shared/backoff.ts';
import { arraySource, pickFair } from '../../src/store/shared/fair.ts';
import { CompletionRate, estimateRetryAfterMs } from '../../src/store/shared/rate.ts';
import { resolveStoreOptions } from '../../src/store/shared/options.ts';

test('backoff doubles per failed attempt up to its cap and draws within the jitter range', () => {
  const rows = [
    { name: 'first failure, top of range', failed: 1, random: 1, retry: { baseMs: 1000, maxMs: 300_000, jitter: 1 }, want: 1000, why: 'cap = base' },
    { name: 'third failure, top of range', failed: 3, random: 1, retry: { baseMs: 1000, maxMs: 300_000, jitter: 1 }, want: 4000, why: 'cap = base * 2^2' },
    { name: 'full jitter at the bottom', failed: 3, random: 0, retry: { baseMs: 1000, maxMs: 300_000, jitter: 1 }, want: 0, why: 'full jitter draws from [0, cap]' },
    { name: 'half jitter at the bottom', failed: 2, random: 0, retry: { baseMs: 1000, maxMs: 300_000, jitter: 0.5 }, want: 1000, why: 'draws from [cap/2, cap]' },
    { name: 'no jitter', failed: 2, random: 0.3, retry: { baseMs: 1000, maxMs: 300_000, jitter: 0 }, want: 2000, why: 'the cap as is' },
    { name: 'capped', failed: 30, random: 1, retry: { baseMs: 1000, maxMs: 60_000, jitter: 1 }, want: 60_000, why: 'never beyond maxMs' },
    { name: 'huge attempt count stays finite', failed: 5000, random: 1, retry: { baseMs: 1000, maxMs: 60_000, jitter: 1 }, want: 60_000, why: 'no Infinity or NaN' },
  ];
  for (const row of rows) {
    const got = backoffMs(row.failed, { maxAttempts: 3, ...row.retry }, () => row.random);
    assert.equal(got, row.want, `${row.name}: ${row.why}`);
  }
});

test('fair ordering: priority first, then the tenant with the fewest running tasks, then the oldest; limits hold', () => {
  const t = (tenant: string, seq: number, priority = 0) => ({ tenant, seq, priority });
  const rows = [
    {
      name: 'an idle tenant goes before a busy one at equal priority',
      sources: { A: [t('A', 1), t('A', 2), t('A', 3)], B: [t('B', 9)] },
      running: { A: 4 }, limits: {}, limit: 2, want: ['B9', 'A1'],
    },
    {
      name: 'tenants alternate as their running counts even out',
      sources: { A: [t('A', 1), t('A', 2), t('A', 3)], B: [t('B', 4), t('B', 5), t('B', 6)] },
      running: {}, limits: {}, limit: 4, want: ['A1', 'B4', 'A2', 'B5'],
    },
    {
      name: 'priority beats fairness',
      sources: { A: [t('A', 1, 5)], B: [t('B', 0)] },
      running: { A: 10 }, limits: {}, limit: 2, want: ['A1', 'B0'],
    },
    {
      name: 'a tenant at its limit gets nothing more',
      sources: { A: [t('A', 1), t('A', 2)], B: [t('B', 3)] },
      running: { A: 1 }, limits: { A: 2 }, limit: 3, want: ['B3', 'A1'],
    },
  ];
  for (const row of rows) {
    const sources = Object.entries(row.sources).map(([tenant, items]) => arraySource(tenant, items));
    const running = new Map(Object.entries(row.running));
    const picked = pickFair(sources, running, (tenant) => (row.limits as Record<string, number>)[tenant] ?? 0, row.limit);
    assert.deepEqual(picked.map((c) => `${c.tenant}${c.seq}`), row.want, row.name);
  }
});

test('the retry-after estimate follows the completion rate of the last minute and is clamped', () => {
  const rate = new CompletionRate();
  const t0 = 1_700_000_000_000;
  assert.equal(rate.perSecond(t0), 0);
  assert.equal(estimateRetryAfterMs(5, 0), 1000, 'unknown rate: 1 s');
  rate.record(t0, 600);
  assert.equal(rate.perSecond(t0 + 1000), 10);
  assert.equal(estimateRetryAfterMs(1, 10), 100, 'one task at 10/s');
  assert.equal(estimateRetryAfterMs(50, 10), 5000);
  assert.equal(estimateRetryAfterMs(1_000_000, 10), 60_000, 'never more than a minute');
  assert.equal(rate.perSecond(t0 + 61_000), 0, 'old completions leave the window');
});

test('store options: defaults apply and every problem is reported', () => {
  const resolved = resolveStoreOptions({});
  assert.deepEqual(resolved.retry, { maxAttempts: 3, baseMs: 1000, maxMs: 300_000, jitter: 1 });
  assert.throws(
    () => resolveStoreOptions({ retry: { baseMs: 5000, maxMs: 10 }, tenantLimits: { vip: -1 }, defaultTimeoutMs: 0 }),
    (err: Error & { problems?: string[] }) => {
      assert.deepEqual(err.problems, [
        'store option retry.maxMs: got 10; expected an integer >= retry.baseMs (5000)',
        'store option tenantLimits.vip: got -1; expected an integer >= 0',
        'store option defaultTimeoutMs: got 0; expected an integer >= 1',
      ]);
      return true;
    },
  );
});
