// Claims are atomic across processes on Redis too: four real child processes with three
// claimers each share one Redis store (its own random prefix); no task is ever held by two
// claimers at once, every task is completed exactly once, and every process takes part.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { openStore } from '../../src/store/index.ts';
import { tempDir } from './helpers.ts';
import { randomSuffix } from './adapters.ts';
import { REDIS_URL, dropPrefix, probeRedis } from './redis-helpers.ts';
import { serverSkip } from './servers.ts';

const fixture = join(import.meta.dirname, 'fixtures', 'claim-worker.ts');
const unavailable = await serverSkip(`Redis at ${REDIS_URL}`, probeRedis);

interface Report {
  name: string;
  completed: string[];
  failedAttempts: number;
  doubleHolds: string[];
}

function startChild(url: string, holdDir: string, name: string, claimers: number) {
  const child = spawn(process.execPath, [fixture, url, holdDir, name, String(claimers)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const queue: string[] = [];
  let waiter: ((line: string) => void) | null = null;
  lines.on('line', (line) => (waiter ? (waiter(line), (waiter = null)) : queue.push(line)));
  const nextLine = () => new Promise<string>((resolve) => (queue.length ? resolve(queue.shift()!) : (waiter = resolve)));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, nextLine, exited };
}

test('four processes with three claimers each on one Redis store never hold a task twice and complete every task exactly once', { skip: unavailable, timeout: 120_000 }, async (t) => {
  const prefix = `tp-mp-${randomSuffix()}`;
  const url = `${REDIS_URL}?prefix=${prefix}`;
  t.after(() => dropPrefix(prefix));
  const dir = tempDir();
  const total = 2_000;
  const store = await openStore(url);
  const submitted = await store.submitBatch(
    Array.from({ length: total }, (_, i) => ({ type: 'job', payload: { i, failOnce: i % 10 === 0 }, tenant: `t${i % 3}` })),
  );
  await store.close();

  const children = Array.from({ length: 4 }, (_, i) => startChild(url, join(dir, 'holds'), `p${i}`, 3));
  for (const c of children) assert.equal(await c.nextLine(), 'ready');
  for (const c of children) c.child.stdin.end('go\n');
  const reports: Report[] = [];
  for (const c of children) {
    reports.push(JSON.parse(await c.nextLine()) as Report);
    assert.equal(await c.exited, 0);
  }

  assert.deepEqual(reports.flatMap((r) => r.doubleHolds), [], 'a task was held by two claimers at once');
  const completed = reports.flatMap((r) => r.completed);
  assert.equal(completed.length, total, 'every task completed once');
  assert.equal(new Set(completed).size, total, 'no task completed twice');
  assert.equal(reports.reduce((n, r) => n + r.failedAttempts, 0), total / 10);
  assert.ok(reports.every((r) => r.completed.length > 0), `tasks completed per process: ${reports.map((r) => r.completed.length)}`);

  const check = await openStore(url);
  const counts = await check.counts();
  assert.deepEqual(counts.byStatus, { queued: 0, running: 0, retrying: 0, succeeded: total, dead: 0, cancelled: 0 });
  for (const { task } of submitted.filter((_, i) => i % 250 === 0)) {
    const done = (await check.get(task.id))!;
    assert.equal(done.attempts, (done.payload as { failOnce: boolean }).failOnce ? 2 : 1);
  }
  await check.close();
});
