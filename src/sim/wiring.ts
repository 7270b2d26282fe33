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
}

/** Knobs a policy may declare that the simulator fills from the run's flags. */
const RUN_FACTS = { targetP95WaitMs: 'sloMs', startupMs: 'startupMs', intervalMs: 'intervalMs' } as const;

export function policyForSim(choice: PolicyChoice): SimPolicy {
  const known = getPolicy(choice.name);
  const facts: Record<string, number> = {};
  if (known?.knobs) {
    for (const [knob, from] of Object.entries(RUN_FACTS)) {
      if (knob in known.knobs) facts[knob] = choice[from];
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
