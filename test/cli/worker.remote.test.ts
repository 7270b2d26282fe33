// `tidepool worker` as a separate process against a real server on a SQLite file: it
// processes tasks, keeps going across a server restart (registering again), drains on
// SIGTERM, and a task whose worker was SIGKILLed is retried once its lease passes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { systemClock, type Task } from '../../src/core/index.ts';
import { MaintenanceLoop, openStore, type Store } from '../../src/store/index.ts';
import { RemotePool } from '../../src/pools/index.ts';
import { TidepoolServer } from '../../src/server/index.ts';
import { tempDir } from '../server/helpers.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const clock = systemClock;

async function startServer(file: string, port = 0) {
  const store = await openStore(`sqlite:${file}`, { clock });
  const remote = new RemotePool({ name: 'far', types: ['echo', 'hang-once', 'slow'], store, clock, minWorkers: 0, maxWorkers: 4, leaseMs: 1500, heartbeatMs: 300 });
  const server = await TidepoolServer.create({ clock, runtime: { store, pools: () => [], remotePools: () => [remote] } });
  const url = await server.listen({ port, host: '127.0.0.1' });
  // As createTidepool does: maintenance reclaims the leases of killed workers.
  const maintenance = new MaintenanceLoop({ store, clock, intervalMs: 200, onError: (err) => process.emitWarning(err) });
  maintenance.start();
  return {
    url,
    port: Number(new URL(url).port),
    store,
    remote,
    async close() {
      await maintenance.stop();
      await server.close();
      await remote.close();
      await store.close();
    },
  };
}

function startWorker(url: string, extra: string[] = []): { proc: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const proc = spawn(process.execPath, [join(root, 'src/cli/main.ts'), 'worker', '--url', url, '--handlers', join(root, 'test/cli/fixtures/remote-handlers.ts'), ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (c) => (out += c));
  proc.stderr!.on('data', (c) => (out += c));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return { proc, output: () => out, exited };
}

/** Waits for a cross-process outcome (no virtual clock reaches another process), up to a deadline. */
async function until<T>(what: string, read: () => Promise<T | null | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const endMs = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (v) return v;
    if (Date.now() > endMs) throw new Error(`timed out waiting for ${what}`);
    await clock.sleep(50);
  }
}

const allEnded = (store: Store, ids: string[]) => async () => {
  const tasks = (await Promise.all(ids.map((id) => store.get(id)))) as Task[];
  return tasks.every((t) => t.status === 'succeeded') && tasks;
};

test('a tidepool worker process runs tasks, survives a server restart, and drains on SIGTERM', async () => {
  const tmp = tempDir('tidepool-remote-');
  const file = join(tmp.dir, 'q.db');
  let s = await startServer(file);
  const w = startWorker(s.url, ['--concurrency', '2', '--types', 'echo,slow']);
  try {
    const first = await s.store.submitBatch(Array.from({ length: 5 }, (_, i) => ({ type: 'echo', payload: { i } })));
    const done = await until('the first tasks', allEnded(s.store, first.map((r) => r.task.id)));
    assert.deepEqual(done.map((t) => t.result), [0, 1, 2, 3, 4].map((i) => ({ i })));
    assert.equal(s.remote.stats().total, 2, 'concurrency 2 counts as two workers');

    const port = s.port;
    await s.close();
    s = await startServer(file, port);
    const second = await s.store.submitBatch(Array.from({ length: 5 }, (_, i) => ({ type: 'echo', payload: { again: i } })));
    await until('the tasks after the restart', allEnded(s.store, second.map((r) => r.task.id)));
    assert.match(w.output(), /registered .* with pool far/);
    assert.ok(s.remote.runnerList().length === 1, 'it registered again with the new server');

    const slow = await s.store.submit({ type: 'slow', payload: { ms: 600 } });
    await until('the slow task to start', async () => (await s.store.get(slow.task.id))?.status === 'running');
    w.proc.kill('SIGTERM');
    assert.equal(await w.exited, 0);
    assert.equal((await s.store.get(slow.task.id))?.status, 'succeeded', 'the running task finished before the worker left');
    assert.equal(s.remote.runnerList().length, 0, 'it deregistered');
  } finally {
    w.proc.kill('SIGKILL');
    await s.close();
    tmp.remove();
  }
});

test('a task whose remote worker was SIGKILLed is retried by another worker after its lease', async () => {
  const tmp = tempDir('tidepool-remote-');
  const s = await startServer(join(tmp.dir, 'q.db'));
  const a = startWorker(s.url);
  let b: ReturnType<typeof startWorker> | null = null;
  try {
    const { task } = await s.store.submit({ type: 'hang-once', payload: 'x' });
    const running = await until('the task to run on the first worker', async () => {
      const t = await s.store.get(task.id);
      return t?.status === 'running' && t;
    });
    a.proc.kill('SIGKILL');
    await a.exited;
    b = startWorker(s.url);
    const ended = await until('the retry', async () => {
      const t = await s.store.get(task.id);
      return t?.status === 'succeeded' && t;
    });
    assert.deepEqual(ended.result, { attempt: 2, payload: 'x' });
    assert.notEqual(ended.workerId, running.workerId);
  } finally {
    a.proc.kill('SIGKILL');
    b?.proc.kill('SIGKILL');
    await s.close();
    tmp.remove();
  }
});
