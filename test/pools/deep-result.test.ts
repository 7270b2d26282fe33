// Issue 8 item 13: a handler result nested deeper than the payload limit (64 levels) is not
// stored (it would break every later read of the task): the attempt fails for good with
// code InvalidResult naming the limit, the task reads back, and the pool goes on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../../src/core/index.ts';
import { openStore } from '../../src/store/index.ts';
import { InProcessPool } from '../../src/pools/index.ts';
import { advance } from './settle.ts';

test('a handler whose result nests 1,500 levels ends dead with InvalidResult; the task reads back and the next task runs', async () => {
  const clock = new VirtualClock(1_000_000);
  const store = await openStore('memory', { clock, retry: { maxAttempts: 3, baseMs: 1 } });
  const pool = new InProcessPool({
    name: 'p',
    types: ['deep', 'ok'],
    handlers: {
      deep: async () => {
        let v: unknown = 'bottom';
        for (let i = 0; i < 1500; i++) v = { v };
        return v;
      },
      ok: async () => ({ fine: true }),
    },
    store,
    clock,
    minWorkers: 1,
    maxWorkers: 1,
  });
  try {
    const { task: deep } = await store.submit({ type: 'deep' });
    const { task: ok } = await store.submit({ type: 'ok' });
    await advance(clock, 500);
    const read = (await store.get(deep.id))!;
    assert.equal(read.status, 'dead', 'not retried: the same handler would return the same result');
    assert.equal(read.attempts, 1);
    assert.equal(read.error?.code, 'InvalidResult');
    assert.match(read.error!.message, /its handler's result: nests more than 64 levels of arrays\/objects \(the limit\); flatten it/);
    assert.equal(read.result, null);
    assert.equal((await store.get(ok.id))!.status, 'succeeded');
    assert.equal((await store.list({ status: ['dead'] })).tasks.length, 1, 'the task lists');
  } finally {
    await pool.close(0);
    await store.close();
  }
});
