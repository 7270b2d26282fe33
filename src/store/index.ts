// The store room's door: the Store interface, `openStore(url, options)` that picks an
// adapter from a URL, and the option defaults other rooms document and validate against.
import { StoreUnavailableError, redactStoreUrl } from '../core/index.ts';
import { applyStoreSettings, parseStoreUrl } from './url.ts';
import type { StoreSettings } from './url.ts';
import type { Store, StoreOptions } from './types.ts';
import { MemoryStore } from './memory/memory-store.ts';
import { SqliteStore } from './sqlite/sqlite-store.ts';
import { RedisStore } from './redis/redis-store.ts';
import { PostgresStore } from './postgres/postgres-store.ts';

export type * from './types.ts';
export { MemoryStore } from './memory/memory-store.ts';
export { SqliteStore } from './sqlite/sqlite-store.ts';
export { RedisStore } from './redis/redis-store.ts';
export { PostgresStore } from './postgres/postgres-store.ts';
export { DEFAULT_PG_POOL_SIZE } from './postgres/url.ts';
export {
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_MAX_QUEUE_DEPTH,
  DEFAULT_RETRY_BASE_MS,
  DEFAULT_RETRY_JITTER,
  DEFAULT_RETRY_MAX_MS,
  DEFAULT_TASK_TIMEOUT_MS,
  DEFAULT_TENANT,
  DEFAULT_TENANT_CONCURRENCY,
  MAX_CLAIM_LIMIT,
  MAX_LIST_LIMIT,
} from './shared/options.ts';
export { backoffMs } from './shared/backoff.ts';
export {
  DEFAULT_FINISHED_RETENTION_MS,
  DEFAULT_MAINTENANCE_INTERVAL_MS,
  DEFAULT_METRIC_SAMPLE_RETENTION_MS,
  DEFAULT_SCALING_EVENT_RETENTION_MS,
  MaintenanceLoop,
  resolveMaintenancePolicy,
} from './shared/maintenance.ts';
export type { MaintenanceLoopOptions } from './shared/maintenance.ts';
export { DatabaseClock } from './shared/db-clock.ts';
export { finishedOf } from './shared/events.ts';
export * as transitions from './transitions.ts';

export {
  DEFAULT_BUSY_TIMEOUT_MS,
  DEFAULT_DURABILITY,
  DEFAULT_POSTGRES_SCHEMA,
  DEFAULT_REDIS_PREFIX,
  POSTGRES_SSLMODES,
  SUPPORTED_STORE_URLS,
  applyStoreSettings,
  parseStoreUrl,
} from './url.ts';
export type { PostgresUrl, RedisUrl, SqliteUrlOptions, StoreKind, StoreSettings, StoreUrl } from './url.ts';

export interface OpenStoreExtras {
  /**
   * Adapter settings given outside the URL (config key, env var, flag). The URL's own
   * option wins over the same setting given here, with a warning.
   */
  settings?: StoreSettings;
  /** Where `settings` came from, for the warning (default "the store settings"). */
  settingsSource?: string;
  /** Receives warnings (default: process.emitWarning). */
  onWarning?: (message: string) => void;
}

/**
 * Opens the store a URL names (see src/store/url.ts): `memory`, `sqlite:PATH` (created if
 * missing), `redis://` / `rediss://`; `postgres://` once its adapter is present.
 */
export async function openStore(url: string, options: StoreOptions = {}, extras: OpenStoreExtras = {}): Promise<Store> {
  const warn = extras.onWarning ?? ((message: string) => process.emitWarning(message, { code: 'TIDEPOOL_STORE_OPTION' }));
  const parsed = applyStoreSettings(parseStoreUrl(url), extras.settings ?? {}, extras.settingsSource ?? 'the store settings', warn);
  switch (parsed.kind) {
    case 'memory':
      return new MemoryStore(options);
    case 'sqlite':
      return SqliteStore.open(parsed.path, options, parsed.options);
    case 'redis':
      return RedisStore.open(parsed, options, redactStoreUrl(url));
    case 'postgres':
      return PostgresStore.open(parsed, options);
    default: {
      const never: never = parsed;
      throw new Error(`unhandled store kind ${JSON.stringify(never)}`);
    }
  }
}
