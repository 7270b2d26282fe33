// Sliding-window figures for a pool: wait, run and worker start-up percentiles,
// throughput, success rate, recent stalls and crashes. Samples older than windowMs are dropped; percentiles are drawn
// from at most `maxSamples` of the most recent ones so a stats() call stays cheap at
// 10,000 tasks/s.
import type { Percentiles } from '../core/index.ts';

interface Sample {
  atMs: number;
  valueMs: number;
}

/** Nearest-rank percentile of sorted values: the value at rank ceil(p * n). */
export function nearestRank(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.max(1, Math.ceil(p * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1]!;
}

class SampleWindow {
  private samples: Sample[] = [];
  private head = 0;
  private readonly maxSamples: number;
  constructor(maxSamples: number) {
    this.maxSamples = maxSamples;
  }

  add(atMs: number, valueMs: number): void {
    this.samples.push({ atMs, valueMs });
    if (this.samples.length - this.head > this.maxSamples) this.head++;
    if (this.head > 4096 && this.head * 2 > this.samples.length) {
      this.samples = this.samples.slice(this.head);
      this.head = 0;
    }
  }

  values(sinceMs: number): number[] {
    while (this.head < this.samples.length && this.samples[this.head]!.atMs < sinceMs) this.head++;
    const out: number[] = [];
    for (let i = this.head; i < this.samples.length; i++) out.push(this.samples[i]!.valueMs);
    return out;
  }
}

/** Event counts in one-second buckets, summed over the window. */
class CountWindow {
  private buckets = new Map<number, number>();
  add(atMs: number, n = 1): void {
    const key = Math.floor(atMs / 1000);
    this.buckets.set(key, (this.buckets.get(key) ?? 0) + n);
  }
  sum(sinceMs: number): number {
    const first = Math.floor(sinceMs / 1000);
    let total = 0;
    for (const [key, n] of this.buckets) {
      if (key < first) this.buckets.delete(key);
      else total += n;
    }
    return total;
  }
}

export interface WindowFigures {
  waitMs: Percentiles;
  runMs: Percentiles & { mean: number };
  /** Attempts that ended (any outcome) per minute over the window. */
  throughputPerMin: number;
  /** Successful attempts / ended attempts in the window; 1 before any ended. */
  successRate: number;
  /** Attempts that ended in the window. */
  ended: number;
  /** Stalls detected in the window. */
  recentStalls: number;
  /** Workers that crashed (ended on their own) in the window. */
  recentCrashes: number;
  /** Measured worker start-ups (spawn to ready) of workers that became ready in the window. */
  startupMs: Percentiles;
}

export class PoolWindow {
  readonly windowMs: number;
  private readonly waits: SampleWindow;
  private readonly runs: SampleWindow;
  private readonly successes = new CountWindow();
  private readonly failures = new CountWindow();
  private readonly stalls = new CountWindow();
  private readonly crashes = new CountWindow();
  private readonly startups: SampleWindow;
  /** The last start-up measured, kept past the window so a pool that has not started a worker lately still knows it. */
  private lastStartupMs: number | null = null;
  private readonly startedAtMs: number;

  constructor(windowMs: number, startedAtMs: number, maxSamples = 2048) {
    this.windowMs = windowMs;
    this.startedAtMs = startedAtMs;
    this.waits = new SampleWindow(maxSamples);
    this.runs = new SampleWindow(maxSamples);
    this.startups = new SampleWindow(maxSamples);
  }

  recordStartup(atMs: number, startupMs: number): void {
    this.startups.add(atMs, Math.max(0, startupMs));
    this.lastStartupMs = Math.max(0, startupMs);
  }

  recordCrash(atMs: number): void {
    this.crashes.add(atMs);
  }

  recordStart(atMs: number, waitMs: number): void {
    this.waits.add(atMs, Math.max(0, waitMs));
  }

  recordEnd(atMs: number, runMs: number, succeeded: boolean): void {
    this.runs.add(atMs, Math.max(0, runMs));
    (succeeded ? this.successes : this.failures).add(atMs);
  }

  recordStall(atMs: number): void {
    this.stalls.add(atMs);
  }

  figures(nowMs: number): WindowFigures {
    const sinceMs = nowMs - this.windowMs;
    const waits = this.waits.values(sinceMs).sort((a, b) => a - b);
    const runs = this.runs.values(sinceMs).sort((a, b) => a - b);
    const startups = this.startups.values(sinceMs).sort((a, b) => a - b);
    // No worker became ready within the window: the last one measured still stands.
    if (startups.length === 0 && this.lastStartupMs !== null) startups.push(this.lastStartupMs);
    const ok = this.successes.sum(sinceMs);
    const bad = this.failures.sum(sinceMs);
    const ended = ok + bad;
    // Before a full window has passed, rate over the time elapsed so far.
    const spanMs = Math.max(1000, Math.min(this.windowMs, nowMs - this.startedAtMs));
    return {
      waitMs: { p50: nearestRank(waits, 0.5), p95: nearestRank(waits, 0.95), p99: nearestRank(waits, 0.99), count: waits.length },
      runMs: {
        p50: nearestRank(runs, 0.5),
        p95: nearestRank(runs, 0.95),
        p99: nearestRank(runs, 0.99),
        count: runs.length,
        mean: runs.length ? runs.reduce((a, b) => a + b, 0) / runs.length : 0,
      },
      throughputPerMin: (ended * 60_000) / spanMs,
      successRate: ended === 0 ? 1 : ok / ended,
      ended,
      recentStalls: this.stalls.sum(sinceMs),
      recentCrashes: this.crashes.sum(sinceMs),
      startupMs: { p50: nearestRank(startups, 0.5), p95: nearestRank(startups, 0.95), p99: nearestRank(startups, 0.99), count: startups.length },
    };
  }
}
