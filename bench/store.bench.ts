// Store benchmarks (issue 3, item 7): batch submit, one-at-a-time submit (sequential and
// 50 concurrent submitters), drain of 20,000 no-op tasks with 10 in flight (through the
// store API, and through the in-process pool), pickup latency, and event-loop delay
// during the drain, for the memory and SQLite stores. In the same run: the raw ceiling,
// node:sqlite's single-row insert-transaction rate at the same synchronous setting, and
// fsync latency. Each figure is the median of 3 runs; the raw ceiling is measured beside
// every run. A run whose fsync median exceeds SLOW_FSYNC_MS is repeated (noted on stderr).
import { closeSync, fsyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { DatabaseSync } from 'node:sqlite';
import { monotonicMs } from '../src/core/index.ts';
import type { ClaimRequest, ClaimedTask } from '../src/core/index.ts';
import { InProcessPool } from '../src/pools/index.ts';
import { openStore } from '../src/store/index.ts';
import type { Store, StoreOptions } from '../src/store/index.ts';
import type { BenchCase } from './run.ts';

const RUNS = 3;
const SLOW_FSYNC_MS = 1;
const MAX_RETRIES_FOR_SLOW_DISK = 12;
const SLOW_DISK_PAUSE_MS = 5_000;
/** A run whose raw ceiling falls under this share of the best seen in the process is repeated. */
const SLOW_RAW_SHARE = 0.5;
let bestRawSeen = 0;
const STORES = ['memory', 'sqlite'] as const;
type StoreKind = (typeof STORES)[number];
const durability: 'full' | 'normal' = process.env.TIDEPOOL_BENCH_DURABILITY === 'normal' ? 'normal' : 'full';

const note = (msg: string) => process.stderr.write(`  ${msg}\n`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (x: number, digits = 3) => Number(x.toPrecision(digits + 2));
const percentile = (xs: number[], p: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)];
};

const root = mkdtempSync(join(tmpdir(), 'tidepool-bench-'));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));
let fileNo = 0;

async function freshStore(kind: StoreKind, options: StoreOptions = {}): Promise<Store> {
  return kind === 'memory' ? openStore('memory', options) : openStore(`sqlite:${join(root, `s${++fileNo}.db`)}?durability=${durability}`, options);
}

// --- the raw ceiling ---------------------------------------------------------------

/** Median fsync latency of a 4 KiB write, ms. */
function fsyncLatencyMs(samples = 100): number {
  const path = join(root, `fsync-${++fileNo}.bin`);
  const fd = openSync(path, 'w');
  const block = Buffer.alloc(4096, 7);
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    writeSync(fd, block, 0, block.length, (i % 64) * 4096);
    const t0 = monotonicMs();
    fsyncSync(fd);
    times.push(monotonicMs() - t0);
  }
  closeSync(fd);
  return median(times);
}

/** node:sqlite single-row insert transactions per second, WAL, same synchronous setting. */
function rawCommitsPerSec(n = 1500): number {
  const db = new DatabaseSync(join(root, `raw-${++fileNo}.db`));
  db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = ${durability === 'full' ? 'FULL' : 'NORMAL'};
    CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)`);
  const begin = db.prepare('BEGIN IMMEDIATE');
  const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
  const commit = db.prepare('COMMIT');
  const t0 = monotonicMs();
  for (let i = 0; i < n; i++) {
    begin.run();
    insert.run('{"n":1}');
    commit.run();
  }
  const rate = n / ((monotonicMs() - t0) / 1000);
  db.close();
  return rate;
}

interface Measured {
  /** The raw ceiling beside this run (commits/s), 0 for the memory store. */
  value: number;
  raw: number;
  fsyncMs: number;
  extra?: Record<string, number>;
  isDiskSlow?: boolean;
}

/**
 * Runs `measure` RUNS times, each beside a raw-ceiling measurement. A run during which the
 * disk was slow (fsync median over SLOW_FSYNC_MS before or after it, or a raw ceiling under
 * SLOW_RAW_SHARE of the best seen) is noted on stderr and repeated after a pause; once the
 * retries are used up it is kept but marked, and the result says `diskSlow: true`.
 */
async function repeat(
  kind: StoreKind,
  measure: () => Promise<{ value: number; raw?: number; extra?: Record<string, number> }>,
): Promise<Measured[]> {
  const out: Measured[] = [];
  let slowRetries = 0;
  const retryOnSlowDisk = async (why: string): Promise<boolean> => {
    if (slowRetries >= MAX_RETRIES_FOR_SLOW_DISK) {
      note(`${why}; out of retries, keeping this run marked diskSlow`);
      return false;
    }
    slowRetries++;
    note(`${why}; repeating this run in ${SLOW_DISK_PAUSE_MS / 1000} s`);
    await new Promise((r) => setTimeout(r, SLOW_DISK_PAUSE_MS));
    return true;
  };
  while (out.length < RUNS) {
    const fsyncMs = kind === 'sqlite' ? fsyncLatencyMs() : 0;
    if (fsyncMs > SLOW_FSYNC_MS && (await retryOnSlowDisk(`fsync median ${fsyncMs.toFixed(2)} ms > ${SLOW_FSYNC_MS} ms: the disk is slow right now`))) continue;
    let raw = kind === 'sqlite' ? rawCommitsPerSec() : 0;
    const { value, extra, raw: interleavedRaw } = await measure();
    if (interleavedRaw !== undefined) raw = interleavedRaw;
    if (kind === 'sqlite') bestRawSeen = Math.max(bestRawSeen, raw);
    const after = kind === 'sqlite' ? fsyncLatencyMs(30) : 0;
    const isSlow = kind === 'sqlite' && (fsyncMs > SLOW_FSYNC_MS || after > SLOW_FSYNC_MS || raw < bestRawSeen * SLOW_RAW_SHARE);
    if (isSlow && (await retryOnSlowDisk(`the disk slowed during the run (raw ${round(raw)}/s, best ${round(bestRawSeen)}/s; fsync ${after.toFixed(2)} ms after)`))) continue;
    note(`run ${out.length + 1}: ${round(value)}${raw ? ` (raw ${round(raw)}/s, fsync ${fsyncMs.toFixed(3)} ms)` : ''}`);
    out.push({ value, raw, fsyncMs, extra, isDiskSlow: isSlow });
  }
  return out;
}

interface Target {
  minValue?: number;
  maxValue?: number;
  minRatio?: number;
}

function result(name: string, unit: string, kind: StoreKind, runs: Measured[], target: Target, extras: string[] = []) {
  const value = median(runs.map((r) => r.value));
  const rec: Record<string, unknown> = { name, unit, runs: runs.length, median: round(value), durability: kind === 'sqlite' ? durability : undefined };
  let ok = true;
  if (kind === 'sqlite') rec.fsyncMsMedian = round(median(runs.map((r) => r.fsyncMs)));
  if (kind === 'sqlite' && unit === 'tasks/s') {
    const raw = median(runs.map((r) => r.raw));
    rec.peer = 'raw-sqlite-single-row-commit';
    rec.peerMedian = round(raw);
    // The median of per-run ratios: each run's raw ceiling was measured beside it.
    rec.ratio = round(median(runs.map((r) => r.value / r.raw)));
    if (target.minRatio !== undefined) ok &&= (rec.ratio as number) >= target.minRatio;
  }
  if (target.minValue !== undefined) ok &&= value >= target.minValue;
  if (target.maxValue !== undefined) ok &&= value <= target.maxValue;
  for (const key of extras) rec[key] = round(median(runs.map((r) => r.extra?.[key] ?? NaN)));
  if (runs.some((r) => r.isDiskSlow)) rec.diskSlow = true;
  const hasTarget = Object.keys(target).length > 0;
  if (hasTarget) {
    rec.target = target;
    rec.ok = ok;
  }
  return rec;
}

// --- the cases -------------------------------------------------------------------------

async function batchSubmit(kind: StoreKind) {
  const store = await freshStore(kind);
  const total = 50_000;
  const batch = 1_000;
  const t0 = monotonicMs();
  for (let i = 0; i < total; i += batch) {
    await store.submitBatch(Array.from({ length: batch }, (_, j) => ({ type: 'noop', payload: { i: i + j } })));
  }
  const value = total / ((monotonicMs() - t0) / 1000);
  await store.close();
  return { value };
}

async function submitOneAtATime(kind: StoreKind, submitters: number, total: number) {
  const store = await freshStore(kind);
  let next = 0;
  const t0 = monotonicMs();
  await Promise.all(
    Array.from({ length: submitters }, async () => {
      while (next < total) {
        next++;
        await store.submit({ type: 'noop', payload: { n: next } });
      }
    }),
  );
  const value = total / ((monotonicMs() - t0) / 1000);
  await store.close();
  return { value };
}

/**
 * One-at-a-time submits against the raw ceiling, interleaved in short slices (the disk's
 * fsync time drifts over seconds, which would skew a ratio of two separate measurements).
 * Returns the store's rate and, as `raw`, the raw rate over the same slices.
 */
async function submitSequentialInterleaved(): Promise<{ value: number; raw: number }> {
  const store = await freshStore('sqlite');
  const rawDb = new DatabaseSync(join(root, `raw-${++fileNo}.db`));
  rawDb.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = ${durability === 'full' ? 'FULL' : 'NORMAL'};
    CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)`);
  const begin = rawDb.prepare('BEGIN IMMEDIATE');
  const insert = rawDb.prepare('INSERT INTO t (v) VALUES (?)');
  const commit = rawDb.prepare('COMMIT');
  let storeMs = 0;
  let rawMs = 0;
  const slices = 10;
  const perSlice = 150;
  for (let s = 0; s < slices; s++) {
    let t0 = monotonicMs();
    for (let i = 0; i < perSlice; i++) {
      begin.run();
      insert.run('{"n":1}');
      commit.run();
    }
    rawMs += monotonicMs() - t0;
    t0 = monotonicMs();
    for (let i = 0; i < perSlice; i++) await store.submit({ type: 'noop', payload: { n: 1 } });
    storeMs += monotonicMs() - t0;
  }
  rawDb.close();
  await store.close();
  const n = slices * perSlice;
  return { value: n / (storeMs / 1000), raw: n / (rawMs / 1000) };
}

/** Claim/complete loop with `slots` concurrent slots; each completion claims the slot's next task in the same transaction. */
async function drainThroughStore(kind: StoreKind) {
  const total = 20_000;
  const slots = 10;
  const store = await freshStore(kind);
  for (let i = 0; i < total; i += 5_000) {
    await store.submitBatch(Array.from({ length: 5_000 }, (_, j) => ({ type: 'noop', payload: { i: i + j } })));
  }
  const loop = monitorEventLoopDelay({ resolution: 1 });
  let done = 0;
  loop.enable();
  const t0 = monotonicMs();
  await Promise.all(
    Array.from({ length: slots }, async (_, s) => {
      const req: ClaimRequest = { workerId: `slot-${s}`, types: ['noop'], limit: 1, leaseMs: 60_000 };
      let held: ClaimedTask[] = await store.claim(req);
      while (held.length > 0) {
        const t = held[0];
        held = await store.complete(t.id, t.leaseToken, null, req);
        done++;
      }
    }),
  );
  const seconds = (monotonicMs() - t0) / 1000;
  loop.disable();
  await store.close();
  if (done !== total) throw new Error(`drain completed ${done} of ${total}`);
  return { value: total / seconds, extra: { eventLoopDelayP99Ms: loop.percentile(99) / 1e6, eventLoopDelayMaxMs: loop.max / 1e6 } };
}

async function drainThroughPool(kind: StoreKind) {
  const total = 20_000;
  const store = await freshStore(kind);
  for (let i = 0; i < total; i += 5_000) {
    await store.submitBatch(Array.from({ length: 5_000 }, (_, j) => ({ type: 'noop', payload: { i: i + j } })));
  }
  let done = 0;
  let resolveDone!: () => void;
  const finished = new Promise<void>((r) => (resolveDone = r));
  store.subscribe((e) => {
    if (e.kind === 'finished' && ++done === total) resolveDone();
  });
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const t0 = monotonicMs();
  const pool = new InProcessPool({ name: 'bench', types: ['noop'], handlers: { noop: async () => null }, store, minWorkers: 10, maxWorkers: 10 });
  await finished;
  const seconds = (monotonicMs() - t0) / 1000;
  loop.disable();
  await pool.close();
  await store.close();
  return { value: total / seconds, extra: { eventLoopDelayP99Ms: loop.percentile(99) / 1e6 } };
}

/** Submit -> claimed by a claimer that waits for the store's `submitted` event. */
async function pickupThroughStore(kind: StoreKind) {
  const store = await freshStore(kind);
  const samples: number[] = [];
  const req: ClaimRequest = { workerId: 'waiter', types: ['noop'], limit: 1, leaseMs: 60_000 };
  let wake: (() => void) | null = null;
  store.subscribe((e) => {
    if (e.kind === 'submitted' && wake) wake();
  });
  for (let i = 0; i < 300; i++) {
    const woken = new Promise<void>((r) => (wake = r));
    const t0 = monotonicMs();
    await Promise.all([
      store.submit({ type: 'noop' }),
      woken.then(async () => {
        const [t] = await store.claim(req);
        samples.push(monotonicMs() - t0);
        await store.complete(t.id, t.leaseToken, null);
      }),
    ]);
    wake = null;
  }
  await store.close();
  const warm = samples.slice(20);
  return { value: percentile(warm, 0.5), extra: { p95Ms: percentile(warm, 0.95) } };
}

/** Submit -> handler started, through an idle in-process pool woken by the store's event. */
async function pickupThroughPool(kind: StoreKind) {
  const store = await freshStore(kind);
  let started: ((ms: number) => void) | null = null;
  const pool = new InProcessPool({
    name: 'bench', types: ['noop'], store, minWorkers: 2, maxWorkers: 2, pollMs: 60_000,
    handlers: { noop: async () => void started?.(monotonicMs()) },
  });
  const samples: number[] = [];
  for (let i = 0; i < 300; i++) {
    const begun = new Promise<number>((r) => (started = r));
    const t0 = monotonicMs();
    await store.submit({ type: 'noop' });
    samples.push((await begun) - t0);
    await new Promise((r) => setTimeout(r, 1));
  }
  await pool.close();
  await store.close();
  const warm = samples.slice(20);
  return { value: percentile(warm, 0.5), extra: { p95Ms: percentile(warm, 0.95) } };
}

function casesFor(kind: StoreKind): BenchCase[] {
  const isSqlite = kind === 'sqlite';
  // Issue 3's targets are for SQLite at the default durability; with `normal` the raw
  // ceiling is CPU-bound and the ratios mean something else, so no targets are set.
  const sqlite = isSqlite && durability === 'full';
  return [
    {
      name: `batch-submit-${kind}`,
      run: async () => [result(`batch-submit-${kind}`, 'tasks/s', kind, await repeat(kind, () => batchSubmit(kind)), sqlite ? { minValue: 50_000 } : {})],
    },
    {
      name: `submit-sequential-${kind}`,
      run: async () => [
        result(
          `submit-sequential-${kind}`, 'tasks/s', kind,
          await repeat(kind, () => (isSqlite ? submitSequentialInterleaved() : submitOneAtATime(kind, 1, 20_000))),
          sqlite ? { minRatio: 0.8 } : {},
        ),
      ],
    },
    {
      name: `submit-concurrent50-${kind}`,
      run: async () => [
        result(`submit-concurrent50-${kind}`, 'tasks/s', kind, await repeat(kind, () => submitOneAtATime(kind, 50, 20_000)), sqlite ? { minRatio: 8 } : {}),
      ],
    },
    {
      name: `drain-${kind}`,
      run: async () => {
        const runs = await repeat(kind, () => drainThroughStore(kind));
        const delays = runs.map((r) => ({ ...r, value: r.extra!.eventLoopDelayP99Ms, raw: r.raw }));
        return [
          result(`drain-${kind}`, 'tasks/s', kind, runs, sqlite ? { minValue: 10_000, minRatio: 3 } : {}, ['eventLoopDelayP99Ms', 'eventLoopDelayMaxMs']),
          // The < 10 ms target is the SQLite store's (node:sqlite blocks while it runs); the
          // memory store's figure is shown for comparison (its pauses are mostly GC).
          { ...result(`drain-event-loop-delay-p99-${kind}`, 'ms', 'memory', delays, isSqlite ? { maxValue: 10 } : {}), durability: isSqlite ? durability : undefined },
        ];
      },
    },
    {
      name: `drain-pool-${kind}`,
      run: async () => [result(`drain-pool-${kind}`, 'tasks/s', kind, await repeat(kind, () => drainThroughPool(kind)), sqlite ? { minValue: 10_000 } : {}, ['eventLoopDelayP99Ms'])],
    },
    {
      name: `pickup-${kind}`,
      run: async () => [result(`pickup-${kind}`, 'ms', kind, await repeat(kind, () => pickupThroughStore(kind)), { maxValue: 1 }, ['p95Ms'])],
    },
    {
      name: `pickup-pool-${kind}`,
      run: async () => [result(`pickup-pool-${kind}`, 'ms', kind, await repeat(kind, () => pickupThroughPool(kind)), { maxValue: 1 }, ['p95Ms'])],
    },
  ];
}

export const cases: BenchCase[] = [
  ...STORES.flatMap(casesFor),
  {
    name: 'raw-sqlite-ceiling',
    run: async () => {
      const fsync: number[] = [];
      const raw: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        fsync.push(fsyncLatencyMs());
        raw.push(rawCommitsPerSec());
      }
      return [
        { name: 'raw-sqlite-single-row-commit', unit: 'commits/s', runs: RUNS, median: round(median(raw)), durability },
        { name: 'fsync-latency', unit: 'ms', runs: RUNS, median: round(median(fsync)) },
      ];
    },
  },
];
