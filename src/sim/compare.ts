// Runs every policy on the same workload, plus the clairvoyant floor and the smallest fixed
// pool meeting the SLO (found by search: a hindsight-sized pool), and formats the comparison table.
import { listPolicies } from '../policies/index.ts';
import { CLAIRVOYANT, clairvoyant } from './clairvoyant.ts';
import { simulate, type SimRun } from './engine.ts';
import { figuresOf, type SimFigures } from './result.ts';
import type { Workload } from './trace.ts';
import { policyForSim, type PolicyChoice } from './wiring.ts';

export interface RunSettings {
  sloMs: number;
  startupMs: number;
  intervalMs: number;
  minWorkers?: number;
  maxWorkers?: number;
  pricePerWorkerHour?: number;
  pricePerStart?: number;
}

export interface CompareRow {
  policy: string;
  figures: SimFigures | null;
  /** Set when the run failed (a policy stuck at 0 workers with tasks queued). */
  error: string | null;
  run: SimRun | null;
}

/** Runs one policy; returns the run and its figures. Throws what the engine throws. */
export function runPolicy(w: Workload, choice: PolicyChoice): { run: SimRun; figures: SimFigures } {
  const opts = { startupMs: choice.startupMs, intervalMs: choice.intervalMs };
  // The offline floor is no registry policy: it plans with the whole trace.
  const run = choice.name === CLAIRVOYANT ? clairvoyant(w, { sloMs: choice.sloMs, startupMs: choice.startupMs }) : simulate(w, policyForSim(choice), opts);
  return { run, figures: figuresOf(w, run, { sloMs: choice.sloMs, ...opts, pricePerWorkerHour: choice.pricePerWorkerHour, pricePerStart: choice.pricePerStart }) };
}

/** Names of every registered online policy (fixed:N aside). */
export function onlinePolicyNames(): string[] {
  return listPolicies()
    .map((p) => p.name)
    .filter((n) => n !== 'fixed:N');
}

/**
 * Smallest N for which fixed:N reaches `attainment` (default 0.95). More workers never
 * delay a task in a FIFO pool, so attainment grows with N and a binary search finds it.
 */
export function smallestFixedPool(w: Workload, s: RunSettings, attainment = 0.95): { workers: number; figures: SimFigures; run: SimRun } {
  const at = (n: number) => runPolicy(w, { name: `fixed:${n}`, ...s, minWorkers: undefined, maxWorkers: undefined });
  let busyMs = 0;
  for (let i = 0; i < w.count; i++) busyMs += w.serviceMs[i];
  const spanMs = w.count > 0 ? Math.max(1, w.arrivalMs[w.count - 1]) : 1;
  let lo = 1;
  let hi = Math.max(1, Math.ceil(busyMs / spanMs));
  let best = at(hi);
  while (best.figures.sloAttainment < attainment && hi < 100_000) {
    lo = hi + 1;
    hi *= 2;
    best = at(hi);
  }
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const r = at(mid);
    if (r.figures.sloAttainment >= attainment) {
      hi = mid;
      best = r;
    } else lo = mid + 1;
  }
  if (best.figures.policy !== `fixed:${hi}`) best = at(hi);
  return { workers: hi, figures: best.figures, run: best.run };
}

export function compareAll(w: Workload, s: RunSettings, keepRuns: string[] = []): CompareRow[] {
  const rows: CompareRow[] = [];
  for (const name of onlinePolicyNames()) {
    try {
      const { run, figures } = runPolicy(w, { name, ...s });
      rows.push({ policy: name, figures, error: null, run: keepRuns.includes(name) ? run : null });
    } catch (err) {
      rows.push({ policy: name, figures: null, error: (err as Error).message, run: null });
    }
  }
  const floor = runPolicy(w, { name: CLAIRVOYANT, ...s });
  rows.push({ policy: CLAIRVOYANT, figures: floor.figures, error: null, run: keepRuns.includes(CLAIRVOYANT) ? floor.run : null });
  const fixed = smallestFixedPool(w, s);
  rows.push({ policy: `fixed:${fixed.workers}`, figures: fixed.figures, error: null, run: null });
  // Every cost as a multiple of the clairvoyant floor's.
  const floorMs = floor.figures.workerSeconds;
  for (const r of rows) if (r.figures) r.figures.clairvoyantMultiple = floorMs > 0 ? r.figures.workerSeconds / floorMs : 0;
  return rows;
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

/** A plain-text table, one policy per row. */
export function formatCompareTable(rows: CompareRow[], sloMs: number): string {
  const head = ['policy', 'sloAttainment', 'p95WaitMs', 'costRatio', 'x clairvoyant', 'workerSeconds', 'maxWorkers', 'scaleActions', 'meets SLO'];
  const lines = [head];
  for (const r of rows) {
    const f = r.figures;
    if (!f) {
      lines.push([r.policy, 'error', '', '', '', '', '', '', r.error ?? '']);
      continue;
    }
    lines.push([
      r.policy,
      f.sloAttainment.toFixed(4),
      String(Math.round(f.p95WaitMs)),
      f.costRatio.toFixed(3),
      f.clairvoyantMultiple === undefined ? '' : f.clairvoyantMultiple.toFixed(3),
      f.workerSeconds.toFixed(0),
      String(f.maxWorkers),
      String(f.scaleActions),
      f.sloAttainment >= 0.95 ? 'yes' : 'no',
    ]);
  }
  const widths = head.map((_, i) => Math.max(...lines.map((l) => l[i].length)));
  const out = lines.map((l) => l.map((c, i) => (i === l.length - 1 ? c : pad(c, widths[i]))).join('  ').trimEnd());
  out.splice(1, 0, widths.map((n) => '-'.repeat(n)).join('  '));
  return `${out.join('\n')}\n(p95 wait target ${sloMs} ms; "meets SLO" = sloAttainment >= 0.95; the clairvoyant row is the offline floor that knows the whole trace, "x clairvoyant" each cost as a multiple of its; the last row is the smallest fixed pool that meets it, sized with hindsight)`;
}
