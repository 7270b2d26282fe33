// Server-level faults that /health answers 503 for (pool verdicts never do):
//   - the store refuses writes: the most recent write anyone in this process made
//     (a submit, a claim, a heartbeat, a result, a scaling event or metric sample) failed
//     with StoreUnavailable (a full disk, a read-only file, a lost lock) within the last
//     WRITE_FAULT_WINDOW_MS, and no write succeeded after it;
//   - the store does not answer: /health's own read failed or took over STORE_PROBE_MS;
//   - the event loop stalled: a timer armed every LOOP_TICK_MS ran over stallMs late
//     within the last STALL_WINDOW_MS (or is that late now).
// watchStore() wraps a Store so every call reports its outcome here; `tidepool start`
// hands the wrapped store to the pools and the autoscaler as well as to the routes.
import { StoreUnavailableError } from '../core/index.ts';
import type { Clock, TimerHandle } from '../core/index.ts';
import type { Store } from '../store/index.ts';
import { redactServerDetails } from './errors.ts';

/** A failed write keeps /health at 503 this long unless a later write succeeds. */
export const WRITE_FAULT_WINDOW_MS = 30_000;
/** /health's store read must answer within this long. */
export const STORE_PROBE_MS = 2_000;
/** The event-loop probe's period. */
export const LOOP_TICK_MS = 250;
/** A stall this long ago or less still counts. */
export const STALL_WINDOW_MS = 30_000;
/** Default: a timer more than this late means the event loop stalled. */
export const DEFAULT_STALL_MS = 2_000;

/** Store methods that change the store; the others only read. */
const WRITES = new Set(['submit', 'submitBatch', 'claim', 'heartbeat', 'complete', 'fail', 'cancel', 'retryDead', 'reclaimExpired', 'purgeFinished', 'recordScalingEvent', 'recordMetricSample']);
/**
 * Writes that may succeed without writing anything (nothing to claim, reclaim or purge):
 * their success proves the disk takes writes only when they changed something.
 */
const MAYBE_NOOP: Record<string, (result: unknown) => boolean> = {
  claim: (r) => Array.isArray(r) && r.length > 0,
  reclaimExpired: (r) => typeof r === 'number' && r > 0,
  purgeFinished: (r) => typeof r === 'number' && r > 0,
  submitBatch: (r) => Array.isArray(r) && r.length > 0,
};

const watched = new WeakSet<Store>();

interface Failure {
  atMs: number;
  message: string;
}

export class ServerFaults {
  private readonly clock: Clock;
  private readonly stallMs: number;
  private lastWriteOkAtMs = -Infinity;
  private lastWriteFailure: Failure | null = null;
  private lastReadFailure: Failure | null = null;
  private lastReadOkAtMs = -Infinity;
  private worstStall: { atMs: number; lateMs: number } | null = null;
  private loopTimer: TimerHandle | null = null;
  private nextTickAtMs = 0;

  constructor(clock: Clock, options: { stallMs?: number } = {}) {
    this.clock = clock;
    this.stallMs = options.stallMs ?? DEFAULT_STALL_MS;
  }

  noteWrite(error?: unknown): void {
    const nowMs = this.clock.now();
    if (error === undefined) this.lastWriteOkAtMs = nowMs;
    else if (error instanceof StoreUnavailableError) this.lastWriteFailure = { atMs: nowMs, message: error.message };
  }

  noteRead(error?: unknown): void {
    const nowMs = this.clock.now();
    if (error === undefined) this.lastReadOkAtMs = nowMs;
    else if (error instanceof StoreUnavailableError) this.lastReadFailure = { atMs: nowMs, message: error.message };
  }

  /** Starts the event-loop probe (idempotent). */
  startLoopProbe(): void {
    if (this.loopTimer) return;
    const arm = () => {
      this.nextTickAtMs = this.clock.now() + LOOP_TICK_MS;
      this.loopTimer = this.clock.setTimer(() => {
        this.noteLateness(this.clock.now() - this.nextTickAtMs);
        arm();
      }, LOOP_TICK_MS);
    };
    arm();
  }

  stopLoopProbe(): void {
    this.loopTimer?.cancel();
    this.loopTimer = null;
  }

  private noteLateness(lateMs: number): void {
    if (lateMs <= this.stallMs) return;
    const nowMs = this.clock.now();
    const stillCounts = this.worstStall && nowMs - this.worstStall.atMs <= STALL_WINDOW_MS;
    if (!stillCounts || lateMs >= this.worstStall!.lateMs) this.worstStall = { atMs: nowMs, lateMs };
  }

  /** The server-level faults now, each a sentence (empty: the server can serve). */
  faults(): string[] {
    const nowMs = this.clock.now();
    const out: string[] = [];
    const w = this.lastWriteFailure;
    if (w && w.atMs > this.lastWriteOkAtMs && nowMs - w.atMs <= WRITE_FAULT_WINDOW_MS) {
      out.push(`the store refuses writes: the last write, ${Math.max(0, nowMs - w.atMs)} ms ago, failed (${redactServerDetails(w.message)}) and none succeeded since`);
    }
    const r = this.lastReadFailure;
    if (r && r.atMs > this.lastReadOkAtMs && nowMs - r.atMs <= WRITE_FAULT_WINDOW_MS) {
      out.push(`the store does not answer reads (${redactServerDetails(r.message)})`);
    }
    if (this.loopTimer) this.noteLateness(nowMs - this.nextTickAtMs);
    const s = this.worstStall;
    if (s && nowMs - s.atMs <= STALL_WINDOW_MS) {
      out.push(`the event loop stalled: a timer ran ${Math.round(s.lateMs)} ms late ${Math.max(0, nowMs - s.atMs)} ms ago (limit ${this.stallMs} ms)`);
    }
    return out;
  }
}


/**
 * The same store, reporting the outcome of every call to `faults`: writes to noteWrite,
 * reads to noteRead. Errors pass through unchanged.
 */
export function watchStore(store: Store, faults: ServerFaults): Store {
  if (watched.has(store)) return store;
  const proxy = new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function' || typeof prop !== 'string' || prop === 'subscribe' || prop === 'close') {
        return typeof value === 'function' ? value.bind(target) : value;
      }
      const isWrite = WRITES.has(prop);
      const wrote = Object.hasOwn(MAYBE_NOOP, prop) ? MAYBE_NOOP[prop] : () => true;
      const fail = (e: unknown) => (isWrite ? faults.noteWrite(e) : faults.noteRead(e));
      const succeed = (v: unknown) => {
        if (!isWrite) faults.noteRead();
        else if (wrote(v)) faults.noteWrite();
      };
      return (...args: unknown[]) => {
        let result: unknown;
        try {
          result = value.apply(target, args);
        } catch (err) {
          fail(err);
          throw err;
        }
        if (result instanceof Promise) {
          return result.then(
            (v) => {
              succeed(v);
              return v;
            },
            (err) => {
              fail(err);
              throw err;
            },
          );
        }
        succeed(result);
        return result;
      };
    },
  });
  watched.add(proxy);
  return proxy;
}
