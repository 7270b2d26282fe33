// What the server needs from the running queue. The CLI (`tidepool start`) adapts
// createTidepool()'s pools and autoscaler to these shapes, so the server room depends
// only on interfaces.
import { OPTIONS } from '../core/index.ts';
import type { Clock, PoolStats, WorkerInfo } from '../core/index.ts';
import type { Store } from '../store/index.ts';
import type { ServerFaults } from './store-watch.ts';
import type { RemotePool } from '../pools/index.ts';
import type { ClusterNode } from '../cluster/index.ts';

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
  /** This process's node when it runs in a cluster (GET /v1/nodes, the pools' cluster figures). */
  cluster?: ClusterNode | null;
  pools(): PoolControl[];
  /** Pools whose workers pull over /v1/workers (kind `remote`). */
  remotePools?(): RemotePool[];
  /** Stops the pools: running tasks get up to timeoutMs to finish. */
  drain?(timeoutMs: number): Promise<void>;
  /** Completion callbacks (a submit's callbackUrl); absent: submits with one are refused (400). */
  callbacks?: CallbackIntake;
}

/** What the submit routes need of completion callbacks (src/callbacks/ implements it; `tidepool start` wires it). */
export interface CallbackIntake {
  /** Why a callback may not go to this URL (e.g. it resolves to a private address), or null when it may. */
  urlProblem(url: string): Promise<string | null>;
  /** Records, before the submit is answered, that the task's end goes to url (isNew: the submit created the task). */
  register(task: { id: string; tenant: string }, url: string, isNew: boolean): Promise<void>;
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
  /**
   * Tenants allowed to change pools (PATCH /v1/pools/{name}, POST /v1/pools/{name}/scale).
   * Empty/undefined: every tenant may. Ignored without apiKeys (the one `default` tenant).
   */
  adminTenants?: readonly string[];
  /** null/undefined = off (the default). */
  rateLimit?: RateLimitOptions | null;
  /** Largest request body in bytes (default 1 MiB). */
  bodyLimitBytes?: number;
  /** A request's headers must arrive within this long (default 10 s; capped at requestTimeoutMs). */
  headersTimeoutMs?: number;
  /** A whole request (headers and body) must arrive within this long (default 30 s). */
  requestTimeoutMs?: number;
  /** An idle keep-alive connection closes after this long (default 65 s). */
  idleTimeoutMs?: number;
  /** Ended tasks are purged this long after they end (default 7 days; 0 = keep forever). */
  retentionMs?: number;
  /** How often the dashboard stream sends a snapshot (default 1000 ms). */
  streamIntervalMs?: number;
  /**
   * Server-level fault tracking for /health. `tidepool start` passes the one whose
   * watchStore() wraps the store the pools and autoscaler use; by default the server
   * watches only its own store calls.
   */
  faults?: ServerFaults;
  /** /health answers 503 once a timer runs this late (the event loop stalled); default 2000 ms. */
  stallMs?: number;
  /** Log every request (fastify's logger at info) — off in tests. Warnings and 500s are logged either way. */
  isLogging?: boolean;
  /** Where log lines (JSON, one a line) go; default stdout. Tests pass a sink to read them. */
  logStream?: { write(line: string): void };
}

/** The default of a `server.*` option, read from the one option table (src/core/config.ts). */
function serverDefault<T>(name: string): T {
  const row = OPTIONS.find((o) => o.path === `server.${name}`);
  if (!row || row.default === undefined) throw new Error(`no default for server.${name} in the option table`);
  return row.default as T;
}

/** Defaults when TidepoolServer.create/listen are not told otherwise (units: ms, bytes). */
export const SERVER_DEFAULTS = {
  port: serverDefault<number>('port'),
  host: serverDefault<string>('host'),
  bodyLimitBytes: serverDefault<number>('bodyLimitBytes'),
  headersTimeoutMs: serverDefault<number>('headersTimeoutMs'),
  requestTimeoutMs: serverDefault<number>('requestTimeoutMs'),
  idleTimeoutMs: serverDefault<number>('idleTimeoutMs'),
  retentionMs: serverDefault<number>('retentionMs'),
  streamIntervalMs: serverDefault<number>('streamIntervalMs'),
  drainTimeoutMs: serverDefault<number>('drainTimeoutMs'),
} as const;
