// The multi-process claim run every shared store's test makes: `total` tasks (every tenth
// fails once) claimed by four real child processes with three claimers each (the
// claim-worker fixture); no task is ever held by two claimers at once, every task is
// completed exactly once, and at least `minActive` processes took part.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { openStore } from '../../src/store/index.ts';
import { tempDir } from './helpers.ts';

const fixture = join(import.meta.dirname, 'fixtures', 'claim-worker.ts');

interface Report {
  name: string;
  completed: string[];
  failedAttempts: number;
  doubleHolds: string[];
}

function startChild(target: string, holdDir: string, name: string, claimers: number) {
  const child = spawn(process.execPath, [fixture, target, holdDir, name, String(claimers)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const queue: string[] = [];
  let waiter: ((line: string) => void) | null = null;
  lines.on('line', (line) => (waiter ? (waiter(line), (waiter = null)) : queue.push(line)));
  const nextLine = () => new Promise<string>((resolve) => (queue.length ? resolve(queue.shift()!) : (waiter = resolve)));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, nextLine, exited };
}

export interface MultiProcessRun {
  /** The store URL the test opens. */
  storeUrl: string;
  /** What the fixture is given (a SQLite path, or the URL). */
  childTarget?: string;
  total: number;
  /** Processes that must have completed tasks for the run to show concurrency. */
  minActive: number;
}

export async function runMultiProcessClaims(run: MultiProcessRun): Promise<void> {
  const { storeUrl, total } = run;
  // Removed after the test (tempDir registers it).
  const dir = tempDir();
  const store = await openStore(storeUrl);
  const submitted = await store.submitBatch(
    Array.from({ length: total }, (_, i) => ({ type: 'job', payload: { i, failOnce: i % 10 === 0 }, tenant: `t${i % 3}` })),
  );
  await store.close();

  const children = Array.from({ length: 4 }, (_, i) => startChild(run.childTarget ?? storeUrl, join(dir, 'holds'), `p${i}`, 3));
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
  const active = reports.filter((r) => r.completed.length > 0).length;
  assert.ok(active >= run.minActive, `processes that completed tasks: ${reports.map((r) => r.completed.length)}`);

  const check = await openStore(storeUrl);
  const counts = await check.counts();
  assert.deepEqual(counts.byStatus, { queued: 0, running: 0, retrying: 0, succeeded: total, dead: 0, cancelled: 0 });
  for (const { task } of submitted.filter((_, i) => i % 250 === 0)) {
    const t = (await check.get(task.id))!;
    assert.equal(t.attempts, (t.payload as { failOnce: boolean }).failOnce ? 2 : 1);
  }
  await check.close();
}
