// What only the SQLite adapter has (the contract suite runs in store.contract.test.ts):
// pragmas, group commit, driver errors and the claim query's plan.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { ConfigInvalidError, LeaseLostError, StoreUnavailableError, VirtualClock } from '../../src/core/index.ts';
import { openStore } from '../../src/store/index.ts';
import { CLAIM_SQL } from '../../src/store/sqlite/sql.ts';
import { tempDir } from './helpers.ts';

const dir = tempDir();

test('bad store options are all reported at once, each with its value and range', async () => {
  await assert.rejects(
    openStore(`sqlite:${join(dir, 'opts.db')}`, { durability: 'fast', retry: { jitter: 2, maxAttempts: 0 }, maxQueueDepth: -1 } as never),
    (err: Error) => {
      assert.ok(err instanceof ConfigInvalidError);
      assert.deepEqual(err.problems, [
        'store option durability: an SQLite option, given in the store URL now (sqlite:PATH?durability=…)',
        'store option retry.maxAttempts: got 0; expected an integer >= 1',
        'store option retry.jitter: got 2; expected a number in [0, 1]',
        'store option maxQueueDepth: got -1; expected an integer >= 0',
      ]);
      return true;
    },
  );
});

test('the file is in WAL mode, creates its directory, and a relative sqlite: path works', async () => {
  const path = join(dir, 'nested', 'deeper', 'wal.db');
  const store = await openStore(`sqlite:${path}`);
  await store.submit({ type: 'x' });
  const probe = new DatabaseSync(path);
  assert.equal((probe.prepare('PRAGMA journal_mode').get() as { journal_mode: string }).journal_mode, 'wal');
  probe.close();
  await store.close();
  const cwd = process.cwd();
  process.chdir(dir);
  try {
    const rel = await openStore('sqlite:relative.db?durability=normal');
    await rel.submit({ type: 'x' });
    await rel.close();
    const again = await openStore(`sqlite:${join(dir, 'relative.db')}`);
    assert.equal((await again.counts()).byStatus.queued, 1);
    await again.close();
  } finally {
    process.chdir(cwd);
  }
});

test('a file that is not a database is refused with a StoreUnavailable error naming the file', async () => {
  const path = join(dir, 'not-a-db.db');
  writeFileSync(path, 'this is plain text, not SQLite, and it is long enough to have a header'.repeat(20));
  await assert.rejects(openStore(`sqlite:${path}`), (err: Error) => {
    assert.ok(err instanceof StoreUnavailableError);
    assert.match(err.message, new RegExp(`^SQLite store ${path}: open failed: the file is not a valid Tidepool SQLite database`));
    assert.ok(err.cause, 'keeps the driver error as its cause');
    return true;
  });
});

test('a file from the pre-release layout (schema version 1) is refused with a message saying what to do', async () => {
  const path = join(dir, 'old-layout.db');
  const old = new DatabaseSync(path);
  old.exec('CREATE TABLE tasks (seq INTEGER PRIMARY KEY, id TEXT); PRAGMA user_version = 1');
  old.close();
  await assert.rejects(openStore(`sqlite:${path}`), (err: Error) => {
    assert.ok(err instanceof StoreUnavailableError);
    assert.match(err.message, /schema version 1 is a pre-release layout this Tidepool cannot open; move the file away or use a new path/);
    return true;
  });
});

test('a version-2 file (before task logs) is upgraded in place: its tasks stay, and their logs work', async () => {
  const path = join(dir, 'v2.db');
  const first = await openStore(`sqlite:${path}`);
  const { task } = await first.submit({ type: 'x', payload: 'kept' });
  await first.close();
  // Make it what Tidepool before task logs wrote: no log tables, user_version 2.
  const db = new DatabaseSync(path);
  db.exec('DROP TABLE task_logs; DROP TABLE task_log_sizes; PRAGMA user_version = 2');
  db.close();
  const store = await openStore(`sqlite:${path}`);
  assert.equal((await store.get(task.id))!.payload, 'kept');
  await store.appendTaskLog(task.id, [{ attempt: 1, atMs: 1, stream: 'log', text: 'hello' }]);
  assert.deepEqual((await store.readTaskLog(task.id)).lines.map((l) => l.text), ['hello']);
  await store.close();
});

test('a version-5 file (before regions) is upgraded in place: its tasks have no region, new ones do, and a region claim serves both', async () => {
  const path = join(dir, 'v5.db');
  const first = await openStore(`sqlite:${path}`);
  const { task } = await first.submit({ type: 'x', payload: 'kept' });
  await first.close();
  // Make it what Tidepool before regions wrote: no region column, tasks_ready without it, user_version 5.
  const db = new DatabaseSync(path);
  db.exec(`DROP INDEX tasks_ready; ALTER TABLE tasks DROP COLUMN region;
    CREATE INDEX tasks_ready ON tasks (type, tenant, priority DESC, seq, run_at_ms, status) WHERE status IN ('queued', 'retrying') AND is_due = 1;
    PRAGMA user_version = 5`);
  db.close();
  const store = await openStore(`sqlite:${path}`);
  assert.equal((await store.get(task.id))!.region, null);
  const east = (await store.submit({ type: 'x', region: 'east' })).task;
  await store.submit({ type: 'x', region: 'west' });
  const claimed = await store.claim({ workerId: 'w', types: ['x'], limit: 10, leaseMs: 1000, regions: ['east'] });
  assert.deepEqual(claimed.map((t) => t.id), [task.id, east.id]);
  await store.close();
  const again = new DatabaseSync(path);
  assert.equal((again.prepare('PRAGMA user_version').get() as { user_version: number }).user_version, 6);
  again.close();
});

test('writes arriving in the same tick commit together, and a refused one does not undo the others', async () => {
  const clock = new VirtualClock();
  const store = await openStore(`sqlite:${join(dir, 'group.db')}`, { clock });
  await store.submit({ type: 'x' });
  const [t] = await store.claim({ workerId: 'w', types: ['x'], limit: 1, leaseMs: 1000 });
  const results = await Promise.allSettled([
    store.submit({ type: 'x', payload: 1 }),
    store.complete(t.id, 'forged-token', null),
    ...Array.from({ length: 48 }, (_, i) => store.submit({ type: 'x', payload: i + 2 })),
    store.heartbeat(t.id, t.leaseToken, 5_000),
  ]);
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 50);
  const refused = results[1] as PromiseRejectedResult;
  assert.ok(refused.reason instanceof LeaseLostError);
  const counts = await store.counts();
  assert.equal(counts.byStatus.queued, 49);
  assert.equal(counts.byStatus.running, 1);
  assert.equal((await store.get(t.id))!.leaseExpiresAtMs, clock.now() + 5_000);
  await store.close();
});

test('a group of only claims and heartbeats commits without its own fsync, and the store returns to synchronous=FULL', async () => {
  const store = await openStore(`sqlite:${join(dir, 'relaxed.db')}`);
  const db = (store as unknown as { db: DatabaseSync }).db;
  const level = () => (db.prepare('PRAGMA synchronous').get() as { synchronous: number }).synchronous;
  assert.equal(level(), 2, 'FULL');
  await store.submitBatch([{ type: 'x' }, { type: 'x' }]);
  const [t] = await store.claim({ workerId: 'w', types: ['x'], limit: 1, leaseMs: 1000 });
  await store.heartbeat(t.id, t.leaseToken, 2000);
  assert.equal(level(), 2, 'back to FULL after a relaxed group');
  await store.close();
  const normal = await openStore(`sqlite:${join(dir, 'relaxed-normal.db')}?durability=normal`);
  assert.equal((normal as unknown as { db: DatabaseSync }).db.prepare('PRAGMA synchronous').get()!.synchronous, 1, 'NORMAL');
  await normal.close();
});

test('more concurrent writes than one group transaction takes all commit, in order, across several transactions', async () => {
  const store = await openStore(`sqlite:${join(dir, 'many.db')}?durability=normal`);
  const results = await Promise.all(Array.from({ length: 2_500 }, (_, i) => store.submit({ type: 'x', payload: i })));
  assert.equal(results.length, 2_500);
  const page = await store.list({ limit: 1000 });
  assert.deepEqual(page.tasks.slice(0, 5).map((t) => t.payload), [0, 1, 2, 3, 4]);
  assert.equal((await store.counts()).byStatus.queued, 2_500);
  await store.close();
});

test('after ANALYZE the claim queries search the ready index, with no scan or skip-scan of tasks', async () => {
  const path = join(dir, 'plan.db');
  const store = await openStore(`sqlite:${path}`);
  const tenants = ['a', 'b', 'c'];
  for (const type of ['email', 'sms', 'llm', 'cpu']) {
    await store.submitBatch(Array.from({ length: 3000 }, (_, i) => ({ type, tenant: tenants[i % 3], priority: i % 4, delayMs: i % 7 ? 0 : 60_000 })));
  }
  const [t] = await store.claim({ workerId: 'w', types: ['email'], limit: 50, leaseMs: 1000 });
  await store.complete(t.id, t.leaseToken, null);
  await store.close();
  const db = new DatabaseSync(path);
  db.exec('ANALYZE');
  for (const [name, sql] of Object.entries(CLAIM_SQL)) {
    if (name === 'claimSeqs') continue; // by primary key from json_each; nothing to search
    const detail = (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[]).map((r) => r.detail).join(' | ');
    assert.match(detail, /USING COVERING INDEX tasks_(ready|lease|running|waiting)\b/, `${name}: ${detail}`);
    assert.doesNotMatch(detail, /SCAN tasks(?! USING)|skip-scan/i, `${name}: ${detail}`);
  }
  db.close();
});

test('a retrying task made due by the autoscaler\'s look at the queue (oldestRunnableAtMs) is still claimed: the ready cache is dropped', async () => {
  const clock = new VirtualClock(1_800_000_000_000);
  const store = await openStore(`sqlite:${join(dir, 'due-by-observe.db')}`, { clock });
  const claim = () => store.claim({ workerId: 'w', types: ['x'], limit: 5, leaseMs: 60_000 });
  try {
    const { task } = await store.submit({ type: 'x', maxAttempts: 3 });
    const [first] = await claim();
    assert.equal(first.id, task.id);
    await store.fail(first.id, first.leaseToken, { message: 'flaky' });
    assert.deepEqual(await claim(), [], 'not due yet: backing off');
    const retrying = (await store.get(task.id))!;
    assert.equal(retrying.status, 'retrying');
    await clock.advance(retrying.runAtMs - clock.now() + 1);
    // The autoscaler observes the queue before any claim looks: that marks the task due.
    assert.equal(await store.oldestRunnableAtMs(['x']), retrying.runAtMs);
    const [again] = await claim();
    assert.equal(again?.id, task.id, 'the due retry is claimed (it used to stay retrying forever)');
  } finally {
    await store.close();
  }
});

test('the ready cache never hides what another connection wrote: its submits, claims and cancels are seen by the next claim', async () => {
  const path = join(dir, 'two-connections.db');
  const a = await openStore(`sqlite:${path}`);
  const b = await openStore(`sqlite:${path}`);
  const claim = (s: typeof a, limit = 1) => s.claim({ workerId: 'w', types: ['x'], limit, leaseMs: 60_000 });
  try {
    const queued = await a.submitBatch(Array.from({ length: 6 }, (_, i) => ({ type: 'x', tenant: `t${i % 2}`, payload: i })));
    assert.equal((await claim(a))[0].payload, 0, 'a has read the queue into its cache');
    const { task: urgent } = await b.submit({ type: 'x', tenant: 't9', priority: 5 });
    assert.equal((await claim(a))[0].id, urgent.id, "b's higher-priority submit is a's next claim");
    await b.cancel(queued[1].task.id);
    const [byB] = await claim(b);
    assert.equal(byB.payload, 3, 'tenant t1 has nothing running, and its task 1 was cancelled');
    const rest = await claim(a, 10);
    assert.deepEqual(rest.map((t) => t.payload as number).sort(), [2, 4, 5], 'neither the cancelled task nor the one b holds');
  } finally {
    await a.close();
    await b.close();
  }
});
