// `ratio` (seed 003, the agent harness ScaleManager; preset `koubou` for seed 004's local
// LLM worker pool): pending tasks per worker against two thresholds.
//
//   seed 003 (default, preset `harness`), bounds 4-30, one 60 s cooldown for both directions:
//     pending / workers > 2.0  ->  + ceil(pending / workers)   ("40 pending / 10 workers": +4)
//     pending / workers < 0.5  ->  - 1                          ("5 pending / 20 workers": -1)
//   seed 004 (preset `koubou`), bounds 1-5, no cooldown:
//     pending > workers x 2    ->  + 1
//     pending == 0             ->  stop the idle workers that have been idle >= 30 s
//
// Knobs with a 0 meaning: scaleUpStep 0 = ceil(ratio) (seed 003); scaleDownStep 0 = every
// idle worker (seed 004); scaleDownRatio 0 = only when the queue is empty (seed 004);
// idleTimeoutMs 0 = no idle requirement. Workers = obs.currentTarget.

import type { BaseConfig, Decision, Observation, PolicyDefinition } from './types.ts';
import { DAY_MS, boundsKnobs, checkBounds, defaultsOf, validateKnobs, type KnobTable } from './knobs.ts';
import { settle } from './clamp.ts';
import { checkCooldown, describeCooldown } from './cooldown.ts';
import { dur, num } from './say.ts';

export interface RatioConfig extends BaseConfig {
  scaleUpRatio: number;
  scaleDownRatio: number;
  scaleUpStep: number;
  scaleDownStep: number;
  cooldownMs: number;
  idleTimeoutMs: number;
  evaluationIntervalMs: number;
}

export interface RatioState {
  lastScaleAtMs: number | null;
}


export const RATIO_KNOBS: KnobTable<RatioConfig> = {
  ...boundsKnobs({ minWorkers: 4, maxWorkers: 30 }),
  scaleUpRatio: { kind: 'number', unit: 'ratio', default: 2, min: 0, max: 1_000_000, doc: 'Scale up when pending tasks per worker exceed this (scaleUpThreshold).' },
  scaleDownRatio: { kind: 'number', unit: 'ratio', default: 0.5, min: 0, max: 1_000_000, doc: 'Scale down when pending tasks per worker fall below this; 0 = only when the queue is empty (scaleDownThreshold).' },
  scaleUpStep: { kind: 'int', unit: 'workers', default: 0, min: 0, max: 100_000, doc: 'Workers added per scale-up; 0 = ceil(pending / workers), as seed 003 does.' },
  scaleDownStep: { kind: 'int', unit: 'workers', default: 1, min: 0, max: 100_000, doc: 'Workers removed per scale-down; 0 = every idle worker, as seed 004 does.' },
  cooldownMs: { kind: 'int', unit: 'ms', default: 60_000, min: 0, max: DAY_MS, doc: 'Least time between two scaling actions, up or down (scaleCooldownMs).' },
  idleTimeoutMs: { kind: 'int', unit: 'ms', default: 0, min: 0, max: DAY_MS, doc: 'Scale down only once a worker has been idle this long; 0 = no such requirement (seed 004: 30 s).' },
  evaluationIntervalMs: { kind: 'int', unit: 'ms', default: 30_000, min: 10, max: DAY_MS, doc: 'How often to evaluate, as seed 003 checks every 30 s (the live autoscaler\'s tick unless the pool sets intervalMs; the simulator uses --interval-ms).' },
};

export const RATIO_PRESETS: Record<string, Partial<RatioConfig>> = {
  /** Seed 003's Phase 2 defaults. */
  harness: {},
  /** Seed 004: one worker at a time, stop idle workers once the queue is empty. */
  koubou: { minWorkers: 1, maxWorkers: 5, scaleUpStep: 1, scaleDownStep: 0, scaleDownRatio: 0, cooldownMs: 0, idleTimeoutMs: 30_000 },
};

export function decideRatio(obs: Observation, c: RatioConfig, s: RatioState, nowMs: number): Decision<RatioState> {
  const current = obs.currentTarget;
  const pending = obs.queueDepth;
  const ratio = current > 0 ? pending / current : pending > 0 ? Infinity : 0;
  const ratioText = current > 0 ? `${pending} pending / ${current} workers = ${num(ratio)}` : `${pending} pending / 0 workers`;
  const isHigh = ratio > c.scaleUpRatio;
  const isLow = !isHigh && (c.scaleDownRatio === 0 ? pending === 0 : ratio < c.scaleDownRatio);
  const idleOk = c.idleTimeoutMs === 0 || (obs.workers.idle > 0 && obs.maxIdleMs >= c.idleTimeoutMs);
  const lowText = c.scaleDownRatio === 0 ? 'queue empty' : `${ratioText} < ${c.scaleDownRatio}`;

  if (!isHigh && !isLow) {
    return settle({
      current, wanted: current, code: 'steady', limits: c, moved: s, held: s,
      reason: `${ratioText} within ${c.scaleDownRatio}..${c.scaleUpRatio}`,
    });
  }
  if (isLow && !idleOk) {
    return settle({
      current, wanted: current, code: 'waiting_idle', limits: c, moved: s, held: s,
      reason: `${lowText}, but no worker idle ${dur(c.idleTimeoutMs)} yet (longest ${dur(obs.maxIdleMs)})`,
    });
  }
  const cd = checkCooldown(s.lastScaleAtMs, c.cooldownMs, nowMs);
  if (cd.isBlocked) {
    const held = { lastScaleAtMs: cd.lastAtMs };
    return settle({
      current, wanted: current, code: 'cooldown', limits: c, moved: held, held,
      reason: `${isHigh ? `${ratioText} > ${c.scaleUpRatio}` : lowText}, but blocked: ${describeCooldown('scaling action', cd, c.cooldownMs)}`,
    });
  }
  if (isHigh) {
    // With no workers the ratio is unbounded: start one (seed 003 would divide by zero).
    const step = current === 0 ? 1 : c.scaleUpStep === 0 ? Math.ceil(ratio) : c.scaleUpStep;
    return settle({
      current,
      wanted: current + step,
      code: 'scale_up_ratio',
      reason: `${ratioText} > ${c.scaleUpRatio}: +${step}`,
      limits: c,
      moved: { lastScaleAtMs: nowMs },
      held: s,
    });
  }
  const step = c.scaleDownStep === 0 ? Math.floor(obs.workers.idle) : c.scaleDownStep;
  return settle({
    current,
    wanted: current - step,
    code: c.idleTimeoutMs > 0 ? 'scale_down_idle' : 'scale_down_ratio',
    reason: `${lowText}${c.idleTimeoutMs > 0 ? ` and a worker idle ${dur(obs.maxIdleMs)} >= ${dur(c.idleTimeoutMs)}` : ''}: -${step}${c.scaleDownStep === 0 ? ' (every idle worker)' : ''}`,
    limits: c,
    moved: { lastScaleAtMs: nowMs },
    held: s,
  });
}

export const ratioPolicy: PolicyDefinition<RatioConfig, RatioState> = {
  name: 'ratio',
  summary: 'Pending tasks per worker above 2.0 scales up, below 0.5 scales down, with a cooldown and an optional idle timeout.',
  source: 'seed 003 (agent harness ScaleManager); preset koubou: seed 004 (local LLM worker pool)',
  defaults: defaultsOf(RATIO_KNOBS),
  presets: RATIO_PRESETS,
  defaultPreset: 'harness',
  knobs: RATIO_KNOBS,
  validate: (config) => validateKnobs(RATIO_KNOBS, config, 'ratio'),
  crossCheck: (c, path) => [
    ...checkBounds(c, path),
    ...(c.scaleDownRatio <= c.scaleUpRatio
      ? []
      : [`${path ? `${path}.` : ''}scaleDownRatio: got ${c.scaleDownRatio}; expected at most scaleUpRatio (${c.scaleUpRatio})`]),
  ],
  initialState: () => ({ lastScaleAtMs: null }),
  decide: decideRatio,
};
