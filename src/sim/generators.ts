// Synthetic workloads, each deterministic for a seed: step, spike, ramp, diurnal and
// bursty (Poisson with bursts of tasks). They exist so that a policy is judged on
// shapes it was not designed on, not only on the two real traces.
import { InvalidInputError } from '../core/index.ts';
import { createRng, type Rng } from './random.ts';
import type { Workload } from './trace.ts';

export const SCENARIOS = ['step', 'spike', 'ramp', 'diurnal', 'bursty'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export interface GenerateOptions {
  seed: number;
  /** Multiplies every arrival rate (and so the task count); default 1. */
  rateScale?: number;
}

interface Shape {
  /** Length of the workload, ms. */
  spanMs: number;
  /** Arrival rate per second at time t (ms). */
  ratePerSec(tMs: number): number;
  /** Upper bound of ratePerSec, for thinning. */
  maxRatePerSec: number;
  serviceMeanMs: number;
  serviceCv: number;
  /** Optional extra bursts: mean gap between bursts (ms) and tasks per burst. */
  bursts?: { meanGapMs: number; minTasks: number; maxTasks: number; spreadMs: number };
}

const MIN = 60_000;

const SHAPES: Record<ScenarioName, Shape> = {
  // 2/s, then 10/s for 30 minutes, then back to 2/s.
  step: {
    spanMs: 60 * MIN,
    ratePerSec: (t) => (t >= 15 * MIN && t < 45 * MIN ? 10 : 2),
    maxRatePerSec: 10,
    serviceMeanMs: 3000,
    serviceCv: 1,
  },
  // 3/s with two 2-minute spikes to 20/s.
  spike: {
    spanMs: 60 * MIN,
    ratePerSec: (t) => ((t >= 20 * MIN && t < 22 * MIN) || (t >= 40 * MIN && t < 42 * MIN) ? 20 : 3),
    maxRatePerSec: 20,
    serviceMeanMs: 2000,
    serviceCv: 1.2,
  },
  // From 0.5/s up to 12/s over 40 minutes, then down to 0.5/s over 20 minutes.
  ramp: {
    spanMs: 60 * MIN,
    ratePerSec: (t) => (t < 40 * MIN ? 0.5 + (11.5 * t) / (40 * MIN) : 12 - (11.5 * (t - 40 * MIN)) / (20 * MIN)),
    maxRatePerSec: 12,
    serviceMeanMs: 4000,
    serviceCv: 0.8,
  },
  // A compressed day: two cycles of a sinusoid between 1/s and 9/s over 80 minutes.
  diurnal: {
    spanMs: 80 * MIN,
    ratePerSec: (t) => 5 - 4 * Math.cos((2 * Math.PI * t) / (40 * MIN)),
    maxRatePerSec: 9,
    serviceMeanMs: 5000,
    serviceCv: 1.5,
  },
  // Poisson at 2/s plus, every 4 minutes on average, a burst of 50-300 tasks within 10 s.
  bursty: {
    spanMs: 60 * MIN,
    ratePerSec: () => 2,
    maxRatePerSec: 2,
    serviceMeanMs: 3000,
    serviceCv: 2,
    bursts: { meanGapMs: 4 * MIN, minTasks: 50, maxTasks: 300, spreadMs: 10_000 },
  },
};

function serviceOf(rng: Rng, shape: Shape): number {
  return Math.max(1, Math.round(rng.logNormal(shape.serviceMeanMs, shape.serviceCv)));
}

/** Generates a scenario's workload. Throws InvalidInputError naming the scenario. */
export function generate(name: string, options: GenerateOptions): Workload {
  const shape = (SHAPES as Record<string, Shape | undefined>)[name];
  if (!shape) {
    throw new InvalidInputError(`--scenario: got ${JSON.stringify(name)}; expected one of ${SCENARIOS.join(', ')}`);
  }
  const scale = options.rateScale ?? 1;
  const rng = createRng(options.seed);
  const arrivals: number[] = [];
  const services: number[] = [];
  // Non-homogeneous Poisson arrivals by thinning.
  const maxRate = shape.maxRatePerSec * scale;
  let t = 0;
  for (;;) {
    t += rng.exponential(1000 / maxRate);
    if (t >= shape.spanMs) break;
    if (rng.next() * maxRate <= shape.ratePerSec(t) * scale) {
      arrivals.push(Math.floor(t));
      services.push(serviceOf(rng, shape));
    }
  }
  if (shape.bursts) {
    const b = shape.bursts;
    let tb = 0;
    for (;;) {
      tb += rng.exponential(b.meanGapMs);
      if (tb >= shape.spanMs) break;
      const k = Math.round(rng.integer(b.minTasks, b.maxTasks) * scale);
      for (let i = 0; i < k; i++) {
        arrivals.push(Math.floor(tb + rng.next() * b.spreadMs));
        services.push(serviceOf(rng, shape));
      }
    }
  }
  // Sort by arrival, keeping generation order for ties so the result is deterministic.
  const order = arrivals.map((_, i) => i).sort((x, y) => arrivals[x] - arrivals[y] || x - y);
  const n = order.length;
  const arrivalMs = new Float64Array(n);
  const serviceMs = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    arrivalMs[i] = arrivals[order[i]];
    serviceMs[i] = services[order[i]];
  }
  return { count: n, arrivalMs, serviceMs, priority: null, tenant: null, type: null };
}
