// The store room's door: the Store interface, `openStore(url, options)` that picks an
// adapter from a URL, and the option defaults other rooms document and validate against.
import { ConfigInvalidError } from '../core/index.ts';
import type { Store, StoreOptions } from './types.ts';
import { MemoryStore } from './memory/memory-store.ts';
import { SqliteStore } from './sqlite/sqlite-store.ts';

export type * from './types.ts';
export { MemoryStore } from './memory/memory-store.ts';
export { SqliteStore } from './sqlite/sqlite-store.ts';
export {
  DEFAULT_BUSY_TIMEOUT_MS,
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

export type StoreUrl = { kind: 'memory' } | { kind: 'sqlite'; path: string };

export const SUPPORTED_STORE_URLS = 'memory, sqlite:PATH (e.g. sqlite:./tidepool.db or sqlite:/var/lib/tidepool.db)';

/** Parses a store URL; ConfigInvalidError naming the value and what is supported. */
export function parseStoreUrl(url: string, source = 'store'): StoreUrl {
  const problem = (detail: string) =>
    new ConfigInvalidError([`${source}: got ${JSON.stringify(url)}; ${detail}; supported: ${SUPPORTED_STORE_URLS}`]);
  if (typeof url !== 'string') throw problem('expected a string');
  const trimmed = url.trim();
  if (trimmed === 'memory' || trimmed === 'memory:') return { kind: 'memory' };
  if (trimmed.startsWith('sqlite:')) {
    let path = trimmed.slice('sqlite:'.length);
    if (path.startsWith('//')) path = path.slice(2);
    if (path === '') throw problem('the SQLite file path is empty');
    return { kind: 'sqlite', path };
  }
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(trimmed)?.[1]?.toLowerCase();
  if (scheme === 'postgres' || scheme === 'postgresql' || scheme === 'redis' || scheme === 'rediss') {
    throw problem(`the ${scheme.startsWith('redis') ? 'Redis' : 'PostgreSQL'} store is not available yet (planned for a later release)`);
  }
  throw problem('unknown store kind');
}

/** Opens the store a URL names: `memory`, or `sqlite:PATH` (created if missing). */
export async function openStore(url: string, options: StoreOptions = {}): Promise<Store> {
  const parsed = parseStoreUrl(url);
  switch (parsed.kind) {
    case 'memory':
      return new MemoryStore(options);
    case 'sqlite': {
      return SqliteStore.open(parsed.path, options);
    }
    default: {
      const never: never = parsed;
      throw new Error(`unhandled store kind ${JSON.stringify(never)}`);
    }
  }
}
