// Worker kinds: what a worker costs to start and what a task costs per kind.
//   startup-KIND   start-up (spawn to ready) p50/p95 of 10 workers, over several runs
//   overhead-KIND  10 workers drain 5,000 no-op tasks on the memory store: per-task cost
//                  (drain time x workers / tasks), and its ratio to `inline` measured in
//                  the same run (ratio > 1: slower than inline)
//   overhead-remote the same through a `tidepool worker` process over loopback HTTP
//   command-vs-spawn one command task against spawning `true` from Node (the raw ceiling)
// Kinds: inline; command (`true` per task); process (the Python and the TypeScript example
// workers). Medians of RUNS runs; JSON lines on stdout, notes on stderr.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { systemClock, monotonicMs } from '../src/core/index.ts';
import { createTidepool, type TidepoolConfigInput } from '../src/index.ts';
import { openStore } from '../src/store/index.ts';
import { RemotePool, nearestRank } from '../src/pools/index.ts';
import { TidepoolServer } from '../src/server/index.ts';
import { runCommand } from '../src/pools/child/command-run.ts';
import type { BenchCase } from './run.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const WORKERS = 10;
const TASKS = Number(process.env.BENCH_KIND_TASKS ?? 5000);
const root = fileURLToPath(new URL('../', import.meta.url));

type KindSetup = { name: string; pool: Record<string, unknown>; types: string[] };
const KINDS: KindSetup[] = [
  { name: 'inline', pool: {}, types: ['noop'] },
  { name: 'command', pool: { kind: 'command', command: ['true'] }, types: ['noop'] },
  { name: 'process-py', pool: { kind: 'process', command: ['python3', `${root}examples/workers/worker.py`] }, types: ['echo'] },
  { name: 'process-ts', pool: { kind: 'process', command: [process.execPath, `${root}examples/workers/worker.ts`] }, types: ['echo'] },
];

const median = (xs: number[]) => nearestRank([...xs].sort((a, b) => a - b), 0.5);

async function withPool<T>(k: KindSetup, fn: (tp: Awaited<ReturnType<typeof createTidepool>>) => Promise<T>): Promise<T> {
  const config: TidepoolConfigInput = {
    store: 'memory',
    autoscaler: { enabled: false },
    pools: [{ name: 'b', types: k.types, minWorkers: WORKERS, maxWorkers: WORKERS, policy: `fixed:${WORKERS}`, pollMs: 50, ...k.pool } as never],
  };
  const tp = await createTidepool(config, k.name === 'inline' ? { noop: async () => null } : {}, { startAutoscaler: false });
  try {
    return await fn(tp);
  } finally {
    await tp.close(5000);
  }
}

async function allReady(tp: Awaited<ReturnType<typeof createTidepool>>): Promise<void> {
  for (;;) {
    const s = tp.stats()[0]!;
    if (s.starting === 0 && s.idle + s.busy === WORKERS) return;
    await systemClock.sleep(5);
  }
}

/** Drains TASKS tasks; ms from the first submit to the last end. */
async function drain(tp: Awaited<ReturnType<typeof createTidepool>>, type: string): Promise<number> {
  let left = TASKS;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const off = tp.store.subscribe((e) => {
    if (e.kind === 'finished' && --left === 0) done();
  });
  const t0 = monotonicMs();
  for (let i = 0; i < TASKS; i += 500) await tp.submitBatch(Array.from({ length: Math.min(500, TASKS - i) }, () => ({ type, payload: null })));
  await finished;
  off();
  return monotonicMs() - t0;
}

const startupCases: BenchCase[] = KINDS.filter((k) => k.name !== 'inline').map((k) => ({
  name: `startup-${k.name}`,
  async run() {
    const samples: number[] = [];
    for (let r = 0; r < RUNS; r++)
      await withPool(k, async (tp) => {
        await allReady(tp);
        for (const w of tp.pools.get('b')!.workers()) if (typeof w.startupMs === 'number') samples.push(w.startupMs);
      });
    return [{ name: `startup-${k.name}`, unit: 'ms', runs: RUNS, samples: samples.length, median: median(samples), p95: nearestRank([...samples].sort((a, b) => a - b), 0.95) }];
  },
}));

const overheadCase: BenchCase = {
  name: 'overhead-kinds',
  async run() {
    const perKind = new Map<string, number[]>();
    for (let r = 0; r < RUNS; r++)
      for (const k of KINDS) {
        const ms = await withPool(k, async (tp) => {
          await allReady(tp);
          return drain(tp, k.types[0]!);
        });
        process.stderr.write(`bench: overhead ${k.name} run ${r + 1}: ${Math.round(ms)} ms for ${TASKS} tasks\n`);
        perKind.set(k.name, [...(perKind.get(k.name) ?? []), (ms * WORKERS) / TASKS]);
      }
    const inline = median(perKind.get('inline')!);
    return KINDS.map((k) => {
      const m = median(perKind.get(k.name)!);
      return { name: `overhead-${k.name}`, unit: 'ms/task/worker', runs: RUNS, workers: WORKERS, tasks: TASKS, median: round(m), peer: 'inline', peerMedian: round(inline), ratio: round(m / inline) };
    });
  },
};

const remoteCase: BenchCase = {
  name: 'overhead-remote',
  async run() {
    const remoteMs: number[] = [];
    const inlineMs: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      inlineMs.push(await withPool(KINDS[0]!, async (tp) => (await allReady(tp), drain(tp, 'noop'))));
      const store = await openStore('memory', { clock: systemClock });
      const remote = new RemotePool({ name: 'far', types: ['noop'], store, clock: systemClock, minWorkers: 0, maxWorkers: WORKERS, leaseMs: 20_000, heartbeatMs: 5000 });
      const server = await TidepoolServer.create({ clock: systemClock, runtime: { store, pools: () => [], remotePools: () => [remote] } });
      const url = await server.listen({ port: 0, host: '127.0.0.1' });
      const worker = spawn(process.execPath, [`${root}src/cli/main.ts`, 'worker', '--url', url, '--handlers', `${root}bench/fixtures/noop-handlers.ts`, '--concurrency', String(WORKERS)], { stdio: ['ignore', 'ignore', 'ignore'] });
      try {
        while (remote.stats().total < WORKERS) await systemClock.sleep(10);
        let left = TASKS;
        let done!: () => void;
        const finished = new Promise<void>((res) => (done = res));
        const off = store.subscribe((e) => {
          if (e.kind === 'finished' && --left === 0) done();
        });
        const t0 = monotonicMs();
        for (let i = 0; i < TASKS; i += 500) await store.submitBatch(Array.from({ length: Math.min(500, TASKS - i) }, () => ({ type: 'noop', payload: null })));
        await finished;
        remoteMs.push(monotonicMs() - t0);
        off();
      } finally {
        worker.kill('SIGTERM');
        await new Promise((res) => worker.once('exit', res));
        await server.close();
        await remote.close();
        await store.close();
      }
      process.stderr.write(`bench: overhead remote run ${r + 1}: ${Math.round(remoteMs.at(-1)!)} ms for ${TASKS} tasks\n`);
    }
    const m = (median(remoteMs) * WORKERS) / TASKS;
    const inline = (median(inlineMs) * WORKERS) / TASKS;
    return [{ name: 'overhead-remote', unit: 'ms/task/worker', runs: RUNS, workers: WORKERS, tasks: TASKS, median: round(m), peer: 'inline', peerMedian: round(inline), ratio: round(m / inline) }];
  },
};

/** One command task against the raw ceiling: spawning `true` with pipes from this process. */
const spawnCase: BenchCase = {
  name: 'command-vs-spawn',
  async run() {
    const N = 200;
    const raw: number[] = [];
    const ours: number[] = [];
    const signal = new AbortController().signal;
    for (let r = 0; r < RUNS; r++) {
      let t0 = monotonicMs();
      for (let i = 0; i < N; i++) await new Promise((res) => spawn('true', [], { stdio: ['pipe', 'pipe', 'pipe'], detached: true }).once('close', res));
      raw.push((monotonicMs() - t0) / N);
      t0 = monotonicMs();
      for (let i = 0; i < N; i++) await runCommand({ id: 'b', type: 'noop', attempt: 1, tenant: 'default', payload: null }, { command: ['true'], clock: systemClock, signal });
      ours.push((monotonicMs() - t0) / N);
    }
    return [{ name: 'command-vs-spawn', unit: 'ms/task', runs: RUNS, median: round(median(ours)), peer: 'raw spawn', peerMedian: round(median(raw)), ratio: round(median(ours) / median(raw)) }];
  },
};

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

export const cases: BenchCase[] = [...startupCases, spawnCase, overheadCase, remoteCase];
