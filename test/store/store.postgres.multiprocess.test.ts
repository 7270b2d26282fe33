// Claims are atomic across processes on PostgreSQL: four real child processes with three
// claimers each share one schema; no task is ever held by two claimers at once and every
// task is completed exactly once (the SQLite test's fixture, given a postgres:// URL).
import { test } from 'node:test';
import { freshSchema, pgSkip, schemaUrl } from './postgres-helpers.ts';
import { runMultiProcessClaims } from './multiprocess.ts';

const skip = await pgSkip();

test('four processes with three claimers each on one PostgreSQL store never hold a task twice and complete every task exactly once', { skip, timeout: 120_000 }, async () => {
  // Every process must have completed tasks for the run to show anything about concurrency.
  await runMultiProcessClaims({ storeUrl: schemaUrl(freshSchema('tp_multi')), total: 1_500, minActive: 3 });
});
