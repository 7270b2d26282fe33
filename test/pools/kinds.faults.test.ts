// Fault tests of the `command` and `process` worker kinds, against real processes (few and
// sharp; they run in CI): the light load scenario on process workers while a random worker
// process is SIGKILLed every 500 ms, a stalled worker replaced and its task finished
// elsewhere, a hanging command with children of its own killed at its timeout with no
// process of it left, then retried, and idle workers SIGKILLed from outside counted as
// crashes (degraded), not as early exits (unhealthy), unless the kill repeats.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { systemClock, type Task } from '../../src/core/index.ts';
import { createTidepool } from '../../src/index.ts';
import { livingGroupMembers } from '../../src/pools/child/child.ts';
import { tempDir } from '../server/helpers.ts';
import { SCENARIOS } from '../../src/cli/load-scenarios.ts';
import type { WorkerPool } from '../../src/pools/index.ts';
import { PID_WORKER, livingWorkerPids } from './fixtures/pid-worker.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const clock = systemClock;

async function until<T>(what: string, read: () => Promise<T | null | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const endMs = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (v) return v;
    if (Date.now() > endMs) throw new Error(`timed out waiting for ${what}`);
    await clock.sleep(50);
  }
}

/** Pids of the processes whose parent is `ppid` and whose command line holds `marker`. */
function childrenOf(ppid: number, marker: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (parent === ppid && readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(marker)) pids.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

test('the light scenario on process workers passes while a random worker is SIGKILLed every 500 ms', { timeout: 120_000 }, async () => {
  const tmp = tempDir('tidepool-kill-');
  const file = join(tmp.dir, 'q.db');
  const proc = spawn(process.execPath, [join(root, 'src/cli/main.ts'), 'load-test', '--scenario', 'light', '--kind', 'process', '--store', `sqlite:${file}`, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  // Kills go on while the load runs: until every task of the scenario has ended (read from
  // the run's SQLite file), then the pool settles back to its minimum undisturbed.
  let db: DatabaseSync | null = null;
  const ended = (): number => {
    try {
      db ??= new DatabaseSync(file, { readOnly: true });
      return Number((db.prepare("SELECT count(*) AS n FROM tasks WHERE status IN ('succeeded', 'dead')").get() as { n: number }).n);
    } catch {
      return 0; // not created yet
    }
  };
  let stdout = '';
  let stderr = '';
  proc.stdout!.on('data', (c) => (stdout += c));
  proc.stderr!.on('data', (c) => (stderr += c));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', resolve));
  let kills = 0;
  let isRunning = true;
  void exited.then(() => (isRunning = false));
  try {
    while (isRunning && ended() < SCENARIOS.light!.totalTasks) {
      await clock.sleep(500);
      const workers = childrenOf(proc.pid!, 'examples/workers/worker.py');
      const victim = workers[Math.floor(Math.random() * workers.length)];
      if (victim === undefined) continue;
      try {
        process.kill(victim, 'SIGKILL');
        kills++;
      } catch {
        // it ended meanwhile
      }
    }
    (db as DatabaseSync | null)?.close();
    const code = await exited;
    const r = JSON.parse(stdout.trim().split('\n').pop()!);
    assert.ok(kills >= 10, `killed ${kills} workers`);
    assert.equal(r.kind, 'process');
    assert.equal(r.lost, 0, stderr);
    assert.equal(r.completed + r.failed, r.submitted);
    assert.equal(r.duplicateSuccesses, 0);
    assert.equal(r.passed, true, JSON.stringify(r.criteria));
    assert.equal(code, 0);
  } finally {
    proc.kill('SIGKILL');
    tmp.remove();
  }
});

// A protocol worker that answers every task, except the first attempt of `hang`: that one
// it never answers, with no progress either.
const HANGING_WORKER = `
const send = (m) => process.stdout.write(JSON.stringify(m) + '\\n');
send({ type: 'ready', protocol: 1 });
require('readline').createInterface({ input: process.stdin }).on('line', (line) => {
  const m = JSON.parse(line);
  if (m.type === 'shutdown') process.exit(0);
  if (m.type !== 'task') return;
  if (m.taskType === 'hang' && m.attempt === 1) return;
  send({ type: 'result', id: m.id, value: { attempt: m.attempt, pid: process.pid } });
});`;

test('a stalled process worker is killed and replaced, and its task completes on another worker', { timeout: 60_000 }, async () => {
  const tp = await createTidepool(
    {
      store: 'memory',
      retry: { baseMs: 10, maxMs: 10 },
      pools: [{ name: 'p', kind: 'process', types: ['hang'], command: [process.execPath, '-e', HANGING_WORKER], minWorkers: 2, maxWorkers: 2, policy: 'fixed:2', stallTimeoutMs: 400, killGraceMs: 200, pollMs: 50 }],
    },
    {},
  );
  try {
    const { task } = await tp.submit({ type: 'hang', timeoutMs: 30_000 });
    const ended = await until('the retried task', async () => {
      const t = await tp.store.get(task.id);
      return t?.status === 'succeeded' && t;
    });
    const first = (ended.result as { attempt: number; pid: number });
    assert.equal(first.attempt, 2);
    const s = tp.stats()[0]!;
    assert.equal(s.stalls, 1);
    assert.equal(s.total, 2, 'the stalled worker was replaced');
  } finally {
    await tp.close(1000);
  }
});

test('a hanging command task with children of its own is killed at its timeout with its whole group, and retried', { timeout: 60_000 }, async () => {
  const tmp = tempDir('tidepool-hang-');
  const pidFile = join(tmp.dir, 'pids');
  const tp = await createTidepool(
    {
      store: 'memory',
      retry: { maxAttempts: 2, baseMs: 10, maxMs: 10 },
      pools: [
        {
          name: 'c',
          kind: 'command',
          types: ['agent'],
          // The program ignores SIGTERM, so only the SIGKILL after the grace ends it.
          command: ['sh', '-c', `trap '' TERM; echo $$ >> "$PID_FILE"; sleep 60 & sleep 60 & wait`],
          env: { PID_FILE: pidFile },
          killGraceMs: 200,
          minWorkers: 1,
          maxWorkers: 1,
          policy: 'fixed:1',
          pollMs: 50,
        },
      ],
    },
    {},
  );
  let ended: Task;
  try {
    const { task } = await tp.submit({ type: 'agent', payload: { prompt: 'loop forever' }, timeoutMs: 400 });
    ended = await until('the task to end', async () => {
      const t = await tp.store.get(task.id);
      return t?.status === 'dead' && t;
    });
  } finally {
    await tp.close(2000);
  }
  try {
    assert.equal(ended.attempts, 2, 'the timed-out attempt was retried');
    assert.equal(ended.error?.code, 'Timeout');
    const pgids = readFileSync(pidFile, 'utf8').trim().split('\n').map(Number);
    assert.equal(pgids.length, 2);
    for (const pgid of pgids) assert.deepEqual(livingGroupMembers(pgid), [], `no process of group ${pgid} is left`);
  } finally {
    tmp.remove();
  }
});

test('idle process workers SIGKILLed from outside are crashes: respawned at once, the pool degraded, not unhealthy, even when a replacement is killed again soon after ready', { timeout: 60_000 }, async () => {
  const tmp = tempDir('tidepool-sigkill-');
  const tp = await createTidepool(
    { store: 'memory', pools: [{ name: 'p', kind: 'process', types: ['pid'], command: [process.execPath, '-e', PID_WORKER], env: { PID_DIR: tmp.dir }, minWorkers: 3, maxWorkers: 3, policy: 'fixed:3', pollMs: 50 }] },
    {},
  );
  const pool = tp.pools.get('p') as WorkerPool;
  const crashes: Array<{ isEarly: boolean; respawnInMs: number }> = [];
  pool.on('worker.crashed', (e) => crashes.push(e));
  const ready = (n: number) => new Promise<void>((resolve) => {
    let seen = 0;
    const on = () => {
      if (++seen < n) return;
      pool.off('worker.ready', on);
      resolve();
    };
    pool.on('worker.ready', on);
  });
  try {
    if (pool.stats().idle < 3) await ready(3 - pool.stats().idle);
    // As `pkill -9` would: every worker at once, a second or so after they became ready.
    const first = livingWorkerPids(tmp.dir);
    assert.equal(first.length, 3);
    const replaced = ready(3);
    for (const pid of first) process.kill(pid, 'SIGKILL');
    await replaced;
    let s = pool.stats();
    assert.deepEqual(crashes.map((c) => [c.isEarly, c.respawnInMs]), [[false, 0], [false, 0], [false, 0]], 'no early exit, no backoff');
    assert.deepEqual([s.crashes, s.respawns, s.respawnBackoffMs, s.idle], [3, 3, 0, 3]);
    assert.equal(s.health, 'degraded');
    assert.match(s.healthReasons!.join('; '), /^3 worker crashes in the recent window \(respawned\) \(last: worker process \d+ was killed by SIGKILL \(from outside Tidepool\)\)$/);

    // The kill repeats on a replacement within seconds of its ready (a chaos monkey): still a
    // crash from outside, respawned at once; the pool stays degraded, never unhealthy.
    for (let round = 0; round < 3; round++) {
      const [again] = livingWorkerPids(tmp.dir).filter((pid) => !first.includes(pid));
      first.push(again!);
      const backAgain = ready(1);
      process.kill(again!, 'SIGKILL');
      await backAgain;
    }
    assert.deepEqual(crashes.slice(3).map((c) => [c.isEarly, c.respawnInMs]), [[false, 0], [false, 0], [false, 0]], 'repeated outside kills grow no backoff');
    s = pool.stats();
    assert.equal(s.health, 'degraded', `outside kills leave the pool degraded at worst: ${s.healthReasons!.join('; ')}`);
  } finally {
    await tp.close(1000);
    tmp.remove();
  }
});
