// The cluster fault runs every shared store's test makes (PostgreSQL, Redis):
// - failover: three `tidepool start` processes under a load of 3,000 tasks; the leader is
//   SIGKILLed mid-load; a new leader must show in /v1/nodes within 10 s; every acknowledged
//   task ends succeeded (lost 0), no attempt ran twice, and the pool's current summed over
//   the live nodes never went above its max.
// - fencing: a leader paused with SIGSTOP past its lease, then resumed, has its write refused.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { openStore } from '../../src/store/index.ts';
import { spawnStart, tempDir, type StartedProcess } from '../server/helpers.ts';

const HANDLERS = join(import.meta.dirname, '../server/fixtures/recording-handlers.ts');
const PAUSED = join(import.meta.dirname, 'fixtures/paused-leader.ts');
export const MAX_WORKERS = 6;
const TOTAL = 3000;

export type ClusterProc = StartedProcess;

export function startNode(storeUrl: string, env: Record<string, string>, args: string[] = []): Promise<ClusterProc> {
  return spawnStart(['--store', storeUrl, '--handlers', HANDLERS, '--lease-ms', '2000', ...args], env);
}

export async function stopAll(nodes: (ClusterProc | null)[]): Promise<void> {
  for (const n of nodes) {
    if (!n || n.exited) continue;
    n.proc.kill('SIGTERM');
    await once(n.proc, 'exit').catch(() => undefined);
  }
}

interface NodesView {
  nodes: { id: string; pid: number; leader: boolean; self: boolean; pools: { name: string; current: number }[] }[];
}

export async function nodesOf(n: ClusterProc): Promise<NodesView> {
  return (await (await fetch(`${n.url}/v1/nodes`)).json()) as NodesView;
}

async function currentOf(n: ClusterProc): Promise<number | null> {
  if (n.exited) return null;
  try {
    const body = (await (await fetch(`${n.url}/v1/pools`)).json()) as { pools: { name: string; current: number }[] };
    return body.pools.find((p) => p.name === 'work')?.current ?? 0;
  } catch {
    return null;
  }
}

const post = (url: string, body: unknown) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

export interface FailoverReport {
  acked: number;
  succeeded: number;
  lost: number;
  failoverMs: number;
  maxSummedCurrent: number;
  reexecuted: number;
}

export async function runFailover(storeUrl: string): Promise<FailoverReport> {
  const tmp = tempDir('tidepool-cluster-');
  const execLog = join(tmp.dir, 'executions.log');
  const env = { TIDEPOOL_TEST_EXEC_LOG: execLog };
  const args = ['--policy', 'queue-latency', '--min', '1', '--max', String(MAX_WORKERS)];
  const nodes: ClusterProc[] = [];
  let sampling = true;
  let maxSum = 0;
  try {
    nodes.push(...(await Promise.all([0, 1, 2].map(() => startNode(storeUrl, env, args)))));
    // One leader, the same on every node.
    let leaderPid = 0;
    for (let i = 0; i < 100 && !leaderPid; i++) {
      const views = await Promise.all(nodes.map(nodesOf));
      const leaders = new Set(views.flatMap((v) => v.nodes.filter((x) => x.leader).map((x) => x.pid)));
      if (leaders.size === 1 && views.every((v) => v.nodes.length === 3)) leaderPid = [...leaders][0]!;
      else await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(leaderPid, 'three nodes agree on one leader');
    // The pool's current summed over the live nodes, read twice per round (each node's
    // lower reading counts: a share moving between two nodes is not read as both at once).
    const sampler = (async () => {
      while (sampling) {
        const first = await Promise.all(nodes.map(currentOf));
        const second = await Promise.all(nodes.map(currentOf));
        const sum = first.reduce<number>((s, v, i) => s + (v === null || second[i] === null ? 0 : Math.min(v, second[i]!)), 0);
        maxSum = Math.max(maxSum, sum);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();

    const acked = new Set<string>();
    const live = () => nodes.filter((n) => !n.exited);
    const submitter = async (k: number) => {
      for (let i = 0; acked.size < TOTAL; i++) {
        const targets = live();
        const target = targets[(k + i) % targets.length]!;
        try {
          const res = await post(`${target.url}/v1/tasks/batch`, { tasks: Array.from({ length: 25 }, (_, j) => ({ type: 'work', payload: { ms: 10 + ((i + j) % 3) * 10 } })) });
          if (res.status === 201) for (const t of ((await res.json()) as { tasks: { id: string }[] }).tasks) acked.add(t.id);
          else await res.text();
        } catch {
          // the node was killed mid-request: that batch was not acknowledged
        }
        await new Promise((r) => setTimeout(r, 40));
      }
    };
    const load = Promise.all([0, 1, 2].map(submitter));
    const executed = () => (existsSync(execLog) ? readFileSync(execLog, 'utf8').split('\n').length - 1 : 0);
    while (executed() < 800) await new Promise((r) => setTimeout(r, 20));
    const leader = nodes.find((n) => n.pid === leaderPid)!;
    leader.proc.kill('SIGKILL');
    const killedAt = performance.now();
    await once(leader.proc, 'exit');
    let failoverMs = -1;
    while (performance.now() - killedAt < 30_000) {
      const survivors = live();
      const views = await Promise.all(survivors.map(nodesOf));
      const leaders = new Set(views.flatMap((v) => v.nodes.filter((x) => x.leader).map((x) => x.pid)));
      if (leaders.size === 1 && ![...leaders].includes(leaderPid) && views.every((v) => v.nodes.filter((x) => x.leader).length === 1)) {
        failoverMs = performance.now() - killedAt;
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(failoverMs >= 0, 'a new leader showed after the old one was killed');
    await load;

    // Every acknowledged task ends succeeded.
    const store = await openStore(storeUrl);
    try {
      let counts = await store.counts();
      for (let i = 0; i < 900 && counts.byStatus.succeeded < acked.size; i++) {
        await new Promise((r) => setTimeout(r, 100));
        counts = await store.counts();
      }
      let succeeded = 0;
      for (const id of acked) if ((await store.get(id))?.status === 'succeeded') succeeded++;
      sampling = false;
      await sampler;
      const runs = new Map<string, string[]>();
      for (const line of readFileSync(execLog, 'utf8').trim().split('\n')) {
        const [id, attempt] = line.split(' ');
        runs.set(id!, [...(runs.get(id!) ?? []), attempt!]);
      }
      const twice = [...runs].filter(([, a]) => new Set(a).size !== a.length).map(([id]) => id);
      assert.deepEqual(twice, [], 'no attempt of a task ran to its end twice');
      return {
        acked: acked.size,
        succeeded,
        lost: acked.size - succeeded,
        failoverMs: Math.round(failoverMs),
        maxSummedCurrent: maxSum,
        reexecuted: [...runs.values()].filter((a) => a.length > 1).length,
      };
    } finally {
      await store.close();
    }
  } finally {
    sampling = false;
    await stopAll(nodes);
    tmp.remove();
  }
}

/** A leader paused (SIGSTOP) past its lease, then resumed: its fenced write is refused. */
export async function runPausedLeader(storeUrl: string): Promise<{ refused: string; leadsAfter: boolean; valueAfter: unknown }> {
  const child = spawn(process.execPath, [PAUSED, storeUrl, '1500'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const queue: string[] = [];
  let waiter: ((l: string) => void) | null = null;
  lines.on('line', (l) => (waiter ? (waiter(l), (waiter = null)) : queue.push(l)));
  const next = () => new Promise<string>((resolve) => (queue.length ? resolve(queue.shift()!) : (waiter = resolve)));
  const store = await openStore(storeUrl);
  try {
    const { token } = JSON.parse(await next()) as { token: number };
    child.kill('SIGSTOP');
    // The paused leader's lease lapses; another node takes over and writes.
    let mine = null;
    for (let i = 0; i < 100 && !mine; i++) {
      mine = await store.acquireLease('leader', 'new-leader', 10_000);
      if (!mine) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(mine, 'the new leader took the lapsed lease');
    assert.equal(mine.token, token + 1);
    await store.putState('desired/work', { total: 3, by: 'new-leader' }, { fence: { lease: 'leader', token: mine.token } });
    child.stdin!.end('go\n');
    child.kill('SIGCONT');
    const result = JSON.parse(await next()) as { refused?: string; written?: boolean };
    const leads = JSON.parse(await next()) as { leads: boolean };
    assert.ok(result.refused, `the resumed old leader's write was refused (got ${JSON.stringify(result)})`);
    await once(child, 'exit');
    return { refused: result.refused, leadsAfter: leads.leads, valueAfter: (await store.getState('desired/work'))?.value };
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await store.close();
  }
}

/**
 * Two nodes, the pool's one worker on one of them: a `?wait` request and the dashboard's
 * stream on the other node hear the task end through the store's notifications (the
 * waiter's re-read on shared stores is 10 s, so an answer within 3 s came from one).
 */
export async function runCrossNodeWait(storeUrl: string): Promise<{ waitMs: number; streamMs: number; patchMs: number }> {
  const tmp = tempDir('tidepool-cross-');
  const nodes: ClusterProc[] = [];
  try {
    nodes.push(...(await Promise.all([0, 1].map(() => startNode(storeUrl, { TIDEPOOL_TEST_EXEC_LOG: join(tmp.dir, 'exec.log') }, ['--policy', 'fixed:1'])))));
    // Wait for the leader's decision: one node runs the one worker.
    let idle: ClusterProc | null = null;
    for (let i = 0; i < 100 && !idle; i++) {
      const v = (await (await fetch(`${nodes[0]!.url}/v1/nodes`)).json()) as { nodes: { pid: number; pools: { share: number | null; current: number }[] }[] };
      const shares = v.nodes.map((n) => ({ pid: n.pid, share: n.pools[0]?.share, current: n.pools[0]?.current }));
      if (v.nodes.length === 2 && shares.every((s) => s.share !== null && s.share !== undefined) && shares.some((s) => s.share === 1 && s.current === 1)) {
        idle = nodes.find((n) => n.pid === shares.find((s) => s.share === 0)!.pid) ?? null;
      } else await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(idle, 'one node runs the worker, the other none');
    const ac = new AbortController();
    const stream = await fetch(`${idle.url}/v1/stream`, { signal: ac.signal });
    const reader = stream.body!.getReader();
    let buffered = '';
    const t0 = performance.now();
    const res = await post(`${idle.url}/v1/tasks?wait=20000`, { type: 'work', payload: { ms: 50 } });
    const task = (await res.json()) as { id: string; status: string };
    const waitMs = performance.now() - t0;
    assert.equal(task.status, 'succeeded', `the wait on the idle node saw the end (${JSON.stringify(task)})`);
    let streamMs = -1;
    while (streamMs < 0 && performance.now() - t0 < 10_000) {
      const { value, done } = await reader.read();
      if (done) break;
      buffered += new TextDecoder().decode(value);
      for (const block of buffered.split('\n\n')) {
        if (block.startsWith('event: finished') && block.includes(task.id)) streamMs = performance.now() - t0;
      }
    }
    ac.abort();
    // A pool change sent to the node that does not lead takes effect at once over the cluster.
    const leader = (await nodesOf(idle)).nodes.find((n) => n.leader)!;
    const follower = nodes.find((n) => n.pid !== leader.pid)!;
    const t1 = performance.now();
    const patched = await fetch(`${follower.url}/v1/pools/work`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ policy: 'fixed:3' }) });
    assert.equal(patched.status, 200, await patched.clone().text());
    let patchMs = -1;
    while (patchMs < 0 && performance.now() - t1 < 10_000) {
      const views = await Promise.all(nodes.map(async (n) => ((await (await fetch(`${n.url}/v1/pools`)).json()) as { pools: { policy: string; cluster?: { current: number; target: number } }[] }).pools[0]!));
      if (views.every((p) => p.policy === 'fixed:3' && p.cluster?.target === 3 && p.cluster.current === 3)) patchMs = performance.now() - t1;
      else await new Promise((r) => setTimeout(r, 50));
    }
    return { waitMs: Math.round(waitMs), streamMs: Math.round(streamMs), patchMs: Math.round(patchMs) };
  } finally {
    await stopAll(nodes);
    tmp.remove();
  }
}
