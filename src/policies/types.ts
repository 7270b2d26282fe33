// The shape every scaling policy has. A policy is a pure function: it reads an
// observation, its config and its own previous state, and returns a decision with
// its next state. No I/O, no timers, no Date: `nowMs` comes in as an argument.
// The live autoscaler and the simulator call the very same functions.

/** What an autoscaler can see about one pool at one instant. */
export interface Observation {
  /** Runnable tasks waiting for this pool's types (queued + retrying whose runAt passed). */
  queueDepth: number;
  /** Workers by status; total = starting + idle + busy + draining. */
  workers: {
    total: number;
    starting: number;
    idle: number;
    busy: number;
    draining: number;
  };
  /** The target the pool is heading to (last applied decision), >= 0. */
  currentTarget: number;
  /** busy / (idle + busy + draining); 0 when no worker is ready. */
  utilization: number;
  /** Queue wait (submit or runAt -> start) of tasks started in the recent window. */
  waitMs: { p50: number; p95: number; p99: number; count: number };
  /** Run time of tasks finished in the recent window. */
  runMs: { p50: number; p95: number; p99: number; mean: number; count: number };
  /** Length of the window the percentiles cover. */
  windowMs: number;
  /** Arrivals (submits) for this pool since the start; policies difference it for a rate. */
  arrivalsTotal: number;
  /** Tasks finished (any outcome) since the start. */
  completionsTotal: number;
  /** Attempts that failed since the start. */
  failuresTotal: number;
  /** Longest time any idle worker has been idle (0 when none is idle). */
  maxIdleMs: number;
  /** Age of the oldest runnable waiting task (0 when none). */
  oldestWaitMs: number;
  /**
   * Measured start-up of this pool's workers (spawn to ready, p95 over the window), ms;
   * absent while nothing has been measured (then a policy uses its own startupMs knob).
   */
  startupMs?: number;
  /** The real time between this pool's evaluations, ms; absent: the policy's own knob. */
  intervalMs?: number;
}

export type ScaleAction = 'scale_up' | 'scale_down' | 'none';

/** One numeric option of a policy: its unit, default and allowed range, written once. */
export interface Knob {
  /** `int` accepts whole numbers only. */
  kind: 'int' | 'number';
  /** What the number counts: `workers`, `ms`, `tasks`, `fraction`, `checks`, `ratio`, `percent`. */
  unit: string;
  default: number;
  min: number;
  max: number;
  /** One sentence for the docs and `--help`. */
  doc: string;
}

/** Every policy's config has bounds; the shared clamp applies them. */
export interface BaseConfig {
  minWorkers: number;
  maxWorkers: number;
}

export interface Decision<S> {
  action: ScaleAction;
  /**
   * Desired total number of workers. Callers (the autoscaler, the simulator) always pass
   * it through the shared clamp (src/policies/clamp.ts) with the policy's bounds. The seed
   * and reference policies clamp it themselves already, so their state knows what really
   * happened; clamping again with the same bounds changes nothing.
   */
  target: number;
  /** Stable reason code, e.g. `scale_up_depth`, `cooldown`, `steady`. */
  code: string;
  /** One sentence with the numbers behind it, shown as-is in the event log. */
  reason: string;
  /** The policy's next state. */
  state: S;
}

export interface PolicyDefinition<C extends BaseConfig = BaseConfig, S = unknown> {
  /** Short kebab-case registry name (`threshold`, `queue-latency`, ...). */
  name: string;
  /** One line for `--help` and the docs. */
  summary: string;
  /** Where the policy comes from (seed file, algorithm). */
  source: string;
  defaults: C;
  presets: Record<string, Partial<C>>;
  /** The preset applied when none is named (absent: the plain defaults). */
  defaultPreset?: string;
  /** Each option's unit, default, range and meaning, written once (docs and validation read it). */
  knobs?: Record<string, Knob>;
  /** Validates a partial config from a user; returns problems as `field: got X; expected Y`. */
  validate(config: Record<string, unknown>): string[];
  /** Checks between fields of a complete config (minWorkers <= maxWorkers, ...); `path` prefixes each field. */
  crossCheck?(config: C, path?: string): string[];
  initialState(config: C): S;
  decide(obs: Observation, config: C, state: S, nowMs: number): Decision<S>;
}
