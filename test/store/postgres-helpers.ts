// Test helpers for the PostgreSQL store: the server URL (TIDEPOOL_TEST_PG_URL, default the
// local trust-auth server), a probe for servers.ts, and fresh schemas with random suffixes
// that are dropped when the test file ends.
import { randomBytes } from 'node:crypto';
import { after } from 'node:test';
import pg from 'pg';
import { serverSkip } from './servers.ts';

export const PG_URL = process.env.TIDEPOOL_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Resolves when the server answers a query; rejects with why not. */
export async function probePostgres(): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 10_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
  } finally {
    await client.end().catch(() => undefined);
  }
}

let probed: Promise<string | false> | null = null;

/** false when the server answers; else the skip message (under CI=true a failing test is registered). */
export function pgSkip(): Promise<string | false> {
  probed ??= serverSkip(`PostgreSQL at ${PG_URL}`, probePostgres);
  return probed;
}

/** Runs one statement on the server as an admin connection (EXPLAIN, pg_terminate_backend, setup). */
export async function adminQuery<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: PG_URL });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return (await client.query<R>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

export async function dropSchema(schema: string): Promise<void> {
  await adminQuery(`DROP SCHEMA IF EXISTS "${schema.replace(/"/g, '""')}" CASCADE`);
}

const created: string[] = [];

/** A fresh schema name (created by the store on first use), dropped after the file's tests. */
export function freshSchema(prefix = 'tp_test'): string {
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  created.push(name);
  return name;
}

export function schemaUrl(schema: string, extra = ''): string {
  return `${PG_URL}${PG_URL.includes('?') ? '&' : '?'}schema=${schema}${extra}`;
}

after(async () => {
  for (const name of created.splice(0)) await dropSchema(name).catch(() => undefined);
});
