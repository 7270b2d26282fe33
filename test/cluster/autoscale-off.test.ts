// With autoscaler.enabled false, a pool keeps its minimum (or a count set by hand): on a
// SQLite store, where the process is a node of a cluster and its pools start empty until
// the leader decides, the leader still gives the pool its minimum, and tasks run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { once } from 'node:events';
import { createTidepool } from '../../src/index.ts';
import { scratchDir } from '../scratch-dir.ts';

test('autoscaler.enabled false on SQLite: the pool runs at its fixed count and its tasks run', { timeout: 30_000 }, async () => {
  const dir = scratchDir('tidepool-noauto-');
  const tp = await createTidepool(
    { store: `sqlite:${join(dir, 'q.db')}`, durability: 'normal', autoscaler: { enabled: false }, pools: [{ types: ['work'], policy: 'fixed:2' }] },
    { work: async (n: number) => n * 2 },
  );
  try {
    const { task } = await tp.submit({ type: 'work', payload: 21 });
    const pool = tp.pools.get('work')!;
    while (pool.stats().completed < 1) await once(pool, 'task.completed');
    assert.equal((await tp.store.get(task.id))!.result, 42);
    assert.equal(pool.stats().target, 2, 'the pool runs its fixed count');
  } finally {
    await tp.close(1000);
  }
});
