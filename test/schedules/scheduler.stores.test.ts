// Two schedulers ("nodes") on every durable store, each with its own connection: only the
// lease holder submits, each tick once; when it closes, the other takes over at its next
// renewal with no tick lost or doubled; and a schedule created through one connection is
// seen by the other's scheduler (shared stores: the state event reaches every node). Real
// time (the database's clock is the time of record on PostgreSQL and Redis), a 1-second
// schedule, a few seconds per store.
import { test } from 'node:test';
import { once } from 'node:events';
import assert from 'node:assert/strict';
import { systemClock } from '../../src/core/index.ts';
import type { Task } from '../../src/core/index.ts';
import { Scheduler, createSchedule } from '../../src/schedules/index.ts';
import type { TickSubmitted } from '../../src/schedules/index.ts';
import { STORE_ADAPTERS } from '../store/adapters.ts';
import { serverSkip } from '../store/servers.ts';

for (const adapter of STORE_ADAPTERS.filter((a) => a.capabilities.includes('multiProcess'))) {
  const skip = adapter.probe ? await serverSkip(adapter.server!, adapter.probe) : false;
  test(`${adapter.name}: of two schedulers on one store only the holder submits, and the other goes on after it closes, each tick once`, { skip, timeout: 60_000 }, async () => {
    const ns = adapter.namespace();
    const one = await ns.open({ clock: systemClock });
    const two = await ns.open({ clock: systemClock });
    const a = new Scheduler({ store: one, clock: systemClock, holder: 'a', leaseMs: 900 });
    const b = new Scheduler({ store: two, clock: systemClock, holder: 'b', leaseMs: 900 });
    const by: Record<string, TickSubmitted[]> = { a: [], b: [] };
    a.on('submitted', (t: TickSubmitted) => by.a!.push(t));
    b.on('submitted', (t: TickSubmitted) => by.b!.push(t));
    const ticksOf = (list: TickSubmitted[]) => list.map((t) => t.tickMs);
    /** Resolves at the n-th submitted tick after now, on either node (the scheduler's own event: no timer). */
    const ticks = (n: number) =>
      new Promise<void>((resolve) => {
        let seen = 0;
        const on = () => {
          if (++seen < n) return;
          a.off('submitted', on);
          b.off('submitted', on);
          resolve();
        };
        a.on('submitted', on);
        b.on('submitted', on);
      });
    try {
      const aLeads = once(a, 'leader');
      a.start();
      await aLeads; // a takes the lease first
      b.start();
      // Created through b's connection: a (the holder) hears of it or finds it at its next renewal.
      await createSchedule(two, { name: 'beat', cron: '* * * * * *', type: 'echo' });
      await ticks(3);
      assert.equal(by.b!.length, 0, 'the follower submits nothing');
      assert.equal(a.isLeader, true);
      await a.close();
      await ticks(3);
      assert.equal(b.isLeader, true);
      const all = [...ticksOf(by.a!), ...ticksOf(by.b!)];
      assert.deepEqual(all, [...all].sort((x, y) => x - y), 'b starts where a stopped');
      const gaps = all.slice(1).map((t, i) => t - all[i]!).filter((d) => d !== 1000);
      assert.deepEqual(gaps, [], 'no tick lost or doubled in the handover');
      await b.close();
      const tasks: Task[] = (await one.list({ limit: 100 })).tasks;
      assert.deepEqual(tasks.map((t) => t.runAtMs).sort((x, y) => x - y), all, 'one task per tick in the store');
      assert.ok(by.a!.concat(by.b!).every((t) => t.created), 'no tick was submitted twice (none hit the idempotency key)');
    } finally {
      await a.close();
      await b.close();
      await one.close();
      await two.close();
      await ns.drop?.();
    }
  });
}
