// The adaptive policy's table (issue 10): on both shared traces and both settings
// (A: SLO 2 s, start-up 1 s; B: SLO 5 s, start-up 10 s) its SLO attainment and cost ratio
// against the best known online results, and on every generator scenario, seeds 1-6, both
// settings, its cost against the smallest fixed pool holding 0.95; every cell also as a
// multiple of the clairvoyant floor. `npm run -s bench -- policies` prints one JSON line per
// cell on stdout and the table on stderr. TIDEPOOL_BENCH_QUICK=1 runs seeds 1-2 only.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generate, parseTrace, runPolicy, SCENARIOS, smallestFixedPool, type Workload } from '../src/sim/index.ts';
import type { BenchCase } from './run.ts';

const TRACES = '/work/shared/traces';
const SETTINGS = [
  { label: 'A', sloMs: 2000, startupMs: 1000, intervalMs: 1000 },
  { label: 'B', sloMs: 5000, startupMs: 10_000, intervalMs: 1000 },
] as const;
/** The best online cost ratios known for the shared traces (issue 10, item 6). */
const TARGETS: Record<string, Record<string, number>> = {
  azure_llm2023_conv: { A: 1.05, B: 1.23 },
  alibaba2017_tasks: { A: 1.01, B: 1.24 },
};
const POLICY = process.env.TIDEPOOL_BENCH_POLICY ?? 'adaptive';

function cell(w: Workload, s: (typeof SETTINGS)[number]) {
  const run = { sloMs: s.sloMs, startupMs: s.startupMs, intervalMs: s.intervalMs };
  const a = runPolicy(w, { name: POLICY, ...run }).figures;
  const c = runPolicy(w, { name: 'clairvoyant', ...run }).figures;
  return { a, c, multiple: a.workerSeconds / c.workerSeconds };
}

const fmt = (x: number, d = 3) => x.toFixed(d);

export const cases: BenchCase[] = [
  {
    name: 'policies-traces',
    async run() {
      const out: Record<string, unknown>[] = [];
      const lines = [`${POLICY} on the shared traces: attainment / costRatio (target) | clairvoyant costRatio | x clairvoyant`];
      for (const trace of Object.keys(TARGETS)) {
        let w: Workload;
        try {
          w = parseTrace(readFileSync(join(TRACES, `${trace}.csv`), 'utf8'), trace);
        } catch (err) {
          process.stderr.write(`  ${trace}: cannot read (${(err as Error).message}); skipped\n`);
          continue;
        }
        for (const s of SETTINGS) {
          const { a, c, multiple } = cell(w, s);
          const target = TARGETS[trace][s.label];
          const ok = a.sloAttainment >= 0.95 && a.costRatio <= target;
          lines.push(`  ${trace} ${s.label}: ${fmt(a.sloAttainment)} / ${fmt(a.costRatio)} (${target}) ${ok ? 'ok ' : 'MISS'} | ${fmt(c.costRatio)} | ${fmt(multiple)}`);
          out.push({ name: `policies-${trace}-${s.label}`, unit: 'costRatio', runs: 1, median: a.costRatio, policy: POLICY, sloAttainment: a.sloAttainment, targetCostRatio: target, clairvoyantCostRatio: c.costRatio, clairvoyantMultiple: multiple, ok });
        }
      }
      process.stderr.write(lines.join('\n') + '\n');
      return out;
    },
  },
  {
    name: 'policies-generators',
    async run() {
      const out: Record<string, unknown>[] = [];
      const seeds = process.env.TIDEPOOL_BENCH_QUICK ? [1, 2] : [1, 2, 3, 4, 5, 6];
      const lines = [`${POLICY} on the generators: attainment / costRatio vs the smallest fixed pool holding 0.95 (x fixed, need <= 1.05) | x clairvoyant`];
      let worst = 0;
      let misses = 0;
      for (const scenario of SCENARIOS) {
        for (const s of SETTINGS) {
          for (const seed of seeds) {
            const w = generate(scenario, { seed });
            const { a, c, multiple } = cell(w, s);
            const fixed = smallestFixedPool(w, { sloMs: s.sloMs, startupMs: s.startupMs, intervalMs: s.intervalMs });
            const vsFixed = a.workerSeconds / fixed.figures.workerSeconds;
            const ok = a.sloAttainment >= 0.95 && vsFixed <= 1.05;
            if (!ok) misses++;
            worst = Math.max(worst, vsFixed);
            lines.push(`  ${scenario} ${s.label} seed ${seed}: ${fmt(a.sloAttainment)} / ${fmt(a.costRatio)} vs fixed:${fixed.workers} ${fmt(fixed.figures.costRatio)} = x${fmt(vsFixed)} ${ok ? 'ok ' : 'MISS'} | x${fmt(multiple)} (clairvoyant ${fmt(c.costRatio)})`);
            out.push({ name: `policies-${scenario}-${s.label}-${seed}`, unit: 'x fixed', runs: 1, median: vsFixed, policy: POLICY, sloAttainment: a.sloAttainment, costRatio: a.costRatio, fixedPool: fixed.workers, fixedCostRatio: fixed.figures.costRatio, clairvoyantMultiple: multiple, ok });
          }
        }
      }
      lines.push(`  ${misses} of ${out.length} cells miss; worst x fixed ${fmt(worst)}`);
      process.stderr.write(lines.join('\n') + '\n');
      return out;
    },
  },
];
