// /metrics counts worker deaths and replacements per pool: crashes, respawns, recycles and
// stalls, on a real server (startTidepool) whose `process` pool runs real worker processes,
// one of which is SIGKILLed from outside while idle and one of which stalls.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { resolveStartConfig, startTidepool } from '../../src/cli/start.ts';
import type { WorkerPool } from '../../src/pools/index.ts';
import { PID_WORKER, livingWorkerPids } from '../pools/fixtures/pid-worker.ts';
import { request, tempDir } from './helpers.ts';

test('/metrics counts worker crashes, respawns, recycles and stalls per pool', { timeout: 60_000 }, async () => {
  const tmp = tempDir('tidepool-metrics-');
  const config = resolveStartConfig({ store: 'memory', port: '0' }, {});
  config.pools = [
    { name: 'p', kind: 'process', types: ['echo', 'stall'], command: [process.execPath, '-e', PID_WORKER], env: { PID_DIR: tmp.dir }, minWorkers: 1, maxWorkers: 1, policy: 'fixed:1', policyOptions: {}, maxTasksPerWorker: 1, pollMs: 50, stallTimeoutMs: 300 },
  ] as typeof config.pools;
  const running = await startTidepool({ config, handlers: { echo: async () => null } });
  const pool = running.pools[0] as WorkerPool;
  const metric = async (name: string) => {
    const text: string = (await request(running.url, 'GET', '/metrics')).body;
    const m = new RegExp(`^${name}\\{pool="p"\\} (\\d+)$`, 'm').exec(text);
    assert.ok(m, `${name}{pool="p"} is exported`);
    return Number(m[1]);
  };
  try {
    assert.equal(await metric('tidepool_worker_crashes_total'), 0);
    // Two tasks on a pool that recycles after every task: two recycles.
    for (let i = 0; i < 2; i++) {
      const res = await request(running.url, 'POST', '/v1/tasks?wait=20000', { body: { type: 'echo' } });
      assert.equal(res.body.status, 'succeeded', JSON.stringify(res.body));
    }
    if (pool.stats().idle !== 1) await once(pool, 'worker.ready');
    const [victim] = livingWorkerPids(tmp.dir);
    assert.ok(victim, 'an idle worker process is alive');
    const respawned = once(pool, 'worker.ready');
    process.kill(victim, 'SIGKILL');
    await respawned;

    assert.equal(await metric('tidepool_worker_crashes_total'), 1);
    assert.equal(await metric('tidepool_worker_respawns_total'), 1);
    assert.equal(await metric('tidepool_worker_recycles_total'), 2);
    assert.equal(await metric('tidepool_worker_stalls_total'), 0);

    // A task whose first attempt gets no answer stalls: its worker is replaced, the retry succeeds.
    const stalled = await request(running.url, 'POST', '/v1/tasks?wait=20000', { body: { type: 'stall' } });
    assert.deepEqual([stalled.body.status, stalled.body.attempts], ['succeeded', 2], JSON.stringify(stalled.body));
    assert.equal(await metric('tidepool_worker_stalls_total'), 1);
    const s = pool.stats();
    assert.deepEqual({ crashes: s.crashes, respawns: s.respawns, recycles: s.recycles, stalls: s.stalls }, { crashes: 1, respawns: await metric('tidepool_worker_respawns_total'), recycles: await metric('tidepool_worker_recycles_total'), stalls: 1 }, 'the same figures as the pool stats');
  } finally {
    await running.stop(2000);
    tmp.remove();
  }
});
