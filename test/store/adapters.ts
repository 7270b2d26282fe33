// Every store the contract suite runs against, one entry each. An adapter registers by
// adding an entry here (PostgreSQL and Redis: a `probe` that checks the server answers,
// a namespace that creates its own schema / key prefix and `drop`s it afterwards).
import { join } from 'node:path';
import { openStore } from '../../src/store/index.ts';
import type { StoreCapability, StoreOptions, Store } from '../../src/store/index.ts';
import { tempDir } from './helpers.ts';
import { REDIS_URL, dropPrefix, probeRedis } from './redis-helpers.ts';
import { PG_URL, dropSchema, probePostgres } from './postgres-helpers.ts';

/** A fresh, isolated place for one test's data; `open` may be called again (or twice, for two nodes). */
export interface StoreNamespace {
  /** The store URL of this namespace (for child processes and CLI runs). */
  url: string;
  open(options: StoreOptions): Promise<Store>;
  /** Removes what the namespace created (a schema, a key prefix); called after the test. */
  drop?(): Promise<void>;
}

export interface StoreAdapter {
  name: string;
  capabilities: readonly StoreCapability[];
  namespace(): StoreNamespace;
  /** For server stores: resolves when the server answers, rejects with why not. */
  probe?(): Promise<void>;
  /** What the probe looks for, in the skip message ("PostgreSQL at 127.0.0.1:5432"). */
  server?: string;
}

/** A random suffix for schema names and key prefixes: tests sharing a server never collide. */
export function randomSuffix(): string {
  return `${process.pid.toString(36)}_${Math.random().toString(36).slice(2, 10)}`;
}

// Created while the file loads (a tempDir made inside a test would go when that test ends).
const sqliteDir = tempDir('tidepool-contract-');
let sqliteFiles = 0;

export const STORE_ADAPTERS: StoreAdapter[] = [
  {
    name: 'memory',
    capabilities: [],
    namespace: () => ({ url: 'memory', open: (options) => openStore('memory', options) }),
  },
  {
    name: 'sqlite',
    capabilities: ['durable', 'multiProcess'],
    namespace: () => {
      const url = `sqlite:${join(sqliteDir, `contract-${++sqliteFiles}.db`)}`;
      return { url, open: (options) => openStore(url, options) };
    },
  },
  {
    name: 'redis',
    capabilities: ['durable', 'multiProcess', 'listenNotify', 'databaseClock'],
    server: `Redis at ${REDIS_URL}`,
    probe: probeRedis,
    namespace: () => {
      const prefix = `tp-test-${randomSuffix()}`;
      const url = `${REDIS_URL}${REDIS_URL.includes('?') ? '&' : '?'}prefix=${prefix}`;
      return { url, open: (options) => openStore(url, options), drop: () => dropPrefix(prefix) };
    },
  },
  {
    name: 'postgres',
    capabilities: ['durable', 'multiProcess', 'listenNotify', 'databaseClock'],
    server: `PostgreSQL at ${PG_URL}`,
    probe: probePostgres,
    namespace: () => {
      const schema = `tp_contract_${randomSuffix()}`;
      const url = `${PG_URL}${PG_URL.includes('?') ? '&' : '?'}schema=${schema}`;
      return { url, open: (options) => openStore(url, options), drop: () => dropSchema(schema) };
    },
  },
];
