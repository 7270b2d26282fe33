// The time of record on a shared store: the database server's clock. Reading it on every
// operation would cost a round trip (or a `now()` in every statement, which then ignores an
// injected clock), so adapters keep an offset: time of record = clock.now() + offset, with
// offset = database time - local time, measured at open from the midpoint of a round trip.
// Nodes whose clocks are skewed then agree on lease expiry, runAt and backoff within the
// round trip's uncertainty; a node whose clock runs ahead does not reclaim a live lease early.
//
// Re-synchronizing catches a local clock that steps later (NTP): `resync()` measures again
// and adopts the new offset. Adapters call it from maintain() when the clock is the system
// clock; under an injected (virtual) clock the offset stays as measured at open, since the
// injected clock then is the only thing that moves time (tests step it on purpose).
import { SystemClock, monotonicMs, systemClock } from '../../core/index.ts';
import type { Clock } from '../../core/index.ts';

export class DatabaseClock {
  private readonly clock: Clock;
  private readonly readDatabaseMs: () => Promise<number>;
  private offsetMs = 0;
  private uncertaintyMs = Infinity;

  /** `readDatabaseMs`: one round trip returning the server's epoch ms (e.g. `SELECT now()`, Redis `TIME`). */
  constructor(clock: Clock, readDatabaseMs: () => Promise<number>) {
    this.clock = clock;
    this.readDatabaseMs = readDatabaseMs;
  }

  /** Measures the offset (call once at open, before any operation). */
  async sync(): Promise<void> {
    const before = this.clock.now();
    const t0 = monotonicMs();
    const dbMs = await this.readDatabaseMs();
    const rttMs = monotonicMs() - t0;
    this.offsetMs = Math.round(dbMs - (before + rttMs / 2));
    this.uncertaintyMs = rttMs / 2;
  }

  /** sync() again when the clock is the system clock (see above); from maintain(). */
  async resync(): Promise<void> {
    if (this.clock === systemClock || this.clock instanceof SystemClock) await this.sync();
  }

  /** The time of record, epoch ms (no round trip). */
  now(): number {
    return this.clock.now() + this.offsetMs;
  }

  /** Database time minus local time as last measured, ms. */
  get skewMs(): number {
    return this.offsetMs;
  }

  /** Half the round trip of the last measurement: how far off now() may be, ms. */
  get errorBoundMs(): number {
    return this.uncertaintyMs;
  }
}
