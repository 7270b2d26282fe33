// `kpa`: Knative's pod autoscaler (KPA) on a pool where a worker runs one task at a time.
//
//   concurrency = queued + running tasks (requests in flight, buffered ones included)
//   stable      = its mean over the stable window (60 s); panic = over 10% of it (6 s)
//   desired     = ceil(concurrency / (targetConcurrency x targetUtilization)), for each window
//   rate limits : at most maxScaleUpRate x ready (1000x), at least ready / maxScaleDownRate
//                 (2: a scale-down at most halves the pool per step)
//   panic       : entered when the panic desired count reaches 200% of the ready workers;
//                 while panicking the count never goes down (the highest panic desired wins);
//                 left after a whole stable window without reaching the threshold again
//   to zero     : with minWorkers 0, the last worker goes once the stable window saw no
//                 task at all, plus the scale-to-zero grace period (30 s)
// Defaults are Knative Serving's config-autoscaler defaults (knative.dev/docs/serving/
// autoscaling/kpa-specific, the config-autoscaler ConfigMap): stable-window 60s,
// panic-window-percentage 10, panic-threshold-percentage 200, max-scale-up-rate 1000,
// max-scale-down-rate 2, target-utilization-percentage 70, scale-to-zero-grace-period 30s,
// tick 2 s; containerConcurrency 1 (one task per worker) makes the target 1.
import type { BaseConfig, Decision, Observation, PolicyDefinition } from './types.ts';
import { boundsKnobs, checkBounds, defaultsOf, validateKnobs, type KnobTable } from './knobs.ts';
import { settle } from './clamp.ts';
import { dur, num } from './say.ts';

export interface KpaConfig extends BaseConfig {
  targetConcurrency: number;
  targetUtilization: number;
  stableWindowMs: number;
  panicWindowPercent: number;
  panicThresholdPercent: number;
  maxScaleUpRate: number;
  maxScaleDownRate: number;
  scaleToZeroGraceMs: number;
  evaluationIntervalMs: number;
}

export interface KpaState {
  /** Concurrency samples (instant, value), oldest first, over the stable window. */
  atMs: number[];
  concurrency: number[];
  /** When the panic threshold was last reached (null: not panicking). */
  panicSinceMs: number | null;
  maxPanicWorkers: number;
  /** Last instant with any task queued or running (null: none seen). */
  lastBusyAtMs: number | null;
}

export const KPA_KNOBS: KnobTable<KpaConfig> = {
  ...boundsKnobs({ minWorkers: 0, maxWorkers: 1000 }),
  targetConcurrency: { kind: 'number', unit: 'tasks', default: 1, min: 0.01, max: 10_000, doc: 'Tasks per worker at 100% (containerConcurrency: a Tidepool worker runs one task at a time).' },
  targetUtilization: { kind: 'number', unit: 'fraction', default: 0.7, min: 0.01, max: 1, doc: 'Share of targetConcurrency to hold (Knative target-utilization-percentage 70).' },
  stableWindowMs: { kind: 'int', unit: 'ms', default: 60_000, min: 6000, max: 3_600_000, doc: 'Window of the stable mean concurrency (Knative stable-window 60 s).' },
  panicWindowPercent: { kind: 'number', unit: 'percent', default: 10, min: 1, max: 100, doc: 'Panic window as a percentage of the stable window (Knative panic-window-percentage 10: 6 s).' },
  panicThresholdPercent: { kind: 'number', unit: 'percent', default: 200, min: 110, max: 1000, doc: 'Panic when the panic desired count reaches this percentage of the ready workers (Knative 200).' },
  maxScaleUpRate: { kind: 'number', unit: 'ratio', default: 1000, min: 1, max: 100_000, doc: 'Most workers after one step, as a multiple of the ready ones (Knative max-scale-up-rate 1000).' },
  maxScaleDownRate: { kind: 'number', unit: 'ratio', default: 2, min: 1, max: 100_000, doc: 'Fewest workers after one step: ready / this (Knative max-scale-down-rate 2, at most halving).' },
  scaleToZeroGraceMs: { kind: 'int', unit: 'ms', default: 30_000, min: 0, max: 3_600_000, doc: 'With minWorkers 0: wait this long after a stable window without tasks before the last worker goes (Knative scale-to-zero-grace-period 30 s).' },
  evaluationIntervalMs: { kind: 'int', unit: 'ms', default: 2000, min: 10, max: 3_600_000, doc: 'How often to evaluate, as the Knative autoscaler ticks every 2 s (the live autoscaler\'s tick unless the pool sets intervalMs; the simulator uses --interval-ms).' },
};

function meanSince(atMs: number[], values: number[], fromMs: number): number {
  let sum = 0;
  let n = 0;
  for (let i = atMs.length - 1; i >= 0 && atMs[i] > fromMs; i--) {
    sum += values[i];
    n++;
  }
  return n > 0 ? sum / n : 0;
}

export function decideKpa(obs: Observation, c: KpaConfig, s: KpaState, nowMs: number): Decision<KpaState> {
  const current = obs.currentTarget;
  const concurrencyNow = obs.queueDepth + obs.workers.busy + obs.workers.draining;
  // Samples older than the stable window leave; ones "from the future" (a clock that stepped back) too.
  const atMs: number[] = [];
  const values: number[] = [];
  for (let i = 0; i < s.atMs.length; i++) {
    if (s.atMs[i] < nowMs && s.atMs[i] > nowMs - c.stableWindowMs) {
      atMs.push(s.atMs[i]);
      values.push(s.concurrency[i]);
    }
  }
  atMs.push(nowMs);
  values.push(concurrencyNow);
  const panicWindowMs = (c.stableWindowMs * c.panicWindowPercent) / 100;
  const stable = meanSince(atMs, values, nowMs - c.stableWindowMs);
  const panic = meanSince(atMs, values, nowMs - panicWindowMs);
  const perWorker = c.targetConcurrency * c.targetUtilization;
  const ready = Math.max(1, obs.workers.idle + obs.workers.busy);
  const maxUp = Math.ceil(c.maxScaleUpRate * ready);
  const maxDown = Math.floor(ready / c.maxScaleDownRate);
  const within = (x: number) => Math.min(maxUp, Math.max(maxDown, x));
  const stableWanted = within(Math.ceil(stable / perWorker - 1e-9));
  const panicRaw = panic / perWorker;
  const panicWanted = within(Math.ceil(panicRaw - 1e-9));
  const isOverPanic = panicRaw / ready >= c.panicThresholdPercent / 100;
  let panicSinceMs = s.panicSinceMs;
  if (isOverPanic) panicSinceMs = nowMs;
  else if (panicSinceMs !== null && nowMs - panicSinceMs > c.stableWindowMs) panicSinceMs = null;
  const lastBusyAtMs = concurrencyNow > 0 ? nowMs : s.lastBusyAtMs;
  const base = { atMs, concurrency: values, panicSinceMs, lastBusyAtMs };
  const head = `concurrency ${num(concurrencyNow)}, mean ${num(stable)} over ${dur(c.stableWindowMs)} and ${num(panic)} over ${dur(panicWindowMs)}, target ${num(perWorker)} per worker`;

  if (panicSinceMs !== null) {
    const wanted = Math.max(panicWanted, s.maxPanicWorkers, current);
    const next: KpaState = { ...base, maxPanicWorkers: wanted };
    return settle({
      current, wanted, code: 'kpa_panic', limits: c, moved: next, held: next,
      reason: `${head}: panic (${num(panicRaw)} / ${ready} ready >= ${num(c.panicThresholdPercent)}%${isOverPanic ? '' : ' within the last stable window'}), no scale-down: ${wanted}`,
    });
  }
  const next: KpaState = { ...base, maxPanicWorkers: 0 };
  let wanted = stableWanted;
  let code = wanted > current ? 'kpa_scale_up' : wanted < current ? 'kpa_scale_down' : 'steady';
  let reason = `${head}: stable ceil(${num(stable)} / ${num(perWorker)}) = ${stableWanted} (rate limits ${maxDown}-${maxUp})`;
  if (wanted === 0 && current > 0) {
    const quietMs = lastBusyAtMs === null ? Infinity : nowMs - lastBusyAtMs;
    if (quietMs < c.stableWindowMs + c.scaleToZeroGraceMs) {
      wanted = 1;
      code = current > 1 ? 'kpa_scale_down' : 'kpa_grace';
      reason = `${head}: no task for ${dur(quietMs)} < stable window + grace ${dur(c.stableWindowMs + c.scaleToZeroGraceMs)}: keeps 1`;
    } else reason = `${head}: no task for ${dur(quietMs)}: to 0`;
  }
  return settle({ current, wanted, code, limits: c, moved: next, held: next, reason });
}

export const kpaPolicy: PolicyDefinition<KpaConfig, KpaState> = {
  name: 'kpa',
  summary: 'Knative\'s pod autoscaler: queued + running tasks against 0.7 per worker, 60 s stable and 6 s panic windows, panic at 200%, at most halving per step, scale to zero after a grace period.',
  source: 'Knative Serving KPA (config-autoscaler defaults, knative.dev/docs/serving/autoscaling/kpa-specific)',
  defaults: defaultsOf(KPA_KNOBS),
  presets: {},
  knobs: KPA_KNOBS,
  validate: (config) => validateKnobs(KPA_KNOBS, config, 'kpa'),
  crossCheck: (c, path) => checkBounds(c, path),
  initialState: () => ({ atMs: [], concurrency: [], panicSinceMs: null, maxPanicWorkers: 0, lastBusyAtMs: null }),
  decide: decideKpa,
};
