// Store URLs: which adapter, where, and the adapter's own options. Adapter options belong
// to their adapter and live in the URL's query (a contract):
//   memory
//   sqlite:PATH[?durability=full|normal&busyTimeoutMs=N&foreignTables=allow]
//   postgres://[user[:password]@]host[:port]/database[?schema=NAME&sslmode=…]   (also postgresql://)
//   redis://[[user]:password@]host[:port][/DB][?prefix=NAME]                   (rediss:// for TLS)
// `schema=` / `prefix=` keep separate Tidepool queues in one database server (created on
// first use). Query options Tidepool does not know go to the PostgreSQL driver unchanged
// (sslmode, application_name, …); SQLite and Redis refuse unknown ones, naming the known.
// A setting given elsewhere too (config key, env, flag: see applyStoreSettings) loses to the
// URL, with a warning. Every message here shows the URL redacted (no password).
import { ConfigInvalidError, redactStoreUrl } from '../core/index.ts';
import type { Durability } from '../core/index.ts';

/** SQLite: acknowledge after fsync (`full`, the default) or survive only a killed process (`normal`). */
export const DEFAULT_DURABILITY: Durability = 'full';
/** SQLite: how long a writer waits for another process's lock, in ms (>= 0). */
export const DEFAULT_BUSY_TIMEOUT_MS = 5_000;
/** PostgreSQL: the schema Tidepool's tables live in unless `?schema=` names another. */
export const DEFAULT_POSTGRES_SCHEMA = 'tidepool';
/** Redis: the key prefix of Tidepool's keys unless `?prefix=` names another. */
export const DEFAULT_REDIS_PREFIX = 'tidepool';
export const DEFAULT_POSTGRES_PORT = 5432;
export const DEFAULT_REDIS_PORT = 6379;

export const POSTGRES_SSLMODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full', 'no-verify'] as const;
export type PostgresSslMode = (typeof POSTGRES_SSLMODES)[number];

export interface SqliteUrlOptions {
  durability: Durability;
  busyTimeoutMs: number;
  /** `allow`: add Tidepool's tables to a file that holds another program's tables (refused by default). */
  foreignTables?: 'refuse' | 'allow';
}

export interface PostgresUrl {
  kind: 'postgres';
  /** The URL for the `pg` driver: the user's URL without Tidepool's own options (scheme kept). */
  connectionString: string;
  host: string;
  port: number;
  database: string;
  user: string | null;
  /** Decoded; never print it (redactStoreUrl / redactSecrets). */
  password: string | null;
  schema: string;
  /** `sslmode=` as written, or null when absent. */
  sslmode: PostgresSslMode | null;
  /** Options passed to the driver as written (sslmode included). */
  driverParams: Record<string, string>;
}

export interface RedisUrl {
  kind: 'redis';
  /** The URL for the client without Tidepool's own options. */
  connectionString: string;
  host: string;
  port: number;
  /** The database number: the URL's path (`redis://host:6379/5` → 5), 0 when absent. */
  db: number;
  username: string | null;
  /** Decoded; never print it. */
  password: string | null;
  /** `rediss://` */
  tls: boolean;
  prefix: string;
}

export type StoreUrl =
  | { kind: 'memory' }
  | { kind: 'sqlite'; path: string; options: SqliteUrlOptions; /** Options the URL itself set. */ given: (keyof SqliteUrlOptions)[] }
  | PostgresUrl
  | RedisUrl;

export type StoreKind = StoreUrl['kind'];

export const SUPPORTED_STORE_URLS =
  'memory, sqlite:PATH[?durability=full|normal] (e.g. sqlite:./tidepool.db), postgres://[user[:password]@]host[:port]/database[?schema=NAME], redis://[:password@]host[:port][/DB][?prefix=NAME] (rediss:// for TLS)';

const SQLITE_OPTIONS = ['durability', 'busyTimeoutMs', 'foreignTables'] as const;
const REDIS_OPTIONS = ['prefix'] as const;
const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const PREFIX = /^[A-Za-z0-9_.:-]{1,100}$/;

/** Parses a store URL; ConfigInvalidError naming the (redacted) value, the problem and what is supported. */
export function parseStoreUrl(url: string, source = 'store'): StoreUrl {
  if (typeof url !== 'string') {
    throw new ConfigInvalidError([`${source}: got ${typeof url}; expected a store URL string; supported: ${SUPPORTED_STORE_URLS}`]);
  }
  const shown = JSON.stringify(redactStoreUrl(url));
  const problems: string[] = [];
  const problem = (detail: string) => problems.push(`${source}: got ${shown}; ${detail}`);
  const done = <T>(value: T): T => {
    if (problems.length) throw new ConfigInvalidError(problems);
    return value;
  };
  const trimmed = url.trim();
  if (trimmed === 'memory' || trimmed === 'memory:') return { kind: 'memory' };
  if (/^sqlite:/i.test(trimmed)) return done(parseSqlite(trimmed.slice('sqlite:'.length), problem));
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(trimmed)?.[1]?.toLowerCase();
  if (scheme === 'postgres' || scheme === 'postgresql') return done(parsePostgres(trimmed, problem));
  if (scheme === 'redis' || scheme === 'rediss') return done(parseRedis(trimmed, scheme === 'rediss', problem));
  problem(`unknown store kind; supported: ${SUPPORTED_STORE_URLS}`);
  return done({ kind: 'memory' });
}

function parseSqlite(rest: string, problem: (d: string) => void): StoreUrl {
  const q = rest.indexOf('?');
  let path = q < 0 ? rest : rest.slice(0, q);
  if (path.startsWith('//')) path = path.slice(2);
  if (path === '') problem('the SQLite file path is empty');
  const options: SqliteUrlOptions = { durability: DEFAULT_DURABILITY, busyTimeoutMs: DEFAULT_BUSY_TIMEOUT_MS };
  const given: (keyof SqliteUrlOptions)[] = [];
  if (q >= 0) {
    for (const [key, value] of new URLSearchParams(rest.slice(q + 1))) {
      switch (key) {
        case 'durability':
          if (value === 'full' || value === 'normal') options.durability = value;
          else problem(`option durability=${JSON.stringify(value)}; expected "full" or "normal"`);
          given.push('durability');
          break;
        case 'busyTimeoutMs': {
          const n = Number(value);
          if (value !== '' && Number.isSafeInteger(n) && n >= 0) options.busyTimeoutMs = n;
          else problem(`option busyTimeoutMs=${JSON.stringify(value)}; expected an integer >= 0 (ms)`);
          given.push('busyTimeoutMs');
          break;
        }
        case 'foreignTables':
          if (value === 'allow' || value === 'refuse') options.foreignTables = value;
          else problem(`option foreignTables=${JSON.stringify(value)}; expected "allow" (share a file that holds other programs' tables) or "refuse" (the default)`);
          given.push('foreignTables');
          break;
        default:
          problem(`unknown SQLite option ${JSON.stringify(key)}; known options: ${SQLITE_OPTIONS.join(', ')}`);
      }
    }
  }
  return { kind: 'sqlite', path, options, given };
}

function parseUrl(text: string, problem: (d: string) => void): URL | null {
  try {
    return new URL(text);
  } catch {
    problem('not a valid URL (a password with @ : / ? # must be percent-encoded)');
    return null;
  }
}

function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

function parsePostgres(text: string, problem: (d: string) => void): PostgresUrl {
  const u = parseUrl(text, problem);
  const empty: PostgresUrl = {
    kind: 'postgres', connectionString: '', host: '', port: DEFAULT_POSTGRES_PORT, database: '', user: null,
    password: null, schema: DEFAULT_POSTGRES_SCHEMA, sslmode: null, driverParams: {},
  };
  if (!u) return empty;
  let schema = DEFAULT_POSTGRES_SCHEMA;
  let sslmode: PostgresSslMode | null = null;
  const driverParams: Record<string, string> = {};
  for (const [key, value] of u.searchParams) {
    if (key === 'schema') {
      if (NAME.test(value)) schema = value;
      else problem(`option schema=${JSON.stringify(value)}; expected a name of letters, digits and _ (not starting with a digit), at most 63 characters`);
      continue;
    }
    if (key === 'sslmode') {
      if ((POSTGRES_SSLMODES as readonly string[]).includes(value)) sslmode = value as PostgresSslMode;
      else problem(`option sslmode=${JSON.stringify(value)}; expected one of ${POSTGRES_SSLMODES.join(', ')}`);
    }
    driverParams[key] = value;
  }
  const port = u.port === '' ? DEFAULT_POSTGRES_PORT : Number(u.port);
  const database = decode(u.pathname.replace(/^\//, ''));
  if (database.includes('/')) problem('the database name (the URL path) must not contain "/"');
  const host = decode(u.hostname.replace(/^\[|\]$/g, '')) || (driverParams.host ?? '');
  const rest = new URL(u.href);
  rest.searchParams.delete('schema');
  return {
    kind: 'postgres',
    connectionString: rest.href.replace(/\?$/, ''),
    host,
    port,
    database,
    user: u.username === '' ? null : decode(u.username),
    password: u.password === '' ? null : decode(u.password),
    schema,
    sslmode,
    driverParams,
  };
}

function parseRedis(text: string, tls: boolean, problem: (d: string) => void): RedisUrl {
  const u = parseUrl(text, problem);
  const empty: RedisUrl = {
    kind: 'redis', connectionString: '', host: '', port: DEFAULT_REDIS_PORT, db: 0, username: null, password: null,
    tls, prefix: DEFAULT_REDIS_PREFIX,
  };
  if (!u) return empty;
  let prefix = DEFAULT_REDIS_PREFIX;
  for (const [key, value] of u.searchParams) {
    if (key === 'prefix') {
      if (PREFIX.test(value)) prefix = value;
      else problem(`option prefix=${JSON.stringify(value)}; expected 1-100 characters of letters, digits and _ . : -`);
    } else problem(`unknown Redis option ${JSON.stringify(key)}; known options: ${REDIS_OPTIONS.join(', ')}`);
  }
  const path = u.pathname.replace(/^\//, '');
  let db = 0;
  if (path !== '') {
    if (/^\d{1,5}$/.test(path)) db = Number(path);
    else problem(`the path ${JSON.stringify('/' + path)} is the database number; expected an integer >= 0 (e.g. redis://host:6379/5)`);
  }
  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (host === '') problem('the Redis host is empty');
  const rest = new URL(u.href);
  rest.searchParams.delete('prefix');
  return {
    kind: 'redis',
    connectionString: rest.href.replace(/\?$/, ''),
    host,
    port: u.port === '' ? DEFAULT_REDIS_PORT : Number(u.port),
    db,
    username: u.username === '' ? null : decode(u.username),
    password: u.password === '' ? null : decode(u.password),
    tls,
    prefix,
  };
}

/** Adapter settings that may also be given outside the URL (config key, env var, flag). */
export interface StoreSettings {
  /** SQLite's `durability` (the `durability` config key, TIDEPOOL_DURABILITY, --durability). */
  durability?: Durability;
}

/**
 * Folds settings given outside the URL into a parsed URL: a setting the URL does not set
 * applies; one the URL sets differently loses, and `warn` says so (naming `source`).
 * Settings an adapter does not have are ignored (PostgreSQL and Redis have no `durability`:
 * they acknowledge what their server committed).
 */
export function applyStoreSettings(url: StoreUrl, settings: StoreSettings, source: string, warn: (message: string) => void): StoreUrl {
  if (url.kind !== 'sqlite' || settings.durability === undefined) return url;
  if (url.given.includes('durability')) {
    if (url.options.durability !== settings.durability) {
      warn(
        `store URL option durability=${url.options.durability} wins over durability ${JSON.stringify(settings.durability)} from ${source}`,
      );
    }
    return url;
  }
  return { ...url, options: { ...url.options, durability: settings.durability } };
}
