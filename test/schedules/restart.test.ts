// The "done when": a schedule every second, across a restart and across several
// nodes, yields one task per tick and none twice. Real `tidepool start` child processes on
// one SQLite file: a second node waits as a follower; the ticking node is SIGKILLed and the
// follower takes over; the killed node starts again on the same file; the new holder is
// SIGKILLed too and the restarted node takes over. The tasks in the file then hold exactly
// one task per tick from the first to the last, contiguous (no gap: each takeover is
// within scheduler.graceMs, and catchUp all would fill one anyway).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { openStore } from '../../src/store/index.ts';
import { scratchDir } from '../scratch-dir.ts';
import { spawnStart } from '../server/helpers.ts';

const HANDLERS = join(import.meta.dirname, 'fixtures/echo-handlers.ts');
const LEASE_MS = 1500;

interface Node {
  name: string;
  proc: ChildProcess;
  url: string;
  stderr: () => string;
}

async function startNode(name: string, db: string, config: string): Promise<Node> {
  const started = await spawnStart(['--store', `sqlite:${db}`, '--handlers', HANDLERS, '--config', config]).catch((err: Error) => {
    throw new Error(`node ${name}: ${err.message}`);
  });
  return { name, proc: started.proc, url: started.url, stderr: started.stderr };
}

async function schedules(node: Node): Promise<{ schedules: Array<{ name: string; lastTickMs: number | null }>; scheduler: { holder: string } | null }> {
  const res = await fetch(`${node.url}/v1/schedules`);
  assert.equal(res.status, 200);
  return (await res.json()) as never;
}

/** Waits (on the nodes' own I/O, no timer) until `check` holds, or fails after maxMs of wall time. */
async function until(what: string, maxMs: number, check: () => Promise<boolean> | boolean): Promise<void> {
  const start = performance.now();
  while (!(await check())) {
    if (performance.now() - start > maxMs) throw new Error(`timed out after ${maxMs} ms waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

async function kill(node: Node, signal: NodeJS.Signals): Promise<void> {
  if (node.proc.exitCode !== null || node.proc.signalCode !== null) return;
  const exited = once(node.proc, 'exit');
  node.proc.kill(signal);
  await exited;
}

const isHolder = (node: Node) => /holding the scheduler lease/.test(node.stderr());

test('a schedule every second across SIGKILLs, a restart and two nodes on one SQLite file yields one task per tick, none twice', { timeout: 120_000 }, async () => {
  const dir = scratchDir('tidepool-sched-restart-');
  const db = join(dir, 'sched.db');
  const config = join(dir, 'tidepool.json');
  writeFileSync(config, JSON.stringify({ scheduler: { leaseMs: LEASE_MS }, schedules: [{ name: 'beat', cron: '* * * * * *', type: 'echo', payload: { hello: 'tick' }, catchUp: 'all' }] }));
  const nodes: Node[] = [];
  try {
    const a = await startNode('a', db, config);
    nodes.push(a);
    const lastTick = async (n: Node) => (await schedules(n)).schedules.find((s) => s.name === 'beat')?.lastTickMs ?? null;
    await until('node a to submit ticks', 30_000, async () => ((await lastTick(a)) ?? 0) > 0 && isHolder(a));
    const b = await startNode('b', db, config);
    nodes.push(b);
    const firstTick = (await lastTick(a))!;
    await until('three more ticks', 30_000, async () => ((await lastTick(b)) ?? 0) >= firstTick + 3000);
    assert.equal(isHolder(b), false, 'the second node is a follower while the first holds the lease');
    const aHolder = (await schedules(b)).scheduler?.holder;
    assert.match(aHolder ?? '', new RegExp(`:${a.proc.pid}:`), 'node b reports node a as the holder');

    await kill(a, 'SIGKILL');
    await until('node b to take over after the lease lapses', 30_000, () => isHolder(b));
    const takenAt = (await lastTick(b))!;
    await until('node b to tick', 30_000, async () => ((await lastTick(b)) ?? 0) >= takenAt + 2000);

    // The killed node restarts on the same file: a follower now.
    const a2 = await startNode('a2', db, config);
    nodes.push(a2);
    await until('two more ticks', 30_000, async () => ((await lastTick(a2)) ?? 0) >= takenAt + 4000);
    assert.equal(isHolder(a2), false);
    await kill(b, 'SIGKILL');
    await until('the restarted node to take over', 30_000, () => isHolder(a2));
    const retakenAt = (await lastTick(a2))!;
    await until('the restarted node to tick', 30_000, async () => ((await lastTick(a2)) ?? 0) >= retakenAt + 2000);
    await kill(a2, 'SIGTERM');
  } finally {
    for (const n of nodes) await kill(n, 'SIGKILL');
  }

  const store = await openStore(`sqlite:${db}`);
  try {
    const tasks = (await store.list({ limit: 1000 })).tasks.filter((t) => t.idempotencyKey?.startsWith('schedule:beat:'));
    const ticks = tasks.map((t) => t.runAtMs).sort((x, y) => x - y);
    assert.equal(new Set(tasks.map((t) => t.idempotencyKey)).size, tasks.length, 'no tick twice');
    for (const t of tasks) {
      assert.equal(t.idempotencyKey, `schedule:beat:${t.runAtMs}`, 'each task names its tick');
      assert.deepEqual(t.payload, { hello: 'tick' });
    }
    assert.ok(ticks.length >= 10, `ticks ${ticks.length}`);
    const gaps = ticks.slice(1).map((t, i) => t - ticks[i]!).filter((d) => d !== 1000);
    assert.deepEqual(gaps, [], `one task per second from ${new Date(ticks[0]!).toISOString()} to ${new Date(ticks.at(-1)!).toISOString()}, no gap`);
    const progress = await store.getState('schedule-tick/beat');
    assert.equal((progress!.value as { lastTickMs: number }).lastTickMs, ticks.at(-1), 'the progress record names the last tick submitted');
  } finally {
    await store.close();
  }
});
