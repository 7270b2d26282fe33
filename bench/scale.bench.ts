// Claims whose cost does not grow with the queue's shape (issue 13, item 7). Through
// createTidepool, 10 workers drain 20,000 no-op tasks on each Tidepool store, in four
// shapes measured in the same run:
//   base         one tenant, one type
//   tenants2000  the 20,000 tasks spread over 2,000 tenants
//   delayed200k  200,000 tasks not yet due (runAt in a day) submitted first, beside them
//   types50      one pool serving 50 types, the tasks spread over them
// Lines `drain-<shape>-<system>` (unit tasks/s, median of RUNS; `ratio` = shape / base in
// the same run, target >= 0.8). Stores come from SCALE_STORES: add one entry for a new
// adapter (a store whose adapter or server is missing is skipped with a note on stderr).
// `npm run -s bench -- scale` runs them all; `-- scale-sqlite` one store.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monotonicMs, systemClock } from '../src/core/index.ts';
import type { SubmitInput } from '../src/core/index.ts';
import { openStore } from '../src/store/index.ts';
import type { RedisStore, Store } from '../src/store/index.ts';
import { createTidepool } from '../src/tidepool.ts';
import type { BenchCase } from './run.ts';

const RUNS = Number(process.env.TIDEPOOL_BENCH_RUNS ?? 3);
const TASKS = 20_000;
const WORKERS = 10;
/** A shape that has not drained after this long reports the rate so far (marked `capped`). */
const CAP_MS = 60_000;
const MIN_RATIO = 0.8;
const SHAPES = ['base', 'tenants2000', 'delayed200k', 'types50'] as const;
type Shape = (typeof SHAPES)[number];

const note = (msg: string) => process.stderr.write(`  ${msg}\n`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (x: number) => Number(x.toPrecision(4));

const root = mkdtempSync(join(tmpdir(), 'tidepool-scale-'));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));
let fileNo = 0;
const suffix = () => `bench_${process.pid}_${++fileNo}`;

export interface ScaleStore {
  /** `tidepool-<adapter>`, the line's system. */
  system: string;
  /** A fresh, empty store URL (own file, schema or prefix). */
  url(): string;
  /** Removes what url() created, when the adapter does not. */
  cleanup?(store: Store): Promise<void>;
}

export const SCALE_STORES: ScaleStore[] = [
  { system: 'tidepool-memory', url: () => 'memory' },
  { system: 'tidepool-sqlite', url: () => `sqlite:${join(root, `${suffix()}.db`)}` },
  { system: 'tidepool-postgres', url: () => `${process.env.TIDEPOOL_BENCH_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test'}?schema=${suffix()}` },
  {
    system: 'tidepool-redis',
    url: () => `${process.env.TIDEPOOL_BENCH_REDIS ?? 'redis://127.0.0.1:6379/0'}?prefix=${suffix()}`,
    // Redis is shared: each run deletes its own prefix's keys (200,000 delayed tasks otherwise stay).
    cleanup: async (store) => void (await (store as RedisStore).dropKeys()),
  },
];

function inputsFor(shape: Shape): { types: string[]; runnable: SubmitInput[]; notDue: number } {
  const types = shape === 'types50' ? Array.from({ length: 50 }, (_, i) => `noop${i}`) : ['noop'];
  const runnable = Array.from({ length: TASKS }, (_, i): SubmitInput => ({
    type: types[i % types.length],
    tenant: shape === 'tenants2000' ? `t${i % 2000}` : undefined,
    payload: { i },
  }));
  return { types, runnable, notDue: shape === 'delayed200k' ? 200_000 : 0 };
}

/** One drain: tasks/s from the pool's start until every runnable task has finished. */
async function drainOnce(spec: ScaleStore, shape: Shape): Promise<{ value: number; isCapped: boolean }> {
  const store = await openStore(spec.url(), { clock: systemClock });
  try {
    const { types, runnable, notDue } = inputsFor(shape);
    for (let i = 0; i < notDue; i += 1_000) {
      await store.submitBatch(Array.from({ length: 1_000 }, () => ({ type: types[0], delayMs: 86_400_000 })));
    }
    for (let i = 0; i < runnable.length; i += 1_000) await store.submitBatch(runnable.slice(i, i + 1_000));
    let done = 0;
    let resolveDone!: () => void;
    const finished = new Promise<void>((r) => (resolveDone = r));
    store.subscribe((e) => {
      if (e.kind === 'finished' && ++done === TASKS) resolveDone();
    });
    const handlers = Object.fromEntries(types.map((t) => [t, async () => null]));
    const t0 = monotonicMs();
    const tp = await createTidepool(
      { pools: [{ name: 'bench', types, minWorkers: WORKERS, maxWorkers: WORKERS, policy: `fixed:${WORKERS}` }] },
      handlers,
      { store, startAutoscaler: false },
    );
    let timer: NodeJS.Timeout | undefined;
    const isCapped = await Promise.race([
      finished.then(() => false),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(true), CAP_MS))),
    ]);
    clearTimeout(timer);
    const seconds = (monotonicMs() - t0) / 1000;
    await tp.close(0);
    return { value: done / seconds, isCapped };
  } finally {
    await spec.cleanup?.(store);
    await store.close();
  }
}

async function isAvailable(spec: ScaleStore): Promise<boolean> {
  try {
    const store = await openStore(spec.url(), { clock: systemClock });
    await spec.cleanup?.(store);
    await store.close();
    return true;
  } catch (err) {
    note(`${spec.system}: skipped (${(err as Error).message})`);
    return false;
  }
}

function caseFor(spec: ScaleStore): BenchCase {
  const adapter = spec.system.replace(/^tidepool-/, '');
  return {
    name: `scale-${adapter}`,
    run: async () => {
      if (!(await isAvailable(spec))) return [];
      const byShape = new Map<Shape, { value: number; isCapped: boolean }[]>(SHAPES.map((s) => [s, []]));
      for (let run = 1; run <= RUNS; run++) {
        // Shapes interleave within a run, so a slow moment of the machine hits them alike.
        for (const shape of SHAPES) {
          const r = await drainOnce(spec, shape);
          byShape.get(shape)!.push(r);
          note(`run ${run} ${shape}: ${round(r.value)} tasks/s${r.isCapped ? ` (capped at ${CAP_MS / 1000} s)` : ''}`);
        }
      }
      const baseRuns = byShape.get('base')!.map((r) => r.value);
      const base = median(baseRuns);
      return SHAPES.map((shape) => {
        const runs = byShape.get(shape)!;
        const value = median(runs.map((r) => r.value));
        // The ratio of medians; per-run ratios beside it show the spread.
        const ratio = value / base;
        const rec: Record<string, unknown> = {
          name: `drain-${shape}-${spec.system}`,
          unit: 'tasks/s',
          runs: runs.length,
          median: round(value),
          tasks: TASKS,
          workers: WORKERS,
          runRatios: runs.map((r, i) => round(r.value / baseRuns[i])),
        };
        if (shape !== 'base') Object.assign(rec, { peer: `drain-base-${spec.system}`, peerMedian: round(base), ratio: round(ratio), target: MIN_RATIO, ok: ratio >= MIN_RATIO });
        if (runs.some((r) => r.isCapped)) rec.capped = true;
        if (spec.system === 'tidepool-sqlite') rec.durability = 'full';
        return rec;
      });
    },
  };
}

export const cases: BenchCase[] = SCALE_STORES.map(caseFor);
