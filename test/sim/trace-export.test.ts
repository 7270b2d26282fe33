// `tidepool trace export` on a real SQLite file: finished tasks become trace rows that
// `tidepool simulate` replays.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { VirtualClock } from '../../src/core/index.ts';
import { openStore } from '../../src/store/index.ts';
import { scratchDir } from '../scratch-dir.ts';

const MAIN = join(import.meta.dirname, '../../src/cli/main.ts');

test('trace export writes finished tasks as arrival (submit time) and service (run time) rows that simulate replays', async () => {
  const dir = scratchDir('tidepool-export-');
  const db = join(dir, 't.db');
  const clock = new VirtualClock(1_700_000_000_000);
  const store = await openStore(`sqlite:${db}`, { clock });
  const plan = [
    { at: 0, type: 'llm', tenant: 'a', priority: 0, runMs: 1500 },
    { at: 250, type: 'llm', tenant: 'b', priority: 5, runMs: 400 },
    { at: 900, type: 'shell', tenant: 'a', priority: 0, runMs: 3000 },
  ];
  const start = clock.now();
  for (const p of plan) {
    clock.set(start + p.at);
    await store.submit({ type: p.type, tenant: p.tenant, priority: p.priority, payload: null });
  }
  // Run each task for its planned time, one after another.
  for (const type of ['llm', 'llm', 'shell']) {
    const [task] = await store.claim({ workerId: 'w1', types: [type], limit: 1, leaseMs: 60_000 });
    const p = plan.find((x) => x.type === task.type && x.tenant === task.tenant && x.priority === task.priority)!;
    clock.set(clock.now() + p.runMs);
    await store.complete(task.id, task.leaseToken, null);
  }
  await store.close();

  const out = join(dir, 'trace.csv');
  const r = spawnSync(process.execPath, [MAIN, 'trace', 'export', '--store', `sqlite:${db}`, '--out', out], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(readFileSync(out, 'utf8'), 'arrival_ms,service_ms,tenant,priority,type\n0,1500,a,0,llm\n250,400,b,5,llm\n900,3000,a,0,shell\n');

  const typed = spawnSync(process.execPath, [MAIN, 'trace', 'export', '--store', `sqlite:${db}`, '--type', 'shell'], { encoding: 'utf8' });
  assert.equal(typed.stdout, 'arrival_ms,service_ms,tenant,priority,type\n0,3000,a,0,shell\n');

  const sim = spawnSync(process.execPath, [MAIN, 'simulate', '--trace', out, '--policy', 'fixed:1', '--json'], { encoding: 'utf8' });
  assert.equal(sim.status, 0, sim.stderr);
  assert.equal(JSON.parse(sim.stdout.trim()).tasks, 3);
});

test('trace export names a bad --from value', () => {
  const r = spawnSync(process.execPath, [MAIN, 'trace', 'export', '--store', 'memory', '--from', 'yesterday'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.equal(r.stderr.trim(), 'tidepool: --from: got "yesterday"; expected epoch milliseconds, an ISO 8601 date-time (2026-12-03T20:00:00Z) or a date (2026-12-03)');
});
