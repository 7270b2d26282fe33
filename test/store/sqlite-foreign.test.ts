// Another program's SQLite file is not silently turned into a Tidepool database (issue 8,
// item 16): opening a file that holds foreign tables is refused, naming the file and its
// tables, unless the URL says ?foreignTables=allow. And every SQLite error names the file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { openStore } from '../../src/store/index.ts';
import { translateSqliteError } from '../../src/store/sqlite/errors.ts';
import { tempDir } from '../server/helpers.ts';

function tables(file: string): string[] {
  const db = new DatabaseSync(file);
  try {
    return (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((r) => r.name);
  } finally {
    db.close();
  }
}

test("a SQLite file holding another program's tables is refused, naming the file and the tables, and left as it was", async () => {
  const tmp = tempDir();
  try {
    const file = join(tmp.dir, 'app.db');
    const db = new DatabaseSync(file);
    db.exec("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO users (name) VALUES ('ada'); CREATE TABLE orders (id INTEGER PRIMARY KEY)");
    db.close();
    await assert.rejects(openStore(`sqlite:${file}`), (err: Error) => {
      assert.match(err.message, new RegExp(`SQLite store ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: the file is not a Tidepool database \\(it holds other tables: orders, users\\); .*\\?foreignTables=allow`));
      assert.equal((err as { code?: string }).code, 'ConfigInvalid');
      return true;
    });
    assert.deepEqual(tables(file), ['orders', 'users'], 'nothing was added');
    await assert.rejects(openStore(`sqlite:${file}?foreignTables=yes`), /option foreignTables="yes"; expected "allow"/);
    // Told to share it: Tidepool's tables join the others, which stay intact.
    const store = await openStore(`sqlite:${file}?foreignTables=allow`);
    try {
      await store.submit({ type: 'echo' });
    } finally {
      await store.close();
    }
    assert.ok(tables(file).includes('tasks'));
    assert.ok(tables(file).includes('users'));
    // Once it is a Tidepool database (schema version set) it opens without the option.
    const again = await openStore(`sqlite:${file}`);
    assert.equal((await again.counts()).byType.echo.queued, 1);
    await again.close();
    // An empty file or a new path is ours to set up.
    const fresh = await openStore(`sqlite:${join(tmp.dir, 'new.db')}`);
    await fresh.close();
  } finally {
    tmp.remove();
  }
});

test('every SQLite error names the database file, read-only and full disk included', () => {
  for (const [errcode, words] of [[8, 'the file is read-only'], [13, 'the disk is full'], [5, 'locked'], [14, 'cannot open'], [10, 'disk I/O error'], [1, 'boom']] as const) {
    const err = translateSqliteError(Object.assign(new Error('boom'), { errcode }), '/var/lib/tidepool/t.db', 'commit');
    assert.ok(err.message.startsWith('SQLite store /var/lib/tidepool/t.db: commit failed: '), err.message);
    assert.ok(err.message.includes(words), err.message);
  }
});
