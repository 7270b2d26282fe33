// Cooldowns, the same way for every policy. A cooldown blocks a scaling action while
// less than `cooldownMs` has passed since the last one; exactly on the edge it is over
// (seed 000: "Scale Up @ 10:00, @ 10:01 BLOCKED, @ 10:02 ALLOWED").
//
// A clock that steps backwards (nowMs before the last action) cannot tell how long ago
// that action was. We then restart the cooldown from the new now: it blocks for at most
// one full cooldown, never for the size of the jump, and never lets an action through early.

import { dur } from './say.ts';

export interface CooldownCheck {
  isBlocked: boolean;
  /** Time left (0 when not blocked). */
  remainingMs: number;
  /** Time since the last action, as used (0 after a backwards step). */
  elapsedMs: number;
  /** The last-action instant to keep in state (moved to nowMs after a backwards step). */
  lastAtMs: number | null;
  /** Whether the clock was seen stepping backwards. */
  hasSteppedBack: boolean;
}

export function checkCooldown(lastAtMs: number | null, cooldownMs: number, nowMs: number): CooldownCheck {
  if (lastAtMs === null) {
    return { isBlocked: false, remainingMs: 0, elapsedMs: Infinity, lastAtMs: null, hasSteppedBack: false };
  }
  const hasSteppedBack = nowMs < lastAtMs;
  const anchor = hasSteppedBack ? nowMs : lastAtMs;
  const elapsedMs = nowMs - anchor;
  const isBlocked = elapsedMs < cooldownMs;
  return {
    isBlocked,
    remainingMs: isBlocked ? cooldownMs - elapsedMs : 0,
    elapsedMs,
    lastAtMs: anchor,
    hasSteppedBack,
  };
}

/** "last scale-up 60 s ago, cooldown 120 s (60 s left)" */
export function describeCooldown(what: string, check: CooldownCheck, cooldownMs: number): string {
  if (check.hasSteppedBack) {
    return `the clock stepped back before the last ${what}; cooldown ${dur(cooldownMs)} restarted (${dur(check.remainingMs)} left)`;
  }
  return `last ${what} ${dur(check.elapsedMs)} ago, cooldown ${dur(cooldownMs)} (${dur(check.remainingMs)} left)`;
}
