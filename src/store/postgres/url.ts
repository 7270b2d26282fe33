// The PostgreSQL adapter's own URL options, read from the parsed store URL (src/store/url.ts
// parses the URL itself: user, password, host, port, database, schema, sslmode):
//   poolSize=N   connections for queries (default 4, 1..100), besides the one that LISTENs
// It is taken out of the connection string before the driver sees it.
import { ConfigInvalidError, redactStoreUrl } from '../../core/index.ts';
import type { PostgresUrl } from '../url.ts';

/** Query connections per store (1..100); the LISTEN connection comes on top. */
export const DEFAULT_PG_POOL_SIZE = 4;
export const MAX_PG_POOL_SIZE = 100;

export interface PostgresConnection {
  /** What the driver connects with. */
  connectionString: string;
  schema: string;
  poolSize: number;
  /** The URL as messages show it, password replaced. */
  redactedUrl: string;
}

export function postgresConnection(url: PostgresUrl): PostgresConnection {
  const redactedUrl = redactStoreUrl(url.connectionString + (url.schema ? `${url.connectionString.includes('?') ? '&' : '?'}schema=${url.schema}` : ''));
  let poolSize = DEFAULT_PG_POOL_SIZE;
  const raw = url.driverParams.poolSize;
  if (raw !== undefined) {
    poolSize = Number(raw);
    if (!Number.isSafeInteger(poolSize) || poolSize < 1 || poolSize > MAX_PG_POOL_SIZE) {
      throw new ConfigInvalidError([`store ${redactedUrl}: option poolSize=${JSON.stringify(raw)}; expected an integer in [1, ${MAX_PG_POOL_SIZE}]`]);
    }
  }
  const u = new URL(url.connectionString);
  u.searchParams.delete('poolSize');
  return { connectionString: u.href.replace(/\?$/, ''), schema: url.schema, poolSize, redactedUrl };
}
