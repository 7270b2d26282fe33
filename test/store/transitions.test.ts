// The task state machine as pure functions (src/store/transitions.ts), as tables.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TASK_STATUSES, TaskConflictError } from '../../src/core/index.ts';
import type { TaskStatus } from '../../src/core/index.ts';
import {
  allowedMoves,
  cancelRefusal,
  isFinal,
  isLeaseExpired,
  isPending,
  onFail,
  onLeaseExpired,
  planBatch,
  retryDeadRefusal,
} from '../../src/store/transitions.ts';
import type { TaskEvent } from '../../src/store/transitions.ts';

test('the table of allowed moves: every status against every event', () => {
  const rows: { from: TaskStatus; event: TaskEvent; to: TaskStatus[]; why: string }[] = [
    { from: 'queued', event: 'claim', to: ['running'], why: 'pending tasks are claimed' },
    { from: 'retrying', event: 'claim', to: ['running'], why: 'a retry is claimed once due' },
    { from: 'running', event: 'claim', to: [], why: 'a leased task is never claimed twice' },
    { from: 'running', event: 'complete', to: ['succeeded'], why: 'only the lease holder completes' },
    { from: 'queued', event: 'complete', to: [], why: 'nothing to complete before a claim' },
    { from: 'running', event: 'fail', to: ['retrying', 'dead'], why: 'onFail picks which' },
    { from: 'running', event: 'leaseExpired', to: ['retrying', 'dead'], why: 'onLeaseExpired picks which' },
    { from: 'retrying', event: 'leaseExpired', to: [], why: 'no lease to expire' },
    { from: 'queued', event: 'cancel', to: ['cancelled'], why: 'a waiting task can be cancelled' },
    { from: 'running', event: 'cancel', to: ['cancelled'], why: 'the lease is revoked' },
    { from: 'succeeded', event: 'cancel', to: [], why: 'ended tasks stay ended' },
    { from: 'cancelled', event: 'cancel', to: [], why: 'cancelling twice is a conflict' },
    { from: 'dead', event: 'retryDead', to: ['queued'], why: 'dead tasks are re-queued by hand' },
    { from: 'succeeded', event: 'retryDead', to: [], why: 'only dead tasks' },
  ];
  for (const row of rows) assert.deepEqual(allowedMoves(row.from, row.event), row.to, `${row.from} --${row.event}--> (${row.why})`);
  assert.deepEqual(TASK_STATUSES.filter(isPending), ['queued', 'retrying']);
  assert.deepEqual(TASK_STATUSES.filter(isFinal), ['succeeded', 'dead', 'cancelled']);
});

test('a failed attempt retries after the backoff while attempts are left and the failure is retryable, else the task is dead', () => {
  const rows = [
    { name: 'first of three', attempts: 1, maxAttempts: 3, isRetryable: true, want: { status: 'retrying', runAtMs: 1_500 } },
    { name: 'last attempt', attempts: 3, maxAttempts: 3, isRetryable: true, want: { status: 'dead' } },
    { name: 'not retryable', attempts: 1, maxAttempts: 3, isRetryable: false, want: { status: 'dead' } },
  ];
  for (const r of rows) {
    let backoffCalls = 0;
    const got = onFail({ attempts: r.attempts, maxAttempts: r.maxAttempts }, r.isRetryable, 1_000, () => (backoffCalls++, 500));
    assert.deepEqual(got, r.want, r.name);
    assert.equal(backoffCalls, r.want.status === 'retrying' ? 1 : 0, `${r.name}: backoff drawn only for a retry`);
  }
});

test('an expired lease counts the attempt: retrying at once, or dead on the last attempt; expiry is inclusive', () => {
  assert.equal(isLeaseExpired(1_000, 999), false);
  assert.equal(isLeaseExpired(1_000, 1_000), true);
  assert.equal(isLeaseExpired(null, 5_000), false);
  assert.deepEqual(onLeaseExpired({ attempts: 1, maxAttempts: 2, workerId: 'w1', leaseExpiresAtMs: 900 }, 1_000), {
    status: 'retrying', runAtMs: 1_000, error: { code: 'LeaseExpired', message: 'lease of worker w1 expired at 900 during attempt 1' },
  });
  assert.equal(onLeaseExpired({ attempts: 2, maxAttempts: 2, workerId: 'w1', leaseExpiresAtMs: 900 }, 1_000).status, 'dead');
});

test('cancel and retry preconditions refuse with a conflict naming the task and its status', () => {
  assert.equal(cancelRefusal('t1', 'running'), null);
  const refused = cancelRefusal('t1', 'succeeded');
  assert.ok(refused instanceof TaskConflictError);
  assert.equal(refused.message, 'task t1 is succeeded; only queued, retrying or running tasks can be cancelled');
  assert.equal(retryDeadRefusal('t2', 'dead'), null);
  assert.equal(retryDeadRefusal('t2', 'queued')?.message, 'task t2 is queued; only dead tasks can be retried');
});

test('inside a batch, a repeated idempotency key (per tenant) shares the first result', () => {
  assert.deepEqual(
    planBatch([
      { type: 'a', idempotencyKey: 'k' },
      { type: 'a' },
      { type: 'a', idempotencyKey: 'k' },
      { type: 'a', idempotencyKey: 'k', tenant: 'other' },
      { type: 'a', idempotencyKey: 'k', tenant: 'default' },
    ]),
    [-1, -1, 0, -1, 0],
  );
});
