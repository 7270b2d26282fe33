// The dashboard's live feed: one ticker (on the injected Clock) takes a snapshot of
// every pool each interval, keeps the last few minutes in memory, and sends it to
// every connected server-sent-events client; scaling events go out as they happen.
import type { ServerResponse } from 'node:http';
import type { Clock, ScalingEvent, StatusCounts, TimerHandle } from '../core/index.ts';
import type { FinishedTask } from '../store/index.ts';
import type { ServerRuntime } from './types.ts';
import { summarizePool, type PoolSummary } from './pool-view.ts';

/** Snapshots kept for a dashboard that connects late (at 1 s: 10 minutes). */
export const FEED_HISTORY = 600;
/** Scaling events kept in memory for new clients. */
export const FEED_EVENTS = 100;
/** Ended tasks are sent at most this often, ms, as one `finished` message {count, tasks}. */
export const FINISHED_FLUSH_MS = 100;
/** Tasks listed in one `finished` message (count says how many ended). */
export const FINISHED_MAX = 100;

export interface PoolSnapshot extends PoolSummary {
  p95WaitMs: number;
}

export interface Snapshot {
  atMs: number;
  pools: PoolSnapshot[];
  tasks: StatusCounts | null;
}

export class LiveFeed {
  private readonly runtime: ServerRuntime;
  private readonly clock: Clock;
  private readonly intervalMs: number;
  private readonly onError: (err: unknown) => void;
  private readonly clients = new Set<ServerResponse>();
  private readonly history: Snapshot[] = [];
  private readonly events: ScalingEvent[] = [];
  private timer: TimerHandle | null = null;
  private isTicking = false;
  /** Newest scaling event seen, and the events at exactly that instant (to skip them next poll). */
  private seenAtMs = -1;
  private seenKeys = new Set<string>();
  private readonly onEvent: (event: ScalingEvent) => void;
  /** Tasks that ended since the last `finished` message (store events: on PostgreSQL and Redis, from every node). */
  private ended: FinishedTask[] = [];
  private endedCount = 0;
  private flushTimer: TimerHandle | null = null;
  private unsubscribe: (() => void) | null = null;

  /**
   * `onEvent` hears every scaling event the store records (from this process or
   * another sharing the store), once, shortly after it is recorded.
   */
  constructor(fields: { runtime: ServerRuntime; clock: Clock; intervalMs: number; onError: (err: unknown) => void; onEvent: (event: ScalingEvent) => void }) {
    this.runtime = fields.runtime;
    this.clock = fields.clock;
    this.intervalMs = fields.intervalMs;
    this.onError = fields.onError;
    this.onEvent = fields.onEvent;
  }

  async start(): Promise<void> {
    // Events from before the start fill the list but are not counted again.
    try {
      const nowMs = this.clock.now();
      const recent = await this.runtime.store.listScalingEvents({ fromMs: nowMs - 3_600_000, toMs: nowMs, limit: 10_000 });
      for (const e of recent.slice(-FEED_EVENTS)) this.events.push(e);
      this.markSeen(recent);
    } catch (err) {
      this.onError(err);
    }
    this.schedule();
    // Ends go out as they happen (coalesced over FINISHED_FLUSH_MS), not with the next snapshot.
    this.unsubscribe = this.runtime.store.subscribe((event) => {
      if (event.kind !== 'finished' || this.clients.size === 0) return;
      this.endedCount++;
      if (this.ended.length < FINISHED_MAX) this.ended.push(event.task);
      this.flushTimer ??= this.clock.setTimer(() => this.flushEnded(), FINISHED_FLUSH_MS);
    });
  }

  private flushEnded(): void {
    this.flushTimer = null;
    const data = { count: this.endedCount, tasks: this.ended };
    this.ended = [];
    this.endedCount = 0;
    for (const res of this.clients) send(res, 'finished', data);
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.flushTimer?.cancel();
    this.flushTimer = null;
    this.timer?.cancel();
    this.timer = null;
    for (const res of this.clients) res.end();
    this.clients.clear();
  }

  get clientCount(): number {
    return this.clients.size;
  }

  /** Takes over a response: sends the history, then every snapshot and event as it comes. */
  attach(res: ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write(`retry: 2000\n\n`);
    send(res, 'hello', { intervalMs: this.intervalMs, history: this.history, events: this.events });
    this.clients.add(res);
    res.on('close', () => this.clients.delete(res));
  }

  private markSeen(events: readonly ScalingEvent[]): ScalingEvent[] {
    const fresh: ScalingEvent[] = [];
    for (const e of events) {
      const key = eventKey(e);
      if (e.atMs < this.seenAtMs || (e.atMs === this.seenAtMs && this.seenKeys.has(key))) continue;
      if (e.atMs > this.seenAtMs) {
        this.seenAtMs = e.atMs;
        this.seenKeys = new Set();
      }
      this.seenKeys.add(key);
      fresh.push(e);
    }
    return fresh;
  }

  /** Reads scaling events recorded since the last poll and passes each new one on. */
  private async pollEvents(): Promise<void> {
    const nowMs = this.clock.now();
    const fromMs = this.seenAtMs >= 0 ? this.seenAtMs : nowMs - this.intervalMs * 10;
    const events = await this.runtime.store.listScalingEvents({ fromMs, toMs: Math.max(nowMs, fromMs), limit: 10_000 });
    events.sort((a, b) => a.atMs - b.atMs);
    for (const e of this.markSeen(events)) {
      this.events.push(e);
      if (this.events.length > FEED_EVENTS) this.events.shift();
      this.onEvent(e);
      for (const res of this.clients) send(res, 'scaling', e);
    }
  }

  private schedule(): void {
    this.timer = this.clock.setTimer(() => void this.tick(), this.intervalMs);
  }

  private async tick(): Promise<void> {
    if (this.isTicking) return;
    this.isTicking = true;
    try {
      await this.pollEvents();
      const snap = await this.snapshot();
      this.history.push(snap);
      if (this.history.length > FEED_HISTORY) this.history.shift();
      for (const res of this.clients) send(res, 'snapshot', snap);
    } catch (err) {
      this.onError(err);
    } finally {
      this.isTicking = false;
      if (this.timer) this.schedule();
    }
  }

  async snapshot(): Promise<Snapshot> {
    const pools = this.runtime.pools().map((p): PoolSnapshot => ({ ...summarizePool(p), p95WaitMs: p.stats().waitMs.p95 }));
    let tasks: StatusCounts | null = null;
    try {
      tasks = (await this.runtime.store.counts()).byStatus;
    } catch (err) {
      this.onError(err);
    }
    return { atMs: this.clock.now(), pools, tasks };
  }
}

function send(res: ServerResponse, event: string, data: unknown): void {
  if (res.writableEnded || res.destroyed) return;
  res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

function eventKey(e: ScalingEvent): string {
  return `${e.pool}|${e.code}|${e.from}|${e.to}|${e.reason}`;
}
