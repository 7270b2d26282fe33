// Recent completion rate, for the retry-after a QueueFullError carries: how long until
// the queue has drained enough to take the refused submit.
export const RATE_WINDOW_MS = 60_000;
/** retryAfterMs when no task finished recently (the rate is unknown). */
export const UNKNOWN_RATE_RETRY_AFTER_MS = 1_000;
export const MIN_RETRY_AFTER_MS = 100;
export const MAX_RETRY_AFTER_MS = 60_000;

/** Counts task completions in one-second buckets over the last minute. */
export class CompletionRate {
  private readonly buckets = new Map<number, number>();

  record(nowMs: number, n = 1): void {
    const key = Math.floor(nowMs / 1000);
    this.buckets.set(key, (this.buckets.get(key) ?? 0) + n);
    if (this.buckets.size > 120) this.prune(nowMs);
  }

  /** Completions per second over the window, 0 when none. */
  perSecond(nowMs: number): number {
    this.prune(nowMs);
    let total = 0;
    for (const n of this.buckets.values()) total += n;
    return total / (RATE_WINDOW_MS / 1000);
  }

  private prune(nowMs: number): void {
    const oldest = Math.floor((nowMs - RATE_WINDOW_MS) / 1000);
    for (const key of this.buckets.keys()) if (key <= oldest) this.buckets.delete(key);
  }
}

/** Time until `excess` tasks have drained at `perSecond`, clamped; 1 s when the rate is unknown. */
export function estimateRetryAfterMs(excess: number, perSecond: number): number {
  if (!(perSecond > 0)) return UNKNOWN_RATE_RETRY_AFTER_MS;
  const ms = Math.ceil((Math.max(1, excess) / perSecond) * 1000);
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(MIN_RETRY_AFTER_MS, ms));
}
