// The store contract: one suite every adapter runs (memory, sqlite; postgres and redis
// later). An adapter passes a factory of fresh namespaces and its capability list; cases
// that need a capability skip by capability name, never by adapter name. Time is virtual.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FencedError, LeaseLostError, QueueFullError, StoreUnavailableError, TASK_LOG_MAX_BYTES, TaskConflictError, TaskNotFoundError, VirtualClock } from '../../src/core/index.ts';
import type { ClaimRequest, ClaimedTask, SubmitInput, Task } from '../../src/core/index.ts';
import type { Store, StoreCapability, StoreEvent, StoreOptions } from '../../src/store/index.ts';
import type { StoreAdapter, StoreNamespace } from './adapters.ts';

export type { StoreAdapter, StoreNamespace } from './adapters.ts';

/** Where every test's virtual clock starts. */
const T0 = 1_700_000_000_000;
/**
 * The store's time of record when the test's clock read T0: T0 itself on `clock` stores; on
 * `database` stores, T0 plus the database's offset (fixed under an injected clock), so every
 * expected time below is t0 + something. Set before each test runs (tests in a file run one
 * at a time).
 */
let t0 = T0;

interface Ctx {
  store: Store;
  clock: VirtualClock;
  ns: StoreNamespace;
}

function claimReq(over: Partial<ClaimRequest> = {}): ClaimRequest {
  return { workerId: 'w1', types: ['email'], limit: 1, leaseMs: 30_000, ...over };
}

async function claimOne(store: Store, over: Partial<ClaimRequest> = {}): Promise<ClaimedTask> {
  const [task] = await store.claim(claimReq(over));
  assert.ok(task, 'expected a task to claim');
  return task;
}

async function rejectsWith(p: Promise<unknown>, cls: Function, message: RegExp): Promise<void> {
  await assert.rejects(p, (err: Error) => {
    assert.ok(err instanceof cls, `expected ${cls.name}, got ${err?.constructor?.name}: ${err?.message}`);
    assert.match(err.message, message);
    return true;
  });
}

/**
 * Registers every contract case for one adapter. `unavailable`: why the adapter cannot run
 * here (its server is unreachable); every case is then skipped with that message.
 */
export function runStoreContract(adapter: StoreAdapter, unavailable: string | false = false): void {
  const has = (cap: StoreCapability) => adapter.capabilities.includes(cap);

  function it(name: string, fn: (ctx: Ctx) => Promise<void>, options: StoreOptions = {}, needs?: StoreCapability): void {
    const skip = unavailable || (needs && !has(needs) ? `needs capability ${needs}` : false);
    test(`${adapter.name}: ${name}`, { skip }, async () => {
      const clock = new VirtualClock(T0);
      const ns = adapter.namespace();
      try {
        const store = await ns.open({ clock, random: () => 1, ...options });
        t0 = await store.now();
        try {
          await fn({ store, clock, ns });
        } finally {
          await store.close();
        }
      } finally {
        await ns.drop?.();
      }
    });
  }

  // --- submit -----------------------------------------------------------------------

  it('a submitted task is queued with its defaults and can be read back by id', async ({ store }) => {
    const { task, created } = await store.submit({ type: 'email', payload: { to: 'a@b.c' } });
    assert.equal(created, true);
    assert.equal(task.status, 'queued');
    assert.equal(task.attempts, 0);
    assert.equal(task.maxAttempts, 3);
    assert.equal(task.priority, 0);
    assert.equal(task.tenant, 'default');
    assert.equal(task.runAtMs, t0);
    assert.equal(task.createdAtMs, t0);
    assert.equal(task.idempotencyKey, null);
    const read = await store.get(task.id);
    assert.deepEqual(read, task);
    assert.equal(await store.get('no-such-task'), null);
  }, { retry: { maxAttempts: 3 } });

  it('a batch claim for several workers records the worker each task really went to', async ({ store }) => {
    await store.submitBatch([{ type: 'email' }, { type: 'email' }, { type: 'email' }]);
    const claimed = await store.claim(claimReq({ workerId: 'p/1', workerIds: ['p/1', 'p/2'], limit: 3 }));
    assert.equal(claimed.length, 3);
    assert.deepEqual(claimed.map((t) => t.workerId), ['p/1', 'p/2', 'p/1'], 'the list first, then workerId for the rest');
    for (const t of claimed) assert.equal((await store.get(t.id))!.workerId, t.workerId, 'as stored');
  });

  it('a submit with a bad field is refused with a message naming the field, the value and the range', async ({ store }) => {
    await rejectsWith(store.submit({ type: '' }), Error, /^type: got ""; expected a non-empty string/);
    await rejectsWith(store.submit({ type: 'x', priority: 1.5 }), Error, /^priority: got 1\.5; expected an integer/);
    await rejectsWith(store.submit({ type: 'x', maxAttempts: 0 }), Error, /^maxAttempts: got 0; expected an integer >= 1/);
    await rejectsWith(store.submit({ type: 'x', delayMs: -5 }), Error, /^delayMs: got -5; expected an integer >= 0/);
    await rejectsWith(store.submit({ type: 'x', payload: { n: 10n } as never }), Error, /^payload: expected a JSON value/);
    assert.equal((await store.counts()).byStatus.queued, 0);
  });

  it('names from Object.prototype (__proto__, constructor, toString, ...) work as types, tenants and idempotency keys, and counts key them like any other', async ({ store }) => {
    const names = Object.getOwnPropertyNames(Object.prototype);
    const before = names.slice().sort();
    for (const name of names) {
      const first = await store.submit({ type: name, tenant: name, idempotencyKey: name });
      const again = await store.submit({ type: name, tenant: name, idempotencyKey: name });
      assert.equal(again.created, false, `${name}: the repeated key finds the first task`);
      assert.equal(again.task.id, first.task.id);
    }
    const counts = await store.counts();
    for (const name of names) {
      assert.ok(Object.hasOwn(counts.byType, name), `counts.byType has its own ${name}`);
      assert.equal(counts.byType[name].queued, 1, name);
      assert.equal(counts.runnableByType[name], 1, name);
    }
    assert.equal(counts.byStatus.queued, names.length);
    assert.deepEqual(Object.getOwnPropertyNames(Object.prototype).sort(), before, 'Object.prototype gained nothing');
    const claimed = await store.claim(claimReq({ types: names, limit: 100 }));
    assert.equal(claimed.length, names.length, 'each tenant named after a prototype member gets its task claimed');
  }, { tenantConcurrency: 1 });

  it('a submit past a documented range is refused naming the field (delayMs, runAtMs, timeoutMs, maxAttempts, payload depth, lone surrogates)', async ({ store }) => {
    await rejectsWith(store.submit({ type: 'x', delayMs: 315_360_000_001 }), Error, /^delayMs: got 315360000001; expected an integer >= 0 and <= 315360000000/);
    await rejectsWith(store.submit({ type: 'x', runAtMs: 2 ** 53 - 1 }), Error, /^runAtMs: got 9007199254740991; expected an integer >= 0 and <= 4102444800000/);
    await rejectsWith(store.submit({ type: 'x', timeoutMs: 2 ** 31 }), Error, /^timeoutMs: got 2147483648; expected an integer >= 1 and <= 2147483647/);
    await rejectsWith(store.submit({ type: 'x', maxAttempts: 1001 }), Error, /^maxAttempts: got 1001; expected an integer >= 1 and <= 1000/);
    let deep: unknown = 1;
    for (let i = 0; i < 65; i++) deep = [deep];
    await rejectsWith(store.submit({ type: 'x', payload: deep as never }), Error, /^payload: nests more than 64 levels/);
    await rejectsWith(store.submit({ type: 'x', idempotencyKey: 'k\ud800' }), Error, /^idempotencyKey: got .*; contains a lone UTF-16 surrogate/);
    const { task } = await store.submit({ type: 'x', delayMs: 315_360_000_000, timeoutMs: 2 ** 31 - 1, maxAttempts: 1000 });
    const back = await store.get(task.id);
    assert.equal(back?.timeoutMs, 2 ** 31 - 1, 'a value at its bound reads back');
    assert.equal((await store.list({ limit: 10 })).tasks.length, 1);
  });

  it('a batch submit stores every task, and one invalid item refuses the whole batch', async ({ store }) => {
    const ok = await store.submitBatch([{ type: 'email' }, { type: 'sms', priority: 2 }]);
    assert.deepEqual(ok.map((r) => [r.task.type, r.created]), [['email', true], ['sms', true]]);
    await rejectsWith(store.submitBatch([{ type: 'email' }, { type: 'email', timeoutMs: 0 }]), Error, /^tasks\[1\]\.timeoutMs: got 0/);
    assert.equal((await store.counts()).byStatus.queued, 2);
  });

  it('a second submit with the same idempotency key returns the first task and never runs it again', async ({ store }) => {
    const first = await store.submit({ type: 'email', idempotencyKey: 'order-42', payload: 1 });
    const second = await store.submit({ type: 'email', idempotencyKey: 'order-42', payload: 2, priority: 9 });
    assert.equal(second.created, false);
    assert.equal(second.task.id, first.task.id);
    assert.equal(second.task.payload, 1);
    const claimed = await claimOne(store);
    await store.complete(claimed.id, claimed.leaseToken, 'sent');
    const third = await store.submit({ type: 'email', idempotencyKey: 'order-42' });
    assert.equal(third.created, false);
    assert.equal(third.task.status, 'succeeded');
    assert.deepEqual(await store.claim(claimReq({ limit: 10 })), []);
  });

  it('idempotency keys are scoped per tenant, and repeated keys inside one batch resolve to the first', async ({ store }) => {
    const a = await store.submit({ type: 'email', tenant: 'acme', idempotencyKey: 'k' });
    const b = await store.submit({ type: 'email', tenant: 'globex', idempotencyKey: 'k' });
    assert.equal(b.created, true);
    assert.notEqual(a.task.id, b.task.id);
    const batch = await store.submitBatch([
      { type: 'email', tenant: 'initech', idempotencyKey: 'dup' },
      { type: 'email', tenant: 'initech', idempotencyKey: 'dup' },
      { type: 'email', tenant: 'acme', idempotencyKey: 'k' },
    ]);
    assert.deepEqual(batch.map((r) => r.created), [true, false, false]);
    assert.equal(batch[1].task.id, batch[0].task.id);
    assert.equal(batch[2].task.id, a.task.id);
    assert.equal((await store.counts()).byStatus.queued, 3);
  });

  it('a submit beyond the maximum queue depth fails with QueueFull and a retry-after of at least 1 s when no rate is known', async ({ store }) => {
    await store.submitBatch([{ type: 'email' }, { type: 'email' }]);
    await store.submit({ type: 'email' });
    const refused = store.submit({ type: 'email' });
    await rejectsWith(refused, QueueFullError, /^queue depth 3 is at its maximum 3; retry after 1000 ms$/);
    await refused.catch((err: QueueFullError) => assert.equal(err.retryAfterMs, 1000));
    // A batch that would overflow stores none of its tasks, but an idempotent repeat still answers.
    const dup = await store.submit({ type: 'email', idempotencyKey: 'k' }).catch((e) => e);
    assert.ok(dup instanceof QueueFullError);
    const claimed = await claimOne(store);
    await rejectsWith(store.submitBatch([{ type: 'email' }, { type: 'email' }]), QueueFullError, /queue depth 2/);
    await store.submit({ type: 'email', idempotencyKey: 'k' });
    assert.equal((await store.submit({ type: 'email', idempotencyKey: 'k' })).created, false);
    assert.equal((await store.counts()).byStatus.queued, 3);
    await store.complete(claimed.id, claimed.leaseToken, null);
  }, { maxQueueDepth: 3 });

  it('the retry-after of a full queue follows the recent completion rate', async ({ store, clock }) => {
    await store.submitBatch(Array.from({ length: 10 }, () => ({ type: 'email' })));
    for (let i = 0; i < 6; i++) {
      const t = await claimOne(store);
      await store.complete(t.id, t.leaseToken, null);
      await clock.advance(1_000);
    }
    // 6 completions in the last minute = 0.1/s; the queue (4) is 6 over its maximum... of 10 after refilling.
    await store.submitBatch(Array.from({ length: 6 }, () => ({ type: 'email' })));
    const err = await store.submit({ type: 'email' }).catch((e) => e);
    assert.ok(err instanceof QueueFullError);
    assert.equal(err.retryAfterMs, 10_000, 'one task over the limit at 0.1 completions/s');
  }, { maxQueueDepth: 10 });

  it('subscribers hear of submits after they commit and of tasks that end; unsubscribing stops it', async ({ store }) => {
    const events: StoreEvent[] = [];
    const off = store.subscribe((e) => events.push(e));
    await store.submitBatch([{ type: 'email' }, { type: 'sms' }, { type: 'email' }]);
    assert.deepEqual(events.map((e) => (e.kind === 'submitted' ? [...e.types].sort() : e.kind)), [['email', 'sms']]);
    const t = await claimOne(store);
    await store.complete(t.id, t.leaseToken, { ok: true });
    const finished = events[1];
    assert.deepEqual(finished, {
      kind: 'finished',
      reach: store.eventReach,
      task: {
        id: t.id, type: 'email', tenant: 'default', status: 'succeeded', attempts: 1,
        createdAtMs: t0, runAtMs: t0, startedAtMs: t0, finishedAtMs: t0,
      },
    });
    assert.deepEqual(events[0], { kind: 'submitted', reach: store.eventReach, types: (events[0] as { types: string[] }).types });
    // Small and plain: a JSON round trip keeps every event as it is (no getters, no payloads).
    assert.deepEqual(JSON.parse(JSON.stringify(events)), events);
    off();
    await store.submit({ type: 'email' });
    assert.equal(events.length, 2);
  });

  // --- claim ------------------------------------------------------------------------

  it('a claim takes the highest priority first, then the oldest', async ({ store, clock }) => {
    const low = await store.submit({ type: 'email', priority: 0 });
    await clock.advance(1);
    const high1 = await store.submit({ type: 'email', priority: 5 });
    await clock.advance(1);
    const high2 = await store.submit({ type: 'email', priority: 5 });
    const neg = await store.submit({ type: 'email', priority: -3 });
    const claimed = await store.claim(claimReq({ limit: 10 }));
    assert.deepEqual(claimed.map((t) => t.id), [high1.task.id, high2.task.id, low.task.id, neg.task.id]);
  });

  it('a claim serves only the claimer\'s types and never a task that is not yet due', async ({ store, clock }) => {
    await store.submit({ type: 'sms' });
    const later = await store.submit({ type: 'email', delayMs: 5_000 });
    const at = await store.submit({ type: 'email', runAtMs: t0 + 2_000 });
    assert.deepEqual(await store.claim(claimReq({ limit: 10 })), []);
    await clock.advance(1_999);
    assert.deepEqual(await store.claim(claimReq({ limit: 10 })), []);
    await clock.advance(1);
    assert.deepEqual((await store.claim(claimReq({ limit: 10 }))).map((t) => t.id), [at.task.id]);
    await clock.advance(3_000);
    assert.deepEqual((await store.claim(claimReq({ limit: 10 }))).map((t) => t.id), [later.task.id]);
    assert.equal((await store.claim(claimReq({ types: ['sms', 'email'], limit: 10 }))).length, 1);
  });

  it('a claim limited to some tenants takes only their tasks (a remote worker acting for its tenant)', async ({ store }) => {
    await store.submitBatch([
      { type: 'email', tenant: 'acme', priority: 1 },
      { type: 'email', tenant: 'globex', priority: 5 },
      { type: 'email', tenant: 'acme' },
    ]);
    const mine = await store.claim(claimReq({ limit: 10, tenants: ['acme'] }));
    assert.deepEqual(mine.map((t) => t.tenant), ['acme', 'acme']);
    assert.deepEqual(await store.claim(claimReq({ limit: 10, tenants: ['initech'] })), []);
    const rest = await store.claim(claimReq({ limit: 10 }));
    assert.deepEqual(rest.map((t) => t.tenant), ['globex']);
  });

  it('a task names a region (null when none) and a claim limited to regions takes tasks without one and of those regions only', async ({ store }) => {
    const plain = await store.submit({ type: 'email', priority: 1 });
    assert.equal(plain.task.region, null);
    const [east, west, east2] = (await store.submitBatch([
      { type: 'email', region: 'east', priority: 5 },
      { type: 'email', region: 'west', priority: 9 },
      { type: 'email', region: 'east' },
    ])).map((r) => r.task);
    assert.equal(east.region, 'east');
    assert.deepEqual(await store.get(west.id), west, 'read back with its region');
    const mine = await store.claim(claimReq({ limit: 10, regions: ['east'] }));
    assert.deepEqual(mine.map((t) => t.id), [east.id, plain.task.id, east2.id], 'priority order across the lanes it serves; never west');
    assert.deepEqual(mine.map((t) => t.region), ['east', null, 'east']);
    await store.submit({ type: 'email' });
    assert.deepEqual((await store.claim(claimReq({ limit: 10, regions: [] }))).map((t) => t.region), [null], 'no region listed: only tasks without one');
    assert.deepEqual(await store.claim(claimReq({ limit: 10, regions: ['north'] })), []);
    const any = await store.claim(claimReq({ limit: 10 }));
    assert.deepEqual(any.map((t) => t.id), [west.id], 'no filter: every region');
    assert.equal(any[0].region, 'west');
    assert.deepEqual((await store.list({})).tasks.map((t) => t.region).sort(), [null, null, 'east', 'east', 'west'].sort());
  });

  it('a region filter combines with tenants, tenant caps and complete-with-next, and a retried task keeps its region', async ({ store, clock }) => {
    await store.submitBatch([
      { type: 'email', region: 'east', tenant: 'acme' },
      { type: 'email', region: 'east', tenant: 'acme' },
      { type: 'email', region: 'east', tenant: 'globex' },
      { type: 'email', region: 'west', tenant: 'acme' },
    ]);
    const first = await store.claim(claimReq({ limit: 10, regions: ['west'], tenants: ['acme'] }));
    assert.deepEqual(first.map((t) => [t.region, t.tenant]), [['west', 'acme']]);
    // acme is capped at 1 running (the west task): the east claim takes globex's only.
    const capped = await store.claim(claimReq({ limit: 10, regions: ['east'] }));
    assert.deepEqual(capped.map((t) => [t.region, t.tenant]), [['east', 'globex']]);
    const next = await store.complete(first[0].id, first[0].leaseToken, null, claimReq({ limit: 1, regions: ['east'] }));
    assert.deepEqual(next.map((t) => [t.region, t.tenant]), [['east', 'acme']]);
    await store.fail(next[0].id, next[0].leaseToken, { code: 'E', message: 'again' });
    await clock.advance(60_000);
    assert.deepEqual(await store.claim(claimReq({ limit: 10, regions: ['west'], tenants: ['acme'] })), [], 'a retried east task stays east');
    await store.complete(capped[0].id, capped[0].leaseToken, null);
    const rest = await store.claim(claimReq({ limit: 10, regions: ['east'] }));
    assert.deepEqual(rest.map((t) => [t.region, t.tenant]), [['east', 'acme']]);
    assert.equal((await store.get(next[0].id))!.region, 'east');
  }, { tenantLimits: { acme: 1 }, retry: { baseMs: 10, maxMs: 10 } });

  it('completions arriving together, each with a next limited to a region, all claim only that region\'s tasks (and those without one)', async ({ store }) => {
    await store.submitBatch(Array.from({ length: 4 }, () => ({ type: 'email' })));
    const running = await store.claim(claimReq({ limit: 4 }));
    await store.submitBatch([...Array.from({ length: 6 }, () => ({ type: 'email', region: 'west', priority: 9 })), ...Array.from({ length: 4 }, () => ({ type: 'email', region: 'east' }))]);
    const nexts = await Promise.all(running.map((t) => store.complete(t.id, t.leaseToken, null, claimReq({ workerId: `n-${t.id}`, limit: 1, regions: ['east'] }))));
    assert.deepEqual(nexts.flat().map((t) => t.region), ['east', 'east', 'east', 'east']);
    assert.equal((await store.counts()).byStatus.queued, 6, 'the west tasks wait');
  });

  it('a bad region is refused naming the field: a submit\'s region and a claim\'s regions', async ({ store }) => {
    await rejectsWith(store.submit({ type: 'email', region: '' }), Error, /^region: got ""; expected a non-empty string/);
    await rejectsWith(store.submitBatch([{ type: 'email' }, { type: 'email', region: 7 as unknown as string }]), Error, /^tasks\[1\]\.region: got 7;/);
    await rejectsWith(store.claim(claimReq({ regions: 'east' as unknown as string[] })), Error, /^claim\.regions: got "east"; expected an array of region names/);
    await rejectsWith(store.claim(claimReq({ regions: ['x'.repeat(201)] })), Error, /^claim\.regions\[0\]: got /);
    assert.equal((await store.counts()).byStatus.queued, 0);
  });

  it('one claim takes up to its limit, each task with its own lease token, attempt and expiry', async ({ store }) => {
    await store.submitBatch(Array.from({ length: 5 }, (_, i) => ({ type: 'email', payload: i })));
    const claimed = await store.claim(claimReq({ limit: 3, workerId: 'w7', leaseMs: 10_000 }));
    assert.equal(claimed.length, 3);
    assert.equal(new Set(claimed.map((t) => t.leaseToken)).size, 3);
    for (const t of claimed) {
      assert.equal(t.status, 'running');
      assert.equal(t.attempts, 1);
      assert.equal(t.workerId, 'w7');
      assert.equal(t.startedAtMs, t0);
      assert.equal(t.leaseExpiresAtMs, t0 + 10_000);
      assert.ok(t.leaseToken.length >= 16);
    }
    assert.deepEqual(claimed.map((t) => t.payload), [0, 1, 2]);
    assert.deepEqual(await store.claim(claimReq({ limit: 0 })), []);
    await rejectsWith(store.claim(claimReq({ limit: -1 })), Error, /^claim\.limit: got -1; expected an integer in \[0, 1000\]$/);
    await rejectsWith(store.claim(claimReq({ leaseMs: 0 })), Error, /^claim\.leaseMs: got 0; expected an integer >= 1/);
  });

  it('many concurrent claims never hand the same task to two workers', async ({ store }) => {
    await store.submitBatch(Array.from({ length: 200 }, () => ({ type: 'email' })));
    const batches = await Promise.all(
      Array.from({ length: 40 }, (_, i) => store.claim(claimReq({ workerId: `w${i}`, limit: 7 }))),
    );
    const ids = batches.flat().map((t) => t.id);
    assert.equal(ids.length, 200);
    assert.equal(new Set(ids).size, 200);
  });

  // --- leases -----------------------------------------------------------------------

  it('a heartbeat extends the lease, so a task that keeps beating is never reclaimed', async ({ store, clock }) => {
    await store.submit({ type: 'email' });
    const t = await claimOne(store, { leaseMs: 1_000 });
    for (let i = 0; i < 5; i++) {
      await clock.advance(900);
      const { leaseExpiresAtMs } = await store.heartbeat(t.id, t.leaseToken, 1_000);
      assert.equal(leaseExpiresAtMs, (await store.now()) + 1_000);
      assert.equal(await store.reclaimExpired(), 0);
    }
    assert.equal((await store.get(t.id))!.status, 'running');
  });

  it('a lease expires exactly at its expiry time, and a clock that steps back reclaims nothing early', async ({ store, clock }) => {
    await store.submit({ type: 'email' });
    const t = await claimOne(store, { leaseMs: 1_000 });
    clock.set(T0 - 60_000);
    assert.equal(await store.reclaimExpired(), 0);
    clock.set(T0 + 999);
    assert.equal(await store.reclaimExpired(), 0);
    clock.set(T0 + 1_000);
    assert.equal(await store.reclaimExpired(), 1);
    const back = (await store.get(t.id))!;
    assert.equal(back.status, 'retrying');
    assert.equal(back.attempts, 1);
    assert.equal(back.error?.code, 'LeaseExpired');
  });

  it('a worker whose lease expired and was taken over is refused, so the task succeeds exactly once', async ({ store, clock }) => {
    await store.submit({ type: 'email' });
    const first = await claimOne(store, { workerId: 'slow', leaseMs: 1_000 });
    await clock.advance(1_500);
    assert.deepEqual(await store.claim(claimReq()), [], 'a claim never reclaims: maintenance does');
    assert.equal((await store.maintain()).reclaimed, 1);
    const second = await claimOne(store, { workerId: 'fast' });
    assert.equal(second.id, first.id);
    assert.equal(second.attempts, 2);
    assert.notEqual(second.leaseToken, first.leaseToken);
    await rejectsWith(store.heartbeat(first.id, first.leaseToken, 1_000), LeaseLostError, /claimed again by another worker/);
    await rejectsWith(store.complete(first.id, first.leaseToken, 'late'), LeaseLostError, /claimed again by another worker/);
    await rejectsWith(store.fail(first.id, first.leaseToken, { message: 'x' }), LeaseLostError, /claimed again/);
    await store.complete(second.id, second.leaseToken, 'on time');
    await rejectsWith(store.complete(first.id, first.leaseToken, 'late'), LeaseLostError, /already ended \(succeeded\)/);
    const done = (await store.get(first.id))!;
    assert.equal(done.status, 'succeeded');
    assert.equal(done.result, 'on time');
    assert.equal((await store.counts()).byStatus.succeeded, 1);
  });

  it('an expired lease on the last attempt makes the task dead', async ({ store, clock }) => {
    const { task } = await store.submit({ type: 'email', maxAttempts: 1 });
    const events: StoreEvent[] = [];
    store.subscribe((e) => events.push(e));
    await claimOne(store, { leaseMs: 100 });
    await clock.advance(100);
    const report = await store.maintain();
    assert.deepEqual(report, { reclaimed: 1, purgedTasks: 0, purgedScalingEvents: 0, purgedMetricSamples: 0, purgedState: 0, atMs: t0 + 100 });
    assert.deepEqual(await store.claim(claimReq()), []);
    const dead = (await store.get(task.id))!;
    assert.equal(dead.status, 'dead');
    assert.equal(dead.error?.code, 'LeaseExpired');
    assert.equal(dead.finishedAtMs, t0 + 100);
    assert.deepEqual(events.map((e) => e.kind), ['finished']);
  });

  it('heartbeat, complete and fail with an unknown task or a wrong token are refused', async ({ store }) => {
    await store.submit({ type: 'email' });
    const t = await claimOne(store);
    await rejectsWith(store.complete('nope', t.leaseToken, null), TaskNotFoundError, /^task "nope" not found$/);
    await rejectsWith(store.heartbeat(t.id, 'forged', 1_000), LeaseLostError, new RegExp(`^task ${t.id}: `));
    await rejectsWith(store.complete(t.id, 'forged', null), LeaseLostError, /claimed again by another worker/);
    await rejectsWith(store.heartbeat(t.id, t.leaseToken, 0), Error, /^leaseMs: got 0/);
    assert.equal((await store.get(t.id))!.status, 'running');
  });

  // --- complete and fail ------------------------------------------------------------

  it('complete records the result and, with next, claims the worker\'s next task in the same call', async ({ store, clock }) => {
    await store.submitBatch([{ type: 'email', payload: 'a' }, { type: 'email', payload: 'b' }]);
    const a = await claimOne(store);
    await clock.advance(250);
    const next = await store.complete(a.id, a.leaseToken, { sent: true }, claimReq({ limit: 5 }));
    assert.deepEqual(next.map((t) => t.payload), ['b']);
    assert.equal(next[0].status, 'running');
    const done = (await store.get(a.id))!;
    assert.equal(done.status, 'succeeded');
    assert.deepEqual(done.result, { sent: true });
    assert.equal(done.finishedAtMs, t0 + 250);
    assert.equal(done.leaseExpiresAtMs, null);
    assert.deepEqual(await store.complete(next[0].id, next[0].leaseToken, null, claimReq()), []);
  });

  it('completions made together each get the next tasks they asked for, for their own worker; a refused one gets its error and nothing is claimed for it', async ({ store }) => {
    await store.submitBatch(Array.from({ length: 12 }, (_, i) => ({ type: 'email', payload: i })));
    const first = await store.claim(claimReq({ limit: 4, workerIds: ['w1', 'w2', 'w3', 'w4'] }));
    assert.equal(first.length, 4);
    const stale = first[3]!;
    // The pool's workers finishing in the same tick: one call each, none awaited before the next.
    const outcomes = await Promise.allSettled([
      store.complete(first[0]!.id, first[0]!.leaseToken, 'a', claimReq({ workerId: 'w1', limit: 1 })),
      store.complete(first[1]!.id, first[1]!.leaseToken, 'b', claimReq({ workerId: 'w2', limit: 3 })),
      store.complete(first[2]!.id, first[2]!.leaseToken, 'c'),
      store.complete(stale.id, 'not-the-token', 'd', claimReq({ workerId: 'w4', limit: 2 })),
      store.complete(first[2]!.id, first[2]!.leaseToken, 'again', claimReq({ workerId: 'w3', limit: 2 })),
    ]);
    const [a, b, c, d, again] = outcomes;
    assert.equal(a.status === 'fulfilled' && a.value.length, 1);
    assert.equal(b.status === 'fulfilled' && b.value.length, 3);
    assert.deepEqual(c.status === 'fulfilled' && c.value, []);
    assert.ok(d.status === 'rejected' && d.reason instanceof LeaseLostError, 'a wrong token is refused');
    assert.ok(again.status === 'rejected' && again.reason instanceof LeaseLostError, 'a second completion of one attempt is refused');
    for (const [outcome, worker] of [[a, 'w1'], [b, 'w2']] as const) {
      for (const t of outcome.status === 'fulfilled' ? outcome.value : []) {
        assert.equal(t.status, 'running');
        assert.equal((await store.get(t.id))!.workerId, worker, 'a next task is leased to the worker that asked');
      }
    }
    const counts = (await store.counts()).byStatus;
    assert.equal(counts.succeeded, 3);
    assert.equal(counts.running, 1 + 4, 'the stale one still runs, plus the four next tasks; nothing was claimed for the refused ones');
    assert.equal(counts.queued, 12 - 4 - 4);
    assert.deepEqual((await store.get(first[2]!.id))!.result, 'c');
  });

  it('fail retries with exponential backoff and full jitter until maxAttempts, then the task is dead', async ({ store, clock }) => {
    const { task } = await store.submit({ type: 'email', maxAttempts: 3 });
    // random() = 1 draws the top of the jitter range: 100 ms, then 200 ms.
    let t = await claimOne(store);
    assert.deepEqual(await store.fail(t.id, t.leaseToken, { message: 'smtp down', code: 'HandlerError' }), []);
    let now = (await store.get(task.id))!;
    assert.equal(now.status, 'retrying');
    assert.equal(now.runAtMs, t0 + 100);
    assert.deepEqual(now.error, { message: 'smtp down', code: 'HandlerError' });
    await clock.advance(99);
    assert.deepEqual(await store.claim(claimReq()), []);
    await clock.advance(1);
    t = await claimOne(store);
    assert.equal(t.attempts, 2);
    await store.fail(t.id, t.leaseToken, { message: 'again' });
    assert.equal((await store.get(task.id))!.runAtMs, (await store.now()) + 200);
    await clock.advance(200);
    t = await claimOne(store);
    assert.equal(t.attempts, 3);
    await store.fail(t.id, t.leaseToken, { message: 'last' });
    now = (await store.get(task.id))!;
    assert.equal(now.status, 'dead');
    assert.equal(now.attempts, 3);
    assert.deepEqual(now.error, { message: 'last' });
    assert.equal(now.finishedAtMs, await store.now());
  }, { retry: { baseMs: 100, maxMs: 10_000, jitter: 1 } });

  it('a failure marked not retryable goes straight to dead', async ({ store }) => {
    const { task } = await store.submit({ type: 'email', maxAttempts: 5 });
    const t = await claimOne(store);
    await store.fail(t.id, t.leaseToken, { message: 'bad payload', code: 'InvalidInput' }, { retryable: false });
    const dead = (await store.get(task.id))!;
    assert.equal(dead.status, 'dead');
    assert.equal(dead.attempts, 1);
  });

  // --- cancel and retry ---------------------------------------------------------------

  it('cancel stops a queued task from running and revokes a running task\'s lease', async ({ store }) => {
    const queued = await store.submit({ type: 'email' });
    const running = await store.submit({ type: 'sms' });
    const cancelled = await store.cancel(queued.task.id);
    assert.equal(cancelled.status, 'cancelled');
    assert.equal(cancelled.finishedAtMs, t0);
    assert.deepEqual(await store.claim(claimReq()), []);
    const t = await claimOne(store, { types: ['sms'] });
    await store.cancel(t.id);
    await rejectsWith(store.complete(t.id, t.leaseToken, 'done anyway'), LeaseLostError, /cancelled and its lease revoked/);
    await rejectsWith(store.heartbeat(t.id, t.leaseToken, 1_000), LeaseLostError, /cancelled/);
    assert.equal((await store.get(running.task.id))!.status, 'cancelled');
    await rejectsWith(store.cancel(t.id), TaskConflictError, /is cancelled; only queued, retrying or running tasks can be cancelled$/);
    await rejectsWith(store.cancel('missing'), TaskNotFoundError, /not found/);
    const counts = await store.counts();
    assert.equal(counts.byStatus.cancelled, 2);
    assert.equal(counts.byStatus.running, 0);
  });

  it('a dead task can be retried with fresh attempts; a live one cannot', async ({ store }) => {
    const { task } = await store.submit({ type: 'email', maxAttempts: 1 });
    await rejectsWith(store.retryDead(task.id), TaskConflictError, /is queued; only dead tasks can be retried$/);
    const t = await claimOne(store);
    await store.fail(t.id, t.leaseToken, { message: 'boom' });
    const again = await store.retryDead(task.id);
    assert.equal(again.status, 'queued');
    assert.equal(again.attempts, 0);
    assert.equal(again.error, null);
    const t2 = await claimOne(store);
    assert.equal(t2.attempts, 1);
    await rejectsWith(store.retryDead('missing'), TaskNotFoundError, /not found/);
  });

  // --- list, counts, purge ------------------------------------------------------------

  it('list filters by status, type and tenant', async ({ store }) => {
    await store.submitBatch([
      { type: 'email', tenant: 'acme' },
      { type: 'sms', tenant: 'acme' },
      { type: 'email', tenant: 'globex' },
    ]);
    const t = await claimOne(store, { types: ['sms'] });
    assert.deepEqual((await store.list({ type: 'email' })).tasks.map((x) => x.tenant), ['acme', 'globex']);
    assert.deepEqual((await store.list({ tenant: 'acme' })).tasks.map((x) => x.type), ['email', 'sms']);
    assert.deepEqual((await store.list({ status: 'running' })).tasks.map((x) => x.id), [t.id]);
    assert.equal((await store.list({ status: ['queued', 'running'] })).tasks.length, 3);
    assert.equal((await store.list({ status: 'queued', tenant: 'globex', type: 'email' })).tasks.length, 1);
    assert.deepEqual((await store.list({ status: 'dead' })).tasks, []);
    await store.complete(t.id, t.leaseToken, 'ok');
    assert.deepEqual((await store.list({ status: 'succeeded' })).tasks.map((x) => x.id), [t.id]);
    assert.deepEqual((await store.list({ status: ['succeeded', 'queued'], tenant: 'acme' })).tasks.map((x) => x.type), ['email', 'sms']);
    await rejectsWith(store.list({ status: 'done' as never }), Error, /^status: got "done"; expected one of queued, running, retrying, succeeded, dead, cancelled$/);
  });

  it('list pages through every task once, in a stable order, with an opaque cursor', async ({ store }) => {
    const first = await store.submitBatch(Array.from({ length: 25 }, (_, i) => ({ type: 'email', payload: i })));
    const seen: number[] = [];
    let cursor: string | undefined;
    let pages = 0;
    for (;;) {
      const page = await store.list({ limit: 10, cursor });
      seen.push(...page.tasks.map((t) => t.payload as number));
      pages++;
      if (pages === 1) await store.submit({ type: 'email', payload: 25 });
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
      assert.doesNotMatch(cursor, /^\d+$/);
    }
    assert.deepEqual(seen, Array.from({ length: 26 }, (_, i) => i));
    assert.equal(pages, 3);
    assert.equal(first.length, 25);
    await rejectsWith(store.list({ cursor: 'garbage!' }), Error, /^cursor: got "garbage!"; expected a nextCursor from a previous page$/);
    await rejectsWith(store.list({ limit: 0 }), Error, /^limit: got 0; expected an integer in \[1, 1000\]$/);
  });

  it('counts report tasks by status and by type, and which are runnable now', async ({ store }) => {
    await store.submitBatch([{ type: 'email' }, { type: 'email' }, { type: 'email', delayMs: 1_000 }, { type: 'sms' }]);
    const t = await claimOne(store);
    await store.complete(t.id, t.leaseToken, null);
    const counts = await store.counts();
    assert.deepEqual(counts.byStatus, { queued: 3, running: 0, retrying: 0, succeeded: 1, dead: 0, cancelled: 0 });
    assert.deepEqual(counts.byType.email, { queued: 2, running: 0, retrying: 0, succeeded: 1, dead: 0, cancelled: 0 });
    assert.deepEqual(counts.byType.sms, { queued: 1, running: 0, retrying: 0, succeeded: 0, dead: 0, cancelled: 0 });
    assert.deepEqual({ ...counts.runnableByType }, { email: 1, sms: 1 });
  });

  it('oldestRunnableAtMs is null when nothing of the types is runnable, and tasks of other types do not count', async ({ store, clock }) => {
    assert.equal(await store.oldestRunnableAtMs(['email']), null);
    await store.submit({ type: 'sms' });
    await clock.advance(1_000);
    assert.equal(await store.oldestRunnableAtMs(['email']), null);
    assert.equal(await store.oldestRunnableAtMs([]), null);
    await store.submit({ type: 'email' });
    assert.equal(await store.oldestRunnableAtMs(['email']), t0 + 1_000);
    assert.equal(await store.oldestRunnableAtMs(['sms']), t0);
    assert.equal(await store.oldestRunnableAtMs(['email', 'sms']), t0, 'the earliest head over the types');
  });

  it('oldestRunnableAtMs reports since when the task a claim would take next has waited, and the next one once it is claimed', async ({ store, clock }) => {
    await store.submit({ type: 'email', priority: 0 });
    await clock.advance(1_000);
    await store.submit({ type: 'email', priority: 5, tenant: 'a' });
    await clock.advance(1_000);
    await store.submit({ type: 'email', priority: 5, tenant: 'b' });
    await clock.advance(1_000);
    // The head is the highest priority, then the oldest, across tenants: not the older low-priority task.
    assert.equal(await store.oldestRunnableAtMs(['email']), t0 + 1_000);
    await claimOne(store);
    assert.equal(await store.oldestRunnableAtMs(['email']), t0 + 2_000);
    await claimOne(store);
    assert.equal(await store.oldestRunnableAtMs(['email']), t0);
    await claimOne(store);
    assert.equal(await store.oldestRunnableAtMs(['email']), null);
  });

  it('a delayed task counts for oldestRunnableAtMs only once its runAt has passed, and from then; a runAt in the past counts from its submit', async ({ store, clock }) => {
    await store.submit({ type: 'email', delayMs: 5_000 });
    assert.equal(await store.oldestRunnableAtMs(['email']), null);
    await clock.advance(4_999);
    assert.equal(await store.oldestRunnableAtMs(['email']), null);
    await clock.advance(1);
    assert.equal(await store.oldestRunnableAtMs(['email']), t0 + 5_000);
    await claimOne(store);
    await clock.advance(1_000);
    await store.submit({ type: 'email', runAtMs: t0 - 60_000 });
    assert.equal(await store.oldestRunnableAtMs(['email']), t0 + 6_000);
  });

  it('purgeFinished deletes only ended tasks that finished before the given time', async ({ store, clock }) => {
    await store.submitBatch(Array.from({ length: 4 }, () => ({ type: 'email', maxAttempts: 1 })));
    const [a, b, c] = await store.claim(claimReq({ limit: 3 }));
    await store.complete(a.id, a.leaseToken, null);
    await store.fail(b.id, b.leaseToken, { message: 'x' });
    await clock.advance(10_000);
    await store.complete(c.id, c.leaseToken, null);
    assert.equal(await store.purgeFinished(t0 + 5_000), 2);
    assert.equal(await store.get(a.id), null);
    assert.equal(await store.get(b.id), null);
    assert.equal((await store.get(c.id))!.status, 'succeeded');
    const counts = await store.counts();
    assert.deepEqual([counts.byStatus.succeeded, counts.byStatus.dead, counts.byStatus.queued], [1, 0, 1]);
  });

  // --- task logs ----------------------------------------------------------------------

  it('task log lines are kept per attempt in order, and a follower reads only the lines after its cursor', async ({ store }) => {
    const { task } = await store.submit({ type: 'email' });
    assert.deepEqual(await store.readTaskLog(task.id), { lines: [], truncated: false });
    await store.appendTaskLog(task.id, [
      { attempt: 1, atMs: T0, stream: 'log', text: 'starting' },
      { attempt: 1, atMs: T0 + 5, stream: 'stderr', text: 'warn: ünïcode ✓' },
    ]);
    await store.appendTaskLog(task.id, [{ attempt: 2, atMs: T0 + 9, stream: 'stdout', text: 'second try' }]);
    const page = await store.readTaskLog(task.id);
    assert.equal(page.truncated, false);
    assert.deepEqual(page.lines.map(({ seq: _s, ...l }) => l), [
      { attempt: 1, atMs: T0, stream: 'log', text: 'starting' },
      { attempt: 1, atMs: T0 + 5, stream: 'stderr', text: 'warn: ünïcode ✓' },
      { attempt: 2, atMs: T0 + 9, stream: 'stdout', text: 'second try' },
    ]);
    const seqs = page.lines.map((l) => l.seq);
    assert.deepEqual([...seqs].sort((a, b) => a - b), seqs, 'seq grows');
    const after = await store.readTaskLog(task.id, { afterSeq: seqs[1] });
    assert.deepEqual(after.lines.map((l) => l.text), ['second try']);
  });

  it(`a task's log is bounded at TASK_LOG_MAX_BYTES (${TASK_LOG_MAX_BYTES} bytes): the oldest lines go first and it reads truncated`, async ({ store }) => {
    const { task } = await store.submit({ type: 'email' });
    const text = 'x'.repeat(1000);
    const total = Math.ceil(TASK_LOG_MAX_BYTES / 1000) + 50;
    for (let i = 0; i < total; i += 25)
      await store.appendTaskLog(task.id, Array.from({ length: Math.min(25, total - i) }, (_, j) => ({ attempt: 1, atMs: T0 + i + j, stream: 'log' as const, text: `${String(i + j).padStart(5, '0')}${text}` })));
    const page = await store.readTaskLog(task.id);
    assert.equal(page.truncated, true);
    const bytes = page.lines.reduce((n, l) => n + Buffer.byteLength(l.text), 0);
    assert.ok(bytes <= TASK_LOG_MAX_BYTES, `${bytes} bytes kept`);
    assert.ok(bytes > TASK_LOG_MAX_BYTES - 2000, `only what had to go went (${bytes} bytes kept)`);
    assert.equal(page.lines.at(-1)!.text.slice(0, 5), String(total - 1).padStart(5, '0'), 'the newest line is kept');
    assert.ok(Number(page.lines[0]!.text.slice(0, 5)) > 0, 'the oldest went');
  });

  it("a task's log goes with the task; lines for an unknown task are dropped and reading one is TaskNotFound", async ({ store, clock }) => {
    const { task } = await store.submit({ type: 'email' });
    const t = await claimOne(store);
    await store.appendTaskLog(task.id, [{ attempt: 1, atMs: T0, stream: 'log', text: 'hi' }]);
    await store.complete(t.id, t.leaseToken, null);
    await clock.advance(1000);
    assert.equal(await store.purgeFinished(await store.now()), 1);
    await rejectsWith(store.readTaskLog(task.id), TaskNotFoundError, /not found/);
    await store.appendTaskLog(task.id, [{ attempt: 1, atMs: T0, stream: 'log', text: 'late' }]);
    await store.appendTaskLog('nope', [{ attempt: 1, atMs: T0, stream: 'log', text: 'x' }]);
    await rejectsWith(store.readTaskLog('nope'), TaskNotFoundError, /"nope" not found/);
  });

  it('a malformed log line is refused naming its index and field', async ({ store }) => {
    const { task } = await store.submit({ type: 'email' });
    await rejectsWith(store.appendTaskLog(task.id, [{ attempt: 1, atMs: T0, stream: 'log', text: 'ok' }, { attempt: 1, atMs: T0, stream: 'shout' as 'log', text: 'x' }]), Error, /^lines\[1\]\.stream: got "shout"; expected one of log, stdout, stderr/);
    await rejectsWith(store.readTaskLog(task.id, { afterSeq: -1 }), Error, /^afterSeq: got -1/);
    assert.deepEqual((await store.readTaskLog(task.id)).lines, [], 'nothing of a refused batch was kept');
  });

  // --- tenants ------------------------------------------------------------------------

  it('a tenant never runs more tasks than its limit; its excess waits and runs later', async ({ store }) => {
    await store.submitBatch([
      ...Array.from({ length: 5 }, () => ({ type: 'email', tenant: 'acme' })),
      ...Array.from({ length: 5 }, () => ({ type: 'email', tenant: 'vip' })),
    ]);
    const claimed = await store.claim(claimReq({ limit: 10 }));
    const byTenant = (ts: Task[]) => ts.reduce<Record<string, number>>((m, t) => ((m[t.tenant] = (m[t.tenant] ?? 0) + 1), m), {});
    assert.deepEqual(byTenant(claimed), { acme: 2, vip: 4 });
    assert.deepEqual(await store.claim(claimReq({ limit: 10 })), []);
    const acme = claimed.find((t) => t.tenant === 'acme')!;
    const next = await store.complete(acme.id, acme.leaseToken, null, claimReq({ limit: 10 }));
    assert.deepEqual(byTenant(next), { acme: 1 });
    assert.equal((await store.counts()).byStatus.queued, 3);
  }, { tenantConcurrency: 2, tenantLimits: { vip: 4 } });

  it('a tenant\'s flood does not starve another: B\'s one task is among the next N starts after A\'s 10,000', async ({ store }) => {
    const workers = 4;
    await store.submitBatch(Array.from({ length: 10_000 }, (_, i) => ({ type: 'email', tenant: 'A', payload: i })));
    const held = await Promise.all(Array.from({ length: workers }, (_, i) => claimOne(store, { workerId: `w${i}` })));
    const { task: bTask } = await store.submit({ type: 'email', tenant: 'B' });
    const starts: ClaimedTask[] = [];
    for (const [i, t] of held.entries()) {
      starts.push(...(await store.complete(t.id, t.leaseToken, null, claimReq({ workerId: `w${i}` }))));
    }
    assert.equal(starts.length, workers);
    assert.ok(starts.some((t) => t.id === bTask.id), `B's task was not among the next ${workers} starts`);
    assert.equal(starts[0].id, bTask.id, 'B has no running task, so it goes first at equal priority');
  });

  it('fair sharing still honours priority: a higher-priority task of a busy tenant goes first', async ({ store }) => {
    await store.submitBatch([{ type: 'email', tenant: 'A' }, { type: 'email', tenant: 'A' }]);
    await claimOne(store);
    await store.submitBatch([{ type: 'email', tenant: 'B' }, { type: 'email', tenant: 'A', priority: 1 }]);
    const [first, second, third] = await store.claim(claimReq({ limit: 3 }));
    assert.deepEqual([first.tenant, first.priority], ['A', 1]);
    assert.equal(second.tenant, 'B');
    assert.equal(third.tenant, 'A');
  });

  it('per-tenant caps hold exactly across two processes claiming at once', async ({ store, ns, clock }) => {
    const other = await ns.open({ clock, random: () => 1, tenantConcurrency: 3 });
    try {
      await store.submitBatch(Array.from({ length: 40 }, (_, i) => ({ type: 'email', tenant: i % 2 ? 'acme' : 'globex' })));
      const claims = await Promise.all(
        Array.from({ length: 10 }, (_, i) => (i % 2 ? other : store).claim(claimReq({ workerId: `w${i}`, limit: 2 }))),
      );
      const held = claims.flat();
      assert.equal(new Set(held.map((t) => t.id)).size, held.length, 'no task held twice');
      const byTenant = held.reduce<Record<string, number>>((m, t) => ((m[t.tenant] = (m[t.tenant] ?? 0) + 1), m), {});
      assert.deepEqual(byTenant, { acme: 3, globex: 3 });
      assert.equal((await other.counts()).byStatus.running, 6);
    } finally {
      await other.close();
    }
  }, { tenantConcurrency: 3 }, 'multiProcess');

  it('with shared events, another process sharing the store hears every commit: submits and ends', async ({ store, ns, clock }) => {
    assert.equal(store.eventReach, 'shared');
    const other = await ns.open({ clock, random: () => 1 });
    try {
      const heard: StoreEvent[] = [];
      let wake: () => void = () => {};
      other.subscribe((e) => (heard.push(e), wake()));
      const waitFor = (n: number) => new Promise<void>((resolve) => ((wake = () => heard.length >= n && resolve()), wake()));
      // The subscription may still be settling right after open: submits until one is heard prove it is up.
      for (let i = 0; i < 25 && heard.length === 0; i++) {
        await store.submit({ type: 'warmup' });
        await new Promise((r) => setTimeout(r, 200));
      }
      assert.ok(heard.length > 0, 'the other process heard a submit within ~5 s');
      heard.length = 0;
      await store.submitBatch([{ type: 'email' }, { type: 'sms' }]);
      await waitFor(1);
      assert.deepEqual(heard[0].kind === 'submitted' && [...heard[0].types].sort(), ['email', 'sms']);
      const t = await claimOne(store);
      await store.complete(t.id, t.leaseToken, 'done');
      await waitFor(2);
      const finished = heard[1];
      assert.equal(finished.kind, 'finished');
      assert.deepEqual(finished.kind === 'finished' && [finished.reach, finished.task.id, finished.task.status], ['shared', t.id, 'succeeded']);
      assert.equal(JSON.parse(JSON.stringify(finished)).task.id, t.id, 'serializable');
    } finally {
      await other.close();
    }
  }, {}, 'listenNotify');

  it('a node whose clock runs ahead never reclaims a live lease early: the database clock is the time of record', async ({ store, ns, clock }) => {
    const aheadClock = new VirtualClock(T0 + 10 * 60_000);
    const ahead = await ns.open({ clock: aheadClock, random: () => 1 });
    try {
      assert.equal(store.timeOfRecord, 'database');
      assert.ok(Math.abs((await ahead.now()) - (await store.now())) < 1_000, 'both nodes read the same time of record');
      await store.submit({ type: 'email' });
      const t = await claimOne(store, { leaseMs: 30_000 });
      assert.equal((await ahead.maintain()).reclaimed, 0);
      assert.deepEqual(await ahead.claim(claimReq()), []);
      await aheadClock.advance(29_000);
      await clock.advance(29_000);
      assert.equal(await ahead.reclaimExpired(), 0, 'still within the lease on the database clock');
      await store.heartbeat(t.id, t.leaseToken, 30_000);
      await aheadClock.advance(31_000);
      await clock.advance(31_000);
      assert.equal(await ahead.reclaimExpired(), 1, 'expired once the database clock passes the lease');
    } finally {
      await ahead.close();
    }
  }, {}, 'databaseClock');

  // --- maintenance and arrivals -----------------------------------------------------

  it('maintain() reclaims expired leases and purges ended tasks, scaling events and metric samples past their retention', async ({ store, clock }) => {
    const day = 86_400_000;
    await store.submitBatch([{ type: 'email' }, { type: 'email' }, { type: 'email' }]);
    const [a, b] = await store.claim(claimReq({ limit: 2, leaseMs: 1_000 }));
    await store.complete(a.id, a.leaseToken, null);
    for (const atMs of [t0, t0 + 2 * day]) {
      await store.recordScalingEvent({ atMs, pool: 'p', from: 1, to: 2, action: 'scale_up', code: 'c', reason: 'r', policy: 'x' });
      await store.recordMetricSample({ atMs, pool: 'p', values: { queueDepth: 1 } });
    }
    await clock.advance(3 * day);
    const report = await store.maintain({ finishedRetentionMs: day, scalingEventRetentionMs: 2 * day, metricSampleRetentionMs: 1.5 * day });
    assert.deepEqual(report, { reclaimed: 1, purgedTasks: 1, purgedScalingEvents: 1, purgedMetricSamples: 1, purgedState: 0, atMs: t0 + 3 * day });
    assert.equal(await store.get(a.id), null);
    assert.equal((await store.get(b.id))!.status, 'retrying');
    assert.deepEqual((await store.listScalingEvents()).map((e) => e.atMs), [t0 + 2 * day]);
    assert.deepEqual((await store.listMetricSamples()).map((m) => m.atMs), [t0 + 2 * day]);
    const keep = await store.maintain({ finishedRetentionMs: 0, scalingEventRetentionMs: 0, metricSampleRetentionMs: 0 });
    assert.deepEqual([keep.purgedTasks, keep.purgedScalingEvents, keep.purgedMetricSamples], [0, 0, 0], '0 keeps forever');
    await rejectsWith(store.maintain({ finishedRetentionMs: -1 }), Error, /^maintenance\.finishedRetentionMs: got -1; expected an integer >= 0/);
  });

  it('the arrivals counter counts each new task once per type and never goes down, and runnable depth counts only due tasks', async ({ store, clock }) => {
    await store.submitBatch([{ type: 'email', idempotencyKey: 'k' }, { type: 'email', idempotencyKey: 'k' }, { type: 'sms', delayMs: 5_000 }]);
    await store.submit({ type: 'email', idempotencyKey: 'k' });
    let counts = await store.counts();
    assert.deepEqual({ ...counts.arrivalsByType }, { email: 1, sms: 1 }, 'idempotent repeats are not arrivals');
    assert.deepEqual({ ...counts.runnableByType }, { email: 1, sms: 0 });
    const t = await claimOne(store, { leaseMs: 100 });
    await store.fail(t.id, t.leaseToken, { message: 'x' });
    await clock.advance(10_000);
    const again = await claimOne(store);
    await store.complete(again.id, again.leaseToken, null);
    await store.purgeFinished(t0 + 60_000);
    counts = await store.counts();
    assert.deepEqual({ ...counts.arrivalsByType }, { email: 1, sms: 1 }, 'a retry is not an arrival and a purge lowers nothing');
    assert.equal(counts.byType.email.succeeded, 0);
    assert.deepEqual({ ...counts.runnableByType }, { email: 0, sms: 1 });
  });

  // --- history ------------------------------------------------------------------------

  it('scaling events and metric samples are kept and listed by time range and pool', async ({ store }) => {
    for (let i = 0; i < 5; i++) {
      await store.recordScalingEvent({
        atMs: t0 + i * 1000, pool: i % 2 ? 'cpu' : 'llm', from: i, to: i + 1,
        action: 'scale_up', code: 'scale_up_depth', reason: `depth ${i}`, policy: 'threshold',
      });
      await store.recordMetricSample({ atMs: t0 + i * 1000, pool: 'llm', values: { queueDepth: i, p95WaitMs: 1.5 * i } });
    }
    const events = await store.listScalingEvents({ fromMs: t0 + 1000, toMs: t0 + 3000 });
    assert.deepEqual(events.map((e) => e.reason), ['depth 1', 'depth 2', 'depth 3']);
    assert.deepEqual(events[0], {
      atMs: t0 + 1000, pool: 'cpu', from: 1, to: 2, action: 'scale_up', code: 'scale_up_depth', reason: 'depth 1', policy: 'threshold',
    });
    assert.deepEqual((await store.listScalingEvents({ pool: 'llm' })).map((e) => e.from), [0, 2, 4]);
    assert.deepEqual((await store.listScalingEvents({ limit: 2 })).map((e) => e.from), [3, 4]);
    const samples = await store.listMetricSamples({ fromMs: t0 + 3000 });
    assert.deepEqual(samples.map((s) => s.values), [{ queueDepth: 3, p95WaitMs: 4.5 }, { queueDepth: 4, p95WaitMs: 6 }]);
  });

  it('a result nesting deeper than the payload limit is refused at complete, naming result, and the task stays leased', async ({ store }) => {
    await store.submit({ type: 'email' });
    const t = await claimOne(store);
    let deep: unknown = 1;
    for (let i = 0; i < 1500; i++) deep = [deep];
    await rejectsWith(store.complete(t.id, t.leaseToken, deep as never), Error, /^result: nests more than 64 levels of arrays\/objects \(the limit\); flatten it$/);
    assert.equal((await store.get(t.id))!.status, 'running');
    let ok: unknown = 1;
    for (let i = 0; i < 64; i++) ok = [ok];
    await store.complete(t.id, t.leaseToken, ok as never);
    assert.deepEqual((await store.get(t.id))!.result, ok);
  });

  // --- coordination: leases with fencing tokens, key-value state ---------------------

  it('a lease goes to one holder at a time; a renewal keeps its token, a new holder gets token + 1 once it lapsed', async ({ store, clock }) => {
    const a = await store.acquireLease('leader', 'node-a', 10_000);
    assert.deepEqual(a, { name: 'leader', holder: 'node-a', token: 1, acquiredAtMs: t0, expiresAtMs: t0 + 10_000 });
    assert.equal(await store.acquireLease('leader', 'node-b', 10_000), null, 'node-b cannot take a live lease');
    await clock.advance(4_000);
    const renewed = await store.acquireLease('leader', 'node-a', 10_000);
    assert.deepEqual(renewed, { name: 'leader', holder: 'node-a', token: 1, acquiredAtMs: t0, expiresAtMs: t0 + 14_000 }, 'a renewal: same token, later expiry');
    assert.deepEqual(await store.readLease('leader'), renewed);
    await clock.advance(14_000); // lapsed
    assert.equal(await store.readLease('leader'), null, 'a lapsed lease reads as free');
    const b = await store.acquireLease('leader', 'node-b', 10_000);
    assert.equal(b?.holder, 'node-b');
    assert.equal(b?.token, 2);
    assert.equal(b?.acquiredAtMs, t0 + 18_000);
    assert.equal(await store.acquireLease('other', 'node-a', 1_000).then((l) => l?.token), 1, 'leases are independent by name');
  });

  it('a released lease is free at once and its next holder gets the next token; only the holder can release it', async ({ store }) => {
    await store.acquireLease('leader', 'node-a', 60_000);
    assert.equal(await store.releaseLease('leader', 'node-b'), false, 'not node-b\'s to release');
    assert.equal(await store.releaseLease('leader', 'node-a'), true);
    assert.equal(await store.readLease('leader'), null);
    assert.equal(await store.releaseLease('leader', 'node-a'), false, 'already released');
    assert.equal((await store.acquireLease('leader', 'node-b', 60_000))?.token, 2);
    assert.equal((await store.acquireLease('leader', 'node-a', 60_000)), null);
  });

  it('a fenced write commits only under the live lease with that token: an old holder resuming after a takeover is refused', async ({ store, clock }) => {
    const a = (await store.acquireLease('leader', 'node-a', 5_000))!;
    const fenceA = { lease: 'leader', token: a.token };
    await store.putState('desired/llm', { total: 3 }, { fence: fenceA });
    await clock.advance(6_000); // node-a "paused" past its lease
    const b = (await store.acquireLease('leader', 'node-b', 5_000))!;
    await store.putState('desired/llm', { total: 7 }, { fence: { lease: 'leader', token: b.token } });
    await rejectsWith(store.putState('desired/llm', { total: 1 }, { fence: fenceA }), FencedError, /lease "leader": fencing token 1 is no longer current \(the lease is at token 2, held by "node-b"\); the write was refused/);
    await rejectsWith(store.deleteState('desired/llm', { fence: fenceA }), FencedError, /token 1 is no longer current/);
    assert.deepEqual((await store.getState('desired/llm'))?.value, { total: 7 }, 'the refused writes changed nothing');
    await clock.advance(6_000); // node-b's lapsed too: its own token no longer fences
    await rejectsWith(store.putState('desired/llm', { total: 2 }, { fence: { lease: 'leader', token: b.token } }), FencedError, /the lease lapsed 1000 ms ago/);
    await rejectsWith(store.putState('x', 1, { fence: { lease: 'never', token: 1 } }), FencedError, /the lease was never granted/);
  });

  it('state entries are written, read, listed by prefix in key order, replaced whole and deleted', async ({ store }) => {
    const put = await store.putState('node/b', { host: 'b', pools: [{ name: 'llm', workers: 2 }] });
    assert.deepEqual(put, { key: 'node/b', value: { host: 'b', pools: [{ name: 'llm', workers: 2 }] }, updatedAtMs: t0, expiresAtMs: null });
    await store.putState('node/a', { host: 'a' });
    await store.putState('node0', 'not a node');
    await store.putState('policy/llm', 42);
    assert.deepEqual((await store.listState('node/')).map((e) => e.key), ['node/a', 'node/b']);
    assert.deepEqual((await store.listState('')).map((e) => e.key), ['node/a', 'node/b', 'node0', 'policy/llm']);
    assert.deepEqual(await store.listState('zzz'), []);
    await store.putState('node/b', { host: 'b2' });
    assert.deepEqual((await store.getState('node/b'))?.value, { host: 'b2' }, 'replaced, not merged');
    assert.equal(await store.deleteState('node/b'), true);
    assert.equal(await store.deleteState('node/b'), false);
    assert.equal(await store.getState('node/b'), null);
    assert.deepEqual((await store.listState('node/')).map((e) => e.key), ['node/a']);
    assert.equal((await store.getState('policy/llm'))?.value, 42);
  });

  it('a state entry with a time to live lapses: reads skip it, a write renews it, maintain() deletes it', async ({ store, clock }) => {
    await store.putState('node/a', { host: 'a' }, { ttlMs: 10_000 });
    await store.putState('node/b', { host: 'b' }, { ttlMs: 10_000 });
    await store.putState('keep', true);
    await clock.advance(6_000);
    await store.putState('node/a', { host: 'a' }, { ttlMs: 10_000 }); // a renewal
    await clock.advance(5_000);
    assert.equal(await store.getState('node/b'), null, 'node/b lapsed');
    const live = await store.listState('node/');
    assert.deepEqual(live.map((e) => [e.key, e.updatedAtMs, e.expiresAtMs]), [['node/a', t0 + 6_000, t0 + 16_000]]);
    const report = await store.maintain();
    assert.equal(report.purgedState, 1);
    assert.equal((await store.getState('keep'))?.value, true);
  });

  it('coordination calls with bad arguments are refused with the argument named', async ({ store }) => {
    await rejectsWith(store.acquireLease('', 'a', 1000), Error, /^lease name: got ""; expected a non-empty string/);
    await rejectsWith(store.acquireLease('leader', 'a', 0), Error, /^lease ttlMs: got 0; expected an integer in \[1, /);
    await rejectsWith(store.putState('', 1), Error, /^state key: got ""/);
    await rejectsWith(store.putState('k', 10n as never), Error, /^state value of "k": expected a JSON value/);
    await rejectsWith(store.putState('k', 'x'.repeat(300_000)), Error, /^state value of "k": \d+ bytes serialized; at most 262144/);
    await rejectsWith(store.putState('k', 1, { fence: { lease: 'leader', token: 0 } }), Error, /^fence\.token: got 0; expected an integer >= 1/);
    await rejectsWith(store.putState('k', 1, { ttlMs: -1 }), Error, /^state ttlMs: got -1/);
  });

  it('state writes and deletes emit a state event naming the key', async ({ store }) => {
    const heard: StoreEvent[] = [];
    store.subscribe((e) => heard.push(e));
    await store.putState('policy/llm', { a: 1 });
    await store.deleteState('policy/llm');
    await store.deleteState('policy/llm'); // nothing there: no event
    assert.deepEqual(heard.filter((e) => e.kind === 'state').map((e) => (e as { key: string }).key), ['policy/llm', 'policy/llm']);
  });

  it('across processes sharing the store, exactly one of many concurrent acquirers gets a lease', async ({ store, ns, clock }) => {
    const other = await ns.open({ clock, random: () => 1 });
    try {
      const attempts = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? other : store).acquireLease('leader', `node-${i}`, 30_000)));
      const granted = attempts.filter((l) => l !== null);
      assert.equal(granted.length, 1, 'one grant');
      assert.equal(granted[0]!.token, 1);
      assert.deepEqual(await other.readLease('leader'), granted[0]);
      await other.putState('desired/llm', 5, { fence: { lease: 'leader', token: 1 } });
      assert.equal((await store.getState('desired/llm'))?.value, 5);
    } finally {
      await other.close();
    }
  }, {}, 'multiProcess');

  it('with shared events, another process hears state changes', async ({ store, ns, clock }) => {
    const other = await ns.open({ clock, random: () => 1 });
    try {
      const keys: string[] = [];
      other.subscribe((e) => e.kind === 'state' && keys.push(e.key));
      // The other process's subscription is made asynchronously: write until it hears (at most ~5 s).
      for (let i = 0; i < 25 && keys.length === 0; i++) {
        await store.putState('pool/llm', { maxWorkers: 4 });
        await new Promise((r) => setTimeout(r, 200));
      }
      assert.equal(keys[0], 'pool/llm', 'the other process heard the state change');
    } finally {
      await other.close();
    }
  }, {}, 'listenNotify');

  it('leases, tokens and state survive close and reopen; a token never goes back', async ({ store, ns, clock }) => {
    await store.acquireLease('leader', 'node-a', 5_000);
    await store.releaseLease('leader', 'node-a');
    await store.putState('schedule/nightly', { lastTickMs: 123 });
    await store.close();
    const reopened = await ns.open({ clock, random: () => 1 });
    try {
      assert.equal((await reopened.acquireLease('leader', 'node-a', 5_000))?.token, 2);
      assert.deepEqual((await reopened.getState('schedule/nightly'))?.value, { lastTickMs: 123 });
    } finally {
      await reopened.close();
    }
  }, {}, 'durable');

  // --- durability ---------------------------------------------------------------------

  it('tasks, leases and history survive closing and reopening the store', async ({ store, clock, ns }) => {
    await store.submitBatch([{ type: 'email', payload: { n: 1 }, idempotencyKey: 'k1' }, { type: 'email', payload: { n: 2 } }]);
    const t = await claimOne(store, { leaseMs: 5_000 });
    await store.recordScalingEvent({ atMs: t0, pool: 'p', from: 1, to: 2, action: 'scale_up', code: 'c', reason: 'r', policy: 'x' });
    await store.close();
    const reopened = await ns.open({ clock });
    try {
      assert.equal((await reopened.get(t.id))!.status, 'running');
      assert.equal((await reopened.submit({ type: 'email', idempotencyKey: 'k1' })).created, false);
      assert.equal((await reopened.listScalingEvents()).length, 1);
      await clock.advance(5_000);
      await reopened.maintain();
      const again = await reopened.claim(claimReq({ limit: 5 }));
      assert.deepEqual(again.map((x) => [x.id === t.id, x.attempts]).sort(), [[false, 1], [true, 2]]);
      await reopened.complete(again[0].id, again[0].leaseToken, null);
      assert.deepEqual((await reopened.counts()).byStatus, { queued: 0, running: 1, retrying: 0, succeeded: 1, dead: 0, cancelled: 0 });
    } finally {
      await reopened.close();
    }
  }, {}, 'durable');

  it('a closed store refuses further calls with a clear message', async ({ store }) => {
    await store.close();
    await rejectsWith(store.submit({ type: 'email' }), StoreUnavailableError, /store.* is closed$/);
    await rejectsWith(store.get('x'), StoreUnavailableError, /is closed$/);
  });
}
