// Restart survival on SQLite: tasks submitted by a process that is then killed (SIGKILL)
// or closed are there when a new process opens the file, and the task the killed process
// held is reclaimed once its lease expires, with the attempt counted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { VirtualClock, systemClock } from '../../src/core/index.ts';
import { openStore } from '../../src/store/index.ts';
import { tempDir } from './helpers.ts';

const fixture = join(import.meta.dirname, 'fixtures', 'submit-and-hold.ts');

async function runChild(dbPath: string, count: number, mode: 'hold' | 'close') {
  const child = spawn(process.execPath, [fixture, dbPath, String(count), mode], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = once(child, 'exit');
  const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
  return { child, exited, report: JSON.parse(line) as { ids: string[]; heldId: string } };
}

test('tasks acknowledged by a process killed with SIGKILL are all there after reopening, and its held task is reclaimed after the lease', { timeout: 60_000 }, async () => {
  const dbPath = join(tempDir(), 'restart.db');
  const { child, exited, report } = await runChild(dbPath, 200, 'hold');
  child.kill('SIGKILL');
  const [, signal] = await exited;
  assert.equal(signal, 'SIGKILL');

  const clock = new VirtualClock(systemClock.now());
  const store = await openStore(`sqlite:${dbPath}`, { clock });
  try {
    const counts = await store.counts();
    assert.deepEqual(counts.byStatus, { queued: 199, running: 1, retrying: 0, succeeded: 0, dead: 0, cancelled: 0 });
    for (const id of report.ids) assert.ok(await store.get(id), `task ${id} survived`);
    assert.equal((await store.submit({ type: 'job', idempotencyKey: 'k7' })).created, false, 'idempotency keys survive too');

    const before = await store.claim({ workerId: 'heir', types: ['job'], limit: 1000, leaseMs: 600_000 });
    assert.equal(before.length, 199);
    assert.ok(!before.some((t) => t.id === report.heldId), 'the held task is not taken before its lease expires');

    await clock.advance(61_000);
    await store.maintain();
    const after = await store.claim({ workerId: 'heir', types: ['job'], limit: 1, leaseMs: 60_000 });
    assert.equal(after.length, 1);
    assert.equal(after[0].id, report.heldId);
    assert.equal(after[0].attempts, 2, 'the killed attempt counts');
  } finally {
    await store.close();
  }
});

test('tasks submitted by a process that closed the store cleanly are there after reopening', { timeout: 60_000 }, async () => {
  const dbPath = join(tempDir(), 'clean.db');
  const { exited, report } = await runChild(dbPath, 50, 'close');
  const [code] = await exited;
  assert.equal(code, 0);
  const store = await openStore(`sqlite:${dbPath}`);
  try {
    const page = await store.list({ limit: 1000 });
    assert.deepEqual(page.tasks.map((t) => t.id).sort(), [...report.ids].sort());
    assert.equal((await store.get(report.heldId))!.status, 'running');
  } finally {
    await store.close();
  }
});
