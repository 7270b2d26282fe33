// Two `tidepool start` processes on one PostgreSQL store share its queue: a task submitted
// to either runs on either, never twice at once. One node is SIGKILLed mid-load and
// restarted: every task a node acknowledged (201) ends succeeded, and a submit repeated on
// the other node with the same idempotency key returns the first task.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { spawnStart, tempDir } from './helpers.ts';
import { freshSchema, pgSkip, schemaUrl } from '../store/postgres-helpers.ts';

const HANDLERS = join(import.meta.dirname, 'fixtures/recording-handlers.ts');
const LEASE_MS = 2000;
const skip = await pgSkip();

interface Node {
  proc: ChildProcess;
  url: string;
}

function startNode(storeUrl: string, execLog: string): Promise<Node> {
  return spawnStart(['--store', storeUrl, '--handlers', HANDLERS, '--lease-ms', String(LEASE_MS), '--policy', 'fixed:4', '--min', '4', '--max', '4'], { TIDEPOOL_TEST_EXEC_LOG: execLog });
}

const post = (url: string, body: unknown) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

test('two tidepool start processes on one PostgreSQL store share its queue; one SIGKILLed mid-load and restarted loses no acknowledged task', { skip, timeout: 180_000 }, async () => {
  const tmp = tempDir('tidepool-pg-nodes-');
  const storeUrl = schemaUrl(freshSchema('tp_nodes'));
  const execLog = join(tmp.dir, 'executions.log');
  let a: Node | null = null;
  let b: Node | null = null;
  try {
    [a, b] = await Promise.all([startNode(storeUrl, execLog), startNode(storeUrl, execLog)]);
    // An idempotent submit on node A, repeated on node B, is the same task.
    const first = (await (await post(`${a.url}/v1/tasks`, { type: 'work', payload: { ms: 5 }, idempotencyKey: 'order-42' })).json()) as { id: string };
    const again = await post(`${b.url}/v1/tasks`, { type: 'work', payload: { ms: 5 }, idempotencyKey: 'order-42' });
    assert.equal(((await again.json()) as { id: string }).id, first.id, 'the repeat on the other node returns the first task');

    const acked = new Set<string>([first.id]);
    let isKilled = false;
    const submitter = async (n: number) => {
      // Half the submitters talk to A (which is killed), half to B.
      const target = n % 2 === 0 ? a! : b!;
      for (let i = 0; !(isKilled && target === a); i++) {
        if (acked.size >= 1200) return;
        try {
          const res = await post(`${target.url}/v1/tasks`, { type: 'work', payload: { ms: 10 + (i % 3) * 10 } });
          if (res.status === 201) acked.add(((await res.json()) as { id: string }).id);
          else await res.text();
        } catch {
          return;
        }
      }
    };
    const load = Promise.all(Array.from({ length: 12 }, (_, n) => submitter(n)));
    const executed = () => (existsSync(execLog) ? readFileSync(execLog, 'utf8').split('\n').length - 1 : 0);
    while (acked.size < 400 || executed() < 100) await new Promise((r) => setImmediate(r));
    a.proc.kill('SIGKILL');
    await once(a.proc, 'exit');
    isKilled = true;
    await load;
    a = await startNode(storeUrl, execLog);

    const pending = [...acked];
    const outcomes = new Map<string, string>();
    await Promise.all(
      Array.from({ length: 12 }, async (_, k) => {
        const node = k % 2 === 0 ? a! : b!;
        for (let id = pending.pop(); id; id = pending.pop()) {
          const res = await fetch(`${node.url}/v1/tasks/${id}?wait=60000`);
          assert.equal(res.status, 200, `acknowledged task ${id} is known on ${node === a ? 'the restarted node' : 'the other node'}`);
          outcomes.set(id, ((await res.json()) as { status: string }).status);
        }
      }),
    );
    for (const id of acked) assert.equal(outcomes.get(id), 'succeeded', `acknowledged task ${id} ended succeeded`);
    // Executions by attempt: no attempt of a task ran to its end twice (each claim is one holder).
    const runs = new Map<string, string[]>();
    for (const line of readFileSync(execLog, 'utf8').trim().split('\n')) {
      const [id, attempt] = line.split(' ');
      runs.set(id!, [...(runs.get(id!) ?? []), attempt!]);
    }
    for (const [id, attempts] of runs) assert.equal(new Set(attempts).size, attempts.length, `task ${id}: an attempt ran twice (${attempts.join(',')})`);
    const repeat = await post(`${b.url}/v1/tasks`, { type: 'work', idempotencyKey: 'order-42' });
    assert.equal(((await repeat.json()) as { id: string }).id, first.id, 'after the kill, the key still returns the first task');
    process.stderr.write(`postgres nodes: ${acked.size} acknowledged, all succeeded; ${runs.size} tasks executed\n`);
  } finally {
    for (const n of [a, b]) {
      if (!n) continue;
      n.proc.kill('SIGTERM');
      await once(n.proc, 'exit').catch(() => undefined);
    }
    tmp.remove();
  }
});
