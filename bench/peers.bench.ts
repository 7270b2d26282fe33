// The side-by-side benchmark (issue 13, item 6): the same workload against Tidepool on
// SQLite, PostgreSQL and Redis, pg-boss and graphile-worker on the same PostgreSQL, and
// BullMQ on the same Redis, in one run. `npm run -s bench -- peers` prints one JSON line
// per figure: name `<test>-<system>`, unit (`tasks/s`, or `ms` for pickup), runs, median
// (for pickup the median of the runs' p50, with p95Ms beside it), settings.
//
// Tests (each run gets a fresh schema / key prefix / file, so every table starts empty):
//   enqueue-batch         20,000 tasks in batches of 1,000
//   enqueue-sequential    2,000 tasks, each submit awaited before the next
//   enqueue-concurrent50  5,000 tasks, one at a time from 50 concurrent submitters
//   drain-c10, drain-c100 20,000 no-op tasks submitted first, then run 10 or 100 at a time;
//                         timed from the worker's start to the last task
//   pickup                submit -> handler start with an idle worker (200 samples, the
//                         first 20 dropped as warm-up)
// Systems and the settings they run with are in SYSTEMS below (the `settings` of each line).
// A system whose server is unreachable, or whose adapter is not there yet, prints lines
// with `skipped` saying why instead of figures. Progress goes to stderr.
//
// Environment: TIDEPOOL_BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432/test),
// TIDEPOOL_BENCH_REDIS_URL (default redis://127.0.0.1:6379/0), TIDEPOOL_BENCH_PEERS_RUNS (3),
// TIDEPOOL_BENCH_PEERS_TESTS (a comma list of tests to run, e.g. `drain-c10,drain-c100`; default all).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { monotonicMs } from '../src/core/index.ts';
import { InProcessPool } from '../src/pools/index.ts';
import { openStore } from '../src/store/index.ts';
import type { Store } from '../src/store/index.ts';
import type { BenchCase } from './run.ts';

const RUNS = Number(process.env.TIDEPOOL_BENCH_PEERS_RUNS ?? 3);
const PG_URL = process.env.TIDEPOOL_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.TIDEPOOL_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/0';

const BATCH_TOTAL = 20_000;
const BATCH_SIZE = 1_000;
const SEQUENTIAL_TOTAL = 2_000;
const CONCURRENT_TOTAL = 5_000;
const CONCURRENT_SUBMITTERS = 50;
const DRAIN_TOTAL = 20_000;
const PICKUP_SAMPLES = 200;
const PICKUP_WARMUP = 20;
/** A drain or pickup that takes longer than this is stopped and reported as failed. */
const STEP_TIMEOUT_MS = 180_000;

export const PEER_TESTS = ['enqueue-batch', 'enqueue-sequential', 'enqueue-concurrent50', 'drain-c10', 'drain-c100', 'pickup'] as const;
type TestName = (typeof PEER_TESTS)[number];

/** The tests this run measures (TIDEPOOL_BENCH_PEERS_TESTS, or all). */
function selectedTests(): readonly TestName[] {
  const raw = process.env.TIDEPOOL_BENCH_PEERS_TESTS;
  if (!raw) return PEER_TESTS;
  const words = raw.split(',').map((w) => w.trim()).filter(Boolean);
  const unknown = words.filter((w) => !(PEER_TESTS as readonly string[]).includes(w));
  if (unknown.length) throw new Error(`TIDEPOOL_BENCH_PEERS_TESTS: unknown test ${unknown.map((w) => JSON.stringify(w)).join(', ')}; expected some of ${PEER_TESTS.join(', ')}`);
  return PEER_TESTS.filter((t) => words.includes(t));
}

const note = (msg: string) => process.stderr.write(`  ${msg}\n`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round = (x: number, digits = 3) => Number(x.toPrecision(digits + 2));
const percentile = (xs: number[], p: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!;
};
const suffix = () => randomBytes(4).toString('hex');
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves when `count()` reaches `total`, or rejects after STEP_TIMEOUT_MS. */
function countdown(total: number): { hit: () => void; done: Promise<void>; seen: () => number } {
  let n = 0;
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const done = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  const timer = setTimeout(() => reject(new Error(`only ${n} of ${total} tasks ran within ${STEP_TIMEOUT_MS / 1000} s`)), STEP_TIMEOUT_MS);
  return {
    hit: () => {
      if (++n === total) {
        clearTimeout(timer);
        resolve();
      }
    },
    done,
    seen: () => n,
  };
}

/** One system under test, opened fresh for each test of each run. */
interface Instance {
  enqueueBatch(payloads: { i: number }[]): Promise<void>;
  enqueueOne(payload: { i: number }): Promise<void>;
  /** Starts workers running `concurrency` no-op tasks at a time; `onDone` after each. */
  startWorkers(concurrency: number, onStart: () => void, onDone: () => void): Promise<void>;
  close(): Promise<void>;
}

interface System {
  name: string;
  /** The peer's settings, as the bench line and the README show them. */
  settings: string;
  /** Why this system cannot run here, or null. */
  unavailable(): Promise<string | null>;
  open(): Promise<Instance>;
}

// --- shared servers -----------------------------------------------------------------

async function pgProblem(): Promise<string | null> {
  const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2_000 });
  c.on('error', () => undefined);
  try {
    await c.connect();
    await c.query('SELECT 1');
    return null;
  } catch (err) {
    return `PostgreSQL at ${PG_URL} is unreachable (${(err as Error).message})`;
  } finally {
    await c.end().catch(() => undefined);
  }
}

async function dropSchema(schema: string): Promise<void> {
  const c = new pg.Client({ connectionString: PG_URL });
  c.on('error', () => undefined);
  await c.connect();
  try {
    await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await c.end();
  }
}

async function redisClient() {
  const { Redis } = await import('ioredis');
  const u = new URL(REDIS_URL);
  return new Redis({
    host: u.hostname, port: Number(u.port || 6379), db: Number(u.pathname.slice(1) || 0),
    maxRetriesPerRequest: null, lazyConnect: true, enableOfflineQueue: true,
  });
}

async function redisProblem(): Promise<string | null> {
  const r = await redisClient();
  r.on('error', () => undefined);
  try {
    await r.connect();
    await r.ping();
    return null;
  } catch (err) {
    return `Redis at ${REDIS_URL} is unreachable (${(err as Error).message})`;
  } finally {
    r.disconnect();
  }
}

/** Deletes every key under `prefix:` (SCAN, never FLUSHALL). */
async function dropRedisPrefix(prefix: string): Promise<void> {
  const r = await redisClient();
  r.on('error', () => undefined);
  await r.connect();
  try {
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await r.del(...keys);
    } while (cursor !== '0');
  } finally {
    r.disconnect();
  }
}

// --- Tidepool -------------------------------------------------------------------------

const sqliteRoot = mkdtempSync(join(tmpdir(), 'tidepool-peers-'));
process.on('exit', () => rmSync(sqliteRoot, { recursive: true, force: true }));

function tidepoolSystem(name: string, settings: string, freshUrl: () => { url: string; drop: () => Promise<void> }, serverProblem: () => Promise<string | null>): System {
  return {
    name,
    settings,
    unavailable: async () => {
      const problem = await serverProblem();
      if (problem) return problem;
      // The adapter may not be there yet (Redis lands from another branch).
      const { url, drop } = freshUrl();
      try {
        const store = await openStore(url);
        await store.close();
        return null;
      } catch (err) {
        return (err as Error).message;
      } finally {
        await drop().catch(() => undefined);
      }
    },
    open: async () => {
      const { url, drop } = freshUrl();
      const store: Store = await openStore(url);
      let pool: InProcessPool | null = null;
      let unsubscribe: (() => void) | null = null;
      return {
        enqueueBatch: async (payloads) => void (await store.submitBatch(payloads.map((payload) => ({ type: 'noop', payload })))),
        enqueueOne: async (payload) => void (await store.submit({ type: 'noop', payload })),
        startWorkers: async (concurrency, onStart, onDone) => {
          // A task counts once the store committed its completion (the `finished` event).
          unsubscribe = store.subscribe((e) => e.kind === 'finished' && onDone());
          pool = new InProcessPool({
            name: 'bench', types: ['noop'], store, minWorkers: concurrency, maxWorkers: concurrency, pollMs: 60_000,
            handlers: { noop: async () => void onStart() },
          });
        },
        close: async () => {
          unsubscribe?.();
          await pool?.close();
          await store.close();
          await drop();
        },
      };
    },
  };
}

function tidepoolSqlite(): System {
  let n = 0;
  return tidepoolSystem(
    'tidepool-sqlite',
    'sqlite:FILE, durability full (acknowledged after fsync); InProcessPool with as many workers as the test keeps in flight',
    () => ({ url: `sqlite:${join(sqliteRoot, `t${++n}.db`)}`, drop: async () => undefined }),
    async () => null,
  );
}

function tidepoolPostgres(): System {
  return tidepoolSystem(
    'tidepool-postgres',
    'postgres://…?schema=NAME (default poolSize 4 + 1 LISTEN connection); InProcessPool with as many workers as the test keeps in flight',
    () => {
      const schema = `tp_peers_${suffix()}`;
      return { url: `${PG_URL}${PG_URL.includes('?') ? '&' : '?'}schema=${schema}`, drop: () => dropSchema(schema) };
    },
    pgProblem,
  );
}

function tidepoolRedis(): System {
  return tidepoolSystem(
    'tidepool-redis',
    'redis://…?prefix=NAME; InProcessPool with as many workers as the test keeps in flight',
    () => {
      const prefix = `tp_peers_${suffix()}`;
      return { url: `${REDIS_URL}${REDIS_URL.includes('?') ? '&' : '?'}prefix=${prefix}`, drop: () => dropRedisPrefix(prefix) };
    },
    redisProblem,
  );
}

// --- pg-boss --------------------------------------------------------------------------

function pgBoss(): System {
  return {
    name: 'pg-boss',
    settings: 'pg-boss 12.38: useListenNotify true and queue notify true (pickup by LISTEN/NOTIFY); work() with localConcurrency 1, batchSize = in-flight count (10 or 100), burstWhenBatchFull; insert() of 1,000 for batches; send() one at a time',
    unavailable: pgProblem,
    open: async () => {
      const { PgBoss } = (await import('pg-boss')) as unknown as { PgBoss: new (o: object) => any };
      const schema = `pgboss_peers_${suffix()}`;
      const boss = new PgBoss({ connectionString: PG_URL, schema, useListenNotify: true, supervise: false, schedule: false });
      boss.on('error', (err: Error) => note(`pg-boss error: ${err.message}`));
      await boss.start();
      await boss.createQueue('noop', { notify: true });
      return {
        enqueueBatch: async (payloads) => void (await boss.insert('noop', payloads.map((data) => ({ data })))),
        enqueueOne: async (payload) => void (await boss.send('noop', payload)),
        startWorkers: async (concurrency, onStart, onDone) => {
          await boss.work('noop', { localConcurrency: 1, batchSize: concurrency, burstWhenBatchFull: true, pollingIntervalSeconds: 0.5 }, async (jobs: unknown[]) => {
            for (let i = 0; i < jobs.length; i++) onStart();
            queueMicrotask(() => jobs.forEach(() => onDone()));
          });
        },
        close: async () => {
          await boss.stop({ graceful: false, close: true }).catch(() => undefined);
          await dropSchema(schema);
        },
      };
    },
  };
}

// --- graphile-worker ------------------------------------------------------------------

function graphileWorker(): System {
  return {
    name: 'graphile-worker',
    settings: 'graphile-worker 0.18: concurrency = in-flight count (10 or 100), maxPoolSize 12, preset.worker localQueue size 500, completeJobBatchDelay 0, failJobBatchDelay 0 (LISTEN for pickup); addJobs() of 1,000 for batches; addJob() one at a time',
    unavailable: pgProblem,
    open: async () => {
      const gw = await import('graphile-worker');
      const schema = `gw_peers_${suffix()}`;
      const logger = new gw.Logger(() => () => undefined);
      const preset = { worker: { localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } } as never;
      const utils = await gw.makeWorkerUtils({ connectionString: PG_URL, schema, logger, preset });
      await utils.migrate();
      let runner: Awaited<ReturnType<typeof gw.run>> | null = null;
      return {
        enqueueBatch: async (payloads) => void (await utils.addJobs(payloads.map((payload) => ({ identifier: 'noop', payload })))),
        enqueueOne: async (payload) => void (await utils.addJob('noop', payload)),
        startWorkers: async (concurrency, onStart, onDone) => {
          runner = await gw.run({
            connectionString: PG_URL, schema, concurrency, maxPoolSize: 12, noHandleSignals: true, logger, preset,
            taskList: { noop: async () => { onStart(); queueMicrotask(onDone); } },
          });
        },
        close: async () => {
          await runner?.stop().catch(() => undefined);
          await utils.release();
          await dropSchema(schema);
        },
      };
    },
  };
}

// --- BullMQ ---------------------------------------------------------------------------

function bullmq(): System {
  return {
    name: 'bullmq',
    settings: 'bullmq 6.7: Worker concurrency = in-flight count (10 or 100); addBulk() of 1,000 for batches; add() one at a time; removeOnComplete false (kept, like the others)',
    unavailable: redisProblem,
    open: async () => {
      const { Queue, Worker } = await import('bullmq');
      const u = new URL(REDIS_URL);
      const connection = { host: u.hostname, port: Number(u.port || 6379), db: Number(u.pathname.slice(1) || 0), maxRetriesPerRequest: null };
      const prefix = `bull_peers_${suffix()}`;
      const queue = new Queue('noop', { connection, prefix });
      let worker: { close(force?: boolean): Promise<void> } | null = null;
      return {
        enqueueBatch: async (payloads) => void (await queue.addBulk(payloads.map((data) => ({ name: 'noop', data })))),
        enqueueOne: async (payload) => void (await queue.add('noop', payload)),
        startWorkers: async (concurrency, onStart, onDone) => {
          const w = new Worker('noop', async () => void onStart(), { connection, prefix, concurrency });
          worker = w;
          w.on('completed', () => onDone());
          w.on('error', (err) => note(`bullmq error: ${err.message}`));
          await w.waitUntilReady();
        },
        close: async () => {
          await worker?.close(true).catch(() => undefined);
          await queue.close();
          await dropRedisPrefix(prefix);
        },
      };
    },
  };
}

export const SYSTEMS: System[] = [tidepoolSqlite(), tidepoolPostgres(), tidepoolRedis(), pgBoss(), graphileWorker(), bullmq()];

// --- the tests ------------------------------------------------------------------------

interface Sample {
  value: number;
  p95Ms?: number;
}

async function measure(test: TestName, system: System): Promise<Sample> {
  const inst = await system.open();
  try {
    switch (test) {
      case 'enqueue-batch': {
        const t0 = monotonicMs();
        for (let i = 0; i < BATCH_TOTAL; i += BATCH_SIZE) {
          await inst.enqueueBatch(Array.from({ length: BATCH_SIZE }, (_, j) => ({ i: i + j })));
        }
        return { value: BATCH_TOTAL / ((monotonicMs() - t0) / 1000) };
      }
      case 'enqueue-sequential': {
        const t0 = monotonicMs();
        for (let i = 0; i < SEQUENTIAL_TOTAL; i++) await inst.enqueueOne({ i });
        return { value: SEQUENTIAL_TOTAL / ((monotonicMs() - t0) / 1000) };
      }
      case 'enqueue-concurrent50': {
        let next = 0;
        const t0 = monotonicMs();
        await Promise.all(
          Array.from({ length: CONCURRENT_SUBMITTERS }, async () => {
            while (next < CONCURRENT_TOTAL) await inst.enqueueOne({ i: next++ });
          }),
        );
        return { value: CONCURRENT_TOTAL / ((monotonicMs() - t0) / 1000) };
      }
      case 'drain-c10':
      case 'drain-c100': {
        const concurrency = test === 'drain-c10' ? 10 : 100;
        for (let i = 0; i < DRAIN_TOTAL; i += BATCH_SIZE) {
          await inst.enqueueBatch(Array.from({ length: BATCH_SIZE }, (_, j) => ({ i: i + j })));
        }
        const done = countdown(DRAIN_TOTAL);
        const t0 = monotonicMs();
        await inst.startWorkers(concurrency, () => undefined, done.hit);
        await done.done;
        return { value: DRAIN_TOTAL / ((monotonicMs() - t0) / 1000) };
      }
      case 'pickup': {
        let started: ((atMs: number) => void) | null = null;
        const done = countdown(PICKUP_SAMPLES);
        await inst.startWorkers(1, () => started?.(monotonicMs()), done.hit);
        await pause(200);
        const samples: number[] = [];
        for (let i = 0; i < PICKUP_SAMPLES; i++) {
          const begun = new Promise<number>((r) => (started = r));
          const t0 = monotonicMs();
          await inst.enqueueOne({ i });
          samples.push((await Promise.race([begun, done.done.then(() => NaN)])) - t0);
          started = null;
          // Idle again before the next submit: the worker waits on its notification.
          await pause(3);
        }
        const warm = samples.slice(PICKUP_WARMUP).filter((x) => Number.isFinite(x));
        return { value: percentile(warm, 0.5), p95Ms: percentile(warm, 0.95) };
      }
      default: {
        const never: never = test;
        throw new Error(`unknown test ${String(never)}`);
      }
    }
  } finally {
    await inst.close();
  }
}

function unitOf(test: TestName): string {
  return test === 'pickup' ? 'ms' : 'tasks/s';
}

/** Runs every test of one system RUNS times; one line per test. */
async function runSystem(system: System, tests: readonly TestName[], progress: { step: number; total: number; t0: number }): Promise<Record<string, unknown>[]> {
  const reason = await system.unavailable();
  if (reason) {
    note(`${system.name}: skipped: ${reason}`);
    progress.step += tests.length * RUNS;
    return tests.map((test) => ({ name: `${test}-${system.name}`, unit: unitOf(test), runs: 0, median: null, skipped: reason, settings: system.settings }));
  }
  const lines: Record<string, unknown>[] = [];
  for (const test of tests) {
    const samples: Sample[] = [];
    let failure: string | null = null;
    for (let run = 1; run <= RUNS; run++) {
      progress.step++;
      const elapsed = ((monotonicMs() - progress.t0) / 1000).toFixed(0);
      process.stderr.write(`  [${progress.step}/${progress.total}, ${elapsed} s] ${test}-${system.name} run ${run}/${RUNS} ... `);
      try {
        const s = await measure(test, system);
        samples.push(s);
        process.stderr.write(`${round(s.value)} ${unitOf(test)}${s.p95Ms !== undefined ? ` (p95 ${round(s.p95Ms)} ms)` : ''}\n`);
      } catch (err) {
        failure = (err as Error).message;
        process.stderr.write(`failed: ${failure}\n`);
        progress.step += RUNS - run;
        break;
      }
    }
    const line: Record<string, unknown> = { name: `${test}-${system.name}`, unit: unitOf(test), runs: samples.length };
    line.median = samples.length ? round(median(samples.map((s) => s.value))) : null;
    if (test === 'pickup' && samples.length) line.p95Ms = round(median(samples.map((s) => s.p95Ms!)));
    line.samples = samples.map((s) => round(s.value));
    if (failure) line.failed = failure;
    line.settings = system.settings;
    lines.push(line);
  }
  return lines;
}

/** Ratios the issue's targets are judged by, from the lines of one run. */
function targets(lines: Record<string, unknown>[]): Record<string, unknown>[] {
  const m = (name: string) => lines.find((l) => l.name === name)?.median as number | null | undefined;
  const out: Record<string, unknown>[] = [];
  const ratio = (name: string, a: string, b: string, min: number) => {
    const x = m(a);
    const y = m(b);
    if (typeof x !== 'number' || typeof y !== 'number') return;
    const r = round(x / y);
    out.push({ name, unit: 'ratio', runs: RUNS, median: r, of: a, to: b, target: { minRatio: min }, ok: r >= min * 0.97 });
  };
  for (const drain of ['drain-c10', 'drain-c100']) {
    ratio(`target-${drain}-tidepool-postgres-vs-graphile-worker`, `${drain}-tidepool-postgres`, `${drain}-graphile-worker`, 1);
    ratio(`target-${drain}-tidepool-postgres-vs-pg-boss`, `${drain}-tidepool-postgres`, `${drain}-pg-boss`, 5);
    ratio(`target-${drain}-tidepool-redis-vs-bullmq`, `${drain}-tidepool-redis`, `${drain}-bullmq`, 1.2);
    ratio(`target-${drain}-tidepool-sqlite-vs-graphile-worker`, `${drain}-tidepool-sqlite`, `${drain}-graphile-worker`, 1);
  }
  ratio('target-enqueue-concurrent50-tidepool-postgres-vs-pg-boss', 'enqueue-concurrent50-tidepool-postgres', 'enqueue-concurrent50-pg-boss', 3);
  ratio('target-enqueue-concurrent50-tidepool-postgres-vs-graphile-worker', 'enqueue-concurrent50-tidepool-postgres', 'enqueue-concurrent50-graphile-worker', 3);
  ratio('target-enqueue-batch-tidepool-redis-vs-bullmq', 'enqueue-batch-tidepool-redis', 'enqueue-batch-bullmq', 1.5);
  const pickupMax = (system: string, maxMs: number) => {
    const v = m(`pickup-${system}`);
    if (typeof v === 'number') out.push({ name: `target-pickup-${system}`, unit: 'ms', runs: RUNS, median: v, target: { maxValue: maxMs }, ok: v <= maxMs });
  };
  pickupMax('tidepool-postgres', 3);
  pickupMax('tidepool-redis', 1.5);
  return out;
}

/** Systems named in the filter words (`peers-bullmq`), or all of them. */
function selectedSystems(): System[] {
  const words = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  const named = SYSTEMS.filter((s) => words.some((w) => w === `peers-${s.name}` || w === s.name));
  return named.length ? named : SYSTEMS;
}

export const cases: BenchCase[] = [
  {
    name: 'peers',
    run: async () => {
      const systems = selectedSystems();
      const tests = selectedTests();
      const progress = { step: 0, total: systems.length * tests.length * RUNS, t0: monotonicMs() };
      note(`peers: ${systems.map((s) => s.name).join(', ')}; ${RUNS} runs of ${tests.join(', ')}`);
      const lines: Record<string, unknown>[] = [];
      for (const system of systems) lines.push(...(await runSystem(system, tests, progress)));
      note(`peers: done in ${((monotonicMs() - progress.t0) / 1000).toFixed(0)} s`);
      return [...lines, ...targets(lines)];
    },
  },
];
