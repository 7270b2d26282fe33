// Per-attempt timeouts: the task's own timeoutMs > its type's (taskTimeoutMsByType) >
// its pool's taskTimeoutMs > the global taskTimeoutMs. The store records the one that
// applies on the task, and the pool aborts the attempt when it passes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigInvalidError, VirtualClock } from '../../src/core/index.ts';
import { createTidepool } from '../../src/tidepool.ts';
import { loadConfig } from '../../src/cli/config-load.ts';
import type { TaskContext } from '../../src/pools/index.ts';
import { advance, settle } from './settle.ts';

test('a task takes its own timeout, else its type\'s, else its pool\'s, else the global one', async () => {
  const clock = new VirtualClock();
  const never = (_p: unknown, ctx: TaskContext) => new Promise((_r, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)));
  const tp = await createTidepool(
    {
      store: 'memory',
      taskTimeoutMs: 300_000,
      taskTimeoutMsByType: { code: 120_000 },
      pools: [
        { name: 'agents', types: ['code', 'general'], taskTimeoutMs: 60_000, minWorkers: 1, maxWorkers: 1, policy: 'queue-latency' },
        { name: 'misc', types: ['other'], minWorkers: 0, maxWorkers: 1, policy: 'queue-latency' },
      ],
    },
    { code: never, general: never, other: never },
    { clock, startAutoscaler: false },
  );
  try {
    const timeoutOf = async (input: { type: string; timeoutMs?: number }) => (await tp.submit({ ...input, delayMs: 3_600_000 })).task.timeoutMs;
    assert.equal(await timeoutOf({ type: 'code' }), 120_000, 'the type wins over its pool');
    assert.equal(await timeoutOf({ type: 'general' }), 60_000, 'the pool wins over the global one');
    assert.equal(await timeoutOf({ type: 'other' }), 300_000, 'a pool without one takes the global one');
    assert.equal(await timeoutOf({ type: 'nobody-serves-it' }), 300_000);
    assert.equal(await timeoutOf({ type: 'code', timeoutMs: 5_000 }), 5_000, "the task's own wins over all");

    // The pool's timeout is what aborts a general task's attempt.
    const { task } = await tp.submit({ type: 'general', maxAttempts: 1 });
    await settle();
    await advance(clock, 59_000, 1000);
    assert.equal((await tp.store.get(task.id))!.status, 'running');
    await advance(clock, 2_000, 500);
    const ended = (await tp.store.get(task.id))!;
    assert.equal(ended.status, 'dead');
    assert.equal(ended.error?.code, 'Timeout');
  } finally {
    await tp.close(0);
  }
});

test('a bad per-type or per-pool timeout is refused naming where it is', async () => {
  await assert.rejects(
    createTidepool({ store: 'memory', taskTimeoutMsByType: { code: 0 }, pools: [{ types: ['code'], taskTimeoutMs: -1 }] }, { code: async () => null }),
    (err: ConfigInvalidError) => {
      assert.deepEqual(err.problems.sort(), [
        'pools[0].taskTimeoutMs (createTidepool config): got -1; expected a duration in ms (an integer, or 500ms/30s/2m/1h) in [1, 86400000]',
      ]);
      return true;
    },
  );
  await assert.rejects(createTidepool({ store: 'memory', taskTimeoutMsByType: { code: 0 } }, { code: async () => null }), /taskTimeoutMsByType\.code \(createTidepool config\): got 0; expected an integer number of ms in \[1, 86400000\]/);
  const { config } = loadConfig({ env: { TIDEPOOL_TASK_TIMEOUT_MS_BY_TYPE: '{"code":120000,"general":60000}' } });
  assert.deepEqual(config.taskTimeoutMsByType, { code: 120_000, general: 60_000 });
});
