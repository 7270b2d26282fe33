// `tidepool load-test --scenario <smoke|light|medium|heavy|stress> [--store memory|sqlite:PATH]
//  [--kind inline|thread|command|process] [--policy NAME] [--preset NAME] [--seed N] [--json]`
//  (a contract: see docs/pools.md).
//
// Runs a real pool on a real store, in real time: tasks are submitted evenly over the
// scenario's ramp-up, each handler sleeps a service time drawn as seed 003 describes
// (mean +/- variance) and fails with the scenario's failure rate; the autoscaler resizes
// the pool. With --kind the same tasks run on other worker kinds: `command` runs a small
// shell script per task (`sleep`), `process` runs the Python example worker
// (examples/workers/worker.py), `thread` runs a sleep handler module in worker threads;
// their failures are drawn at submit time (the payload's failAttempts). After the last task ends the run waits for the pool to come back to its
// minimum. It prints a human summary, or with --json one JSON object as the last line of
// stdout. A progress bar goes to stderr, only when stderr is a terminal. Exit code 0 when
// the run passed seed 003's acceptance criteria with nothing lost.
import { parseArgsWithNegatives as parseArgs } from './args.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { QueueFullError, newToken, systemClock, type Clock, type SubmitInput, redactStoreUrl } from '../core/index.ts';
import { createTidepool } from '../tidepool.ts';
import { nearestRank, type TaskContext } from '../pools/index.ts';
import { SCENARIOS, judge, scaledPolicyOptions, type Criterion, type Scenario } from './load-scenarios.ts';
import { createRng } from '../sim/index.ts';

const HELP = `Usage: tidepool load-test --scenario NAME [--store memory|sqlite:PATH] [--kind KIND] [--policy NAME] [--preset NAME] [--seed N] [--json]

Scenarios:
${Object.values(SCENARIOS)
  .map((s) => `  ${s.name.padEnd(7)} ${s.summary}`)
  .join('\n')}

Options:
  --store    where tasks live (default: a fresh SQLite file in a temp directory)
  --kind     worker kind: inline (default), thread, command (a shell script per task),
             process (the Python example worker, examples/workers/worker.py)
  --policy   scaling policy instead of the scenario's own (its cooldowns are scaled to the run)
  --preset   a preset of that policy
  --seed     seed for the service-time and failure draws (default 1)
  --json     print one JSON object as the last line of stdout
Exit code: 0 when the run passed, 1 when it did not, 2 on bad arguments.`;

export const LOAD_TEST_KINDS = ['inline', 'thread', 'command', 'process'] as const;
export type LoadTestKind = (typeof LOAD_TEST_KINDS)[number];

export interface LoadTestResult {
  scenario: string;
  kind: LoadTestKind;
  policy: string;
  store: string;
  submitted: number;
  completed: number;
  failed: number;
  lost: number;
  throughputPerSec: number;
  avgLatencyMs: number;
  p50LatencyMs: number;
  p95LatencyMs: number;
  p99LatencyMs: number;
  successRate: number;
  health: 'healthy' | 'degraded' | 'unhealthy';
  /** Why the worst health seen was not healthy (empty when healthy). */
  healthReasons: string[];
  peakWorkers: number;
  finalWorkers: number;
  minWorkers: number;
  maxWorkers: number;
  targetWorkers: number;
  scaleUps: number;
  scaleDowns: number;
  /** Worker-time of the run's pool, s; its starts; spend = worker-hours x pricePerWorkerHour + starts x pricePerStart (prices 1 and 0 unless the config sets them). */
  workerSeconds: number;
  starts: number;
  spend: number;
  backpressureActivations: number;
  stalls: number;
  failedAttempts: number;
  /** Tasks the store reported succeeded more than once (a fencing failure; must be 0). */
  duplicateSuccesses: number;
  durationMs: number;
  criteria: Criterion[];
  passed: boolean;
}

export interface RunOptions {
  store: string;
  kind?: LoadTestKind;
  /** process kind: the worker program (default: the Python example worker). */
  command?: string[];
  policy?: string;
  preset?: string;
  seed?: number;
  clock?: Clock;
  /** Called as tasks end (for a progress bar). */
  onProgress?: (done: number, total: number, workers: number) => void;
}

export async function runLoadTest(s: Scenario, options: RunOptions): Promise<LoadTestResult> {
  const clock = options.clock ?? systemClock;
  const rng = createRng(options.seed ?? 1);
  const random = (): number => rng.next();
  const policy = options.policy ?? s.policy;
  const preset = options.policy ? options.preset : (options.preset ?? s.preset);
  const kind = options.kind ?? 'inline';
  // A type of its own, so counts on a shared SQLite file see only this run's tasks (the
  // example workers serve a namespaced `x:sleep` with their `sleep`).
  // The thread kind's handler module names its type once: `load-test:sleep`.
  const type = kind === 'thread' ? 'load-test:sleep' : `load-test-${newToken().slice(0, 8)}:sleep`;
  const handler = async (payload: { ms: number }, ctx: TaskContext) => {
    await clock.sleep(payload.ms, ctx.signal);
    if (random() < s.failureRate) throw new Error(`simulated failure (rate ${s.failureRate})`);
    return null;
  };
  const tp = await createTidepool(
    {
      store: options.store,
      maxQueueDepth: s.maxQueueDepth,
      retry: { maxAttempts: s.maxAttempts, baseMs: Math.max(10, Math.round(s.meanServiceMs / 4)), maxMs: s.meanServiceMs * 4, jitter: 1 },
      autoscaler: { intervalMs: s.intervalMs, sampleEveryTicks: 10 },
      pools: [
        {
          name: 'load',
          types: [type],
          minWorkers: s.minWorkers,
          maxWorkers: s.maxWorkers,
          policy,
          preset,
          policyOptions: scaledPolicyOptions(policy, s),
          intervalMs: s.intervalMs,
          pollMs: Math.max(10, Math.round(s.meanServiceMs / 4)),
          maxTasksPerWorker: s.maxTasksPerWorker,
          stallTimeoutMs: s.meanServiceMs * 20,
          // Short enough that latency-driven policies see the backlog clear and scale down.
          windowMs: Math.max(3_000, 20 * s.intervalMs),
          ...kindSettings(kind, options),
        },
      ],
    },
    kind === 'inline' ? { [type]: handler } : {},
    { clock },
  );
  const pool = tp.pools.get('load')!;
  let peakWorkers = pool.stats().total;
  const notePeak = () => (peakWorkers = Math.max(peakWorkers, pool.stats().total));
  pool.on('worker.added', notePeak);
  // The worst health seen at any tick counts, not only the health at the end.
  const rank = { healthy: 0, degraded: 1, unhealthy: 2 } as const;
  let worstHealth: 'healthy' | 'degraded' | 'unhealthy' = 'healthy';
  let worstReasons: string[] = [];
  tp.autoscaler.on('decision', () => {
    const st = pool.stats();
    if (rank[st.health] > rank[worstHealth]) {
      worstHealth = st.health;
      worstReasons = st.healthReasons;
    }
  });

  const latencies: number[] = [];
  let completed = 0;
  let failed = 0;
  let lastFinishMs = 0;
  const succeededIds = new Set<string>();
  let duplicateSuccesses = 0;
  let wake: (() => void) | null = null;
  const unsubscribe = tp.store.subscribe((event) => {
    if (event.kind !== 'finished' || event.task.type !== type) return;
    const t = event.task;
    if (t.status === 'succeeded') {
      if (succeededIds.has(t.id)) duplicateSuccesses++;
      succeededIds.add(t.id);
      completed++;
      latencies.push((t.finishedAtMs ?? clock.now()) - t.createdAtMs);
    } else if (t.status === 'dead') failed++;
    lastFinishMs = clock.now();
    options.onProgress?.(completed + failed, s.totalTasks, pool.stats().total);
    wake?.();
  });

  const startMs = clock.now();
  let submitted = 0;
  let backpressureActivations = 0;
  const deadlineMs = startMs + s.maxDurationMs;
  const inputs: SubmitInput[] = Array.from({ length: s.totalTasks }, (): SubmitInput => {
    const ms = Math.max(1, Math.round(s.meanServiceMs * (1 + s.serviceVariance * (2 * random() - 1))));
    if (kind === 'inline') return { type, payload: { ms } };
    // Out of process the draw cannot run per attempt here: draw now how many attempts fail.
    let failAttempts = 0;
    while (failAttempts < s.maxAttempts && random() < s.failureRate) failAttempts++;
    return { type, payload: { ms, s: (ms / 1000).toFixed(3), failAttempts } };
  });

  // Submit evenly over the ramp-up. A submit refused by backpressure waits its retry-after
  // and is tried again; each refused round counts as one backpressure activation.
  const isAccepted = new Array<boolean>(inputs.length).fill(false);
  let nextUnsent = 0;
  while (submitted < inputs.length && clock.now() < deadlineMs) {
    const elapsedMs = clock.now() - startMs;
    const due = Math.min(inputs.length, Math.floor(((elapsedMs + 1) / s.rampUpMs) * inputs.length) + 1);
    const batch: number[] = [];
    for (let i = nextUnsent; i < due; i++) if (!isAccepted[i]) batch.push(i);
    // Submits issued together share one commit on SQLite (group commit).
    const outcomes = await Promise.allSettled(batch.map((i) => tp.submit(inputs[i]!)));
    let refused: QueueFullError | null = null;
    outcomes.forEach((o, k) => {
      if (o.status === 'fulfilled') {
        isAccepted[batch[k]!] = true;
        submitted++;
      } else if (o.reason instanceof QueueFullError) refused ??= o.reason;
      else throw o.reason;
    });
    while (nextUnsent < inputs.length && isAccepted[nextUnsent]) nextUnsent++;
    if (refused) {
      backpressureActivations++;
      await clock.sleep(Math.min(Math.max(10, (refused as QueueFullError).retryAfterMs), s.meanServiceMs));
      continue;
    }
    await clock.sleep(Math.max(5, Math.round(s.rampUpMs / inputs.length)));
  }

  // Wait for every accepted task to end, then for the pool to come back to its minimum.
  const waitFor = async (isDone: () => boolean, untilMs: number) => {
    while (!isDone() && clock.now() < untilMs) {
      await Promise.race([new Promise<void>((r) => (wake = r)), clock.sleep(s.intervalMs)]);
      wake = null;
      notePeak();
    }
  };
  await waitFor(() => completed + failed >= submitted, deadlineMs);
  const settleUntilMs = Math.min(clock.now() + 40 * s.cooldownMs + 20 * s.intervalMs, deadlineMs + 10 * s.intervalMs);
  await waitFor(() => pool.stats().total === s.minWorkers && pool.stats().draining === 0, settleUntilMs);
  notePeak();

  const stats = pool.stats();
  const control = tp.autoscaler.control('load');
  const endMs = clock.now();
  unsubscribe();
  await tp.close(1000);
  const sorted = latencies.sort((a, b) => a - b);
  const lost = submitted - completed - failed;
  const figures = {
    submitted,
    completed,
    failed,
    lost,
    successRate: completed + failed === 0 ? 0 : completed / (completed + failed),
    health: rank[stats.health] > rank[worstHealth] ? stats.health : worstHealth,
    healthReasons: rank[stats.health] > rank[worstHealth] ? stats.healthReasons : worstReasons,
    stalls: stats.stalls,
    peakWorkers,
    finalWorkers: stats.total,
    scaleUps: control.scaleUps,
    scaleDowns: control.scaleDowns,
  };
  const criteria = judge(s, figures);
  const activeMs = Math.max(1, (lastFinishMs || endMs) - startMs);
  return {
    scenario: s.name,
    kind,
    policy: control.preset ? `${control.policy}/${control.preset}` : control.policy,
    store: redactStoreUrl(options.store),
    ...figures,
    workerSeconds: stats.workerSeconds ?? 0,
    starts: stats.starts ?? 0,
    spend: stats.spend ?? 0,
    throughputPerSec: (completed * 1000) / activeMs,
    avgLatencyMs: sorted.length ? sorted.reduce((a, b) => a + b, 0) / sorted.length : 0,
    p50LatencyMs: nearestRank(sorted, 0.5),
    p95LatencyMs: nearestRank(sorted, 0.95),
    p99LatencyMs: nearestRank(sorted, 0.99),
    minWorkers: s.minWorkers,
    maxWorkers: s.maxWorkers,
    targetWorkers: s.targetWorkers,
    backpressureActivations,
    failedAttempts: stats.failedAttempts,
    duplicateSuccesses,
    durationMs: endMs - startMs,
    criteria,
    passed: criteria.every((c) => c.passed),
  };
}

const EXAMPLES = new URL('../../examples/workers/', import.meta.url);

/** The pool settings that make each kind run the scenario's tasks. */
function kindSettings(kind: LoadTestKind, options: RunOptions): Record<string, unknown> {
  switch (kind) {
    case 'inline':
      return {};
    case 'thread':
      return { kind, module: fileURLToPath(new URL('load-handlers.ts', EXAMPLES)) };
    case 'command':
      // A small script per task: sleep the service time, fail the first failAttempts attempts.
      return {
        kind,
        command: ['sh', '-c', 'sleep "$1"; if [ "$3" -le "$2" ]; then echo "simulated failure of attempt $3" >&2; exit 1; fi; echo null', 'load-task', '{payload.s}', '{payload.failAttempts}', '{attempt}'],
        killGraceMs: 500,
      };
    case 'process':
      return { kind, command: options.command ?? ['python3', fileURLToPath(new URL('worker.py', EXAMPLES))], killGraceMs: 500 };
    default: {
      const never: never = kind;
      throw new Error(`unknown kind ${String(never)}`);
    }
  }
}

function summary(r: LoadTestResult): string {
  const f = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(1));
  return [
    `load test "${r.scenario}" (${r.kind} workers) on ${r.store} with policy ${r.policy}: ${r.passed ? 'PASSED' : 'FAILED'} in ${(r.durationMs / 1000).toFixed(1)} s`,
    `  tasks       ${r.submitted} submitted, ${r.completed} completed, ${r.failed} failed (dead), ${r.lost} lost, ${r.failedAttempts} failed attempts retried or not`,
    `  throughput  ${f(r.throughputPerSec)} tasks/s; latency p50 ${f(r.p50LatencyMs)} ms, p95 ${f(r.p95LatencyMs)} ms, p99 ${f(r.p99LatencyMs)} ms`,
    `  workers     ${r.minWorkers} -> peak ${r.peakWorkers} -> ${r.finalWorkers} (target ${r.targetWorkers}, max ${r.maxWorkers}); ${r.scaleUps} scale-ups, ${r.scaleDowns} scale-downs`,
    `  health      ${r.health}; success rate ${(r.successRate * 100).toFixed(1)}%; ${r.stalls} stalls; ${r.backpressureActivations} backpressure activations`,
    ...r.criteria.map((c) => `  ${c.passed ? 'ok  ' : 'FAIL'}  ${c.name}: ${c.detail}`),
  ].join('\n');
}

export async function run(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        scenario: { type: 'string' },
        store: { type: 'string' },
        kind: { type: 'string' },
        policy: { type: 'string' },
        preset: { type: 'string' },
        seed: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    }).values;
  } catch (err) {
    process.stderr.write(`tidepool load-test: ${(err as Error).message}\n\n${HELP}\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  const scenario = args.scenario ? SCENARIOS[args.scenario] : undefined;
  if (!scenario) {
    process.stderr.write(
      `tidepool load-test: --scenario ${args.scenario === undefined ? 'is required' : `got ${JSON.stringify(args.scenario)}`}; expected one of ${Object.keys(SCENARIOS).join(', ')}\n`,
    );
    return 2;
  }
  const kind = (args.kind ?? 'inline') as LoadTestKind;
  if (!LOAD_TEST_KINDS.includes(kind)) {
    process.stderr.write(`tidepool load-test: --kind got ${JSON.stringify(args.kind)}; expected one of ${LOAD_TEST_KINDS.join(', ')}\n`);
    return 2;
  }
  const seed = args.seed === undefined ? 1 : Number(args.seed);
  if (!Number.isSafeInteger(seed) || seed < 0) {
    process.stderr.write(`tidepool load-test: --seed got ${JSON.stringify(args.seed)}; expected an integer >= 0\n`);
    return 2;
  }
  // Without --store: a scratch SQLite file, removed with its folder after the run.
  const scratch = args.store === undefined ? mkdtempSync(join(tmpdir(), 'tidepool-load-')) : null;
  const store = args.store ?? `sqlite:${join(scratch!, 'load.db')}`;
  let bar: { start(total: number, value: number, payload?: object): void; update(value: number, payload?: object): void; stop(): void } | null = null;
  if (process.stderr.isTTY) {
    const { default: cliProgress } = await import('cli-progress');
    bar = new cliProgress.SingleBar(
      { stream: process.stderr, format: `${scenario.name} [{bar}] {value}/{total} tasks | {workers} workers | {duration}s`, hideCursor: true },
      cliProgress.Presets.shades_classic,
    );
    bar.start(scenario.totalTasks, 0, { workers: scenario.minWorkers });
  }
  let result: LoadTestResult;
  try {
    result = await runLoadTest(scenario, {
      store,
      kind,
      policy: args.policy,
      preset: args.preset,
      seed,
      onProgress: (done, _total, workers) => bar?.update(done, { workers }),
    });
  } finally {
    bar?.stop();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }
  if (args.json) process.stdout.write(JSON.stringify(result) + '\n');
  else process.stdout.write(summary(result) + '\n');
  return result.passed ? 0 : 1;
}
