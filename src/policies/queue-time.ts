// `queue-time`: the queue-time band of Judoscale (and HireFire's job queue latency): keep
// the age of the oldest waiting task inside a band.
//
//   above the band  (oldest wait > upscaleAboveMs): +upscaleStep (1) worker, at most once
//                   per upscaleCooldownMs (Judoscale: "not scaled up in the last three minutes")
//   below the band  (oldest wait < downscaleBelowMs in every sample for downscaleDelayMs,
//                   10 minutes by default): -1 worker, then again after each further delay
//                   ("downscale delay": the time before the first downscale and between them)
//   inside          hold
// Judoscale aggregates every 10 s and compares the latest aggregate; this policy compares
// every evaluation's oldest wait, which is the same signal at a finer grain. The band itself
// is the user's setting in Judoscale: here its top is the p95 wait target (the simulator
// sets it from --slo-ms) and its bottom a tenth of it.
import type { BaseConfig, Decision, Observation, PolicyDefinition } from './types.ts';
import { boundsKnobs, checkBounds, defaultsOf, validateKnobs, type KnobTable } from './knobs.ts';
import { settle } from './clamp.ts';
import { dur } from './say.ts';

export interface QueueTimeConfig extends BaseConfig {
  targetP95WaitMs: number;
  downscaleFraction: number;
  upscaleStep: number;
  upscaleCooldownMs: number;
  downscaleDelayMs: number;
}

export interface QueueTimeState {
  lastUpAtMs: number | null;
  lastDownAtMs: number | null;
  /** The last instant the oldest wait was at or above the band's bottom (null: not yet observed). */
  lastNotLowAtMs: number | null;
  firstSeenAtMs: number | null;
}

export const QUEUE_TIME_KNOBS: KnobTable<QueueTimeConfig> = {
  ...boundsKnobs({ minWorkers: 1, maxWorkers: 1000 }),
  targetP95WaitMs: { kind: 'number', unit: 'ms', default: 2000, min: 1, max: 86_400_000, doc: 'Top of the band: scale up while the oldest waiting task is older than this (the simulator sets it from --slo-ms).' },
  downscaleFraction: { kind: 'number', unit: 'fraction', default: 0.1, min: 0, max: 1, doc: 'Bottom of the band as a share of its top.' },
  upscaleStep: { kind: 'int', unit: 'workers', default: 1, min: 1, max: 1000, doc: 'Workers added per upscale (Judoscale upscale jumps, default 1).' },
  upscaleCooldownMs: { kind: 'int', unit: 'ms', default: 180_000, min: 0, max: 3_600_000, doc: 'Shortest time between upscales (Judoscale: no upscale within three minutes of the last).' },
  downscaleDelayMs: { kind: 'int', unit: 'ms', default: 600_000, min: 0, max: 86_400_000, doc: 'Every sample below the band for this long before a downscale, and this long between downscales (Judoscale downscale delay, 10 minutes).' },
};

export function decideQueueTime(obs: Observation, c: QueueTimeConfig, s: QueueTimeState, nowMs: number): Decision<QueueTimeState> {
  const current = obs.currentTarget;
  const wait = obs.oldestWaitMs;
  const top = c.targetP95WaitMs;
  const bottom = c.targetP95WaitMs * c.downscaleFraction;
  const firstSeenAtMs = s.firstSeenAtMs === null || nowMs < s.firstSeenAtMs ? nowMs : s.firstSeenAtMs;
  const lastNotLowAtMs = wait >= bottom ? nowMs : s.lastNotLowAtMs;
  const base: QueueTimeState = { ...s, firstSeenAtMs, lastNotLowAtMs };
  const head = `oldest wait ${dur(wait)}, band ${dur(bottom)}-${dur(top)}`;
  // At 0 workers nothing drains the queue: any waiting task is a reason to start one.
  if (wait > top || (current === 0 && obs.queueDepth > 0)) {
    const sinceUp = s.lastUpAtMs === null || nowMs < s.lastUpAtMs ? Infinity : nowMs - s.lastUpAtMs;
    if (sinceUp < c.upscaleCooldownMs && current > 0) {
      return settle({ current, wanted: current, code: 'cooldown', limits: c, moved: base, held: base, reason: `${head}: above the band, but the last upscale was ${dur(sinceUp)} ago (< ${dur(c.upscaleCooldownMs)})` });
    }
    return settle({ current, wanted: current + c.upscaleStep, code: 'scale_up_queue_time', limits: c, moved: { ...base, lastUpAtMs: nowMs }, held: base, reason: `${head}: above the band: +${c.upscaleStep}` });
  }
  const lowSince = lastNotLowAtMs === null ? firstSeenAtMs : lastNotLowAtMs;
  const lowMs = wait < bottom ? nowMs - lowSince : 0;
  const sinceDown = s.lastDownAtMs === null || nowMs < s.lastDownAtMs ? Infinity : nowMs - s.lastDownAtMs;
  if (wait < bottom && lowMs >= c.downscaleDelayMs && sinceDown >= c.downscaleDelayMs) {
    return settle({ current, wanted: current - 1, code: 'scale_down_queue_time', limits: c, moved: { ...base, lastDownAtMs: nowMs }, held: base, reason: `${head}: below the band for ${dur(lowMs)} (>= ${dur(c.downscaleDelayMs)}): -1` });
  }
  return settle({ current, wanted: current, code: 'steady', limits: c, moved: base, held: base, reason: `${head}: ${wait < bottom ? `below the band for ${dur(lowMs)} of ${dur(c.downscaleDelayMs)}` : 'inside the band'}; holding ${current}` });
}

export const queueTimePolicy: PolicyDefinition<QueueTimeConfig, QueueTimeState> = {
  name: 'queue-time',
  summary: 'Judoscale/HireFire queue-time band: +1 when the oldest wait is above the band (at most every 3 min), -1 after 10 min with every sample below it.',
  source: 'Judoscale autoscaling behavior (queue time range, upscale jumps 1, 3-minute upscale spacing, 10-minute downscale delay); HireFire job queue latency',
  defaults: defaultsOf(QUEUE_TIME_KNOBS),
  presets: {},
  knobs: QUEUE_TIME_KNOBS,
  validate: (config) => validateKnobs(QUEUE_TIME_KNOBS, config, 'queue-time'),
  crossCheck: (c, path) => checkBounds(c, path),
  initialState: () => ({ lastUpAtMs: null, lastDownAtMs: null, lastNotLowAtMs: null, firstSeenAtMs: null }),
  decide: decideQueueTime,
};
