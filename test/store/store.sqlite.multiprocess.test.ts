// Claims are atomic across processes: four real child processes with three claimers each
// share one SQLite file; no task is ever held by two claimers at once and every task is
// completed exactly once.
import { test } from 'node:test';
import { join } from 'node:path';
import { tempDir } from './helpers.ts';
import { runMultiProcessClaims } from './multiprocess.ts';

test('four processes with three claimers each never hold a task twice and complete every task exactly once', { timeout: 120_000 }, async () => {
  const dbPath = join(tempDir(), 'shared.db');
  // SQLite's busy handler lets a waiting process sleep, so the split is uneven; at least two
  // processes must have completed tasks for the run to show anything about concurrency.
  await runMultiProcessClaims({ storeUrl: `sqlite:${dbPath}`, childTarget: dbPath, total: 1_500, minActive: 2 });
});
