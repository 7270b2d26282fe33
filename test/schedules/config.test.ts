// The config key `schedules`: validated with the rest of the config (every problem at
// once, each naming its entry and field), synced into the store by createTidepool, which
// then ticks them; a later config replaces and removes the config schedules it changed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { VirtualClock } from '../../src/core/index.ts';
import { openStore } from '../../src/store/index.ts';
import { createTidepool } from '../../src/tidepool.ts';
import { loadConfig } from '../../src/cli/config-load.ts';
import { createSchedule, listSchedules, syncConfigSchedules } from '../../src/schedules/index.ts';
import { scratchDir } from '../scratch-dir.ts';

const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);

test('a config file with bad schedules reports every problem, naming the entry, the field and the file', () => {
  const file = join(scratchDir('tidepool-sched-config-'), 'tidepool.json');
  writeFileSync(
    file,
    JSON.stringify({
      schedules: [
        { name: 'ok', cron: '*/5 * * * * *', type: 'echo' },
        { name: 'bad name', cron: '61 * * * *', type: 'echo', timezone: 'Mars/Olympus', every: 5 },
        { name: 'feb30', cron: '0 0 30 2 *', type: 'echo' },
      ],
    }),
  );
  assert.throws(
    () => loadConfig({ file }),
    (err: Error & { problems?: string[] }) => {
      assert.deepEqual(err.problems, [
        'schedules[1].name (tidepool.json): got "bad name"; expected 1-128 letters, digits, . _ - (starting with a letter or digit)',
        'schedules[1].every (tidepool.json): unknown setting; known settings here: name, cron, timezone, type, payload, priority, tenant, catchUp',
        'schedules[1].timezone (tidepool.json): got "Mars/Olympus"; expected an IANA time zone name such as "UTC", "Europe/Berlin" or "America/New_York"',
        'schedules[1].cron (tidepool.json): got "61 * * * *"; expected a cron expression of 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first, or @hourly/@daily/... (Invalid value for minute: 61)',
        'schedules[2].cron (tidepool.json): got "0 0 30 2 *"; expected a cron expression of 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first, or @hourly/@daily/... that fires at least once (this one never does)',
      ]);
      return true;
    },
  );
});

test('two config schedules with one name are refused', () => {
  const file = join(scratchDir('tidepool-sched-config-'), 'tidepool.json');
  writeFileSync(file, JSON.stringify({ schedules: [{ name: 'a', cron: '@hourly', type: 'x' }, { name: 'a', cron: '@daily', type: 'y' }] }));
  assert.throws(() => loadConfig({ file }), { message: /schedules\[1\]\.name \(tidepool\.json\): got "a"; expected a name no other schedule has \(schedules\[0\] has it\)/ });
});

test('createTidepool syncs config.schedules into the store and its scheduler submits their ticks', async () => {
  const clock = new VirtualClock(T0);
  const tp = await createTidepool({ store: 'memory', schedules: [{ name: 'beat', cron: '* * * * * *', type: 'echo', payload: 'hi' }] }, { echo: async (p: unknown) => p }, { clock, startAutoscaler: false });
  for (let i = 0; i < 30; i++) {
    await clock.advance(100);
    await new Promise((r) => setImmediate(r));
  }
  const tasks = (await tp.store.list({ limit: 100 })).tasks;
  assert.deepEqual(tasks.map((t) => t.runAtMs).sort(), [T0 + 1000, T0 + 2000, T0 + 3000]);
  assert.ok(tasks.every((t) => t.payload === 'hi' && t.type === 'echo'));
  const [view] = await listSchedules(tp.store);
  assert.equal(view!.source, 'config');
  await tp.close(0);
});

test('a later config keeps unchanged schedules, replaces changed ones, removes dropped ones and leaves API schedules alone', async () => {
  const clock = new VirtualClock(T0);
  const store = await openStore('memory', { clock });
  await syncConfigSchedules(store, [{ name: 'keep', cron: '@hourly', type: 'a' }, { name: 'change', cron: '@hourly', type: 'a' }, { name: 'drop', cron: '@hourly', type: 'a' }]);
  await createSchedule(store, { name: 'mine', cron: '@daily', type: 'b' });
  const report = await syncConfigSchedules(store, [{ name: 'keep', cron: '@hourly', type: 'a' }, { name: 'change', cron: '@daily', type: 'a' }, { name: 'new', cron: '@daily', type: 'c' }]);
  assert.deepEqual(report, { added: ['new'], replaced: ['change'], removed: ['drop'] });
  const views = await listSchedules(store);
  assert.deepEqual(views.map((v) => [v.name, v.cron, v.source]), [['change', '@daily', 'config'], ['keep', '@hourly', 'config'], ['mine', '@daily', 'api'], ['new', '@daily', 'config']]);
  await store.close();
});

test('scheduler.enabled false: the node syncs and serves schedules but never takes the lease nor submits a tick', async () => {
  const clock = new VirtualClock(T0);
  const tp = await createTidepool(
    { store: 'memory', scheduler: { enabled: false }, schedules: [{ name: 'beat', cron: '* * * * * *', type: 'echo' }] },
    { echo: async (p: unknown) => p },
    { clock, startAutoscaler: false },
  );
  for (let i = 0; i < 30; i++) {
    await clock.advance(100);
    await new Promise((r) => setImmediate(r));
  }
  assert.equal((await tp.store.list({ limit: 10 })).tasks.length, 0);
  assert.equal(await tp.store.readLease('scheduler'), null);
  assert.deepEqual((await listSchedules(tp.store)).map((s) => s.name), ['beat'], 'the schedule is in the store for a node that ticks');
  await tp.close(0);
});
