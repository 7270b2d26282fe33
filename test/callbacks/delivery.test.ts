// Completion callbacks against every store (memory, SQLite, Redis, PostgreSQL), with the
// virtual clock for the backoff and a real HTTP receiver: a task that ends gets its task
// JSON posted once, signed; failures are retried after their backoff and not before; the
// last failure goes into the event log; only the holder of the `callbacks` lease posts;
// a record written after its task ended is still delivered; a second node takes over.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock, toTaskJson } from '../../src/core/index.ts';
import type { Store } from '../../src/store/index.ts';
import { CALLBACKS_LEASE, CallbackDelivery, CallbackGuard, CallbackRecords, DONE_PREFIX, PENDING_PREFIX } from '../../src/callbacks/index.ts';
import { verifySignature } from '../../src/webhooks/index.ts';
import { STORE_ADAPTERS } from '../store/adapters.ts';
import { serverSkip } from '../store/servers.ts';
import { startReceiver } from './receiver.ts';

const SECRET = 'cbsec-test-0123456789';
const SETTINGS = { secret: SECRET, maxAttempts: 3, baseBackoffMs: 1000, maxBackoffMs: 60_000, timeoutMs: 5000, sweepIntervalMs: 60_000, doneRetentionMs: 3_600_000 };

async function endTask(store: Store, id: string, outcome: 'succeed' | 'fail' = 'succeed'): Promise<void> {
  const [claimed] = await store.claim({ workerId: 'w1', types: ['t'], limit: 1, leaseMs: 30_000 });
  assert.equal(claimed?.id, id);
  if (outcome === 'succeed') await store.complete(id, claimed!.leaseToken, { answer: 42 });
  else await store.fail(id, claimed!.leaseToken, { message: 'boom', code: 'HandlerError' }, { retryable: false });
}

for (const adapter of STORE_ADAPTERS) {
  const unavailable = adapter.probe ? await serverSkip(adapter.server ?? adapter.name, adapter.probe) : false;
  describe(`completion callbacks on ${adapter.name}`, { skip: unavailable || undefined }, () => {
    async function setup(answer?: (n: number) => number) {
      const ns = adapter.namespace();
      const clock = new VirtualClock();
      const store = await ns.open({ clock });
      const receiver = await startReceiver(answer);
      const guard = new CallbackGuard({ allowPrivateHosts: ['127.0.0.1'] });
      const records = new CallbackRecords({ store, clock, guard });
      const logs: string[] = [];
      const attempts: Array<{ taskId: string; attempt: number; ok: boolean }> = [];
      const deliveries: CallbackDelivery[] = [];
      const delivery = (holder: string) => {
        const d = new CallbackDelivery({ ...SETTINGS, store, clock, guard, holder, log: (l) => logs.push(l), onAttempt: (taskId, attempt, o) => attempts.push({ taskId, attempt, ok: o.ok }) });
        deliveries.push(d);
        return d;
      };
      const submit = async () => {
        const { task, created } = await store.submit({ type: 't', payload: { n: 1 }, tenant: 'acme' });
        await records.register(task, receiver.url, created);
        return task;
      };
      const close = async () => {
        for (const d of deliveries) await d.stop(0);
        await receiver.close();
        await store.close();
        await ns.drop?.();
      };
      return { clock, store, receiver, records, delivery, submit, logs, attempts, close };
    }

    it('a task that ends gets its task JSON posted once, signed, and its record makes way for a tombstone', async () => {
      const s = await setup();
      try {
        const d = s.delivery('node-a');
        d.start();
        await d.sweep();
        assert.equal(d.isDelivering, true);
        const task = await s.submit();
        await endTask(s.store, task.id);
        await s.receiver.waitFor(1);
        await d.idle();
        const got = s.receiver.got[0]!;
        const stored = await s.store.get(task.id);
        assert.deepEqual(got.json, JSON.parse(JSON.stringify(toTaskJson(stored!))), 'the body is the task JSON as GET /v1/tasks/{id} gives it');
        assert.equal(got.json.status, 'succeeded');
        assert.deepEqual(got.json.result, { answer: 42 });
        assert.equal(verifySignature(SECRET, got.headers['tidepool-signature'] as string, got.body, s.clock.now()), true);
        assert.match(got.headers['tidepool-signature'] as string, new RegExp(`^t=${s.clock.now()},v1=[0-9a-f]{64}$`));
        assert.deepEqual(await s.store.listState(PENDING_PREFIX), []);
        const [done] = await s.store.listState(DONE_PREFIX);
        assert.deepEqual({ key: done?.key, outcome: (done?.value as any)?.outcome, attempts: (done?.value as any)?.attempts }, { key: `${DONE_PREFIX}${task.id}`, outcome: 'delivered', attempts: 1 });
        await d.sweep();
        await d.idle();
        assert.equal(s.receiver.got.length, 1, 'a delivered callback is not posted again');
        // An idempotent resubmit of the same task does not bring the callback back.
        await s.records.register(task, s.receiver.url, false);
        assert.deepEqual(await s.store.listState(PENDING_PREFIX), []);
      } finally {
        await s.close();
      }
    });

    it('a failed post is retried after its backoff on the injected clock, not before', async () => {
      const s = await setup((n) => (n <= 2 ? 503 : 200));
      try {
        const d = s.delivery('node-a');
        d.start();
        await d.sweep();
        const task = await s.submit();
        await endTask(s.store, task.id, 'fail');
        await s.receiver.waitFor(1);
        await d.idle();
        const pending = await s.store.getState(`${PENDING_PREFIX}${task.id}`);
        assert.deepEqual({ attempts: (pending?.value as any).attempts, next: (pending?.value as any).nextAttemptAtMs, lastStatus: (pending?.value as any).lastStatus }, { attempts: 1, next: s.clock.now() + 1000, lastStatus: 503 });
        await s.clock.advance(999);
        await d.sweep();
        await d.idle();
        assert.equal(s.receiver.got.length, 1, 'no second post before the 1 s backoff');
        await s.clock.advance(1);
        await s.receiver.waitFor(2);
        await d.idle();
        assert.equal((await s.store.getState(`${PENDING_PREFIX}${task.id}`))?.value && ((await s.store.getState(`${PENDING_PREFIX}${task.id}`))!.value as any).nextAttemptAtMs, s.clock.now() + 2000, 'the backoff doubles');
        await s.clock.advance(2000);
        await s.receiver.waitFor(3);
        await d.idle();
        assert.deepEqual(s.attempts.map((a) => [a.attempt, a.ok]), [[1, false], [2, false], [3, true]]);
        assert.equal(s.receiver.got[2]!.json.status, 'dead');
        assert.equal(await s.store.getState(`${PENDING_PREFIX}${task.id}`), null);
      } finally {
        await s.close();
      }
    });

    it('a callback whose attempts run out is recorded as callback_failed in the event log; a 4xx other than 408/429 is not retried', async () => {
      const s = await setup((n) => (n <= 3 ? 500 : 410));
      try {
        const d = s.delivery('node-a');
        d.start();
        await d.sweep();
        const a = await s.submit();
        await endTask(s.store, a.id);
        await s.receiver.waitFor(1);
        await d.idle();
        await s.clock.advance(1000);
        await s.receiver.waitFor(2);
        await d.idle();
        await s.clock.advance(2000);
        await s.receiver.waitFor(3);
        await d.idle();
        const b = await s.submit();
        await endTask(s.store, b.id);
        await s.receiver.waitFor(4);
        await d.idle();
        assert.deepEqual(await s.store.listState(PENDING_PREFIX), []);
        const events = (await s.store.listScalingEvents()).filter((e) => e.code === 'callback_failed');
        assert.deepEqual(
          events.map((e) => e.reason).sort(),
          [`task ${a.id}: callback to ${s.receiver.url} failed after 3 attempts (HTTP 500)`, `task ${b.id}: callback to ${s.receiver.url} failed after 1 attempt (HTTP 410)`].sort(),
        );
        assert.deepEqual(events.map((e) => [e.policy, e.pool, e.action]), [['callbacks', 't', 'none'], ['callbacks', 't', 'none']]);
        assert.deepEqual((await s.store.listState(DONE_PREFIX)).map((e) => (e.value as any).outcome), ['failed', 'failed']);
      } finally {
        await s.close();
      }
    });

    it('only the holder of the callbacks lease posts; when it stops, another node takes over the pending callbacks', async () => {
      const s = await setup((n) => (n === 1 ? 503 : 200));
      try {
        const a = s.delivery('node-a');
        const b = s.delivery('node-b');
        a.start();
        await a.sweep();
        b.start();
        await b.sweep();
        assert.deepEqual([a.isDelivering, b.isDelivering], [true, false]);
        const task = await s.submit();
        await endTask(s.store, task.id);
        await s.receiver.waitFor(1);
        await a.idle();
        await b.idle();
        assert.equal((await s.store.readLease(CALLBACKS_LEASE))?.holder, 'node-a');
        await a.stop(0); // releases the lease
        await s.clock.advance(1000);
        await b.sweep();
        assert.equal(b.isDelivering, true);
        await s.receiver.waitFor(2);
        await b.idle();
        assert.equal(s.receiver.got.length, 2);
        assert.deepEqual(await s.store.listState(PENDING_PREFIX), []);
      } finally {
        await s.close();
      }
    });

    it('a record written after its task already ended is delivered, and one found at start is too (the sweep)', async () => {
      const s = await setup();
      try {
        const early = await s.store.submit({ type: 't', payload: null, tenant: 'acme' });
        await endTask(s.store, early.task.id);
        await s.records.register(early.task, s.receiver.url, true); // before any delivery runs: found by the first sweep
        const d = s.delivery('node-a');
        d.start();
        await s.receiver.waitFor(1);
        await d.idle();
        const late = await s.store.submit({ type: 't', payload: null, tenant: 'acme' });
        await endTask(s.store, late.task.id);
        await s.records.register(late.task, s.receiver.url, true); // its `state` event brings it
        await s.receiver.waitFor(2);
        await d.idle();
        assert.deepEqual(s.receiver.got.map((g) => g.json.id).sort(), [early.task.id, late.task.id].sort());
      } finally {
        await s.close();
      }
    });

    it('a cancelled task is called back too, and a task still running is not', async () => {
      const s = await setup();
      try {
        const d = s.delivery('node-a');
        d.start();
        await d.sweep();
        const running = await s.submit();
        await s.store.claim({ workerId: 'w1', types: ['t'], limit: 1, leaseMs: 30_000 });
        const cancelled = await s.submit();
        await s.store.cancel(cancelled.id);
        await s.receiver.waitFor(1);
        await d.sweep();
        await d.idle();
        assert.deepEqual(s.receiver.got.map((g) => [g.json.id, g.json.status]), [[cancelled.id, 'cancelled']]);
        assert.deepEqual((await s.store.listState(PENDING_PREFIX)).map((e) => e.key), [`${PENDING_PREFIX}${running.id}`]);
      } finally {
        await s.close();
      }
    });
  });
}
