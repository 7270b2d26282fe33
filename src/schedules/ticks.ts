// Which ticks of a schedule to submit now: a pure function of the schedule, the last tick
// already handled and the time, so the catch-up rule is one table-tested decision.
//
// Due ticks are the cron's instants in (afterMs, nowMs]. When the oldest of them is at
// most graceMs old, nothing was missed: every due tick is submitted, oldest first (at most
// MAX_TICKS_PER_PASS per pass; the next pass goes on from there). Otherwise ticks were
// missed (the scheduler was down, or the clock jumped forward) and the schedule's catchUp
// rule decides:
//   latest  the most recent due tick only;
//   all     every due tick, oldest first, but at most catchUpLimit (the most recent ones);
//   none    only the due ticks at most graceMs old (possibly none).
// Either way the schedule's progress moves to the most recent due tick, so a skipped tick
// is never submitted later. A clock that steps back finds nothing due (afterMs > nowMs).
import { cronOf } from '../core/index.ts';
import type { CatchUpRule } from '../core/index.ts';

/** Ticks one pass submits at most when nothing was missed (a long grace with a per-second cron). */
export const MAX_TICKS_PER_PASS = 1000;

export interface TickPlanInput {
  cron: string;
  timezone: string;
  catchUp: CatchUpRule;
  /** The last tick handled (submitted or skipped), or the schedule's creation: only later ticks are due. */
  afterMs: number;
  nowMs: number;
  graceMs: number;
  catchUpLimit: number;
}

export interface TickPlan {
  /** Ticks to submit, oldest first (epoch ms, whole seconds). */
  submitMs: number[];
  /** Where the schedule's progress goes once they are submitted; null: nothing due. */
  advanceToMs: number | null;
  /** Set when ticks were missed: the oldest due tick and the rule applied (for the log). */
  missed: { fromMs: number; rule: CatchUpRule } | null;
}

/** Due ticks in (afterMs, untilMs], oldest first, at most `limit`. */
function ticksBetween(cron: ReturnType<typeof cronOf>, afterMs: number, untilMs: number, limit: number): number[] {
  const out: number[] = [];
  let at = cron.nextRun(new Date(afterMs));
  while (at && at.getTime() <= untilMs && out.length < limit) {
    out.push(at.getTime());
    at = cron.nextRun(at);
  }
  return out;
}

/** The next tick strictly after `afterMs`, or null when the cron never fires again. */
export function nextTickMs(cron: string, timezone: string, afterMs: number): number | null {
  return cronOf(cron, timezone).nextRun(new Date(afterMs))?.getTime() ?? null;
}

export function planTicks(input: TickPlanInput): TickPlan {
  const { afterMs, nowMs, graceMs } = input;
  const none: TickPlan = { submitMs: [], advanceToMs: null, missed: null };
  if (afterMs >= nowMs) return none;
  const cron = cronOf(input.cron, input.timezone);
  const first = cron.nextRun(new Date(afterMs))?.getTime();
  if (first === undefined || first > nowMs) return none;
  if (first >= nowMs - graceMs) {
    const submitMs = ticksBetween(cron, afterMs, nowMs, MAX_TICKS_PER_PASS);
    return { submitMs, advanceToMs: submitMs.at(-1)!, missed: null };
  }
  // Ticks were missed. The most recent due tick: croner's previous runs strictly before nowMs + 1.
  const recent = (n: number) => cron.previousRuns(n, new Date(nowMs + 1)).map((d) => d.getTime()).filter((t) => t > afterMs).reverse();
  const latestMs = recent(1)[0] ?? first;
  const missed = { fromMs: first, rule: input.catchUp };
  switch (input.catchUp) {
    case 'latest':
      return { submitMs: [latestMs], advanceToMs: latestMs, missed };
    case 'all':
      return { submitMs: recent(input.catchUpLimit), advanceToMs: latestMs, missed };
    case 'none': {
      const submitMs = ticksBetween(cron, Math.max(afterMs, nowMs - graceMs - 1), nowMs, MAX_TICKS_PER_PASS);
      return { submitMs, advanceToMs: submitMs.length >= MAX_TICKS_PER_PASS ? submitMs.at(-1)! : latestMs, missed };
    }
    default: {
      const never: never = input.catchUp;
      throw new Error(`unknown catchUp rule ${String(never)}`);
    }
  }
}
