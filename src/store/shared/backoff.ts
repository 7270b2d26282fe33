// Retry backoff: exponential with full jitter (AWS "full jitter"): after the n-th failed
// attempt the task waits a draw in [cap * (1 - jitter), cap], cap = min(maxMs, baseMs * 2^(n-1)).
import type { RetryOptions } from '../types.ts';

export function backoffMs(failedAttempts: number, retry: RetryOptions, random: () => number): number {
  const exponent = Math.min(Math.max(failedAttempts, 1) - 1, 52);
  const capMs = Math.min(retry.maxMs, retry.baseMs * 2 ** exponent);
  const floorMs = capMs * (1 - retry.jitter);
  return Math.round(floorMs + random() * (capMs - floorMs));
}
