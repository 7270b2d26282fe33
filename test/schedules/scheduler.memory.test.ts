// The scheduler in virtual time on the memory store: one task per tick, one ticking node
// among several, a paused leader's late writes fenced off, catch-up after downtime, the
// record of submitted ticks outliving the tasks, and a clock that steps back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../../src/core/index.ts';
import type { Task } from '../../src/core/index.ts';
import { openStore } from '../../src/store/index.ts';
import type { Store } from '../../src/store/index.ts';
import { Scheduler, createSchedule, deleteSchedule, getSchedule, listSchedules, SCHEDULER_LEASE } from '../../src/schedules/index.ts';
import type { SchedulerOptions } from '../../src/schedules/index.ts';

const S = 1000;
const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);

/** Moves virtual time forward in small steps, letting each pass's store calls settle in between. */
async function run(clock: VirtualClock, ms: number, stepMs = 100): Promise<void> {
  for (let done = 0; done < ms; done += stepMs) {
    await clock.advance(Math.min(stepMs, ms - done));
    await new Promise((r) => setImmediate(r));
  }
}

async function allTasks(store: Store): Promise<Task[]> {
  return (await store.list({ limit: 1000 })).tasks.sort((a, b) => a.runAtMs - b.runAtMs);
}

/** Tick instants of the tasks, asserting each tick has exactly one task whose key names it. */
function ticksOf(tasks: Task[], name: string): number[] {
  const keys = tasks.map((t) => t.idempotencyKey);
  assert.equal(new Set(keys).size, keys.length, 'no tick twice');
  for (const t of tasks) assert.equal(t.idempotencyKey, `schedule:${name}:${t.runAtMs}`);
  return tasks.map((t) => t.runAtMs);
}

const seconds = (fromMs: number, toMs: number) => Array.from({ length: (toMs - fromMs) / S + 1 }, (_, i) => fromMs + i * S);

async function setup(extra: Partial<SchedulerOptions> = {}) {
  const clock = new VirtualClock(T0);
  const store = await openStore('memory', { clock });
  const lines: string[] = [];
  const make = (holder: string, over: Partial<SchedulerOptions> = {}) => new Scheduler({ store, clock, holder, leaseMs: 3 * S, log: (l) => lines.push(`${holder}: ${l}`), ...extra, ...over });
  return { clock, store, lines, make };
}

test('a schedule every second submits one task per tick, with the tick as runAt and payload, priority and tenant', async () => {
  const { clock, store, make } = await setup();
  await createSchedule(store, { name: 'beat', cron: '* * * * * *', type: 'echo', payload: { n: 1 }, priority: 5, tenant: 'acme' });
  const s = make('a');
  s.start();
  await run(clock, 5 * S);
  const tasks = await allTasks(store);
  assert.deepEqual(ticksOf(tasks, 'beat'), seconds(T0 + S, T0 + 5 * S));
  assert.deepEqual(tasks.map((t) => [t.type, t.payload, t.priority, t.tenant])[0], ['echo', { n: 1 }, 5, 'acme']);
  const view = await getSchedule(store, 'beat');
  assert.equal(view!.lastTickMs, T0 + 5 * S);
  assert.equal(view!.lastTaskId, tasks.at(-1)!.id);
  assert.equal(view!.nextRunMs, T0 + 6 * S);
  await s.close();
  assert.equal(await store.readLease(SCHEDULER_LEASE), null, 'close releases the lease');
  await store.close();
});

test('of two schedulers on one store only the lease holder ticks; when it closes the other goes on with no gap', async () => {
  const { clock, store, make } = await setup();
  await createSchedule(store, { name: 'beat', cron: '* * * * * *', type: 'echo' });
  const a = make('a');
  const b = make('b');
  const byHolder: Record<string, number> = { a: 0, b: 0 };
  a.on('submitted', () => byHolder.a!++);
  b.on('submitted', () => byHolder.b!++);
  a.start();
  await run(clock, 50);
  b.start();
  await run(clock, 4 * S);
  assert.equal(a.isLeader, true);
  assert.equal(b.isLeader, false);
  assert.equal(byHolder.b, 0, 'the follower submits nothing');
  await a.close();
  await run(clock, 4 * S);
  assert.equal(b.isLeader, true, 'the follower took the released lease at its next renewal');
  const tasks = await allTasks(store);
  assert.deepEqual(ticksOf(tasks, 'beat'), seconds(T0 + S, T0 + 8 * S), 'each tick once, none lost in the handover (late ticks within grace are on time)');
  await b.close();
  await store.close();
});

test("a paused leader's late writes are fenced: the new leader's ticks stand and no tick is submitted twice", async () => {
  const { clock, store, lines } = await setup();
  await createSchedule(store, { name: 'beat', cron: '* * * * * *', type: 'echo' });
  // Node a's store calls hang while it is "paused" (a long GC, SIGSTOP): its lease lapses meanwhile.
  let gate: Promise<void> | null = null;
  let open: () => void = () => undefined;
  const paused = new Proxy(store, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof v !== 'function' || prop === 'subscribe') return v;
      return async (...args: unknown[]) => {
        if (gate) await gate;
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  const a = new Scheduler({ store: paused, clock, holder: 'a', leaseMs: 3 * S, log: (l) => lines.push(`a: ${l}`) });
  const b = new Scheduler({ store, clock, holder: 'b', leaseMs: 3 * S, log: (l) => lines.push(`b: ${l}`) });
  a.start();
  await run(clock, 2 * S + 500);
  assert.equal(a.isLeader, true);
  gate = new Promise((r) => (open = r));
  b.start();
  await run(clock, 8 * S);
  assert.equal(b.isLeader, true, 'b took the lapsed lease');
  gate = null;
  open(); // a resumes mid-pass with its old token
  await run(clock, 2 * S);
  assert.equal(a.isLeader, false, 'a learnt it lost the lease');
  assert.ok(lines.some((l) => /^a: .*fencing token 1 is no longer current/.test(l) || /^a: scheduler: lost the scheduler lease/.test(l)), lines.join('\n'));
  const tasks = await allTasks(store);
  const ticks = ticksOf(tasks, 'beat');
  assert.deepEqual(ticks, seconds(T0 + S, ticks.at(-1)!), 'every tick exactly once across the failover');
  assert.ok(ticks.at(-1)! >= T0 + 12 * S);
  await a.close();
  await b.close();
  await store.close();
});

for (const { rule, expect } of [
  { rule: 'latest' as const, expect: (downFrom: number, backAt: number) => [...seconds(T0 + S, downFrom), backAt] },
  { rule: 'all' as const, expect: (downFrom: number, backAt: number) => seconds(T0 + S, backAt) },
  { rule: 'none' as const, expect: (downFrom: number, backAt: number) => [...seconds(T0 + S, downFrom), ...seconds(backAt - 5 * S, backAt)] },
]) {
  test(`after downtime longer than the grace, catchUp ${rule} submits what its rule says`, async () => {
    const { clock, store, make, lines } = await setup({ graceMs: 5 * S });
    await createSchedule(store, { name: 'beat', cron: '* * * * * *', type: 'echo', catchUp: rule });
    const first = make('a');
    first.start();
    await run(clock, 3 * S);
    await first.close();
    const downFrom = T0 + 3 * S;
    await run(clock, 60 * S); // every node down for a minute
    const second = make('b');
    second.start();
    await run(clock, 50);
    const backAt = T0 + 63 * S;
    assert.deepEqual(ticksOf(await allTasks(store), 'beat'), expect(downFrom, backAt));
    assert.ok(lines.some((l) => l.includes(`missed ticks from ${new Date(downFrom + S).toISOString()}`) && l.includes(`catchUp ${rule}`)), lines.join('\n'));
    await run(clock, 2 * S);
    const last = (await allTasks(store)).at(-1)!;
    assert.equal(last.runAtMs, backAt + 2 * S, 'ticking goes on after the catch-up');
    await second.close();
    await store.close();
  });
}

test('the record of submitted ticks outlives the tasks: after they are purged a new scheduler submits none again', async () => {
  const { clock, store, make } = await setup();
  await createSchedule(store, { name: 'beat', cron: '* * * * * *', type: 'echo' });
  const a = make('a');
  a.start();
  await run(clock, 3 * S);
  await a.close();
  for (const t of await allTasks(store)) await store.cancel(t.id);
  await clock.advance(10);
  const report = await store.maintain({ finishedRetentionMs: 1 });
  assert.equal(report.purgedTasks, 3);
  assert.equal((await allTasks(store)).length, 0);
  const b = make('b');
  b.start();
  await run(clock, 1 * S);
  const ticks = ticksOf(await allTasks(store), 'beat');
  assert.deepEqual(ticks, [T0 + 4 * S], 'only the tick that came due since, never the purged ones again');
  await b.close();
  await store.close();
});

test('a clock that steps back submits nothing twice, and ticking resumes once time passes the last tick', async () => {
  const { clock, store, make } = await setup();
  await createSchedule(store, { name: 'beat', cron: '* * * * * *', type: 'echo' });
  const a = make('a');
  a.start();
  await run(clock, 5 * S);
  clock.set(T0 + 2 * S); // NTP steps the clock back three seconds
  await run(clock, 5 * S);
  const ticks = ticksOf(await allTasks(store), 'beat');
  assert.deepEqual(ticks, seconds(T0 + S, T0 + 7 * S));
  await a.close();
  await store.close();
});

test('deleting a schedule stops its ticks and its tasks already submitted stay; a new schedule wakes the leader at once', async () => {
  const { clock, store, make } = await setup();
  await createSchedule(store, { name: 'beat', cron: '* * * * * *', type: 'echo' });
  const a = make('a', { leaseMs: 60 * S });
  a.start();
  await run(clock, 2 * S);
  assert.equal(await deleteSchedule(store, 'beat'), true);
  await run(clock, 3 * S);
  assert.equal((await allTasks(store)).length, 2);
  assert.deepEqual(await listSchedules(store), []);
  // A 1-second schedule created mid-wait: the state event wakes the pass (the renewal is 20 s away).
  await createSchedule(store, { name: 'again', cron: '* * * * * *', type: 'echo' });
  await run(clock, 1 * S);
  assert.equal((await allTasks(store)).filter((t) => t.idempotencyKey?.startsWith('schedule:again:')).length, 1);
  await a.close();
  await store.close();
});

test('createSchedule: the same definition again is not an error, another one under the name is a conflict, bad input names the field', async () => {
  const { store } = await setup();
  const first = await createSchedule(store, { name: 'nightly', cron: '0 3 * * *', timezone: 'Europe/Berlin', type: 'report' });
  assert.equal(first.created, true);
  assert.equal(first.schedule.nextRunMs, Date.UTC(2026, 0, 16, 2, 0, 0));
  assert.equal((await createSchedule(store, { name: 'nightly', cron: '0 3 * * *', timezone: 'Europe/Berlin', type: 'report' })).created, false);
  await assert.rejects(createSchedule(store, { name: 'nightly', cron: '0 4 * * *', type: 'report' }), { code: 'ScheduleConflict', message: /schedule "nightly" exists with another definition \(cron "0 3 \* \* \*"/ });
  await assert.rejects(createSchedule(store, { name: 'x', cron: '* * *', type: 'report' }), { code: 'InvalidInput', message: /^schedule\.cron: expected a cron expression of 5 fields .*\(this one has 3 fields\)$/ });
  await assert.rejects(createSchedule(store, { name: 'x', cron: '* * * * *', type: 'report', timezone: 'Mars/Olympus' }), { code: 'InvalidInput', message: /^schedule\.timezone: expected an IANA time zone name/ });
  await store.close();
});

test('a schedule whose tasks are refused (queue full) is reported once, retried each pass, and its late ticks go in once there is room', async () => {
  const clock = new VirtualClock(T0);
  const store = await openStore('memory', { clock, maxQueueDepth: 1 });
  const blocker = await store.submit({ type: 'other' });
  await createSchedule(store, { name: 'beat', cron: '* * * * * *', type: 'echo' });
  const errors: string[] = [];
  const a = new Scheduler({ store, clock, holder: 'a', leaseMs: 3 * S });
  a.on('error', (err: Error) => errors.push(err.message));
  a.start();
  await run(clock, 5 * S);
  assert.equal(errors.length, 1, errors.join('\n'));
  assert.match(errors[0]!, /queue depth 1 is at its maximum 1/);
  await store.cancel(blocker.task.id); // room for one task: the oldest late tick goes in, the rest wait
  await run(clock, 2 * S);
  const ticks = ticksOf((await allTasks(store)).filter((t) => t.type === 'echo'), 'beat');
  assert.deepEqual(ticks, [T0 + S], 'the first refused tick, late but within grace; later ticks wait their turn in order');
  await a.close();
  await store.close();
});
