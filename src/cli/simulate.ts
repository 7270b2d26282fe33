// `tidepool simulate`: replays a trace or a generated workload against a policy in
// virtual time. The flags and the --json fields are a contract read by outside scripts.
// All file I/O of the simulator happens here; src/sim does none.
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { spawnSync } from 'node:child_process';
import { parseArgsWithNegatives as parseArgs } from './args.ts';
import { InvalidInputError } from '../core/index.ts';
import {
  compareAll,
  formatCompareTable,
  formatEvents,
  generate,
  parseTrace,
  plotOption,
  PLOT_HEIGHT_PX,
  PLOT_WIDTH_PX,
  runPolicy,
  SCENARIOS,
  type CompareRow,
  type Workload,
} from '../sim/index.ts';

const HELP = `Usage: tidepool simulate (--trace FILE | --scenario NAME [--seed N]) --policy NAME [options]
       tidepool simulate (--trace FILE | --scenario NAME) --compare [options]

Replays tasks in virtual time against a scaling policy and reports waits and cost.

  --trace FILE        trace CSV: arrival_ms,service_ms[,tenant,priority,type]
  --scenario NAME     generated workload: ${SCENARIOS.join(', ')}
  --seed N            generator seed (default 1)
  --policy NAME       policy from the registry (adaptive, hpa, keda, kpa, ..., fixed:N), or
                      clairvoyant: the offline floor that plans with the whole trace
  --preset NAME       a preset of that policy
  --slo-ms MS         p95 wait target; sloAttainment counts waits <= it (default 2000)
  --startup-ms MS     time a new worker takes to become ready (default 1000)
  --interval-ms MS    autoscaler evaluation interval (default 1000)
  --min N, --max N    override the policy's bounds (not for fixed:N)
  --price-per-worker-hour P  price of one worker for an hour, for spend (default 1)
  --price-per-start P        price of one worker start, for spend (default 0); adaptive
                      keeps an idle worker through a lull while that is cheaper than a start
  --events FILE       write pool and task events as JSON lines (re-checkable)
  --json              print one JSON object as the last line
  --compare           run every policy and the smallest fixed pool meeting the SLO
  --plot FILE.svg     draw the Pareto view and one policy's timeline (SVG; FILE.png needs rsvg-convert)
  --plot-policy NAME  policy whose timeline --plot draws (default --policy, else adaptive)`;

function intFlag(flag: string, raw: string | undefined, def: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (raw === undefined) return def;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new InvalidInputError(`${flag}: got ${JSON.stringify(raw)}; expected an integer from ${min} to ${max}`);
  }
  return Number(raw);
}

function priceFlag(flag: string, raw: string | undefined, def: number): number {
  if (raw === undefined) return def;
  const x = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(x) || x < 0 || x > 1e9) throw new InvalidInputError(`${flag}: got ${JSON.stringify(raw)}; expected a number from 0 to 1000000000 (a price in your currency)`);
  return x;
}

function loadWorkload(v: { trace?: string; scenario?: string; seed?: string }): { workload: Workload; name: string } {
  if (v.trace !== undefined && v.scenario !== undefined) {
    throw new InvalidInputError('--trace and --scenario: got both; expected exactly one');
  }
  if (v.trace !== undefined) {
    let text: string;
    try {
      text = readFileSync(v.trace, 'utf8');
    } catch (err) {
      throw new InvalidInputError(`--trace: cannot read ${JSON.stringify(v.trace)}: ${(err as Error).message}`, { cause: err });
    }
    const workload = parseTrace(text, basename(v.trace));
    // An empty trace would report every policy as meeting the SLO: refuse it instead.
    if (workload.arrivalMs.length === 0) {
      throw new InvalidInputError(`--trace: ${JSON.stringify(v.trace)} has no tasks (a header only); a simulation of no tasks shows nothing. Export a store with finished tasks (tidepool trace export --store URL) or use --scenario`);
    }
    return { workload, name: basename(v.trace) };
  }
  if (v.scenario !== undefined) {
    const seed = intFlag('--seed', v.seed, 1, 0, 2 ** 32 - 1);
    return { workload: generate(v.scenario, { seed }), name: `${v.scenario} (seed ${seed})` };
  }
  throw new InvalidInputError('--trace or --scenario: got neither; expected one (see tidepool simulate --help)');
}

async function renderSvg(option: Record<string, unknown>): Promise<string> {
  const echarts = await import('echarts');
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width: PLOT_WIDTH_PX, height: PLOT_HEIGHT_PX });
  chart.setOption(option);
  const svg = chart.renderToSVGString();
  chart.dispose();
  return svg;
}

/** The picture format --plot writes, from the file's extension: .svg, or .png when rsvg-convert can make one. */
function plotFormatOf(file: string): 'svg' | 'png' {
  const ext = extname(file).toLowerCase();
  if (ext === '.svg') return 'svg';
  if (ext === '.png') {
    const probe = spawnSync('rsvg-convert', ['--version'], { encoding: 'utf8' });
    if (probe.error || probe.status !== 0) {
      throw new InvalidInputError(`--plot: got ${JSON.stringify(file)}; a PNG needs rsvg-convert (Debian/Ubuntu: apt-get install librsvg2-bin), which is not on PATH; write an SVG instead (--plot ${JSON.stringify(file.slice(0, -4) + '.svg')})`);
    }
    return 'png';
  }
  throw new InvalidInputError(`--plot: got ${JSON.stringify(file)}; expected a file ending in .svg, or .png (drawn with rsvg-convert)`);
}

/** Converts the SVG to PNG with rsvg-convert (librsvg) and writes it. */
function writePng(file: string, svg: string): void {
  const r = spawnSync('rsvg-convert', ['--format', 'png', '--background-color', 'white', '--output', file], { input: svg, maxBuffer: 64 * 1024 * 1024 });
  if (r.error || r.status !== 0) {
    throw new InvalidInputError(`--plot: rsvg-convert could not write ${JSON.stringify(file)}: ${r.error?.message ?? r.stderr.toString().trim()}`);
  }
}

function write(file: string, text: string, flag: string): void {
  try {
    writeFileSync(file, text);
  } catch (err) {
    throw new InvalidInputError(`${flag}: cannot write ${JSON.stringify(file)}: ${(err as Error).message}`, { cause: err });
  }
}

export async function run(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        trace: { type: 'string' },
        scenario: { type: 'string' },
        seed: { type: 'string' },
        policy: { type: 'string' },
        preset: { type: 'string' },
        'slo-ms': { type: 'string' },
        'startup-ms': { type: 'string' },
        'interval-ms': { type: 'string' },
        min: { type: 'string' },
        max: { type: 'string' },
        'price-per-worker-hour': { type: 'string' },
        'price-per-start': { type: 'string' },
        events: { type: 'string' },
        json: { type: 'boolean' },
        compare: { type: 'boolean' },
        plot: { type: 'string' },
        'plot-policy': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new InvalidInputError(`${(err as Error).message}\n\n${HELP}`, { cause: err });
  }
  const v = parsed.values;
  if (v.help) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  const sloMs = intFlag('--slo-ms', v['slo-ms'], 2000, 0);
  const startupMs = intFlag('--startup-ms', v['startup-ms'], 1000, 0);
  const intervalMs = intFlag('--interval-ms', v['interval-ms'], 1000, 1);
  const minWorkers = v.min === undefined ? undefined : intFlag('--min', v.min, 0, 0);
  const maxWorkers = v.max === undefined ? undefined : intFlag('--max', v.max, 0, 1);
  if (!v.compare && v.policy === undefined) {
    throw new InvalidInputError('--policy: missing; expected a policy name (e.g. adaptive, hpa, fixed:10) or --compare');
  }
  if (v.policy === 'clairvoyant' && (v.preset !== undefined || v.min !== undefined || v.max !== undefined)) {
    throw new InvalidInputError('--policy clairvoyant: got --preset/--min/--max; the offline floor has no presets or bounds (it plans every worker from the whole trace)');
  }
  const plotFormat = v.plot === undefined ? null : plotFormatOf(v.plot);
  const { workload, name } = loadWorkload(v);
  const pricePerWorkerHour = priceFlag('--price-per-worker-hour', v['price-per-worker-hour'], 1);
  const pricePerStart = priceFlag('--price-per-start', v['price-per-start'], 0);
  const settings = { sloMs, startupMs, intervalMs, minWorkers, maxWorkers, pricePerWorkerHour, pricePerStart };

  if (!v.compare && v.plot === undefined) {
    const { run: r, figures } = runPolicy(workload, { name: v.policy!, preset: v.preset, ...settings });
    if (v.events !== undefined) write(v.events, formatEvents(workload, r), '--events');
    if (v.json) {
      process.stdout.write(JSON.stringify(figures) + '\n');
    } else {
      process.stdout.write(
        `${figures.policy} on ${name}: ${figures.tasks} tasks\n` +
          `  wait p50 ${figures.p50WaitMs} ms, p95 ${figures.p95WaitMs} ms, p99 ${figures.p99WaitMs} ms; ` +
          `${(figures.sloAttainment * 100).toFixed(2)}% within ${sloMs} ms\n` +
          `  cost ${figures.workerSeconds.toFixed(0)} worker-seconds for ${figures.busySeconds.toFixed(0)} busy-seconds ` +
          `(costRatio ${figures.costRatio.toFixed(3)}), ${figures.maxWorkers} workers at most, ${figures.scaleActions} scale actions\n` +
          `  spend ${figures.spend.toFixed(2)} (${figures.pricePerWorkerHour} per worker-hour, ${figures.pricePerStart} per start x ${figures.starts} starts)\n`,
      );
    }
    return 0;
  }

  const timelinePolicy = v['plot-policy'] ?? v.policy ?? 'adaptive';
  const rows: CompareRow[] = compareAll(workload, settings, [timelinePolicy]);
  if (v.policy !== undefined && !rows.some((r) => r.policy === v.policy)) {
    const { run: r, figures } = runPolicy(workload, { name: v.policy, preset: v.preset, ...settings });
    rows.unshift({ policy: v.policy, figures, error: null, run: r });
    if (v.events !== undefined) write(v.events, formatEvents(workload, r), '--events');
  } else if (v.policy !== undefined && v.events !== undefined) {
    const { run: r } = runPolicy(workload, { name: v.policy, preset: v.preset, ...settings });
    write(v.events, formatEvents(workload, r), '--events');
  }
  if (v.plot !== undefined) {
    let tl = rows.find((r) => r.policy === timelinePolicy)?.run ?? null;
    if (!tl) tl = runPolicy(workload, { name: timelinePolicy, ...settings }).run;
    const option = plotOption({ rows, timeline: tl.timeline, timelinePolicy, sloMs, workloadName: name });
    const svg = await renderSvg(option);
    if (plotFormat === 'png') writePng(v.plot, svg);
    else write(v.plot, svg, '--plot');
  }
  if (v.json) {
    const fixed = rows[rows.length - 1];
    const out = {
      workload: name,
      tasks: workload.count,
      sloMs,
      startupMs,
      intervalMs,
      smallestFixedPool: Number(fixed.policy.slice('fixed:'.length)),
      results: rows.map((r) => (r.figures ? r.figures : { policy: r.policy, error: r.error })),
    };
    process.stdout.write(JSON.stringify(out) + '\n');
  } else {
    process.stdout.write(`${name}: ${workload.count} tasks, start-up ${startupMs} ms, interval ${intervalMs} ms\n`);
    process.stdout.write(formatCompareTable(rows, sloMs) + '\n');
    if (v.plot !== undefined) process.stdout.write(`plot written to ${v.plot}\n`);
  }
  return 0;
}
