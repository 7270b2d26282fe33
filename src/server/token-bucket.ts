// A token bucket for the global request rate limit. Time comes from the injected Clock,
// so tests drive it in virtual time.
import type { Clock } from '../core/index.ts';

export interface TokenBucketOptions {
  /** Tokens added per second (the sustained rate), > 0. */
  ratePerSec: number;
  /** Bucket size (the burst allowed), >= 1. */
  burst: number;
}

export type TakeResult = { isAllowed: true } | { isAllowed: false; retryAfterMs: number };

export class TokenBucket {
  private readonly clock: Clock;
  private readonly fullRatePerSec: number;
  private readonly fullBurst: number;
  private ratePerSec: number;
  private burst: number;
  private tokens: number;
  private lastMs: number;

  constructor(options: TokenBucketOptions, clock: Clock) {
    if (!(options.ratePerSec > 0)) throw new RangeError(`rateLimit.ratePerSec: got ${options.ratePerSec}; expected a number > 0`);
    if (!(options.burst >= 1)) throw new RangeError(`rateLimit.burst: got ${options.burst}; expected a number >= 1`);
    this.clock = clock;
    this.fullRatePerSec = this.ratePerSec = options.ratePerSec;
    this.fullBurst = this.burst = options.burst;
    this.tokens = options.burst;
    this.lastMs = clock.now();
  }

  /**
   * Takes this share (0 < share <= 1) of the rate and the burst: in a cluster each of N live
   * nodes takes 1/N, so the nodes together stay within the global limit.
   */
  setShare(share: number): void {
    const f = Math.min(1, Math.max(1e-6, share));
    this.ratePerSec = this.fullRatePerSec * f;
    this.burst = Math.max(1, this.fullBurst * f);
    this.tokens = Math.min(this.tokens, this.burst);
  }

  /** Takes one token, or says how long until one is available. */
  take(): TakeResult {
    const nowMs = this.clock.now();
    // A clock that steps backwards adds nothing (and never removes tokens).
    const elapsedMs = Math.max(0, nowMs - this.lastMs);
    this.lastMs = Math.max(this.lastMs, nowMs);
    this.tokens = Math.min(this.burst, this.tokens + (elapsedMs * this.ratePerSec) / 1000);
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return { isAllowed: true };
    }
    // The epsilon keeps float dust (0.996 tokens -> 1.0000000000000009 ms) from adding a millisecond.
    const retryAfterMs = Math.max(1, Math.ceil(((1 - this.tokens) * 1000) / this.ratePerSec - 1e-9));
    return { isAllowed: false, retryAfterMs };
  }
}
