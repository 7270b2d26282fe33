// Every statement the SQLite adapter runs, in one place.
//
// Layout: one `tasks` table keyed by an insertion sequence (`seq`, the rowid: "oldest"
// means lowest seq), with partial indexes that hold only the rows each hot query needs:
//   tasks_ready    DUE pending tasks by (type, region, tenant, priority desc, seq): claim
//                  order per tenant within a region ('' = none), so a claim limited to some
//                  regions seeks only theirs. Tasks not yet due (delayed, retrying out a backoff) are not in it
//                  (is_due = 0), so a claim never walks over them (issue 13, item 7).
//   tasks_delayed  pending tasks not yet due, by (type, run_at_ms): counts tasks not yet
//                  runnable; a task due at once never enters it
//   tasks_waiting  the same tasks by run_at_ms alone: one seek finds those now due, which a
//                  claim (or oldestRunnableAtMs) marks is_due = 1 (promoteDue)
//   tasks_running  running tasks by (lease expiry, tenant): finds expired leases, and counts
//                  running tasks per tenant (concurrency limits, fairness) from a small index
//   tasks_idem     (tenant, idempotency_key), unique: idempotent submits
//   tasks_dead     dead tasks by seq: the dead-letter list (dead tasks are few; an index of
//                  every ended task cost 15% of a drain's CPU, so succeeded ones have none)
// Fewer indexes on the hot path matter: a claim plus a completion touches each of them.
// `task_counts` keeps the number of tasks per (type, status), updated in the same
// transaction as every change, so counts and the queue-depth check never scan tasks.
// `task_logs` holds the lines of each task's log by (task_seq, seq); `task_log_sizes`
// its byte total and whether lines were dropped (the bound is TASK_LOG_MAX_BYTES).
import type { DatabaseSync, StatementSync } from 'node:sqlite';

export const SCHEMA_VERSION = 6;
/** Versions this adapter upgrades in place (their tables are a subset of SCHEMA's). */
export const UPGRADABLE_VERSIONS: readonly number[] = [2, 3, 4, 5];

/**
 * Run before SCHEMA when upgrading from 2 or 3: the is_due column, and the indexes that
 * depend on it (SCHEMA creates them again). Pending tasks with a runAt after their
 * creation start as not due; the first claim promotes the ones whose time has come.
 */
export const ADD_IS_DUE = 'ALTER TABLE tasks ADD COLUMN is_due INTEGER NOT NULL DEFAULT 1';
export const UPGRADE_TO_4 = `
UPDATE tasks SET is_due = 0 WHERE status IN ('queued', 'retrying') AND run_at_ms > created_at_ms;
DROP INDEX IF EXISTS tasks_ready;
DROP INDEX IF EXISTS tasks_delayed;
`;
/**
 * Run before SCHEMA when upgrading from 2 to 5: the region column (existing tasks have none)
 * and tasks_ready again with region in its key (SCHEMA creates it).
 */
export const ADD_REGION = `ALTER TABLE tasks ADD COLUMN region TEXT NOT NULL DEFAULT '';
DROP INDEX IF EXISTS tasks_ready;`;

const PENDING = `status IN ('queued', 'retrying')`;
const FINAL = `status IN ('succeeded', 'dead', 'cancelled')`;
const DUE = `status IN ('queued', 'retrying') AND is_due = 1`;
const NOT_DUE = `status IN ('queued', 'retrying') AND is_due = 0`;

export const SCHEMA = `
CREATE TABLE IF NOT EXISTS tasks (
  seq INTEGER PRIMARY KEY,
  -- A task's id is its seq (12 hex digits) followed by a random tail (14 hex digits): lookups
  -- by id are rowid lookups, and no index on id has to be written with every task.
  id_tail TEXT NOT NULL,
  id TEXT GENERATED ALWAYS AS (printf('%012x', seq) || id_tail) VIRTUAL,
  type TEXT NOT NULL,
  tenant TEXT NOT NULL,
  status TEXT NOT NULL,
  priority INTEGER NOT NULL,
  run_at_ms INTEGER NOT NULL,
  attempts INTEGER NOT NULL,
  max_attempts INTEGER NOT NULL,
  timeout_ms INTEGER NOT NULL,
  idempotency_key TEXT,
  payload TEXT NOT NULL,
  result TEXT,
  error TEXT,
  created_at_ms INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL,
  started_at_ms INTEGER,
  finished_at_ms INTEGER,
  worker_id TEXT,
  lease_token TEXT,
  lease_expires_at_ms INTEGER,
  -- The status a claim took the task from (queued or retrying): an UPDATE's SET sees the
  -- old row and RETURNING the new one, so this is how one claim statement reports it.
  claimed_from TEXT,
  -- 1 once a pending task's runAt has passed (set at submit or retry when due at once, else
  -- by promoteDue); only due tasks are in tasks_ready.
  is_due INTEGER NOT NULL DEFAULT 1,
  -- The region whose nodes serve the task first; '' when it names none.
  region TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS tasks_ready ON tasks (type, region, tenant, priority DESC, seq, run_at_ms, status) WHERE ${DUE};
CREATE INDEX IF NOT EXISTS tasks_delayed ON tasks (type, run_at_ms, status) WHERE ${NOT_DUE};
CREATE INDEX IF NOT EXISTS tasks_waiting ON tasks (run_at_ms, status) WHERE ${NOT_DUE};
CREATE INDEX IF NOT EXISTS tasks_running ON tasks (lease_expires_at_ms, tenant, status) WHERE status = 'running';
CREATE UNIQUE INDEX IF NOT EXISTS tasks_idem ON tasks (tenant, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS tasks_dead ON tasks (seq) WHERE status = 'dead';
CREATE TABLE IF NOT EXISTS task_counts (
  type TEXT NOT NULL,
  status TEXT NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (type, status)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS scaling_events (
  seq INTEGER PRIMARY KEY,
  at_ms INTEGER NOT NULL,
  pool TEXT NOT NULL,
  from_workers INTEGER NOT NULL,
  to_workers INTEGER NOT NULL,
  action TEXT NOT NULL,
  code TEXT NOT NULL,
  reason TEXT NOT NULL,
  policy TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS scaling_events_at ON scaling_events (at_ms);
CREATE TABLE IF NOT EXISTS metric_samples (
  seq INTEGER PRIMARY KEY,
  at_ms INTEGER NOT NULL,
  pool TEXT NOT NULL,
  sample_values TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS metric_samples_at ON metric_samples (at_ms);
CREATE TABLE IF NOT EXISTS task_logs (
  seq INTEGER PRIMARY KEY,
  task_seq INTEGER NOT NULL,
  attempt INTEGER NOT NULL,
  at_ms INTEGER NOT NULL,
  stream TEXT NOT NULL,
  text TEXT NOT NULL,
  bytes INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS task_logs_task ON task_logs (task_seq, seq);
CREATE TABLE IF NOT EXISTS task_log_sizes (
  task_seq INTEGER PRIMARY KEY,
  bytes INTEGER NOT NULL,
  truncated INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS leases (
  name TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  token INTEGER NOT NULL,
  acquired_at_ms INTEGER NOT NULL,
  expires_at_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS coord_state (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  updated_at_ms INTEGER NOT NULL,
  expires_at_ms INTEGER
) WITHOUT ROWID;
`;

export function pragmas(durability: 'full' | 'normal', busyTimeoutMs: number): string {
  return `
PRAGMA busy_timeout = ${Math.floor(busyTimeoutMs)};
PRAGMA journal_mode = WAL;
PRAGMA synchronous = ${durability === 'full' ? 'FULL' : 'NORMAL'};
PRAGMA temp_store = MEMORY;
PRAGMA cache_size = -16000;
`;
}

/** The row shape of `tasks`, as node:sqlite returns it. */
export interface TaskRow {
  seq: number;
  id: string;
  type: string;
  tenant: string;
  region: string;
  status: string;
  priority: number;
  run_at_ms: number;
  attempts: number;
  max_attempts: number;
  timeout_ms: number;
  idempotency_key: string | null;
  payload: string;
  result: string | null;
  error: string | null;
  created_at_ms: number;
  updated_at_ms: number;
  started_at_ms: number | null;
  finished_at_ms: number | null;
  worker_id: string | null;
  lease_token: string | null;
  lease_expires_at_ms: number | null;
  claimed_from: string | null;
}

export interface CandidateRow {
  seq: number;
  priority: number;
  tenant: string;
}

const TASK_COLUMNS = `seq, id, type, tenant, status, priority, run_at_ms, attempts, max_attempts, timeout_ms,
  idempotency_key, payload, result, error, created_at_ms, updated_at_ms, started_at_ms, finished_at_ms,
  worker_id, lease_token, lease_expires_at_ms, claimed_from, region`;

// Hot statements take numbered parameters: binding by name cost about 1 us more per call.
// Claims bind ?1 now, ?2 worker id, ?3 lease expiry, then their own.
const CLAIM_SET = `claimed_from = status, status = 'running', attempts = attempts + 1, started_at_ms = ?1, updated_at_ms = ?1,
  worker_id = ?2, lease_token = lower(hex(randomblob(16))), lease_expires_at_ms = ?3`;

/**
 * The claim path's queries, exported so a test can check their plans. Each names its
 * index (INDEXED BY, or NOT INDEXED for rowid lookups): left to itself the planner chose
 * differently before and after ANALYZE (a full scan of tasks_ready for a lookup by seq;
 * elsewhere an `IN` over several types fell into a skip-scan 300x slower), so each type
 * also gets its own query.
 */
export const CLAIM_SQL = {
  anyExpired: `SELECT 1 AS x FROM tasks INDEXED BY tasks_running WHERE status = 'running' AND lease_expires_at_ms <= ? LIMIT 1`,
  // A loose index scan: one seek per distinct region instead of reading every pending row.
  regionsWithPending: `WITH RECURSIVE t(region) AS (
      SELECT (SELECT region FROM tasks INDEXED BY tasks_ready WHERE type = ?1 AND ${DUE} ORDER BY region LIMIT 1)
      UNION ALL
      SELECT (SELECT region FROM tasks INDEXED BY tasks_ready WHERE type = ?1 AND ${DUE} AND region > t.region ORDER BY region LIMIT 1)
      FROM t WHERE t.region IS NOT NULL LIMIT 10000
    ) SELECT region FROM t WHERE region IS NOT NULL`,
  // The same, one seek per distinct tenant of one (type, region).
  tenantsWithPending: `WITH RECURSIVE t(tenant) AS (
      SELECT (SELECT tenant FROM tasks INDEXED BY tasks_ready WHERE type = ?1 AND region = ?2 AND ${DUE} ORDER BY tenant LIMIT 1)
      UNION ALL
      SELECT (SELECT tenant FROM tasks INDEXED BY tasks_ready WHERE type = ?1 AND region = ?2 AND ${DUE} AND tenant > t.tenant ORDER BY tenant LIMIT 1)
      FROM t WHERE t.tenant IS NOT NULL LIMIT 10000
    ) SELECT tenant FROM t WHERE tenant IS NOT NULL`,
  runningByTenant: `SELECT tenant, COUNT(*) AS n FROM tasks INDEXED BY tasks_running WHERE status = 'running' GROUP BY tenant`,
  candidates: `SELECT seq, priority, tenant FROM tasks INDEXED BY tasks_ready
    WHERE type = ?1 AND region = ?4 AND tenant = ?2 AND ${DUE} AND run_at_ms <= ?3
    ORDER BY priority DESC, seq LIMIT :limit`,
  // One statement claims a single tenant's best tasks of one type (the common case).
  claimTop: `UPDATE tasks NOT INDEXED SET ${CLAIM_SET} WHERE seq IN (
      SELECT seq FROM tasks INDEXED BY tasks_ready WHERE type = ?4 AND region = ?6 AND tenant = ?5 AND ${DUE} AND run_at_ms <= ?1
      ORDER BY priority DESC, seq LIMIT :limit)
    RETURNING ${TASK_COLUMNS}`,
  // Not a claim, a read in the claim's order: the head one tenant's claim of one type would
  // take (a seek in tasks_ready), then its row by seq for created_at_ms. oldestRunnableAtMs
  // runs it per tenant of tenantsWithPending and keeps the best head, as the claim would.
  headOfTenant: `SELECT seq, priority, MAX(run_at_ms, created_at_ms) AS since_ms FROM tasks NOT INDEXED WHERE seq = (
      SELECT seq FROM tasks INDEXED BY tasks_ready WHERE type = ?1 AND region = ?4 AND tenant = ?2 AND ${DUE} AND run_at_ms <= ?3
      ORDER BY priority DESC, seq LIMIT 1)`,
  // Tasks not yet due whose runAt has come: one seek in tasks_waiting, across types.
  anyNowDue: `SELECT 1 AS x FROM tasks INDEXED BY tasks_waiting WHERE ${NOT_DUE} AND run_at_ms <= ?1 LIMIT 1`,
  promoteDue: `UPDATE tasks NOT INDEXED SET is_due = 1 WHERE seq IN (
      SELECT seq FROM tasks INDEXED BY tasks_waiting WHERE ${NOT_DUE} AND run_at_ms <= ?1 ORDER BY run_at_ms LIMIT 5000)`,
  claimSeqs: `UPDATE tasks NOT INDEXED SET ${CLAIM_SET}
    WHERE seq IN (SELECT value FROM json_each(?4)) AND ${PENDING}
    RETURNING ${TASK_COLUMNS}`,
};

/** Prepared statements for one connection. */
export class Statements {
  readonly begin: StatementSync;
  readonly commit: StatementSync;
  readonly rollback: StatementSync;
  readonly savepoint: StatementSync;
  readonly release: StatementSync;
  readonly rollbackTo: StatementSync;

  readonly insertTask: StatementSync;
  readonly byId: StatementSync;
  readonly bySeq: StatementSync;
  readonly byIdempotencyKey: StatementSync;
  readonly pendingDepth: StatementSync;
  readonly addCount: StatementSync;
  readonly allCounts: StatementSync;
  readonly delayedCount: StatementSync;
  readonly earliestUnpromoted: StatementSync;

  readonly anyExpired: StatementSync;
  readonly expired: StatementSync;
  readonly regionsWithPending: StatementSync;
  readonly tenantsWithPending: StatementSync;
  readonly runningByTenant: StatementSync;
  readonly headOfTenant: StatementSync;
  readonly anyNowDue: StatementSync;
  readonly dataVersion: StatementSync;
  readonly promoteDue: StatementSync;
  private readonly candidatesByLimit = new Map<number, StatementSync>();
  private readonly claimTopByLimit = new Map<number, StatementSync>();
  private readonly db: DatabaseSync;
  readonly claimSeqs: StatementSync;
  readonly setWorker: StatementSync;

  readonly heartbeat: StatementSync;
  readonly succeed: StatementSync;
  readonly retry: StatementSync;
  readonly bury: StatementSync;
  readonly cancelTask: StatementSync;
  readonly requeueDead: StatementSync;

  readonly listPage: StatementSync;
  readonly listDead: StatementSync;
  readonly purgeChunk: StatementSync;
  readonly firstFrom: StatementSync;
  readonly maxSeq: StatementSync;

  readonly taskExists: StatementSync;
  readonly insertLogLine: StatementSync;
  readonly addLogBytes: StatementSync;
  readonly logSize: StatementSync;
  readonly oldestLogLines: StatementSync;
  readonly dropLogLinesThrough: StatementSync;
  readonly markLogTruncated: StatementSync;
  readonly readLog: StatementSync;
  readonly deleteLogOf: StatementSync;
  readonly deleteLogSizeOf: StatementSync;

  readonly insertEvent: StatementSync;
  readonly purgeEvents: StatementSync;
  readonly purgeSamples: StatementSync;
  readonly listEvents: StatementSync;
  readonly insertSample: StatementSync;
  readonly listSamples: StatementSync;

  constructor(db: DatabaseSync) {
    this.db = db;
    const p = (sql: string) => db.prepare(sql);
    this.begin = p('BEGIN IMMEDIATE');
    this.commit = p('COMMIT');
    this.rollback = p('ROLLBACK');
    this.savepoint = p('SAVEPOINT op');
    this.release = p('RELEASE op');
    this.rollbackTo = p('ROLLBACK TO op');


    this.insertTask = p(`INSERT INTO tasks (id_tail, type, tenant, status, priority, run_at_ms, attempts, max_attempts,
      timeout_ms, idempotency_key, payload, created_at_ms, updated_at_ms, is_due, region)
      VALUES (?1, ?2, ?3, 'queued', ?4, ?5, 0, ?6, ?7, ?8, ?9, ?10, ?10, ?5 <= ?10, ?11)`);
    this.byId = p(`SELECT ${TASK_COLUMNS} FROM tasks WHERE seq = ? AND id_tail = ?`);
    this.bySeq = p(`SELECT ${TASK_COLUMNS} FROM tasks WHERE seq = ?`);
    this.byIdempotencyKey = p(`SELECT ${TASK_COLUMNS} FROM tasks WHERE tenant = ? AND idempotency_key = ?`);
    this.pendingDepth = p(`SELECT COALESCE(SUM(n), 0) AS n FROM task_counts WHERE ${PENDING}`);
    this.addCount = p(`INSERT INTO task_counts (type, status, n) VALUES (?, ?, ?)
      ON CONFLICT (type, status) DO UPDATE SET n = n + excluded.n`);
    this.allCounts = p('SELECT type, status, n FROM task_counts');
    this.delayedCount = p(`SELECT COUNT(*) AS n FROM tasks INDEXED BY tasks_delayed
      WHERE type = ? AND ${NOT_DUE} AND run_at_ms > ?`);
    // The earliest runAt among tasks of a type not yet marked due although their time has come.
    this.earliestUnpromoted = p(`SELECT MIN(run_at_ms) AS at FROM tasks INDEXED BY tasks_delayed
      WHERE type = ? AND ${NOT_DUE} AND run_at_ms <= ?`);

    this.anyExpired = p(CLAIM_SQL.anyExpired);
    this.regionsWithPending = p(CLAIM_SQL.regionsWithPending);
    this.tenantsWithPending = p(CLAIM_SQL.tenantsWithPending);
    this.runningByTenant = p(CLAIM_SQL.runningByTenant);
    this.headOfTenant = p(CLAIM_SQL.headOfTenant);
    this.anyNowDue = p(CLAIM_SQL.anyNowDue);
    this.dataVersion = p('PRAGMA data_version');
    this.promoteDue = p(CLAIM_SQL.promoteDue);
    this.claimSeqs = p(CLAIM_SQL.claimSeqs);
    // A batch claim for several workers records each task's own worker (ClaimRequest.workerIds).
    this.setWorker = p('UPDATE tasks NOT INDEXED SET worker_id = ?1 WHERE seq = ?2');
    // Task logs (bounded per task: appendTaskLog drops the oldest lines past the limit).
    this.taskExists = p('SELECT 1 AS ok FROM tasks NOT INDEXED WHERE seq = ? AND id_tail = ?');
    this.insertLogLine = p('INSERT INTO task_logs (task_seq, attempt, at_ms, stream, text, bytes) VALUES (?, ?, ?, ?, ?, ?)');
    this.addLogBytes = p(`INSERT INTO task_log_sizes (task_seq, bytes, truncated) VALUES (?1, ?2, 0)
      ON CONFLICT (task_seq) DO UPDATE SET bytes = bytes + ?2 RETURNING bytes`);
    this.logSize = p('SELECT bytes, truncated FROM task_log_sizes WHERE task_seq = ?');
    this.oldestLogLines = p('SELECT seq, bytes FROM task_logs INDEXED BY task_logs_task WHERE task_seq = ? ORDER BY seq LIMIT 256');
    this.dropLogLinesThrough = p('DELETE FROM task_logs WHERE task_seq = ?1 AND seq <= ?2');
    this.markLogTruncated = p('UPDATE task_log_sizes SET bytes = bytes - ?2, truncated = 1 WHERE task_seq = ?1');
    this.readLog = p(`SELECT seq, attempt, at_ms, stream, text FROM task_logs INDEXED BY task_logs_task
      WHERE task_seq = ? AND seq > ? ORDER BY seq`);
    this.deleteLogOf = p('DELETE FROM task_logs WHERE task_seq = ?');
    this.deleteLogSizeOf = p('DELETE FROM task_log_sizes WHERE task_seq = ?');
    this.expired = p(`SELECT ${TASK_COLUMNS} FROM tasks INDEXED BY tasks_running WHERE status = 'running' AND lease_expires_at_ms <= ?`);

    this.heartbeat = p(`UPDATE tasks SET lease_expires_at_ms = :expires, updated_at_ms = :now
      WHERE seq = :seq AND id_tail = :tail AND lease_token = :token AND status = 'running' RETURNING lease_expires_at_ms`);
    // ?1 result, ?2 now, ?3 seq, ?4 lease token, ?5 id tail
    this.succeed = p(`UPDATE tasks SET status = 'succeeded', result = ?1, error = NULL, finished_at_ms = ?2,
      updated_at_ms = ?2, lease_token = NULL, lease_expires_at_ms = NULL
      WHERE seq = ?3 AND id_tail = ?5 AND lease_token = ?4 AND status = 'running'
      RETURNING seq, type, tenant, attempts, created_at_ms, run_at_ms, started_at_ms`);
    this.retry = p(`UPDATE tasks SET status = 'retrying', error = :error, run_at_ms = :runAt, updated_at_ms = :now,
      is_due = :runAt <= :now, worker_id = NULL, lease_token = NULL, lease_expires_at_ms = NULL
      WHERE seq = :seq AND id_tail = :tail AND status = 'running' RETURNING ${TASK_COLUMNS}`);
    this.bury = p(`UPDATE tasks SET status = 'dead', error = :error, finished_at_ms = :now, updated_at_ms = :now,
      lease_token = NULL, lease_expires_at_ms = NULL
      WHERE seq = :seq AND id_tail = :tail AND status = 'running' RETURNING ${TASK_COLUMNS}`);
    this.cancelTask = p(`UPDATE tasks SET status = 'cancelled', finished_at_ms = :now, updated_at_ms = :now,
      lease_token = NULL, lease_expires_at_ms = NULL
      WHERE seq = :seq AND id_tail = :tail AND status IN ('queued', 'retrying', 'running') RETURNING ${TASK_COLUMNS}`);
    this.requeueDead = p(`UPDATE tasks SET status = 'queued', attempts = 0, run_at_ms = :now, is_due = 1, error = NULL,
      result = NULL, finished_at_ms = NULL, updated_at_ms = :now, worker_id = NULL
      WHERE seq = :seq AND id_tail = :tail AND status = 'dead' RETURNING ${TASK_COLUMNS}`);

    // Filters are optional: a NULL parameter matches everything. Statuses come as a JSON array.
    this.listPage = p(`SELECT ${TASK_COLUMNS} FROM tasks
      WHERE seq > :after
        AND (:statuses IS NULL OR status IN (SELECT value FROM json_each(:statuses)))
        AND (:type IS NULL OR type = :type)
        AND (:tenant IS NULL OR tenant = :tenant)
      ORDER BY seq LIMIT :limit`);
    // The dead-letter view walks tasks_dead in order.
    this.listDead = p(`SELECT ${TASK_COLUMNS} FROM tasks INDEXED BY tasks_dead
      WHERE status = 'dead' AND seq > :after
        AND (:type IS NULL OR type = :type)
        AND (:tenant IS NULL OR tenant = :tenant)
      ORDER BY seq LIMIT :limit`);
    // Walks tasks in seq order up to :bound, the last task created before the cut-off (a task
    // that finished before it was created before it, and seq follows creation).
    this.purgeChunk = p(`DELETE FROM tasks WHERE seq IN (
        SELECT seq FROM tasks WHERE seq > :after AND seq <= :bound AND ${FINAL} AND finished_at_ms < :before
        ORDER BY seq LIMIT :limit)
      RETURNING seq, type, status`);
    this.firstFrom = p('SELECT seq, created_at_ms FROM tasks WHERE seq >= ? ORDER BY seq LIMIT 1');
    this.maxSeq = p('SELECT COALESCE(MAX(seq), 0) AS seq FROM tasks');

    this.insertEvent = p(`INSERT INTO scaling_events (at_ms, pool, from_workers, to_workers, action, code, reason, policy)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?)`);
    this.listEvents = p(`SELECT * FROM (
        SELECT seq, at_ms, pool, from_workers, to_workers, action, code, reason, policy FROM scaling_events
        WHERE at_ms >= :from AND at_ms <= :to AND (:pool IS NULL OR pool = :pool)
        ORDER BY at_ms DESC, seq DESC LIMIT :limit
      ) ORDER BY at_ms, seq`);
    this.purgeEvents = p('DELETE FROM scaling_events WHERE at_ms < ?');
    this.purgeSamples = p('DELETE FROM metric_samples WHERE at_ms < ?');
    this.insertSample = p('INSERT INTO metric_samples (at_ms, pool, sample_values) VALUES (?, ?, ?)');
    this.listSamples = p(`SELECT * FROM (
        SELECT seq, at_ms, pool, sample_values FROM metric_samples
        WHERE at_ms >= :from AND at_ms <= :to AND (:pool IS NULL OR pool = :pool)
        ORDER BY at_ms DESC, seq DESC LIMIT :limit
      ) ORDER BY at_ms, seq`);
  }

  /**
   * Sets the connection's sync level. Not a prepared statement: SQLite applies a PRAGMA
   * when it compiles it, so preparing `synchronous = FULL` once would switch it on the spot.
   */
  setSynchronous(level: 'FULL' | 'NORMAL'): void {
    this.db.exec(`PRAGMA synchronous = ${level}`);
  }

  // A LIMIT bound as a parameter made the claim statement about 3x slower than a literal
  // LIMIT (measured: 58 vs 20 us for one row), so each limit gets its own statement.
  candidates(limit: number): StatementSync {
    return this.limited(this.candidatesByLimit, CLAIM_SQL.candidates, limit);
  }

  claimTop(limit: number): StatementSync {
    return this.limited(this.claimTopByLimit, CLAIM_SQL.claimTop, limit);
  }

  private limited(cache: Map<number, StatementSync>, sql: string, limit: number): StatementSync {
    let st = cache.get(limit);
    if (!st) {
      st = this.db.prepare(sql.replace(':limit', String(Math.floor(limit))));
      if (cache.size < 256) cache.set(limit, st);
    }
    return st;
  }
}
