// Applies the versioned migrations of sql.ts to one schema. Safe when several processes
// start at once: each takes a session advisory lock keyed by the schema name, so one
// applies what is missing while the others wait and then find nothing left to do. Each
// migration runs in its own transaction with its version recorded in tidepool_migrations.
import type { PoolClient } from 'pg';
import { StoreUnavailableError } from '../../core/index.ts';
import { MIGRATIONS } from './sql.ts';

export const LATEST_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** A 53-bit key for an advisory lock on `what` in `schema` (FNV-1a; stable across processes). */
export function lockKey(schema: string, what: string): number {
  let h = 0xcbf29ce484222325n;
  for (const ch of Buffer.from(`tidepool:${schema}:${what}`)) {
    h ^= BigInt(ch);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return Number(h & 0x1fffffffffffffn);
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Brings `schema` to LATEST_VERSION; returns the versions it applied. */
export async function migrate(client: PoolClient, schema: string, label: string): Promise<number[]> {
  const key = lockKey(schema, 'migrate');
  const ident = quoteIdent(schema);
  await client.query('SELECT pg_advisory_lock($1::bigint)', [key]);
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${ident}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${ident}.tidepool_migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await client.query<{ v: number | null }>(`SELECT max(version) AS v FROM ${ident}.tidepool_migrations`);
    const current = rows[0]?.v ?? 0;
    if (current > LATEST_VERSION) {
      throw new StoreUnavailableError(
        `${label}: schema ${schema} is at migration ${current}, newer than this Tidepool knows (${LATEST_VERSION}); upgrade Tidepool`,
      );
    }
    const applied: number[] = [];
    for (const m of MIGRATIONS) {
      if (m.version <= current) continue;
      await client.query('BEGIN');
      try {
        await client.query(`SET LOCAL search_path TO ${ident}`);
        await client.query(m.sql);
        await client.query(`INSERT INTO ${ident}.tidepool_migrations (version, name) VALUES ($1, $2)`, [m.version, m.name]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
      applied.push(m.version);
    }
    return applied;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1::bigint)', [key]).catch(() => undefined);
  }
}
