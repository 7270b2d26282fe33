// Crash safety: the server runs as a real child process on a SQLite file, takes a
// load of one-at-a-time and batch submits, and is killed with SIGKILL mid-load. A new
// server on the same file must finish every task the first one acknowledged (201):
// none lost, none recorded as succeeded twice, held tasks retried within 30 s.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { spawnStart, tempDir } from './helpers.ts';
import { openStore } from '../../src/store/index.ts';

const MAIN = join(import.meta.dirname, '../../src/cli/main.ts');
const HANDLERS = join(import.meta.dirname, 'fixtures/recording-handlers.ts');
const LEASE_MS = 2000;

interface Child {
  proc: ChildProcess;
  url: string;
}

function startChild(dbPath: string, execLog: string): Promise<Child> {
  return spawnStart(['--store', `sqlite:${dbPath}`, '--handlers', HANDLERS, '--lease-ms', String(LEASE_MS), '--policy', 'fixed:8', '--min', '8', '--max', '8'], { TIDEPOOL_TEST_EXEC_LOG: execLog });
}

test('a server killed with SIGKILL mid-load loses no acknowledged task and records none as succeeded twice', { timeout: 120_000 }, async () => {
  const tmp = tempDir('tidepool-crash-');
  const db = join(tmp.dir, 'crash.db');
  const execLog = join(tmp.dir, 'executions.log');
  const acked = new Set<string>();
  let first: Child | null = await startChild(db, execLog);
  let second: Child | null = null;
  try {
    const url = first.url;
    let isKilled = false;
    let failedAfterKill = 0;
    const submitter = async (n: number) => {
      for (let i = 0; !isKilled; i++) {
        try {
          if (i % 10 === 9) {
            const res = await fetch(`${url}/v1/tasks/batch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ tasks: Array.from({ length: 20 }, () => ({ type: 'work', payload: { ms: 20 } })) }) });
            if (res.status === 201) for (const t of ((await res.json()) as { tasks: Array<{ id: string }> }).tasks) acked.add(t.id);
          } else {
            const res = await fetch(`${url}/v1/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 'work', payload: { ms: 20 + (n % 5) * 10 } }) });
            if (res.status === 201) acked.add(((await res.json()) as { id: string }).id);
          }
        } catch {
          failedAfterKill++;
          return;
        }
      }
    };
    const load = Promise.all(Array.from({ length: 16 }, (_, n) => submitter(n)));
    // Kill once the server has acknowledged plenty and is running tasks.
    const executed = () => (existsSync(execLog) ? readFileSync(execLog, 'utf8').split('\n').length - 1 : 0);
    for (let spins = 0; acked.size < 1500 || executed() < 200; spins++) {
      // Awaiting the submitters' own I/O: each turn lets responses come in.
      await new Promise((r) => setImmediate(r));
    }
    first.proc.kill('SIGKILL');
    await once(first.proc, 'exit');
    isKilled = true;
    await load;
    const ackedAtKill = acked.size;
    const executedBeforeKill = readFileSync(execLog, 'utf8').trim().split('\n').length;
    first = null;

    const restartedAtMs = performance.now();
    second = await startChild(db, execLog);
    const pending = [...acked];
    const outcomes = new Map<string, { status: string; attempts: number; maxAttempts: number }>();
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        for (let id = pending.pop(); id; id = pending.pop()) {
          const res = await fetch(`${second!.url}/v1/tasks/${id}?wait=60000`);
          assert.equal(res.status, 200, `acknowledged task ${id} is known after the restart`);
          const t = (await res.json()) as { status: string; attempts: number; maxAttempts: number };
          outcomes.set(id, t);
        }
      }),
    );
    const recoveredInMs = performance.now() - restartedAtMs;

    const lines = readFileSync(execLog, 'utf8').trim().split('\n');
    const executions = new Map<string, number[]>();
    for (const line of lines) {
      const [id, attempt] = line.split(' ');
      executions.set(id, [...(executions.get(id) ?? []), Number(attempt)]);
    }
    let retried = 0;
    for (const id of acked) {
      const t = outcomes.get(id)!;
      assert.ok(t.status === 'succeeded' || (t.status === 'dead' && t.attempts === t.maxAttempts), `task ${id} ended ${t.status} after ${t.attempts} attempts`);
      const runs = executions.get(id) ?? [];
      assert.ok(runs.length >= 1, `task ${id} was executed`);
      assert.equal(new Set(runs).size, runs.length, `task ${id}: no attempt ran to the end twice (${runs.join(',')})`);
      assert.ok(runs.length <= t.attempts, `task ${id}: ${runs.length} finished executions but the store counts ${t.attempts} attempts`);
      if (t.attempts > 1) retried++;
    }
    const succeeded = [...outcomes.values()].filter((t) => t.status === 'succeeded').length;
    process.stderr.write(
      `crash: ${ackedAtKill} acknowledged before SIGKILL (${failedAfterKill} requests cut by the kill), ${executedBeforeKill} executions before it; after restart all ${acked.size} ended (${succeeded} succeeded), ${retried} retried after their lease lapsed, recovered in ${Math.round(recoveredInMs)} ms\n`,
    );
    assert.ok(retried > 0, 'some tasks were running at the kill and were retried');
    assert.ok(recoveredInMs < 30_000, `held tasks were retried within 30 s of the restart (${Math.round(recoveredInMs)} ms)`);
  } finally {
    first?.proc.kill('SIGKILL');
    if (second) {
      second.proc.kill('SIGTERM');
      await once(second.proc, 'exit');
    }
    tmp.remove();
  }
});

test('SIGTERM drains: /health answers 503, the running task finishes, then the process exits 0', { timeout: 60_000 }, async () => {
  const tmp = tempDir('tidepool-drain-');
  const db = join(tmp.dir, 'drain.db');
  const execLog = join(tmp.dir, 'executions.log');
  const child = await startChild(db, execLog);
  try {
    const res = await fetch(`${child.url}/v1/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 'work', payload: { ms: 1500 } }) });
    const { id } = (await res.json()) as { id: string };
    // Poll the API (real I/O each turn) until a worker holds the task.
    for (let status = ''; status !== 'running'; ) status = ((await (await fetch(`${child.url}/v1/tasks/${id}`)).json()) as { status: string }).status;
    child.proc.kill('SIGTERM');
    let sawDraining = false;
    for (let i = 0; i < 200 && !sawDraining; i++) {
      const health = await fetch(`${child.url}/health`).catch(() => null);
      if (!health) break;
      if (health.status === 503) sawDraining = ((await health.json()) as { draining: boolean }).draining;
      else await health.text();
    }
    const [code] = await once(child.proc, 'exit');
    assert.equal(code, 0);
    assert.ok(sawDraining, '/health answered 503 with draining: true during the drain');
    assert.equal(readFileSync(execLog, 'utf8'), `${id} 1\n`, 'the running task ran to its end once');
    const store = await openStore(`sqlite:${db}`);
    assert.equal((await store.get(id))?.status, 'succeeded', 'and its success was recorded before the exit');
    await store.close();
  } finally {
    child.proc.kill('SIGKILL');
    tmp.remove();
  }
});

test('tidepool start without API keys refuses a non-loopback host before opening anything, exit code 2', async () => {
  const tmp = tempDir('tidepool-host-');
  try {
    const proc = spawn(process.execPath, [MAIN, 'start', '--store', `sqlite:${join(tmp.dir, 'x.db')}`, '--host', '0.0.0.0', '--handlers', HANDLERS], {
      env: { ...process.env, TIDEPOOL_TEST_EXEC_LOG: join(tmp.dir, 'x.log'), TIDEPOOL_API_KEYS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    proc.stderr!.on('data', (c) => (err += c));
    const [code] = await once(proc, 'exit');
    assert.equal(code, 2);
    assert.match(err, /server\.host: got "0\.0\.0\.0"; without API keys the server listens on loopback only/);
    assert.equal(existsSync(join(tmp.dir, 'x.db')), false, 'no store was opened');
  } finally {
    tmp.remove();
  }
});
