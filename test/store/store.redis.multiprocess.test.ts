// Claims are atomic across processes on Redis too: four real child processes with three
// claimers each share one Redis store (its own random prefix); no task is ever held by two
// claimers at once, every task is completed exactly once, and every process takes part.
import { test } from 'node:test';
import { randomSuffix } from './adapters.ts';
import { REDIS_URL, dropPrefix, probeRedis } from './redis-helpers.ts';
import { serverSkip } from './servers.ts';
import { runMultiProcessClaims } from './multiprocess.ts';

const unavailable = await serverSkip(`Redis at ${REDIS_URL}`, probeRedis);

test('four processes with three claimers each on one Redis store never hold a task twice and complete every task exactly once', { skip: unavailable, timeout: 120_000 }, async (t) => {
  const prefix = `tp-mp-${randomSuffix()}`;
  t.after(() => dropPrefix(prefix));
  await runMultiProcessClaims({ storeUrl: `${REDIS_URL}?prefix=${prefix}`, total: 2_000, minActive: 4 });
});
