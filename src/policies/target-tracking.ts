// `target-tracking`: AWS's target tracking on the queue backlog per worker, as the AWS
// Auto Scaling guide "Scaling policy based on Amazon SQS" sets it up.
//
//   backlog per worker = queued tasks (ApproximateNumberOfMessagesVisible) / in-service
//                        workers (ready ones; starting workers are still pending)
//   target             = acceptable latency / mean time per task (targetP95WaitMs / the
//                        window's mean run time)
//   one datapoint per datapointMs (60 s, the metric's period): the mean of the samples in it
//   scale out          when the last scaleOutDatapoints (3) datapoints are above the target
//                      (the AlarmHigh: 3 datapoints within 3 minutes)
//   scale in           when the last scaleInDatapoints (15) are below 90% of the target
//                      (the AlarmLow: 15 datapoints within 15 minutes)
//   either way         desired = ceil(queued / target) (capacity x metric / target), never
//                      below the tasks running when scaling in; an alarm that acted resets
// Pure: all history lives in the returned state.
import type { BaseConfig, Decision, Observation, PolicyDefinition } from './types.ts';
import { boundsKnobs, checkBounds, defaultsOf, validateKnobs, type KnobTable } from './knobs.ts';
import { settle } from './clamp.ts';
import { dur, num } from './say.ts';

export interface TargetTrackingConfig extends BaseConfig {
  targetP95WaitMs: number;
  datapointMs: number;
  scaleOutDatapoints: number;
  scaleInDatapoints: number;
  scaleInRatio: number;
}

export interface TargetTrackingState {
  periodStartMs: number | null;
  sum: number;
  samples: number;
  /** Consecutive datapoints above the target / below the low threshold. */
  highStreak: number;
  lowStreak: number;
  lastDatapoint: number | null;
  lastTargetBacklog: number | null;
}

export const TARGET_TRACKING_KNOBS: KnobTable<TargetTrackingConfig> = {
  ...boundsKnobs({ minWorkers: 1, maxWorkers: 1000 }),
  targetP95WaitMs: { kind: 'number', unit: 'ms', default: 2000, min: 1, max: 86_400_000, doc: 'Acceptable latency of a task in the queue; the backlog target per worker is it divided by the mean time per task (the simulator sets it from --slo-ms).' },
  datapointMs: { kind: 'int', unit: 'ms', default: 60_000, min: 1000, max: 3_600_000, doc: 'Period of one metric datapoint (CloudWatch 60 s).' },
  scaleOutDatapoints: { kind: 'int', unit: 'checks', default: 3, min: 1, max: 100, doc: 'Consecutive datapoints above the target before scaling out (target tracking AlarmHigh: 3 of 3).' },
  scaleInDatapoints: { kind: 'int', unit: 'checks', default: 15, min: 1, max: 1000, doc: 'Consecutive datapoints below the low threshold before scaling in (target tracking AlarmLow: 15 of 15).' },
  scaleInRatio: { kind: 'number', unit: 'fraction', default: 0.9, min: 0.01, max: 1, doc: 'The low threshold as a share of the target (the AlarmLow sits at 90% of it).' },
};

export function decideTargetTracking(obs: Observation, c: TargetTrackingConfig, s: TargetTrackingState, nowMs: number): Decision<TargetTrackingState> {
  const current = obs.currentTarget;
  const inService = Math.max(1, obs.workers.idle + obs.workers.busy);
  const sample = obs.queueDepth / inService;
  const taskMs = obs.runMs.count > 0 && obs.runMs.mean > 0 ? obs.runMs.mean : null;
  const targetBacklog = taskMs === null ? s.lastTargetBacklog : c.targetP95WaitMs / taskMs;
  let next: TargetTrackingState = { ...s, lastTargetBacklog: targetBacklog };
  // A clock that stepped backwards starts a new period.
  if (next.periodStartMs === null || nowMs < next.periodStartMs) next = { ...next, periodStartMs: nowMs, sum: 0, samples: 0 };
  next.sum += sample;
  next.samples += 1;
  let closed = false;
  if (nowMs - next.periodStartMs! >= c.datapointMs - 1e-9 || c.datapointMs <= 0) {
    const datapoint = next.sum / next.samples;
    closed = true;
    next.lastDatapoint = datapoint;
    if (targetBacklog !== null) {
      next.highStreak = datapoint > targetBacklog ? next.highStreak + 1 : 0;
      next.lowStreak = datapoint < targetBacklog * c.scaleInRatio ? next.lowStreak + 1 : 0;
    }
    next.periodStartMs = nowMs;
    next.sum = 0;
    next.samples = 0;
  }
  if (targetBacklog === null) {
    return settle({ current, wanted: current, code: 'no_task_time', limits: c, moved: next, held: next, reason: `no task finished yet: the backlog target (acceptable latency / time per task) is unknown; holding ${current}` });
  }
  const dp = next.lastDatapoint ?? 0;
  const desired = Math.ceil(obs.queueDepth / targetBacklog - 1e-9);
  const head = `backlog ${num(dp)} per worker (${obs.queueDepth} queued), target ${num(targetBacklog)} = ${dur(c.targetP95WaitMs)} / ${dur(taskMs ?? 0)} per task`;
  if (closed && next.highStreak >= c.scaleOutDatapoints && desired > current) {
    const moved = { ...next, highStreak: 0, lowStreak: 0 };
    return settle({ current, wanted: desired, code: 'scale_out_backlog', limits: c, moved, held: next, reason: `${head}, above it for ${next.highStreak} datapoints: ceil(${obs.queueDepth} / ${num(targetBacklog)}) = ${desired}` });
  }
  if (closed && next.lowStreak >= c.scaleInDatapoints) {
    const running = obs.workers.busy + obs.workers.draining;
    const wanted = Math.min(current, Math.max(desired, running));
    if (wanted < current) {
      const moved = { ...next, highStreak: 0, lowStreak: 0 };
      return settle({ current, wanted, code: 'scale_in_backlog', limits: c, moved, held: next, reason: `${head}, below ${num(c.scaleInRatio * targetBacklog)} for ${next.lowStreak} datapoints: ${wanted} (no fewer than the ${running} running)` });
    }
  }
  return settle({ current, wanted: current, code: 'steady', limits: c, moved: next, held: next, reason: `${head}: ${next.highStreak} datapoints above, ${next.lowStreak} below; holding ${current}` });
}

export const targetTrackingPolicy: PolicyDefinition<TargetTrackingConfig, TargetTrackingState> = {
  name: 'target-tracking',
  summary: 'AWS target tracking on queue backlog per worker = acceptable latency / time per task: out after 3 high one-minute datapoints, in after 15 low ones.',
  source: 'AWS Auto Scaling, "Scaling policy based on Amazon SQS" (target tracking alarms: 3 of 3 high, 15 of 15 low at 90%)',
  defaults: defaultsOf(TARGET_TRACKING_KNOBS),
  presets: {},
  knobs: TARGET_TRACKING_KNOBS,
  validate: (config) => validateKnobs(TARGET_TRACKING_KNOBS, config, 'target-tracking'),
  crossCheck: (c, path) => checkBounds(c, path),
  initialState: () => ({ periodStartMs: null, sum: 0, samples: 0, highStreak: 0, lowStreak: 0, lastDatapoint: null, lastTargetBacklog: null }),
  decide: decideTargetTracking,
};
