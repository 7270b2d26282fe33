// `tidepool load-test --kind`: the smoke scenario passes on each out-of-process kind
// (command: a shell script per task; process: the Python example worker), and a bad kind
// is refused naming the known ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [main, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

for (const kind of ['command', 'process'] as const) {
  test(`the smoke scenario passes on ${kind} workers with nothing lost`, { timeout: 90_000 }, async () => {
    const { code, stdout, stderr } = await runCli(['load-test', '--scenario', 'smoke', '--kind', kind, '--store', 'memory', '--json']);
    const r = JSON.parse(stdout.trim().split('\n').pop()!);
    assert.equal(r.kind, kind);
    assert.equal(r.passed, true, `${JSON.stringify(r.criteria)}\n${stderr}`);
    assert.equal(r.lost, 0);
    assert.equal(r.completed + r.failed, r.submitted);
    assert.equal(r.duplicateSuccesses, 0);
    assert.equal(code, 0);
  });
}

test('an unknown kind is refused with exit code 2, naming the known ones', async () => {
  const { code, stderr } = await runCli(['load-test', '--scenario', 'smoke', '--kind', 'fiber']);
  assert.equal(code, 2);
  assert.match(stderr, /--kind got "fiber"; expected one of inline, thread, command, process/);
});
