// The README's "choosing a policy from your own traffic" example, run as written after
// `npm start`: the demo writes the store the example reads, the export holds the demo's
// tasks, and simulate compares the policies on them. Also: trace export refuses a store
// that does not exist (it used to create an empty one), and simulate an empty trace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '../..');
const MAIN = join(ROOT, 'src/cli/main.ts');
const DEMO = join(ROOT, 'examples/demo.ts');

/** The commands of the README block that starts with `npx tidepool trace export`. */
function readmeCommands(): string[][] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const block = /```sh\n(npx tidepool trace export[^`]*)```/.exec(readme);
  assert.ok(block, 'README has the trace export example');
  return block[1]!.trim().split('\n').map((line) => line.trim().split(/\s+/).slice(2)); // drop "npx tidepool"
}

test("the README's trace export and simulate example works after npm start, as written", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tidepool-readme-'));
  try {
    // npm start in a fresh folder until a few of its demo tasks have finished.
    const demo = spawn(process.execPath, [DEMO, '--port', '0'], { cwd: dir, env: { ...process.env, TIDEPOOL_PORT: '', PORT: '', TIDEPOOL_STORE: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    demo.stdout.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => demo.on('exit', r));
    let finished = 0;
    for (let i = 0; i < 200 && finished < 5; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const url = /listening on (http:\/\/\S+)/.exec(out)?.[1];
      if (!url) continue;
      const page = (await (await fetch(`${url}/v1/tasks?status=succeeded&limit=100`)).json()) as { tasks: unknown[] };
      finished = page.tasks.length;
    }
    demo.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.ok(finished >= 5, `the demo finished ${finished} tasks`);

    const [exportArgs, simulateArgs] = readmeCommands();
    const exported = spawnSync(process.execPath, [MAIN, ...exportArgs!], { cwd: dir, encoding: 'utf8' });
    assert.equal(exported.status, 0, exported.stderr);
    const csv = readFileSync(join(dir, 'mine.csv'), 'utf8').trim().split('\n');
    assert.ok(csv.length - 1 >= 5, `the export holds the demo's tasks: ${csv.length - 1} rows`);
    const simulated = spawnSync(process.execPath, [MAIN, ...simulateArgs!], { cwd: dir, encoding: 'utf8' });
    assert.equal(simulated.status, 0, simulated.stderr);
    assert.match(simulated.stdout, /adaptive/);
    assert.ok(existsSync(join(dir, 'mine.svg')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('trace export refuses a store that does not exist and creates nothing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tidepool-export-missing-'));
  try {
    const r = spawnSync(process.execPath, [MAIN, 'trace', 'export', '--store', 'sqlite:./nothing.db'], { cwd: dir, encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^tidepool: --store \(flag\): got "sqlite:\.\/nothing\.db"; no such file .*nothing\.db: trace export reads a store and does not create one/);
    assert.equal(existsSync(join(dir, 'nothing.db')), false);
    const memory = spawnSync(process.execPath, [MAIN, 'trace', 'export', '--store', 'memory'], { encoding: 'utf8' });
    assert.equal(memory.status, 2);
    assert.match(memory.stderr, /a new process's memory store is always empty/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('simulate refuses a trace with no tasks instead of reporting every policy as meeting the SLO', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tidepool-empty-trace-'));
  try {
    const empty = join(dir, 'empty.csv');
    writeFileSync(empty, 'arrival_ms,service_ms,tenant,priority,type\n');
    const r = spawnSync(process.execPath, [MAIN, 'simulate', '--trace', empty, '--compare'], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--trace: ".*empty\.csv" has no tasks \(a header only\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
