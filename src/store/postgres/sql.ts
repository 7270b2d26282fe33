// Every statement the PostgreSQL adapter runs, in one place: the versioned migrations
// (applied under an advisory lock, see migrate.ts) and the statements of each operation.
//
// Layout: one `tasks` table keyed by an insertion sequence (`seq`; "oldest" = lowest seq)
// with partial indexes that hold only the rows each hot query reads:
//   tasks_ready    runnable tasks (pending and due) by (type, region, tenant, priority desc,
//                  seq): the claim's order per tenant within a region ('' = none); a claim never walks finished, running or
//                  not-yet-due rows, so 1,000,000 finished tasks cost it nothing
//   tasks_waiting  pending tasks not yet due (delayed submits, retries in backoff) by
//                  run_at_ms; a claim moves the due ones into tasks_ready first (one seek
//                  when none is due), so a calendar of scheduled tasks is never walked
//   tasks_running  running tasks by lease expiry: expired leases, and running per tenant
//   tasks_idem     (tenant, idempotency_key), unique: idempotent submits
//   tasks_dead     dead tasks by seq: the dead-letter list
// `is_waiting` says which of the two pending indexes a row is in.
//
// Counts: `task_count_deltas` (status 'arrived' is the per-type arrivals counter: submits
// only, never purged) receives one row per (type, status) change per statement,
// insert-only so concurrent transactions never wait on a shared counter row; counts() sums
// it and folds it back into one row per (type, status) when it has grown.
//
// Time: every statement takes `now` as $1: NULL means the database's clock
// (statement_timestamp()), the time of record for leases, runAt and backoff on a shared
// store; a number is an injected clock's reading (tests in virtual time).

/** The database's clock in epoch ms, or the injected `now` when one is passed. */
export const NOW = `COALESCE($1::bigint, (extract(epoch from statement_timestamp()) * 1000)::bigint)`;

const PENDING = `status IN ('queued', 'retrying')`;
const READY = `${PENDING} AND NOT is_waiting`;
const READY_R = `r.status IN ('queued', 'retrying') AND NOT r.is_waiting`;
const TASK_TYPE_FIELDS = `seq bigint, id_tail text, type text, tenant text, status text, priority bigint, run_at_ms bigint,
  attempts integer, max_attempts integer, timeout_ms bigint, idempotency_key text, payload text, result text,
  error text, created_at_ms bigint, updated_at_ms bigint, started_at_ms bigint, finished_at_ms bigint,
  worker_id text, lease_token text, lease_expires_at_ms bigint`;
// The tail of both claim statements: lease the picked rows, count the moves, return them in claim order.
const CLAIMED_CTES_V1 = `claimed AS (
      UPDATE tasks t SET status = 'running', attempts = t.attempts + 1, started_at_ms = p_now, updated_at_ms = p_now,
        worker_id = COALESCE(p_workers[picked.rn], p_workers[1]), lease_token = md5(random()::text || t.seq::text),
        lease_expires_at_ms = p_now + p_lease_ms
      FROM picked WHERE t.seq = picked.seq
      RETURNING t.*, picked.rn, CASE WHEN t.attempts = 1 THEN 'queued' ELSE 'retrying' END AS claimed_from
    ), counted AS (
      INSERT INTO task_count_deltas (type, status, n)
      SELECT c.type, m.status, SUM(m.n) FROM claimed c
        CROSS JOIN LATERAL (VALUES (c.claimed_from, -1), ('running', 1)) AS m(status, n)
      GROUP BY c.type, m.status
    )
    SELECT c.seq, c.id_tail, c.type, c.tenant, c.status, c.priority, c.run_at_ms, c.attempts, c.max_attempts,
      c.timeout_ms, c.idempotency_key, c.payload, c.result, c.error, c.created_at_ms, c.updated_at_ms,
      c.started_at_ms, c.finished_at_ms, c.worker_id, c.lease_token, c.lease_expires_at_ms, c.claimed_from
    FROM claimed c ORDER BY c.rn`;

export const TASK_COLUMNS = `seq, id_tail, type, tenant, status, priority, run_at_ms, attempts, max_attempts, timeout_ms,
  idempotency_key, payload, result, error, created_at_ms, updated_at_ms, started_at_ms, finished_at_ms,
  worker_id, lease_token, lease_expires_at_ms, region`;

/**
 * Statements tidepool_claim runs, written with its variable names, so the plan test can
 * EXPLAIN the very text the function runs (CLAIM_PLAN_PROBES).
 */
const IN_CLAIM_V1 = {
  // Tasks not yet due that now are: into the ready index (one seek when none is due).
  promote: `UPDATE tasks t SET is_waiting = false
    WHERE t.seq IN (SELECT w.seq FROM tasks w WHERE w.status IN ('queued', 'retrying') AND w.is_waiting
      AND w.run_at_ms <= p_now ORDER BY w.run_at_ms LIMIT 10000 FOR UPDATE SKIP LOCKED)`,
  // The (type, tenant) pairs with ready tasks: a loose index scan, one seek per pair.
  sources: `WITH RECURSIVE s(type, tenant) AS (
    SELECT ty, (SELECT r.tenant FROM tasks r WHERE r.type = ty AND ${READY_R} ORDER BY r.tenant LIMIT 1)
      FROM unnest(p_types) AS ty
    UNION ALL
    SELECT s.type, (SELECT r.tenant FROM tasks r WHERE r.type = s.type AND ${READY_R} AND r.tenant > s.tenant
      ORDER BY r.tenant LIMIT 1) FROM s WHERE s.tenant IS NOT NULL
  )
  SELECT array_agg(s.type), array_agg(s.tenant) INTO src_types, src_tenants
    FROM (SELECT DISTINCT s.type, s.tenant FROM s WHERE s.tenant IS NOT NULL AND (p_tenants IS NULL OR s.tenant = ANY(p_tenants))) s`,
  // One tenant's best tasks of one type, locked (the common case: no fairness to decide).
  pickOne: `SELECT r.seq, r.priority FROM tasks r WHERE r.type = src_types[1] AND r.tenant = src_tenants[1] AND ${READY_R}
        ORDER BY r.priority DESC, r.seq LIMIT p_limit FOR UPDATE SKIP LOCKED`,
};

// The same tail with the task's region (migration 4 on): the claimed row type ends with it.
const CLAIMED_CTES = CLAIMED_CTES_V1.replace(
  "c.started_at_ms, c.finished_at_ms, c.worker_id, c.lease_token, c.lease_expires_at_ms, c.claimed_from",
  "c.started_at_ms, c.finished_at_ms, c.worker_id, c.lease_token, c.lease_expires_at_ms, c.claimed_from, c.region",
);

/**
 * Statements tidepool_claim runs since migration 4 (lanes: a type's tasks of one region,
 * '' = none; tasks_ready is by (type, region, tenant, priority desc, seq)), written with its
 * variable names, so the plan test can EXPLAIN the very text the function runs.
 */
const IN_CLAIM = {
  promote: IN_CLAIM_V1.promote,
  // Every (type, region, tenant) with ready tasks: a loose index scan, one seek per triple.
  sources: `WITH RECURSIVE s(type, region, tenant) AS (
    SELECT ty, f.region, f.tenant FROM unnest(p_types) AS ty CROSS JOIN LATERAL (
      SELECT r.region, r.tenant FROM tasks r WHERE r.type = ty AND ${READY_R} ORDER BY r.region, r.tenant LIMIT 1) f
    UNION ALL
    SELECT s.type, f.region, f.tenant FROM s CROSS JOIN LATERAL (
      SELECT r.region, r.tenant FROM tasks r WHERE r.type = s.type AND ${READY_R} AND (r.region, r.tenant) > (s.region, s.tenant)
      ORDER BY r.region, r.tenant LIMIT 1) f
  )
  SELECT array_agg(x.type), array_agg(x.region), array_agg(x.tenant) INTO src_types, src_regions, src_tenants
    FROM (SELECT DISTINCT s.type, s.region, s.tenant FROM s WHERE p_tenants IS NULL OR s.tenant = ANY(p_tenants)) x`,
  // The same over the lanes without a region and of p_regions only: one seek per (type, region, tenant) of them.
  sourcesOfRegions: `WITH RECURSIVE s(type, region, tenant) AS (
    SELECT l.ty, l.rg, (SELECT r.tenant FROM tasks r WHERE r.type = l.ty AND r.region = l.rg AND ${READY_R} ORDER BY r.tenant LIMIT 1)
      FROM (SELECT DISTINCT t.ty, g.rg FROM unnest(p_types) AS t(ty) CROSS JOIN unnest(ARRAY[''] || p_regions) AS g(rg)) l
    UNION ALL
    SELECT s.type, s.region, (SELECT r.tenant FROM tasks r WHERE r.type = s.type AND r.region = s.region AND ${READY_R}
      AND r.tenant > s.tenant ORDER BY r.tenant LIMIT 1) FROM s WHERE s.tenant IS NOT NULL
  )
  SELECT array_agg(x.type), array_agg(x.region), array_agg(x.tenant) INTO src_types, src_regions, src_tenants
    FROM (SELECT DISTINCT s.type, s.region, s.tenant FROM s WHERE s.tenant IS NOT NULL AND (p_tenants IS NULL OR s.tenant = ANY(p_tenants))) x`,
  // One lane's and tenant's best tasks, locked (the common case: no fairness to decide).
  pickOne: `SELECT r.seq, r.priority FROM tasks r WHERE r.type = src_types[1] AND r.region = src_regions[1] AND r.tenant = src_tenants[1] AND ${READY_R}
        ORDER BY r.priority DESC, r.seq LIMIT p_limit FOR UPDATE SKIP LOCKED`,
};

/** The claim's statements as a test can EXPLAIN them, variables as parameters. */
export const CLAIM_PLAN_PROBES: readonly { name: string; sql: string; params: unknown[] }[] = [
  { name: 'promote due tasks', sql: IN_CLAIM.promote.replace(/p_now/g, '$1::bigint'), params: [1_700_000_000_000] },
  {
    name: 'tenants with ready tasks',
    sql: IN_CLAIM.sources.replace(/ INTO src_types, src_regions, src_tenants/, '').replace(/p_types/g, '$1::text[]').replace(/p_tenants/g, '$2::text[]'),
    params: [['email'], null],
  },
  {
    name: 'tenants with ready tasks in some regions',
    sql: IN_CLAIM.sourcesOfRegions.replace(/ INTO src_types, src_regions, src_tenants/, '').replace(/p_types/g, '$1::text[]').replace(/p_tenants/g, '$2::text[]').replace(/p_regions/g, '$3::text[]'),
    params: [['email'], null, ['east']],
  },
  {
    name: 'pick one tenant\'s tasks',
    sql: IN_CLAIM.pickOne.replace(/src_types\[1\]/g, '$1::text').replace(/src_tenants\[1\]/g, '$2::text').replace(/p_limit/g, '$3::integer').replace(/src_regions\[1\]/g, '$4::text'),
    params: ['email', 'default', 10, ''],
  },
];

/** Migrations in order; each runs once, in its own transaction, recorded in tidepool_migrations. */
export const MIGRATIONS: readonly { version: number; name: string; sql: string }[] = [
  {
    version: 1,
    name: 'tasks, counts, scaling events, metric samples, claim and submit functions',
    sql: `
CREATE TABLE tasks (
  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id_tail text NOT NULL,
  type text NOT NULL,
  tenant text NOT NULL,
  status text NOT NULL,
  is_waiting boolean NOT NULL,
  priority bigint NOT NULL,
  run_at_ms bigint NOT NULL,
  attempts integer NOT NULL,
  max_attempts integer NOT NULL,
  timeout_ms bigint NOT NULL,
  idempotency_key text,
  payload text NOT NULL,
  result text,
  error text,
  created_at_ms bigint NOT NULL,
  updated_at_ms bigint NOT NULL,
  started_at_ms bigint,
  finished_at_ms bigint,
  worker_id text,
  lease_token text,
  lease_expires_at_ms bigint
);
-- Claims rewrite most rows of a drain once or twice; room on each page lets the update
-- stay on the page (a HOT update) when no indexed column changes.
ALTER TABLE tasks SET (fillfactor = 80);
CREATE INDEX tasks_ready ON tasks (type, tenant, priority DESC, seq) WHERE ${READY};
CREATE INDEX tasks_waiting ON tasks (run_at_ms) WHERE ${PENDING} AND is_waiting;
CREATE INDEX tasks_running ON tasks (lease_expires_at_ms, tenant) WHERE status = 'running';
CREATE UNIQUE INDEX tasks_idem ON tasks (tenant, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX tasks_dead ON tasks (seq) WHERE status = 'dead';
CREATE INDEX tasks_finished ON tasks (finished_at_ms) WHERE status IN ('succeeded', 'dead', 'cancelled');

CREATE TABLE task_count_deltas (
  type text NOT NULL,
  status text NOT NULL,
  n bigint NOT NULL
);

CREATE TABLE scaling_events (
  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at_ms bigint NOT NULL,
  pool text NOT NULL,
  from_workers integer NOT NULL,
  to_workers integer NOT NULL,
  action text NOT NULL,
  code text NOT NULL,
  reason text NOT NULL,
  policy text NOT NULL
);
CREATE INDEX scaling_events_at ON scaling_events (at_ms);
CREATE TABLE metric_samples (
  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at_ms bigint NOT NULL,
  pool text NOT NULL,
  sample_values text NOT NULL
);
CREATE INDEX metric_samples_at ON metric_samples (at_ms);

-- A claimed (or reclaimed, or completed) row, with the status a claim took it from.
CREATE TYPE tidepool_claimed AS (${TASK_TYPE_FIELDS}, claimed_from text);

-- Expired leases back to the queue (retrying, runnable at once, the attempt counted) or,
-- on their last attempt, dead. Returns the moved rows (claimed_from 'expired').
CREATE FUNCTION tidepool_reclaim(p_now bigint) RETURNS SETOF tidepool_claimed LANGUAGE sql AS $fn$
  WITH expired AS (
    SELECT e.seq FROM tasks e WHERE e.status = 'running' AND e.lease_expires_at_ms <= p_now
    ORDER BY e.lease_expires_at_ms LIMIT 1000 FOR UPDATE SKIP LOCKED
  ), moved AS (
    UPDATE tasks t SET status = CASE WHEN t.attempts >= t.max_attempts THEN 'dead' ELSE 'retrying' END, is_waiting = false,
      error = json_build_object('code', 'LeaseExpired', 'message',
        'lease of worker ' || t.worker_id || ' expired at ' || t.lease_expires_at_ms || ' during attempt ' || t.attempts)::text,
      run_at_ms = CASE WHEN t.attempts >= t.max_attempts THEN t.run_at_ms ELSE p_now END,
      finished_at_ms = CASE WHEN t.attempts >= t.max_attempts THEN p_now ELSE NULL END, updated_at_ms = p_now,
      worker_id = CASE WHEN t.attempts >= t.max_attempts THEN t.worker_id ELSE NULL END,
      lease_token = NULL, lease_expires_at_ms = NULL
    FROM expired WHERE t.seq = expired.seq
    RETURNING t.*
  ), counted AS (
    INSERT INTO task_count_deltas (type, status, n)
    SELECT m.type, x.status, SUM(x.n) FROM moved m CROSS JOIN LATERAL (VALUES ('running', -1), (m.status, 1)) AS x(status, n)
    GROUP BY m.type, x.status
  )
  SELECT m.seq, m.id_tail, m.type, m.tenant, m.status, m.priority, m.run_at_ms, m.attempts, m.max_attempts,
    m.timeout_ms, m.idempotency_key, m.payload, m.result, m.error, m.created_at_ms, m.updated_at_ms,
    m.started_at_ms, m.finished_at_ms, m.worker_id, m.lease_token, m.lease_expires_at_ms, 'expired'::text
  FROM moved m
$fn$;

-- The claim, in one round trip. Caps: tenants and their running-task limits (0 = none),
-- with p_default_cap for the others; when any cap is set, claims of every process
-- serialize on one advisory lock, so a cap holds exactly across processes. Fairness
-- (priority, then the tenant with the fewest running tasks, then the oldest) is computed
-- in one statement: a tenant's r-th candidate would run beside running + r - 1 of its
-- tasks, so ordering candidates by (priority desc, running + r - 1, seq) is the order in
-- which a one-at-a-time fair pick takes them. Rows come back in claim order, the i-th
-- with p_workers[i] (or p_workers[1] for all). p_tenants, when not NULL, limits the claim to them.
--
-- Completes a batch first (p_done_*: seq, id tail, lease token, result; rows whose lease no longer
-- holds are left out, the caller explains them), then claims, in one transaction. Completed
-- rows come back first, with claimed_from 'completed'. Expired leases are maintain()'s, never the claim's.
-- Claims and completions commit without waiting for the WAL flush (synchronous_commit off):
-- a database crash may forget their last moments, so a task runs again (at-least-once); an
-- acknowledged submit always waits for it.
CREATE FUNCTION tidepool_claim(p_now bigint, p_workers text[], p_types text[], p_limit integer,
    p_lease_ms bigint, p_cap_tenants text[], p_cap_limits integer[], p_default_cap integer, p_lock_key bigint,
    p_done_seqs bigint[], p_done_tails text[], p_done_tokens text[], p_done_results text[], p_tenants text[],
    p_channel text, p_tag text)
  RETURNS SETOF tidepool_claimed
  LANGUAGE plpgsql AS $fn$
DECLARE
  has_caps boolean := p_default_cap > 0 OR EXISTS (SELECT 1 FROM unnest(p_cap_limits) l WHERE l > 0);
  src_types text[];
  src_tenants text[];
BEGIN
  PERFORM set_config('synchronous_commit', 'off', true);
  IF cardinality(p_done_seqs) > 0 THEN
    RETURN QUERY
    WITH input AS (SELECT * FROM unnest(p_done_seqs, p_done_tails, p_done_tokens, p_done_results) AS i(seq, id_tail, token, result)
    ), done AS (
      UPDATE tasks t SET status = 'succeeded', result = i.result, error = NULL, finished_at_ms = p_now, updated_at_ms = p_now,
        lease_token = NULL, lease_expires_at_ms = NULL
      FROM input i
      WHERE t.seq = i.seq AND t.id_tail = i.id_tail AND t.lease_token = i.token AND t.status = 'running'
      RETURNING t.*
    ), counted AS (
      INSERT INTO task_count_deltas (type, status, n)
      SELECT d.type, m.status, SUM(m.n) FROM done d CROSS JOIN LATERAL (VALUES ('running', -1), ('succeeded', 1)) AS m(status, n)
      GROUP BY d.type, m.status
    ), notified AS (
      -- Every process sharing the store hears of the tasks that ended (chunks stay under NOTIFY's 8000 bytes).
      SELECT count(pg_notify(p_channel, json_build_object('p', p_tag, 'f', x.f)::text)) AS n FROM (
        SELECT json_agg(json_build_object('id', lpad(to_hex(d.seq), 12, '0') || d.id_tail, 'type', d.type, 'tenant', d.tenant,
          'status', d.status, 'attempts', d.attempts, 'createdAtMs', d.created_at_ms, 'runAtMs', d.run_at_ms,
          'startedAtMs', d.started_at_ms, 'finishedAtMs', d.finished_at_ms)) AS f
        FROM (SELECT done.*, row_number() OVER () AS k FROM done) d GROUP BY (d.k - 1) / 20) x
    )
    SELECT d.seq, d.id_tail, d.type, d.tenant, d.status, d.priority, d.run_at_ms, d.attempts, d.max_attempts,
      d.timeout_ms, d.idempotency_key, d.payload, d.result, d.error, d.created_at_ms, d.updated_at_ms,
      d.started_at_ms, d.finished_at_ms, d.worker_id, d.lease_token, d.lease_expires_at_ms, 'completed'::text
    FROM done d CROSS JOIN notified;
  END IF;
  IF p_limit <= 0 OR cardinality(p_types) = 0 THEN
    RETURN;
  END IF;
  IF has_caps THEN
    PERFORM pg_advisory_xact_lock(p_lock_key);
  END IF;
  -- Tasks not yet due that now are: into the ready index (one seek when none is due).
  ${IN_CLAIM_V1.promote};
  -- The (type, tenant) pairs with ready tasks: a loose index scan, one seek per pair.
  ${IN_CLAIM_V1.sources};
  IF src_types IS NULL THEN
    RETURN;
  END IF;
  IF cardinality(src_tenants) = 1 AND NOT has_caps THEN
    RETURN QUERY
    WITH picked AS (
      SELECT c.seq, row_number() OVER (ORDER BY c.priority DESC, c.seq) AS rn FROM (${IN_CLAIM_V1.pickOne}) c
    ), ${CLAIMED_CTES_V1};
    RETURN;
  END IF;
  RETURN QUERY
  WITH src AS (SELECT * FROM unnest(src_types, src_tenants) AS x(type, tenant)
  ), cand AS (
    SELECT c.seq, c.priority, c.tenant FROM src
    CROSS JOIN LATERAL (
      SELECT r.seq, r.priority, r.tenant FROM tasks r WHERE r.type = src.type AND r.tenant = src.tenant AND ${READY_R}
      ORDER BY r.priority DESC, r.seq LIMIT p_limit) c
  ), running AS (
    SELECT r.tenant, count(*) AS n FROM tasks r
    WHERE r.status = 'running' AND r.tenant = ANY(src_tenants)
    GROUP BY r.tenant
  ), ranked AS (
    SELECT cand.seq, cand.priority, cand.tenant,
      COALESCE(running.n, 0) + row_number() OVER (PARTITION BY cand.tenant ORDER BY cand.priority DESC, cand.seq) - 1 AS eff,
      COALESCE((SELECT l.lim FROM unnest(p_cap_tenants, p_cap_limits) AS l(ten, lim) WHERE l.ten = cand.tenant), p_default_cap) AS cap
    FROM cand LEFT JOIN running ON running.tenant = cand.tenant
  ), ordered AS (
    SELECT ranked.seq, row_number() OVER (ORDER BY ranked.priority DESC, ranked.eff, ranked.seq) AS rn
    FROM ranked WHERE ranked.cap = 0 OR ranked.eff < ranked.cap
    ORDER BY ranked.priority DESC, ranked.eff, ranked.seq LIMIT p_limit
  ), locked AS (
    SELECT r.seq FROM tasks r WHERE r.seq IN (SELECT ordered.seq FROM ordered) AND ${READY_R} FOR UPDATE SKIP LOCKED
  ), picked AS (
    SELECT ordered.seq, row_number() OVER (ORDER BY ordered.rn) AS rn FROM ordered WHERE ordered.seq IN (SELECT locked.seq FROM locked)
  ), ${CLAIMED_CTES_V1};
END
$fn$;
`,
  },
  {
    version: 2,
    name: 'task logs, bounded per task',
    sql: `
CREATE TABLE task_logs (
  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  task_seq bigint NOT NULL,
  attempt integer NOT NULL,
  at_ms bigint NOT NULL,
  stream text NOT NULL,
  text text NOT NULL,
  bytes integer NOT NULL
);
CREATE INDEX task_logs_task ON task_logs (task_seq, seq);
CREATE TABLE task_log_sizes (
  task_seq bigint PRIMARY KEY,
  bytes bigint NOT NULL,
  truncated boolean NOT NULL
);
-- Appends lines to a task's log (nothing when the task is gone), then drops its oldest lines
-- while the log is over p_max_bytes. The size row's lock orders concurrent appends to one task.
CREATE FUNCTION tidepool_append_log(p_seq bigint, p_tail text, p_attempts integer[], p_at_ms bigint[],
    p_streams text[], p_texts text[], p_bytes integer[], p_max_bytes bigint) RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
  total bigint;
  dropped bigint;
BEGIN
  PERFORM set_config('synchronous_commit', 'off', true);
  IF NOT EXISTS (SELECT 1 FROM tasks WHERE seq = p_seq AND id_tail = p_tail) THEN
    RETURN;
  END IF;
  INSERT INTO task_log_sizes AS z (task_seq, bytes, truncated)
    VALUES (p_seq, (SELECT COALESCE(SUM(b), 0) FROM unnest(p_bytes) b), false)
    ON CONFLICT (task_seq) DO UPDATE SET bytes = z.bytes + excluded.bytes
    RETURNING z.bytes INTO total;
  INSERT INTO task_logs (task_seq, attempt, at_ms, stream, text, bytes)
    SELECT p_seq, l.attempt, l.at_ms, l.stream, l.text, l.bytes
    FROM unnest(p_attempts, p_at_ms, p_streams, p_texts, p_bytes) WITH ORDINALITY AS l(attempt, at_ms, stream, text, bytes, ord)
    ORDER BY l.ord;
  IF total > p_max_bytes THEN
    WITH ordered AS (
      SELECT l.seq, SUM(l.bytes) OVER (ORDER BY l.seq DESC) AS kept FROM task_logs l WHERE l.task_seq = p_seq
    ), gone AS (
      DELETE FROM task_logs l USING ordered o WHERE l.seq = o.seq AND o.kept > p_max_bytes RETURNING l.bytes
    ) SELECT COALESCE(SUM(gone.bytes), 0) INTO dropped FROM gone;
    UPDATE task_log_sizes SET bytes = bytes - dropped, truncated = true WHERE task_seq = p_seq;
  END IF;
END
$fn$;
`,
  },
  {
    version: 3,
    name: 'coordination: leases with fencing tokens, key-value state',
    sql: `
CREATE TABLE leases (
  name text PRIMARY KEY,
  holder text NOT NULL,
  token bigint NOT NULL,
  acquired_at_ms bigint NOT NULL,
  expires_at_ms bigint NOT NULL
);
CREATE TABLE coord_state (
  key text COLLATE "C" PRIMARY KEY,
  value text NOT NULL,
  updated_at_ms bigint NOT NULL,
  expires_at_ms bigint
);
`,
  },
  {
    version: 4,
    name: 'regions: tasks.region, tasks_ready by (type, region, tenant), claims limited to regions',
    sql: `
-- '' when the task names no region (names are never empty): an equality keeps tasks_ready usable.
ALTER TABLE tasks ADD COLUMN region text NOT NULL DEFAULT '';
DROP INDEX tasks_ready;
CREATE INDEX tasks_ready ON tasks (type, region, tenant, priority DESC, seq) WHERE ${READY};
DROP FUNCTION tidepool_claim(bigint, text[], text[], integer, bigint, text[], integer[], integer, bigint, bigint[], text[], text[], text[], text[], text, text);
DROP FUNCTION tidepool_reclaim(bigint);
ALTER TYPE tidepool_claimed ADD ATTRIBUTE region text;

CREATE FUNCTION tidepool_reclaim(p_now bigint) RETURNS SETOF tidepool_claimed LANGUAGE sql AS $fn$
  WITH expired AS (
    SELECT e.seq FROM tasks e WHERE e.status = 'running' AND e.lease_expires_at_ms <= p_now
    ORDER BY e.lease_expires_at_ms LIMIT 1000 FOR UPDATE SKIP LOCKED
  ), moved AS (
    UPDATE tasks t SET status = CASE WHEN t.attempts >= t.max_attempts THEN 'dead' ELSE 'retrying' END, is_waiting = false,
      error = json_build_object('code', 'LeaseExpired', 'message',
        'lease of worker ' || t.worker_id || ' expired at ' || t.lease_expires_at_ms || ' during attempt ' || t.attempts)::text,
      run_at_ms = CASE WHEN t.attempts >= t.max_attempts THEN t.run_at_ms ELSE p_now END,
      finished_at_ms = CASE WHEN t.attempts >= t.max_attempts THEN p_now ELSE NULL END, updated_at_ms = p_now,
      worker_id = CASE WHEN t.attempts >= t.max_attempts THEN t.worker_id ELSE NULL END,
      lease_token = NULL, lease_expires_at_ms = NULL
    FROM expired WHERE t.seq = expired.seq
    RETURNING t.*
  ), counted AS (
    INSERT INTO task_count_deltas (type, status, n)
    SELECT m.type, x.status, SUM(x.n) FROM moved m CROSS JOIN LATERAL (VALUES ('running', -1), (m.status, 1)) AS x(status, n)
    GROUP BY m.type, x.status
  )
  SELECT m.seq, m.id_tail, m.type, m.tenant, m.status, m.priority, m.run_at_ms, m.attempts, m.max_attempts,
    m.timeout_ms, m.idempotency_key, m.payload, m.result, m.error, m.created_at_ms, m.updated_at_ms,
    m.started_at_ms, m.finished_at_ms, m.worker_id, m.lease_token, m.lease_expires_at_ms, 'expired'::text, m.region
  FROM moved m
$fn$;

-- p_regions, when not NULL, limits the claim to tasks without a region and of those regions.
CREATE FUNCTION tidepool_claim(p_now bigint, p_workers text[], p_types text[], p_limit integer,
    p_lease_ms bigint, p_cap_tenants text[], p_cap_limits integer[], p_default_cap integer, p_lock_key bigint,
    p_done_seqs bigint[], p_done_tails text[], p_done_tokens text[], p_done_results text[], p_tenants text[],
    p_channel text, p_tag text, p_regions text[])
  RETURNS SETOF tidepool_claimed
  LANGUAGE plpgsql AS $fn$
DECLARE
  has_caps boolean := p_default_cap > 0 OR EXISTS (SELECT 1 FROM unnest(p_cap_limits) l WHERE l > 0);
  src_types text[];
  src_tenants text[];
  src_regions text[];
BEGIN
  PERFORM set_config('synchronous_commit', 'off', true);
  IF cardinality(p_done_seqs) > 0 THEN
    RETURN QUERY
    WITH input AS (SELECT * FROM unnest(p_done_seqs, p_done_tails, p_done_tokens, p_done_results) AS i(seq, id_tail, token, result)
    ), done AS (
      UPDATE tasks t SET status = 'succeeded', result = i.result, error = NULL, finished_at_ms = p_now, updated_at_ms = p_now,
        lease_token = NULL, lease_expires_at_ms = NULL
      FROM input i
      WHERE t.seq = i.seq AND t.id_tail = i.id_tail AND t.lease_token = i.token AND t.status = 'running'
      RETURNING t.*
    ), counted AS (
      INSERT INTO task_count_deltas (type, status, n)
      SELECT d.type, m.status, SUM(m.n) FROM done d CROSS JOIN LATERAL (VALUES ('running', -1), ('succeeded', 1)) AS m(status, n)
      GROUP BY d.type, m.status
    ), notified AS (
      -- Every process sharing the store hears of the tasks that ended (chunks stay under NOTIFY's 8000 bytes).
      SELECT count(pg_notify(p_channel, json_build_object('p', p_tag, 'f', x.f)::text)) AS n FROM (
        SELECT json_agg(json_build_object('id', lpad(to_hex(d.seq), 12, '0') || d.id_tail, 'type', d.type, 'tenant', d.tenant,
          'status', d.status, 'attempts', d.attempts, 'createdAtMs', d.created_at_ms, 'runAtMs', d.run_at_ms,
          'startedAtMs', d.started_at_ms, 'finishedAtMs', d.finished_at_ms)) AS f
        FROM (SELECT done.*, row_number() OVER () AS k FROM done) d GROUP BY (d.k - 1) / 20) x
    )
    SELECT d.seq, d.id_tail, d.type, d.tenant, d.status, d.priority, d.run_at_ms, d.attempts, d.max_attempts,
      d.timeout_ms, d.idempotency_key, d.payload, d.result, d.error, d.created_at_ms, d.updated_at_ms,
      d.started_at_ms, d.finished_at_ms, d.worker_id, d.lease_token, d.lease_expires_at_ms, 'completed'::text, d.region
    FROM done d CROSS JOIN notified;
  END IF;
  IF p_limit <= 0 OR cardinality(p_types) = 0 THEN
    RETURN;
  END IF;
  IF has_caps THEN
    PERFORM pg_advisory_xact_lock(p_lock_key);
  END IF;
  -- Tasks not yet due that now are: into the ready index (one seek when none is due).
  ${IN_CLAIM.promote};
  -- The (type, region, tenant) lanes with ready tasks: a loose index scan, one seek per lane;
  -- with p_regions, only the lanes without a region and of those regions are visited.
  IF p_regions IS NULL THEN
    ${IN_CLAIM.sources};
  ELSE
    ${IN_CLAIM.sourcesOfRegions};
  END IF;
  IF src_types IS NULL THEN
    RETURN;
  END IF;
  IF cardinality(src_tenants) = 1 AND NOT has_caps THEN
    RETURN QUERY
    WITH picked AS (
      SELECT c.seq, row_number() OVER (ORDER BY c.priority DESC, c.seq) AS rn FROM (${IN_CLAIM.pickOne}) c
    ), ${CLAIMED_CTES};
    RETURN;
  END IF;
  RETURN QUERY
  WITH src AS (SELECT * FROM unnest(src_types, src_regions, src_tenants) AS x(type, region, tenant)
  ), cand AS (
    SELECT c.seq, c.priority, c.tenant FROM src
    CROSS JOIN LATERAL (
      SELECT r.seq, r.priority, r.tenant FROM tasks r WHERE r.type = src.type AND r.region = src.region AND r.tenant = src.tenant AND ${READY_R}
      ORDER BY r.priority DESC, r.seq LIMIT p_limit) c
  ), running AS (
    SELECT r.tenant, count(*) AS n FROM tasks r
    WHERE r.status = 'running' AND r.tenant = ANY(src_tenants)
    GROUP BY r.tenant
  ), ranked AS (
    SELECT cand.seq, cand.priority, cand.tenant,
      COALESCE(running.n, 0) + row_number() OVER (PARTITION BY cand.tenant ORDER BY cand.priority DESC, cand.seq) - 1 AS eff,
      COALESCE((SELECT l.lim FROM unnest(p_cap_tenants, p_cap_limits) AS l(ten, lim) WHERE l.ten = cand.tenant), p_default_cap) AS cap
    FROM cand LEFT JOIN running ON running.tenant = cand.tenant
  ), ordered AS (
    SELECT ranked.seq, row_number() OVER (ORDER BY ranked.priority DESC, ranked.eff, ranked.seq) AS rn
    FROM ranked WHERE ranked.cap = 0 OR ranked.eff < ranked.cap
    ORDER BY ranked.priority DESC, ranked.eff, ranked.seq LIMIT p_limit
  ), locked AS (
    SELECT r.seq FROM tasks r WHERE r.seq IN (SELECT ordered.seq FROM ordered) AND ${READY_R} FOR UPDATE SKIP LOCKED
  ), picked AS (
    SELECT ordered.seq, row_number() OVER (ORDER BY ordered.rn) AS rn FROM ordered WHERE ordered.seq IN (SELECT locked.seq FROM locked)
  ), ${CLAIMED_CTES};
END
$fn$;
`,
  },
];

export const APPEND_LOG = `SELECT tidepool_append_log($1, $2, $3::integer[], $4::bigint[], $5::text[], $6::text[], $7::integer[], $8)`;
export const READ_LOG = `SELECT seq, attempt, at_ms, stream, text FROM task_logs WHERE task_seq = $1 AND seq > $2 ORDER BY seq`;
export const LOG_SIZE = `SELECT truncated FROM task_log_sizes WHERE task_seq = $1`;
export const TASK_EXISTS = `SELECT 1 AS ok FROM tasks WHERE seq = $1 AND id_tail = $2`;
export const PURGE_EVENTS = `DELETE FROM scaling_events WHERE at_ms < $1`;
export const PURGE_SAMPLES = `DELETE FROM metric_samples WHERE at_ms < $1`;
export const DB_NOW = `SELECT (extract(epoch from clock_timestamp()) * 1000)::float8 AS ms`;

/**
 * Inserts a batch of submits ($2..$11 and $14 column arrays): rows whose idempotency key is taken
 * are skipped (ON CONFLICT) and read afterwards. Counts the new rows and notifies every
 * process listening on channel $12 with payload $13, delivered at commit.
 */
export const INSERT_TASKS = `
WITH input AS (
  SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::bigint[], $8::integer[],
    $9::bigint[], $10::text[], $11::text[], $14::text[]) WITH ORDINALITY
    AS i(id_tail, type, tenant, priority, run_at_ms, delay_ms, max_attempts, timeout_ms, idempotency_key, payload, region, ord)
), now AS (SELECT ${NOW} AS ms
), ins AS (
  INSERT INTO tasks (id_tail, type, tenant, status, is_waiting, priority, run_at_ms, attempts, max_attempts, timeout_ms,
    idempotency_key, payload, created_at_ms, updated_at_ms, region)
  SELECT i.id_tail, i.type, i.tenant, 'queued', COALESCE(i.run_at_ms, now.ms + i.delay_ms) > now.ms, i.priority,
    COALESCE(i.run_at_ms, now.ms + i.delay_ms), 0, i.max_attempts, i.timeout_ms, i.idempotency_key, i.payload, now.ms, now.ms, i.region
  FROM input i CROSS JOIN now ORDER BY i.ord
  ON CONFLICT (tenant, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
  RETURNING seq, id_tail, type, run_at_ms, created_at_ms
), counted AS (
  INSERT INTO task_count_deltas (type, status, n)
  SELECT ins.type, m.status, count(*) FROM ins CROSS JOIN (VALUES ('queued'), ('arrived')) AS m(status) GROUP BY ins.type, m.status
), notified AS (SELECT pg_notify($12, $13) AS x)
SELECT ins.* FROM ins, notified`;

/** Tasks by (tenant, idempotency key) pairs: the earlier tasks of a batch's repeated keys. */
export const BY_IDEMPOTENCY_KEYS = `SELECT ${TASK_COLUMNS} FROM tasks
  WHERE (tenant, idempotency_key) IN (SELECT * FROM unnest($1::text[], $2::text[]))`;

export const ADD_COUNTS = `INSERT INTO task_count_deltas (type, status, n)
  SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])`;

export const PENDING_DEPTH = `SELECT COALESCE(SUM(n), 0)::bigint AS n FROM task_count_deltas WHERE ${PENDING}`;
export const ALL_COUNTS = `SELECT type, status, SUM(n)::bigint AS n FROM task_count_deltas GROUP BY type, status`;
export const COUNT_DELTA_ROWS = `SELECT count(*)::bigint AS n FROM task_count_deltas`;
/** Folds the deltas into one row per (type, status), in one statement (safe beside concurrent writers). */
export const FOLD_COUNTS = `WITH d AS (DELETE FROM task_count_deltas RETURNING type, status, n)
  INSERT INTO task_count_deltas (type, status, n) SELECT type, status, SUM(n) FROM d GROUP BY type, status HAVING SUM(n) <> 0`;
/** Pending tasks of a type not yet due. */
export const WAITING_BY_TYPE = `SELECT type, count(*)::bigint AS n FROM tasks
  WHERE ${PENDING} AND is_waiting AND run_at_ms > ${NOW} GROUP BY type`;

/** The claim, and with $10..$13 the completions committed with it (see tidepool_claim). */
export const CLAIM = `SELECT * FROM tidepool_claim(${NOW}, $2::text[], $3::text[], $4::integer, $5::bigint,
  $6::text[], $7::integer[], $8::integer, $9::bigint, $10::bigint[], $11::text[], $12::text[], $13::text[], $14::text[],
  $15::text, $16::text, $17::text[])`;

export const PROMOTE_DUE = `UPDATE tasks t SET is_waiting = false
  WHERE t.seq IN (SELECT w.seq FROM tasks w WHERE ${PENDING} AND w.is_waiting AND w.run_at_ms <= ${NOW}
    ORDER BY w.run_at_ms LIMIT 10000 FOR UPDATE SKIP LOCKED)`;

export const SYNC_COMMIT_OFF = `SELECT set_config('synchronous_commit', 'off', true)`;

export const BY_ID = `SELECT ${TASK_COLUMNS} FROM tasks WHERE seq = $1 AND id_tail = $2`;
export const BY_ID_FOR_UPDATE = `SELECT ${TASK_COLUMNS} FROM tasks WHERE seq = $1 AND id_tail = $2 FOR UPDATE`;

export const HEARTBEAT = `UPDATE tasks SET lease_expires_at_ms = ${NOW} + $5::bigint, updated_at_ms = ${NOW}
  WHERE seq = $2 AND id_tail = $3 AND lease_token = $4 AND status = 'running' RETURNING lease_expires_at_ms`;

/** A failed attempt with attempts left: back to waiting out its backoff ($4 ms). */
export const RETRY_TASK = `UPDATE tasks SET status = 'retrying', is_waiting = $4::bigint > 0, error = $5,
  run_at_ms = ${NOW} + $4::bigint, updated_at_ms = ${NOW}, worker_id = NULL, lease_token = NULL, lease_expires_at_ms = NULL
  WHERE seq = $2 AND id_tail = $3 AND status = 'running' RETURNING ${TASK_COLUMNS}`;

export const BURY_TASK = `UPDATE tasks SET status = 'dead', error = $4, finished_at_ms = ${NOW}, updated_at_ms = ${NOW},
  lease_token = NULL, lease_expires_at_ms = NULL
  WHERE seq = $2 AND id_tail = $3 AND status = 'running' RETURNING ${TASK_COLUMNS}`;

export const CANCEL_TASK = `UPDATE tasks SET status = 'cancelled', finished_at_ms = ${NOW}, updated_at_ms = ${NOW},
  lease_token = NULL, lease_expires_at_ms = NULL
  WHERE seq = $2 AND id_tail = $3 AND status IN ('queued', 'retrying', 'running') RETURNING ${TASK_COLUMNS}`;

export const REQUEUE_DEAD = `UPDATE tasks SET status = 'queued', is_waiting = false, attempts = 0, run_at_ms = ${NOW},
  error = NULL, result = NULL, finished_at_ms = NULL, updated_at_ms = ${NOW}, worker_id = NULL
  WHERE seq = $2 AND id_tail = $3 AND status = 'dead' RETURNING ${TASK_COLUMNS}`;

export const RECLAIM = `SELECT * FROM tidepool_reclaim(${NOW})`;

export const PURGE_CHUNK = `WITH doomed AS (
    SELECT seq FROM tasks WHERE status IN ('succeeded', 'dead', 'cancelled') AND finished_at_ms < $1
    ORDER BY finished_at_ms LIMIT $2 FOR UPDATE SKIP LOCKED
  ), deleted AS (DELETE FROM tasks t USING doomed WHERE t.seq = doomed.seq RETURNING t.seq, t.type, t.status
  ), logs AS (DELETE FROM task_logs l USING deleted WHERE l.task_seq = deleted.seq
  ), sizes AS (DELETE FROM task_log_sizes z USING deleted WHERE z.task_seq = deleted.seq
  ), counted AS (INSERT INTO task_count_deltas (type, status, n) SELECT type, status, -count(*) FROM deleted GROUP BY type, status)
  SELECT count(*)::bigint AS n FROM deleted`;

/** Gives claimed tasks back untouched (their worker's completion was refused in the same batch). */
export const RELEASE = `WITH input AS (SELECT * FROM unnest($1::bigint[], $2::text[]) AS i(seq, token)
  ), released AS (
    UPDATE tasks t SET status = CASE WHEN t.attempts = 1 THEN 'queued' ELSE 'retrying' END, attempts = t.attempts - 1,
      worker_id = NULL, lease_token = NULL, lease_expires_at_ms = NULL, started_at_ms = NULL
    FROM input i WHERE t.seq = i.seq AND t.lease_token = i.token AND t.status = 'running'
    RETURNING t.type, t.status
  ), counted AS (
    INSERT INTO task_count_deltas (type, status, n)
    SELECT r.type, m.status, SUM(m.n) FROM released r CROSS JOIN LATERAL (VALUES ('running', -1), (r.status, 1)) AS m(status, n)
    GROUP BY r.type, m.status
  ) SELECT count(*)::bigint AS n FROM released`;

export const LIST_PAGE = `SELECT ${TASK_COLUMNS} FROM tasks
  WHERE seq > $1 AND ($2::text[] IS NULL OR status = ANY($2::text[])) AND ($3::text IS NULL OR type = $3)
    AND ($4::text IS NULL OR tenant = $4)
  ORDER BY seq LIMIT $5`;
export const LIST_DEAD = `SELECT ${TASK_COLUMNS} FROM tasks
  WHERE status = 'dead' AND seq > $1 AND ($2::text IS NULL OR type = $2) AND ($3::text IS NULL OR tenant = $3)
  ORDER BY seq LIMIT $4`;

/**
 * Since when the head of each type has waited: per (type, region, tenant) with ready or due tasks,
 * the head by priority then seq; among them the best, as a claim would take it.
 */
export const OLDEST_RUNNABLE = `
WITH RECURSIVE s(type, region, tenant) AS (
  SELECT ty, f.region, f.tenant FROM unnest($1::text[]) AS ty CROSS JOIN LATERAL (
    SELECT r.region, r.tenant FROM tasks r WHERE r.type = ty AND ${READY_R} ORDER BY r.region, r.tenant LIMIT 1) f
  UNION ALL
  SELECT s.type, f.region, f.tenant FROM s CROSS JOIN LATERAL (
    SELECT r.region, r.tenant FROM tasks r WHERE r.type = s.type AND ${READY_R} AND (r.region, r.tenant) > (s.region, s.tenant)
    ORDER BY r.region, r.tenant LIMIT 1) f
), heads AS (
  SELECT s.type, h.priority, h.seq, h.since_ms FROM s CROSS JOIN LATERAL (
    SELECT r.priority, r.seq, GREATEST(r.run_at_ms, r.created_at_ms) AS since_ms FROM tasks r
    WHERE r.type = s.type AND r.region = s.region AND r.tenant = s.tenant AND ${READY_R}
    ORDER BY r.priority DESC, r.seq LIMIT 1) h
), best AS (
  SELECT DISTINCT ON (type) type, since_ms FROM heads ORDER BY type, priority DESC, seq
)
SELECT MIN(since_ms)::bigint AS since_ms FROM best`;

export const INSERT_EVENT = `INSERT INTO scaling_events (at_ms, pool, from_workers, to_workers, action, code, reason, policy)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`;
export const LIST_EVENTS = `SELECT * FROM (
    SELECT seq, at_ms, pool, from_workers, to_workers, action, code, reason, policy FROM scaling_events
    WHERE at_ms >= $1 AND at_ms <= $2 AND ($3::text IS NULL OR pool = $3)
    ORDER BY at_ms DESC, seq DESC LIMIT $4
  ) e ORDER BY at_ms, seq`;
export const INSERT_SAMPLE = `INSERT INTO metric_samples (at_ms, pool, sample_values) VALUES ($1, $2, $3)`;
export const LIST_SAMPLES = `SELECT * FROM (
    SELECT seq, at_ms, pool, sample_values FROM metric_samples
    WHERE at_ms >= $1 AND at_ms <= $2 AND ($3::text IS NULL OR pool = $3)
    ORDER BY at_ms DESC, seq DESC LIMIT $4
  ) e ORDER BY at_ms, seq`;

export const NOTIFY = `SELECT pg_notify($1, $2)`;

// --- coordination (rules: ../shared/coordination.ts) ---------------------------------
/** A placeholder row (token 0 = never granted) so the next statement has a row to lock. */
export const LEASE_ENSURE = `INSERT INTO leases (name, holder, token, acquired_at_ms, expires_at_ms) VALUES ($1, '', 0, 0, 0) ON CONFLICT (name) DO NOTHING`;
export const LEASE_LOCK = `SELECT holder, token, acquired_at_ms, expires_at_ms FROM leases WHERE name = $1 FOR UPDATE`;
export const LEASE_SHARE = `SELECT holder, token, acquired_at_ms, expires_at_ms FROM leases WHERE name = $1 FOR SHARE`;
export const LEASE_READ = `SELECT holder, token, acquired_at_ms, expires_at_ms FROM leases WHERE name = $1`;
export const LEASE_SAVE = `UPDATE leases SET holder = $2, token = $3, acquired_at_ms = $4, expires_at_ms = $5 WHERE name = $1`;
export const STATE_PUT = `INSERT INTO coord_state (key, value, updated_at_ms, expires_at_ms) VALUES ($1, $2, $3, $4)
  ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at_ms = excluded.updated_at_ms, expires_at_ms = excluded.expires_at_ms`;
export const STATE_GET = `SELECT key, value, updated_at_ms, expires_at_ms FROM coord_state WHERE key = $1 AND (expires_at_ms IS NULL OR expires_at_ms > $2)`;
/** Keys from the prefix up to (not including) the prefix's successor: a range on the primary key ("C" collation). */
export const STATE_LIST = `SELECT key, value, updated_at_ms, expires_at_ms FROM coord_state
  WHERE key >= $1 AND left(key, length($1)) = $1 AND (expires_at_ms IS NULL OR expires_at_ms > $2) ORDER BY key`;
export const STATE_DELETE = `DELETE FROM coord_state WHERE key = $1 RETURNING expires_at_ms`;
export const STATE_PURGE = `DELETE FROM coord_state WHERE expires_at_ms IS NOT NULL AND expires_at_ms <= $1`;
