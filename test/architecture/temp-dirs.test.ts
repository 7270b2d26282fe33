// The suite leaves no tidepool-* folders in the temp directory: every test file that
// makes one removes it (rmSync, or the scratchDir / tempDir helpers that do).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = join(import.meta.dirname, '..', '..');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

test('every test file that makes a temp folder removes it', () => {
  const leaking = files(join(root, 'test'))
    .filter((f) => /\bmkdtempSync\(/.test(readFileSync(f, 'utf8')))
    .filter((f) => !/\brmSync\(/.test(readFileSync(f, 'utf8')))
    .map((f) => relative(root, f));
  assert.deepEqual(leaking, [], 'these make temp folders and never remove them; use scratchDir() from test/scratch-dir.ts');
});
