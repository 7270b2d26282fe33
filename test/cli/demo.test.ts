// `npm start` (examples/demo.ts) is `tidepool start` with demo defaults: the same flags,
// environment variables and messages, e.g. --port, TIDEPOOL_PORT, --store and the one
// clean line on a busy port.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';

const DEMO = join(import.meta.dirname, '../../examples/demo.ts');
const MAIN = join(import.meta.dirname, '../../src/cli/main.ts');

interface Exit {
  code: number | null;
  out: string;
  err: string;
}

/** Runs a command; resolves when it exits, or once `until` matches stdout (then stops it with SIGTERM). */
function runNode(args: string[], env: Record<string, string>, until?: RegExp, onReady?: (out: string) => Promise<void>): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, args, { env: { ...process.env, DEMO_LOAD: '0', TIDEPOOL_PORT: '', PORT: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let isReady = false;
    proc.stdout.on('data', (d) => {
      out += d;
      if (until && !isReady && until.test(out)) {
        isReady = true;
        (onReady ? onReady(out) : Promise.resolve()).then(
          () => proc.kill('SIGTERM'),
          (e) => {
            proc.kill('SIGKILL');
            reject(e);
          },
        );
      }
    });
    proc.stderr.on('data', (d) => (err += d));
    proc.on('exit', (code) => resolve({ code, out, err }));
  });
}

async function listening(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as { port: number }).port };
}

test('the demo takes --port and --store like tidepool start, serves its two pools and stops cleanly on SIGTERM', async () => {
  let pools: string[] = [];
  const run = await runNode([DEMO, '--port', '0', '--store', 'memory'], {}, /pools llm/, async (out) => {
    const url = /listening on (http:\/\/\S+)/.exec(out)![1]!;
    const body = (await (await fetch(`${url}/v1/pools`)).json()) as { pools: { name: string }[] };
    pools = body.pools.map((p) => p.name);
  });
  assert.equal(run.code, 0, run.err);
  assert.match(run.out, /listening on http:\/\/127\.0\.0\.1:\d+ \(store memory\)/);
  assert.match(run.out, /limits off \(--limits\), rate limit off, max queue depth off, tenant concurrency unlimited, max attempts 3, lease 20000 ms/, 'the start-up log says which limits are in effect');
  assert.deepEqual(pools, ['llm', 'cpu']);
});

test('the demo reads TIDEPOOL_PORT', async () => {
  const { server, port } = await listening();
  await new Promise((r) => server.close(r));
  const run = await runNode([DEMO, '--store', 'memory'], { TIDEPOOL_PORT: String(port) }, /pools llm/);
  assert.equal(run.code, 0, run.err);
  assert.match(run.out, new RegExp(`listening on http://127\\.0\\.0\\.1:${port} `));
});

test('on a busy port the demo and tidepool start print the same one clean line and exit 1', async () => {
  const { server, port } = await listening();
  try {
    const line = `tidepool: port ${port} on 127.0.0.1 is in use (another Tidepool or program listens there); choose another with --port or TIDEPOOL_PORT (0 = any free port)\n`;
    const demo = await runNode([DEMO, '--store', 'memory'], { TIDEPOOL_PORT: String(port) });
    assert.equal(demo.code, 1);
    assert.equal(demo.err, line, 'no stack trace');
    const start = await runNode([MAIN, 'start', '--store', 'memory', '--port', String(port)], {});
    assert.equal(start.code, 1);
    assert.equal(start.err, line);
  } finally {
    await new Promise((r) => server.close(r));
  }
});
