import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../../src/core/index.ts';

test('a virtual clock fires due timers in time order and only when advanced', async () => {
  const clock = new VirtualClock(1000);
  const fired: string[] = [];
  clock.setTimer(() => fired.push('b@300'), 300);
  clock.setTimer(() => fired.push('a@100'), 100);
  const cancelled = clock.setTimer(() => fired.push('never'), 200);
  cancelled.cancel();
  assert.deepEqual(fired, []);
  await clock.advance(250);
  assert.deepEqual(fired, ['a@100']);
  assert.equal(clock.now(), 1250);
  await clock.advance(50);
  assert.deepEqual(fired, ['a@100', 'b@300']);
});

test('a virtual sleep resolves after the clock passes its time and can be aborted', async () => {
  const clock = new VirtualClock(0);
  let done = false;
  const p = clock.sleep(500).then(() => (done = true));
  await clock.advance(499);
  assert.equal(done, false);
  await clock.advance(1);
  await p;
  assert.equal(done, true);
  const ac = new AbortController();
  const aborted = clock.sleep(1000, ac.signal);
  ac.abort(new Error('stop'));
  await assert.rejects(aborted, /stop/);
});

test('a timer armed from inside another timer fires within the same advance', async () => {
  const clock = new VirtualClock(0);
  const at: number[] = [];
  clock.setTimer(() => {
    at.push(clock.now());
    clock.setTimer(() => at.push(clock.now()), 100);
  }, 100);
  await clock.advance(1000);
  assert.deepEqual(at, [100, 200]);
});
