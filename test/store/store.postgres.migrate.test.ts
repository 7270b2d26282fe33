// Upgrading a PostgreSQL schema in place: a schema at migration 3 (before regions) with a
// waiting task is brought to the latest migration by opening the store; the task keeps its
// place, has no region, and region-limited claims serve it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { openStore } from '../../src/store/index.ts';
import { MIGRATIONS } from '../../src/store/postgres/sql.ts';
import { formatId } from '../../src/store/shared/task-rows.ts';
import { PG_URL, freshSchema, pgSkip, schemaUrl } from './postgres-helpers.ts';

const skip = await pgSkip();

test('a schema at migration 3 is upgraded to regions on open: its tasks stay, without a region, and region claims take them', { skip }, async () => {
  const schema = freshSchema('tp_migrate');
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  let id: string;
  try {
    await client.query(`CREATE SCHEMA "${schema}"`);
    await client.query(`CREATE TABLE "${schema}".tidepool_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    await client.query('BEGIN');
    await client.query(`SET LOCAL search_path TO "${schema}"`);
    for (const m of MIGRATIONS.filter((x) => x.version <= 3)) {
      await client.query(m.sql);
      await client.query('INSERT INTO tidepool_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
    }
    const { rows } = await client.query<{ seq: string }>(`INSERT INTO tasks (id_tail, type, tenant, status, is_waiting, priority, run_at_ms, attempts,
      max_attempts, timeout_ms, payload, created_at_ms, updated_at_ms) VALUES ('00000000000001', 'x', 'default', 'queued', false, 0, 1, 0, 3, 60000, '"old"', 1, 1) RETURNING seq`);
    await client.query(`INSERT INTO task_count_deltas (type, status, n) VALUES ('x', 'queued', 1)`);
    await client.query('COMMIT');
    id = formatId(Number(rows[0]!.seq), '00000000000001');
  } finally {
    await client.end();
  }
  const store = await openStore(schemaUrl(schema));
  try {
    const old = await store.get(id);
    assert.equal(old?.payload, 'old');
    assert.equal(old?.region, null);
    const east = (await store.submit({ type: 'x', region: 'east' })).task;
    await store.submit({ type: 'x', region: 'west' });
    const claimed = await store.claim({ workerId: 'w', types: ['x'], limit: 10, leaseMs: 60_000, regions: ['east'] });
    assert.deepEqual(claimed.map((t) => t.id), [id, east.id]);
    assert.deepEqual(claimed.map((t) => t.region), [null, 'east']);
  } finally {
    await store.close();
  }
});
