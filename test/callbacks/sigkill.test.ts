// At least once across a SIGKILL: a real `tidepool start` child process on a SQLite file
// runs tasks submitted with callbackUrl to a real receiver. The receiver answers none of
// the first posts well: half get 503 (their records wait out a backoff), half get no
// answer at all (their posts are in flight). Every task has ended and none is delivered
// when the server is killed with SIGKILL; a new server on the same file must deliver
// every task's callback, signed, with the task's final JSON.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { openStore } from '../../src/store/index.ts';
import { PENDING_PREFIX } from '../../src/callbacks/index.ts';
import { verifySignature } from '../../src/webhooks/index.ts';
import { tempDir } from '../store/helpers.ts';
import { spawnStart, type StartedProcess } from '../server/helpers.ts';

const HANDLERS = join(import.meta.dirname, '../server/fixtures/recording-handlers.ts');
const SECRET = 'cbsec-sigkill-0123456789';
const TASKS = 24;

function startChild(db: string, execLog: string): Promise<StartedProcess> {
  return spawnStart(['--store', `sqlite:${db}`, '--handlers', HANDLERS, '--policy', 'fixed:4', '--min', '4', '--max', '4'], {
    TIDEPOOL_TEST_EXEC_LOG: execLog,
    TIDEPOOL_CALLBACK_SECRET: SECRET,
    TIDEPOOL_CALLBACK_ALLOW_PRIVATE_HOSTS: '127.0.0.1',
    TIDEPOOL_CALLBACK_SWEEP_INTERVAL_MS: '200',
    TIDEPOOL_CALLBACK_BASE_BACKOFF_MS: '1500',
    TIDEPOOL_CALLBACK_TIMEOUT_MS: '60000',
  });
}

test('every completion callback arrives at least once, signed, across a SIGKILL between the tasks\' end and the delivery', { timeout: 120_000 }, async () => {
  const dir = tempDir('tidepool-callbacks-kill-');
  const db = join(dir, 'kill.db');
  const execLog = join(dir, 'executions.log');

  // The receiver: before the kill, 503 for even tasks and no answer for odd ones; after it, 200.
  let isAccepting = false;
  const firstPostOf = new Set<string>();
  const delivered = new Map<string, { headers: IncomingHttpHeaders; body: string; json: any; atMs: number }>();
  const hanging: ServerResponse[] = [];
  let onRequest: () => void = () => {};
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      const json = JSON.parse(body);
      firstPostOf.add(json.id);
      if (isAccepting) {
        delivered.set(json.id, { headers: req.headers, body, json, atMs: Date.now() });
        res.writeHead(200).end();
      } else if (json.payload.i % 2 === 0) res.writeHead(503).end();
      else hanging.push(res);
      onRequest();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const hookUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}/done`;
  const until = (what: string, check: () => boolean) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), 60_000);
      const look = () => {
        if (!check()) return;
        clearTimeout(timer);
        onRequest = () => {};
        resolve();
      };
      onRequest = look;
      look();
    });

  let child: ChildProcess | null = null;
  try {
    const first = await startChild(db, execLog);
    child = first.proc;
    const ids: string[] = [];
    const submit = async (body: unknown, path = '/v1/tasks') => {
      const res = await fetch(`${first.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      assert.equal(res.status, 201, await res.clone().text());
      return res.json() as Promise<any>;
    };
    for (let i = 0; i < TASKS / 2; i++) ids.push((await submit({ type: 'work', payload: { ms: 10, i }, callbackUrl: hookUrl })).id);
    const batch = await submit({ tasks: Array.from({ length: TASKS / 2 }, (_, j) => ({ type: 'work', payload: { ms: 10, i: TASKS / 2 + j }, callbackUrl: hookUrl })) }, '/v1/tasks/batch');
    ids.push(...batch.tasks.map((t: { id: string }) => t.id));
    // Cancel one that may not have run yet: cancelled tasks are called back too.
    await fetch(`${first.url}/v1/tasks/${ids.at(-1)}/cancel`, { method: 'POST' }).then((r) => r.text());
    for (const id of ids) {
      const t = (await (await fetch(`${first.url}/v1/tasks/${id}?wait=30000`)).json()) as { status: string };
      assert.ok(['succeeded', 'dead', 'cancelled'].includes(t.status), `task ${id} ended before the kill (${t.status})`);
    }
    await until('a first post of every task', () => ids.every((id) => firstPostOf.has(id)));
    assert.equal(delivered.size, 0);
    assert.equal(hanging.length, TASKS / 2, 'half the posts are in flight at the kill');

    first.proc.kill('SIGKILL');
    await once(first.proc, 'exit');
    child = null;
    for (const res of hanging) res.destroy();
    isAccepting = true;

    const restartedAtMs = Date.now();
    const second = await startChild(db, execLog);
    child = second.proc;
    await until('every callback delivered after the restart', () => ids.every((id) => delivered.has(id)));
    for (const id of ids) {
      const d = delivered.get(id)!;
      assert.equal(verifySignature(SECRET, d.headers['tidepool-signature'] as string, d.body, d.atMs), true, `task ${id}: the signature verifies`);
      const viaGet = await (await fetch(`${second.url}/v1/tasks/${id}`)).json();
      assert.deepEqual(d.json, viaGet, `task ${id}: the body is its final task JSON`);
    }
    process.stderr.write(`callbacks: ${TASKS} callbacks pending at SIGKILL (${TASKS / 2} answered 503, ${TASKS / 2} in flight); all delivered ${Date.now() - restartedAtMs} ms after the restart began\n`);

    second.proc.kill('SIGTERM');
    const [code] = await once(second.proc, 'exit');
    child = null;
    assert.equal(code, 0);
    const store = await openStore(`sqlite:${db}`);
    try {
      assert.deepEqual(await store.listState(PENDING_PREFIX), [], 'no callback is left pending');
    } finally {
      await store.close();
    }
  } finally {
    child?.kill('SIGKILL');
    server.closeAllConnections();
    server.close();
  }
});
