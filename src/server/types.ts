// What the server needs from the running queue. The CLI (`tidepool start`) adapts
// createTidepool()'s pools and autoscaler to these shapes, so the server room depends
// only on interfaces.
import type { Clock, PoolStats, WorkerInfo } from '../core/index.ts';
import type { Store } from '../store/index.ts';

export interface PoolChange {
  min?: number;
  max?: number;
  policy?: string;
  preset?: string;
}

export interface PoolControl {
  readonly name: string;
  stats(): PoolStats;
  workers(): WorkerInfo[];
  /** The policy deciding this pool's size, and its preset (null when none). */
  policy(): { name: string; preset: string | null };
  /** Changes bounds and/or policy at runtime; throws InvalidInputError naming the field when refused. */
  update(change: PoolChange): void | Promise<void>;
  /** Sets the worker count by hand (the server has checked min..max). */
  scaleTo(count: number): void | Promise<void>;
}

export interface ServerRuntime {
  store: Store;
  pools(): PoolControl[];
  /** Stops the pools: running tasks get up to timeoutMs to finish. */
  drain?(timeoutMs: number): Promise<void>;
}

export interface RateLimitOptions {
  /** Sustained requests per second over the whole API (seed 001: 30). */
  ratePerSec: number;
  /** Requests allowed in a burst (default: ratePerSec). */
  burst?: number;
}

export interface ServerOptions {
  runtime: ServerRuntime;
  clock: Clock;
  /** tenant=key pairs; empty = one `default` tenant, loopback only. */
  apiKeys?: ReadonlyArray<{ tenant: string; key: string }>;
  /** null/undefined = off (the default). */
  rateLimit?: RateLimitOptions | null;
  /** Largest request body in bytes (default 1 MiB). */
  bodyLimitBytes?: number;
  /** Ended tasks are purged this long after they end (default 7 days; 0 = keep forever). */
  retentionMs?: number;
  /** How often the dashboard stream sends a snapshot (default 1000 ms). */
  streamIntervalMs?: number;
  /** Log requests (fastify's logger) — off in tests. */
  isLogging?: boolean;
}

export const SERVER_DEFAULTS = {
  /** TCP port (1..65535; 0 = ephemeral). */
  port: 7700,
  host: '127.0.0.1',
  /** 1 MiB. */
  bodyLimitBytes: 1_048_576,
  /** 7 days. */
  retentionMs: 7 * 24 * 3_600_000,
  streamIntervalMs: 1000,
  /** Time SIGTERM gives running tasks before they are aborted. */
  drainTimeoutMs: 30_000,
} as const;
