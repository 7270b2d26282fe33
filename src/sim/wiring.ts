// Turns a policy name into what the simulator drives: resolved through the policies
// registry (the very definitions the live autoscaler uses), its own decide, then the
// shared clamp. The only thing added here is the run's facts a policy may take as
// knobs (the adaptive policy's target, start-up and interval come from the flags).
import { clampDecision, getPolicy, resolvePolicy } from '../policies/index.ts';
import type { Observation } from '../policies/index.ts';
import type { SimPolicy } from './engine.ts';

export interface PolicyChoice {
  /** Registry name, e.g. `adaptive`, `hpa`, `fixed:37`. */
  name: string;
  preset?: string;
  overrides?: Record<string, unknown>;
  minWorkers?: number;
  maxWorkers?: number;
  sloMs: number;
  startupMs: number;
  intervalMs: number;
  /** Prices of the run (figures' spend; adaptive's startCostMs); defaults 1 per worker-hour, 0 per start. */
  pricePerWorkerHour?: number;
  pricePerStart?: number;
}

/** The price of one start in worker-time: pricePerStart / pricePerWorkerHour, in ms. */
export function startCostMs(choice: { pricePerWorkerHour?: number; pricePerStart?: number }): number {
  const hour = choice.pricePerWorkerHour ?? 1;
  const start = choice.pricePerStart ?? 0;
  if (start <= 0) return 0;
  return hour > 0 ? Math.min(86_400_000, (start / hour) * 3_600_000) : 86_400_000;
}

/** Knobs a policy may declare that the simulator fills from the run's flags. */
const RUN_FACTS = { targetP95WaitMs: 'sloMs', startupMs: 'startupMs', intervalMs: 'intervalMs', startCostMs: 'startCostMs' } as const;

export function policyForSim(choice: PolicyChoice): SimPolicy {
  const known = getPolicy(choice.name);
  const facts: Record<string, number> = {};
  if (known?.knobs) {
    for (const [knob, from] of Object.entries(RUN_FACTS)) {
      if (knob in known.knobs) facts[knob] = from === 'startCostMs' ? startCostMs(choice) : choice[from];
    }
  }
  const resolved = resolvePolicy({
    name: choice.name,
    preset: choice.preset,
    overrides: { ...facts, ...choice.overrides },
    minWorkers: choice.minWorkers,
    maxWorkers: choice.maxWorkers,
  });
  const { definition, config } = resolved;
  let state: unknown = definition.initialState(config);
  const limits = { minWorkers: config.minWorkers, maxWorkers: config.maxWorkers };
  return {
    name: choice.name,
    initialWorkers: config.minWorkers,
    decide(obs: Observation, nowMs: number) {
      const d = clampDecision(definition.decide(obs, config, state, nowMs), obs.currentTarget, limits);
      state = d.state;
      return { target: d.target, code: d.code, reason: d.reason };
    },
  };
}
