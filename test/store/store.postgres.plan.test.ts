// The claim's plan on PostgreSQL: an index scan of tasks_ready whatever the table holds.
// Two cases the issue names: 1,000,000 finished tasks beside a few runnable ones (analyzed),
// and a fresh burst into an empty table that autovacuum has not analyzed yet (the planner
// then guesses from an empty table; a plan picked for "no rows" must not become a scan of
// the burst). Each prints its plan, and asserts on it, not on a time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openStore } from '../../src/store/index.ts';
import { CLAIM_PLAN_PROBES } from '../../src/store/postgres/sql.ts';
import { PG_URL, adminQuery, freshSchema, pgSkip, schemaUrl } from './postgres-helpers.ts';

const skip = await pgSkip();

/** EXPLAIN of each statement the claim runs for one type and one tenant, in `schema`. */
async function claimPlans(schema: string): Promise<string[]> {
  const plans: string[] = [];
  for (const probe of CLAIM_PLAN_PROBES) plans.push(`-- ${probe.name}\n${await explainIn(schema, probe.sql, probe.params)}`);
  return plans;
}

async function explainIn(schema: string, sql: string, params: unknown[]): Promise<string> {
  const pg = (await import('pg')).default;
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    await client.query(`SET search_path TO "${schema}"`);
    // The plan the function caches after a few calls is the generic one: show that one.
    await client.query(`SET plan_cache_mode = force_generic_plan`);
    const { rows } = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN (COSTS OFF) ${sql}`, params);
    return rows.map((r) => r['QUERY PLAN']).join('\n');
  } finally {
    await client.end();
  }
}

function assertIndexScans(plans: string[], label: string): void {
  for (const plan of plans) {
    assert.doesNotMatch(plan, /Seq Scan on tasks|Bitmap Heap Scan on tasks/, `${label}: a claim statement scans the table:\n${plan}`);
    assert.match(plan, /Index (Only )?Scan using tasks_(ready|waiting)/, `${label}: expected an index scan of tasks_ready or tasks_waiting:\n${plan}`);
  }
}

test('the claim stays an index scan with 1,000,000 finished tasks in the table', { skip, timeout: 600_000 }, async () => {
  const schema = freshSchema('tp_plan');
  const store = await openStore(schemaUrl(schema));
  try {
    await store.submitBatch(Array.from({ length: 50 }, (_, i) => ({ type: 'email', payload: i })));
    await adminQuery(`INSERT INTO "${schema}".tasks (id_tail, type, tenant, status, is_waiting, priority, run_at_ms, attempts,
        max_attempts, timeout_ms, payload, created_at_ms, updated_at_ms, finished_at_ms, result)
      SELECT lpad(to_hex(g), 14, '0'), 'email', 'default', 'succeeded', false, 0, g, 1, 3, 300000, 'null', g, g, g, 'null'
      FROM generate_series(1, 1000000) g`);
    await adminQuery(`ANALYZE "${schema}".tasks`);
    const plans = await claimPlans(schema);
    process.stderr.write(`claim plans, 1,000,000 finished tasks:\n${plans.join('\n')}\n`);
    assertIndexScans(plans, '1,000,000 finished');
    const claimed = await store.claim({ workerId: 'w', types: ['email'], limit: 5, leaseMs: 60_000 });
    assert.deepEqual(claimed.map((t) => t.payload), [0, 1, 2, 3, 4]);
  } finally {
    await store.close();
  }
});

test('the claim is an index scan on a fresh burst into an empty table that was never analyzed', { skip }, async () => {
  const schema = freshSchema('tp_plan');
  const store = await openStore(schemaUrl(schema));
  try {
    await adminQuery(`ALTER TABLE "${schema}".tasks SET (autovacuum_enabled = false)`);
    await store.submitBatch(Array.from({ length: 1_000 }, (_, i) => ({ type: 'email', payload: i })));
    await store.submitBatch(Array.from({ length: 1_000 }, (_, i) => ({ type: 'email', payload: 1_000 + i, delayMs: 3_600_000 })));
    const [{ n }] = await adminQuery<{ n: string }>(`SELECT COALESCE(last_analyze, last_autoanalyze)::text IS NULL AS n FROM pg_stat_user_tables WHERE schemaname = $1 AND relname = 'tasks'`, [schema]);
    assert.equal(String(n), 'true', 'the table must never have been analyzed');
    const plans = await claimPlans(schema);
    process.stderr.write(`claim plans, fresh burst, never analyzed:\n${plans.join('\n')}\n`);
    assertIndexScans(plans, 'fresh burst');
  } finally {
    await store.close();
  }
});
