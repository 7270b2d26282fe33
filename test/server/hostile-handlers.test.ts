// Issue 8 item 1: code the server hosts must not take it down. A real `tidepool start`
// process runs handlers that leave a rejection unawaited, throw in a timer callback and
// throw synchronously: through 100 such tasks it stays up, /health keeps answering 200
// with the failing pools named, each such task ends dead with its own error, and tasks
// of another type keep succeeding meanwhile.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { tempDir } from './helpers.ts';

const MAIN = join(import.meta.dirname, '../../src/cli/main.ts');
const HANDLERS = join(import.meta.dirname, 'fixtures/hostile-handlers.ts');

test('a handler module that rejects unawaited, throws in a timer and throws synchronously does not take tidepool start down', { timeout: 120_000 }, async () => {
  const tmp = tempDir('tidepool-hostile-');
  const proc = spawn(process.execPath, [MAIN, 'start', '--store', `sqlite:${join(tmp.dir, 'h.db')}`, '--port', '0', '--handlers', HANDLERS, '--max-attempts', '2', '--retry-base-ms', '1', '--policy', 'fixed:4'], {
    env: { ...process.env, TIDEPOOL_API_KEYS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let exitCode: number | null | undefined;
  proc.stderr!.on('data', (c) => (err += c));
  proc.once('exit', (code) => (exitCode = code));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      proc.stdout!.on('data', (c) => {
        out += c;
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      proc.once('exit', (code) => reject(new Error(`server exited (${code}) before listening: ${err}`)));
    });
    const post = async (tasks: unknown[]) => {
      const res = await fetch(`${url}/v1/tasks/batch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ tasks }) });
      assert.equal(res.status, 201);
      return ((await res.json()) as { tasks: { id: string }[] }).tasks.map((t) => t.id);
    };
    const kinds = ['unawaited', 'timer', 'sync'] as const;
    const hostile = await post(Array.from({ length: 100 }, (_, i) => ({ type: kinds[i % 3] })));
    const okIds: string[] = [];
    const get = async (id: string) => (await (await fetch(`${url}/v1/tasks/${id}`)).json()) as { status: string; error: { message: string } | null; type: string };
    // Other types keep succeeding while the hostile ones fail.
    for (let round = 0; ; round++) {
      okIds.push(...(await post([{ type: 'ok', payload: round }])));
      const ended = await Promise.all(hostile.map(get));
      if (ended.every((t) => t.status === 'dead')) break;
      assert.equal(exitCode, undefined, `the server exited (${exitCode}): ${err}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(exitCode, undefined, `the server is still up (stderr: ${err.slice(0, 500)})`);
    for (const id of hostile) {
      const t = await get(id);
      assert.equal(t.status, 'dead');
      const expected = { unawaited: /unawaited rejection in task/, timer: /thrown in a timer of task/, sync: /thrown synchronously by task/ }[t.type as (typeof kinds)[number]];
      assert.match(t.error!.message, expected, `task ${id} (${t.type}) keeps its own error`);
      assert.ok(t.error!.message.includes(id), `the error is the one this task made, not another's: ${t.error!.message}`);
    }
    for (const id of okIds) {
      let t = await get(id);
      for (let i = 0; t.status !== 'succeeded' && i < 50; i++) {
        await new Promise((r) => setTimeout(r, 50));
        t = await get(id);
      }
      assert.equal(t.status, 'succeeded', `ok task ${id}`);
    }
    const health = await fetch(`${url}/health`);
    assert.equal(health.status, 200, 'pool verdicts are not server faults');
    const body = (await health.json()) as { status: string; reasons: string[] };
    assert.equal(body.status, 'unhealthy');
    for (const pool of kinds) assert.ok(body.reasons.some((r) => r.startsWith(`pool ${pool}:`)), `${pool} named in ${JSON.stringify(body.reasons)}`);
    assert.ok(!body.reasons.some((r) => r.startsWith('pool ok:')), 'the working pool is not blamed');
    // The attempt's own log says what happened.
    const logs = (await (await fetch(`${url}/v1/tasks/${hostile[0]}/logs`)).json()) as { lines: { attempt: number; stream: string; text: string }[] };
    assert.ok(logs.lines.some((l) => l.stream === 'stderr' && /unhandled rejection: .*unawaited rejection/.test(l.text)), JSON.stringify(logs.lines).slice(0, 400));
    assert.deepEqual(logs.lines.filter((l) => l.stream === 'log').map((l) => [l.attempt, l.text]), [[1, 'about to leave a rejection unawaited'], [2, 'about to leave a rejection unawaited']], 'ctx.log() lines, one per attempt');
    // The CLI reads the same log, and --follow ends once the task has ended.
    for (const args of [[], ['--follow']]) {
      const cli = spawn(process.execPath, [MAIN, 'logs', hostile[0]!, '--url', url, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let text = '';
      cli.stdout!.on('data', (c) => (text += c));
      const code = await new Promise((r) => cli.once('exit', r));
      assert.equal(code, 0, `tidepool logs ${args.join(' ')}`);
      assert.match(text, /#1 log +about to leave a rejection unawaited/);
      assert.match(text, /#2 stderr unhandled rejection/);
      if (args.length) assert.match(text, /ended: dead/);
    }
  } finally {
    if (exitCode === undefined) proc.kill('SIGKILL');
    tmp.remove();
  }
});
