// The Redis connections of one store: a command connection and a subscriber, both
// reconnecting forever in the background. Commands never wait in an offline queue and are
// never resent after a dropped connection (a resent submit could store a task twice):
// while Redis is away every call fails at once with StoreUnavailableError, which the HTTP
// API answers with 503 and Retry-After. Driver errors are translated here, in one place.
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import type { RedisOptions } from 'ioredis';
import { StoreUnavailableError } from '../../core/index.ts';
import type { RedisUrl } from '../url.ts';
import { SCRIPTS } from './lua-ops.ts';
import type { ScriptName } from './lua-ops.ts';

/** Longest wait between reconnect attempts, ms. */
export const MAX_RECONNECT_DELAY_MS = 1_000;
/** How long opening the store waits for a first connection before going on without one, ms. */
export const CONNECT_WAIT_MS = 2_000;

export function clientOptions(url: RedisUrl, name: string): RedisOptions {
  return {
    host: url.host,
    port: url.port,
    db: url.db,
    username: url.username ?? undefined,
    password: url.password ?? undefined,
    tls: url.tls ? { servername: url.host } : undefined,
    connectionName: name,
    lazyConnect: true,
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    enableAutoPipelining: false,
    connectTimeout: CONNECT_WAIT_MS,
    retryStrategy: (times: number) => Math.min(times * 50, MAX_RECONNECT_DELAY_MS),
  };
}

const SHAS = Object.fromEntries(
  Object.entries(SCRIPTS).map(([name, src]) => [name, createHash('sha1').update(src).digest('hex')]),
) as Record<ScriptName, string>;

/** Runs one operation's script: EVALSHA, loading it with EVAL when the server lacks it. */
export async function runScript(client: Redis, name: ScriptName, key: string, argv: (string | number)[]): Promise<unknown> {
  try {
    return await client.call('EVALSHA', [SHAS[name], 1, key, ...argv]);
  } catch (err) {
    if (err instanceof Error && err.message.startsWith('NOSCRIPT')) return client.call('EVAL', [SCRIPTS[name], 1, key, ...argv]);
    throw err;
  }
}

/** Whether the error means Redis could not be reached (as opposed to a refused command). */
export function isConnectionError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === 'ReplyError') return /^(LOADING|MASTERDOWN|READONLY|BUSY|TRYAGAIN|CLUSTERDOWN)\b/.test(err.message);
  return true;
}

/** The error a caller sees for a driver error during `doing`. */
export function translateRedisError(err: unknown, where: string, doing: string): Error {
  if (isConnectionError(err)) {
    const detail = err instanceof Error ? err.message : String(err);
    return new StoreUnavailableError(`Redis store ${where} is unavailable (${doing}): ${detail}`, { cause: err });
  }
  return new Error(`Redis store ${where}: ${doing} failed: ${(err as Error).message}`, { cause: err });
}

/** Connects, waiting at most CONNECT_WAIT_MS; on failure the client keeps retrying in the background. */
export async function connectInBackground(client: Redis): Promise<boolean> {
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  }
}
