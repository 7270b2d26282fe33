// A start that fails after the store opened (issue 8, item 14): `tidepool start` on a
// SQLite file whose write lock another connection holds prints one line and exits
// non-zero, with its pools, autoscaler and store stopped (before the fix it printed the
// error and went on claiming and running tasks headless, never exiting).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { openStore } from '../../src/store/index.ts';
import { tempDir } from './helpers.ts';

const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;

test('tidepool start exits non-zero with one line when the store fails after it opened (write lock held elsewhere)', { timeout: 60_000 }, async () => {
  const tmp = tempDir();
  const file = join(tmp.dir, 'locked.db');
  const store = await openStore(`sqlite:${file}`);
  await store.submit({ type: 'echo', payload: 'must not run' });
  await store.close();
  const lock = new DatabaseSync(file);
  lock.exec('BEGIN EXCLUSIVE');
  try {
    const child = spawn(process.execPath, [MAIN, 'start', '--store', `sqlite:${file}?busyTimeoutMs=200`, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TIDEPOOL_API_KEYS: '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    assert.equal(code, 1, `exit code; stderr: ${stderr}`);
    assert.equal(stdout, '', 'it never said it was listening');
    assert.match(stderr, /^tidepool: SQLite store .*locked\.db: .*locked by another connection/);
    assert.equal(stderr.trim().split('\n').length, 1, `one line, no stack trace: ${stderr}`);
  } finally {
    lock.exec('ROLLBACK');
    lock.close();
  }
  // The task it must not have run is still queued.
  const after = await openStore(`sqlite:${file}`);
  try {
    const counts = await after.counts();
    assert.equal(counts.byType.echo.queued, 1);
  } finally {
    await after.close();
    tmp.remove();
  }
});
