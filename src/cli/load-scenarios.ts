// The load-test scenarios (seed 003: light 4-10 workers, medium 10-20, heavy 20-30, stress
// 30+, smoke) and their acceptance criteria. Each scenario names its policy and scales the
// policy's intervals and cooldowns to its own length, so a 10-second smoke run shows the
// same behaviour a seed-sized run shows over an hour.
import { getPolicy } from '../policies/index.ts';

export interface Scenario {
  name: string;
  summary: string;
  /** Tasks submitted over the ramp-up. */
  totalTasks: number;
  /** Mean service time of one attempt, ms; drawn uniformly within +/- variance. */
  meanServiceMs: number;
  /** Relative spread of service times (0.3 = +/-30%). */
  serviceVariance: number;
  /** Probability that an attempt fails (retried up to maxAttempts). */
  failureRate: number;
  /** Submissions spread evenly over this time, ms. */
  rampUpMs: number;
  minWorkers: number;
  maxWorkers: number;
  /** Peak concurrency the scenario aims for (seed 003: within 20%). */
  targetWorkers: number;
  policy: string;
  preset?: string;
  /** Autoscaler tick, ms. */
  intervalMs: number;
  /** Cooldowns of the policy, ms (scaled to the run). */
  cooldownMs: number;
  /** Latency target handed to latency-driven policies, ms. */
  sloMs: number;
  /** Backpressure: submits wait once this many tasks are queued (seed 003: 100). */
  maxQueueDepth: number;
  maxAttempts: number;
  /** Resource quota: recycle a worker after this many tasks (seed 003: 50). */
  maxTasksPerWorker: number;
  /** Give up (and count the rest as lost) after this long, ms. */
  maxDurationMs: number;
}

const base = { serviceVariance: 0.3, failureRate: 0.1, maxQueueDepth: 100, maxAttempts: 3, maxTasksPerWorker: 50 };

export const SCENARIOS: Record<string, Scenario> = {
  smoke: {
    ...base,
    name: 'smoke',
    summary: 'quick check: 300 tasks of ~200 ms over 3 s, 2-10 workers (ratio policy)',
    totalTasks: 300,
    meanServiceMs: 200,
    rampUpMs: 3_000,
    minWorkers: 2,
    maxWorkers: 10,
    targetWorkers: 10,
    policy: 'ratio',
    intervalMs: 100,
    cooldownMs: 300,
    sloMs: 1_000,
    maxDurationMs: 28_000,
  },
  light: {
    ...base,
    name: 'light',
    summary: 'phase 1 load: 600 tasks of ~300 ms over 10 s, 4-10 workers (ratio policy)',
    totalTasks: 600,
    meanServiceMs: 300,
    rampUpMs: 10_000,
    minWorkers: 4,
    maxWorkers: 10,
    targetWorkers: 10,
    policy: 'ratio',
    intervalMs: 200,
    cooldownMs: 500,
    sloMs: 1_500,
    maxDurationMs: 90_000,
  },
  medium: {
    ...base,
    name: 'medium',
    summary: '2,000 tasks of ~400 ms over 30 s, 10-20 workers (queue-latency policy)',
    totalTasks: 2_000,
    meanServiceMs: 400,
    rampUpMs: 30_000,
    minWorkers: 10,
    maxWorkers: 20,
    targetWorkers: 20,
    policy: 'queue-latency',
    intervalMs: 250,
    cooldownMs: 500,
    sloMs: 2_000,
    maxDurationMs: 240_000,
  },
  heavy: {
    ...base,
    name: 'heavy',
    summary: 'phase 2 target: 4,000 tasks of ~500 ms over 45 s, 20-30 workers (threshold policy, aggressive)',
    totalTasks: 4_000,
    meanServiceMs: 500,
    rampUpMs: 45_000,
    minWorkers: 20,
    maxWorkers: 30,
    targetWorkers: 30,
    policy: 'threshold',
    preset: 'aggressive',
    intervalMs: 250,
    cooldownMs: 500,
    sloMs: 2_500,
    maxDurationMs: 300_000,
  },
  stress: {
    ...base,
    name: 'stress',
    summary: 'beyond phase 2: 8,000 tasks of ~500 ms over 60 s, 30-60 workers, 15% failures (threshold policy, aggressive)',
    totalTasks: 8_000,
    meanServiceMs: 500,
    failureRate: 0.15,
    rampUpMs: 60_000,
    minWorkers: 30,
    maxWorkers: 60,
    targetWorkers: 60,
    policy: 'threshold',
    preset: 'aggressive',
    intervalMs: 250,
    cooldownMs: 500,
    sloMs: 2_500,
    maxDurationMs: 420_000,
  },
};

/**
 * The policy knobs scaled to a scenario: every cooldown-like knob gets the scenario's
 * cooldown, every interval-like knob its tick, latency targets its SLO. Only knobs the
 * policy has are set, so `--policy NAME` works with any policy.
 */
export function scaledPolicyOptions(policy: string, s: Scenario): Record<string, number> {
  const knobs = getPolicy(policy)?.knobs ?? {};
  const want: Record<string, number> = {
    cooldownMs: s.cooldownMs,
    scaleUpCooldownMs: s.cooldownMs,
    scaleDownCooldownMs: s.cooldownMs,
    decisionIntervalMs: s.cooldownMs,
    evaluationIntervalMs: s.intervalMs,
    checkIntervalMs: s.intervalMs,
    pollingIntervalMs: s.intervalMs,
    syncPeriodMs: s.intervalMs,
    intervalMs: s.intervalMs,
    scaleUpPeriodMs: s.intervalMs,
    scaleDownPeriodMs: s.intervalMs,
    scaleDownStabilizationMs: 2 * s.cooldownMs,
    maxIdleTimeMs: 2 * s.cooldownMs,
    targetP95Ms: s.sloMs,
    targetP95WaitMs: s.sloMs,
    startupMs: 0,
  };
  const out: Record<string, number> = {};
  for (const [name, value] of Object.entries(want)) {
    const k = knobs[name];
    if (k) out[name] = Math.min(k.max, Math.max(k.min, value));
  }
  return out;
}

export interface RunFigures {
  submitted: number;
  completed: number;
  failed: number;
  lost: number;
  successRate: number;
  health: 'healthy' | 'degraded' | 'unhealthy';
  stalls: number;
  peakWorkers: number;
  finalWorkers: number;
  scaleUps: number;
  scaleDowns: number;
}

export interface Criterion {
  name: string;
  passed: boolean;
  detail: string;
}

/** Seed 003's acceptance criteria, plus nothing lost and a pool that scaled up and came back to its minimum. */
export function judge(s: Scenario, f: RunFigures): Criterion[] {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const stallLimit = 0.1 * f.peakWorkers;
  const band = 0.2 * s.targetWorkers;
  return [
    { name: 'allSubmitted', passed: f.submitted === s.totalTasks, detail: `${f.submitted} of ${s.totalTasks} tasks accepted before the time limit` },
    { name: 'successRate', passed: f.successRate >= 0.8, detail: `success rate ${pct(f.successRate)} (need >= 80%)` },
    { name: 'health', passed: f.health !== 'unhealthy', detail: `health ${f.health} (need healthy or degraded)` },
    { name: 'stalls', passed: f.stalls < stallLimit, detail: `${f.stalls} stalls (need < 10% of ${f.peakWorkers} workers)` },
    {
      name: 'peakConcurrency',
      passed: Math.abs(f.peakWorkers - s.targetWorkers) <= band,
      detail: `peak ${f.peakWorkers} workers (need within 20% of ${s.targetWorkers})`,
    },
    { name: 'lost', passed: f.lost === 0, detail: `${f.lost} tasks lost (need 0)` },
    {
      name: 'scaledUpAndBack',
      passed: f.scaleUps >= 1 && f.scaleDowns >= 1 && f.peakWorkers > s.minWorkers && f.finalWorkers === s.minWorkers,
      detail: `${f.scaleUps} scale-ups, ${f.scaleDowns} scale-downs, ${s.minWorkers} -> ${f.peakWorkers} -> ${f.finalWorkers} workers (need up from and back to ${s.minWorkers})`,
    },
  ];
}
