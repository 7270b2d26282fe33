// Two `tidepool start` processes on one Redis store (issue 13): they share its queue (a
// task submitted to one runs on either, none twice), an idempotency key repeated on the
// other node returns the first task, and when one is SIGKILLed mid-load and restarted,
// every task either node acknowledged ends succeeded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { randomSuffix } from '../store/adapters.ts';
import { dropPrefix, probeRedis, REDIS_URL } from '../store/redis-helpers.ts';
import { serverSkip } from '../store/servers.ts';
import { spawnStart, tempDir } from './helpers.ts';

const HANDLERS = join(import.meta.dirname, 'fixtures/recording-handlers.ts');
const unavailable = await serverSkip(`Redis at ${REDIS_URL}`, probeRedis);

interface Node {
  proc: ChildProcess;
  url: string;
}

function startNode(storeUrl: string, execLog: string): Promise<Node> {
  return spawnStart(['--store', storeUrl, '--handlers', HANDLERS, '--lease-ms', '2000', '--policy', 'fixed:4', '--min', '4', '--max', '4'], { TIDEPOOL_TEST_EXEC_LOG: execLog, TIDEPOOL_TEST_EXEC_PID: '1' });
}

async function post(url: string, body: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}/v1/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

test('two servers on one Redis store share its queue; one SIGKILLed mid-load and restarted: every acknowledged task ends succeeded', { skip: unavailable, timeout: 120_000 }, async (t) => {
  const prefix = `tp-nodes-${randomSuffix()}`;
  const storeUrl = `${REDIS_URL}?prefix=${prefix}`;
  const tmp = tempDir('tidepool-nodes-');
  const execLog = join(tmp.dir, 'executions.log');
  t.after(async () => {
    tmp.remove();
    await dropPrefix(prefix);
  });
  let a: Node | null = await startNode(storeUrl, execLog);
  const b = await startNode(storeUrl, execLog);
  try {
    // An idempotency key repeated on the other node returns the first task.
    const first = await post(a.url, { type: 'work', idempotencyKey: 'order-1', payload: { ms: 5 } });
    const again = await post(b.url, { type: 'work', idempotencyKey: 'order-1', payload: { ms: 5 } });
    assert.deepEqual([first.status, again.status, again.body.id], [201, 200, first.body.id]);

    const acked = new Set<string>([first.body.id]);
    const submittedToA = new Set<string>();
    let isKilled = false;
    const submitter = async (n: number) => {
      for (let i = 0; !(isKilled && n % 2 === 0); i++) {
        const target = n % 2 === 0 ? a!.url : b.url;
        try {
          const res = await post(target, { type: 'work', payload: { ms: 10 + (i % 3) * 10 } });
          if (res.status === 201) {
            acked.add(res.body.id);
            if (n % 2 === 0) submittedToA.add(res.body.id);
          }
        } catch {
          if (n % 2 === 0) return; // node A was killed under this request
        }
        if (n % 2 === 1 && acked.size >= 900) return;
      }
    };
    const load = Promise.all(Array.from({ length: 8 }, (_, n) => submitter(n)));
    const executed = () => (existsSync(execLog) ? readFileSync(execLog, 'utf8').split('\n').length - 1 : 0);
    while (acked.size < 400 || executed() < 100) await new Promise((r) => setImmediate(r));
    a.proc.kill('SIGKILL');
    await once(a.proc, 'exit');
    isKilled = true;
    await load;
    a = await startNode(storeUrl, execLog);

    const pending = [...acked];
    const outcomes = new Map<string, { status: string; attempts: number }>();
    await Promise.all(
      Array.from({ length: 8 }, async (_, k) => {
        for (let id = pending.pop(); id; id = pending.pop()) {
          const res = await fetch(`${(k % 2 ? a! : b).url}/v1/tasks/${id}?wait=60000`);
          assert.equal(res.status, 200, `acknowledged task ${id} is known on both nodes`);
          outcomes.set(id, (await res.json()) as { status: string; attempts: number });
        }
      }),
    );
    const notSucceeded = [...outcomes.entries()].filter(([, o]) => o.status !== 'succeeded');
    assert.deepEqual(notSucceeded, [], 'every acknowledged task ends succeeded');

    const runs = new Map<string, { attempts: number[]; pids: Set<string> }>();
    for (const line of readFileSync(execLog, 'utf8').trim().split('\n')) {
      const [id, attempt, pid] = line.split(' ');
      const r = runs.get(id) ?? { attempts: [], pids: new Set<string>() };
      r.attempts.push(Number(attempt));
      r.pids.add(pid!);
      runs.set(id, r);
    }
    for (const id of acked) {
      const r = runs.get(id);
      assert.ok(r, `task ${id} was executed`);
      assert.equal(new Set(r.attempts).size, r.attempts.length, `task ${id}: no attempt ran to the end twice`);
    }
    const ranOnB = [...submittedToA].filter((id) => runs.get(id)!.pids.has(String(b.proc.pid))).length;
    assert.ok(ranOnB > 0, 'tasks submitted to one node ran on the other');
    process.stderr.write(`two nodes: ${acked.size} acknowledged, ${submittedToA.size} through the killed node, ${ranOnB} of them ran on the other\n`);
  } finally {
    a?.proc.kill('SIGTERM');
    b.proc.kill('SIGTERM');
    await Promise.all([a ? once(a.proc, 'exit') : null, once(b.proc, 'exit')]);
  }
});
