// HTTP API throughput and latency (issue 5): one-at-a-time submits with 50 concurrent
// clients and batch submits, against the Tidepool server (SQLite default durability,
// and memory) and, in the same run, a bare fastify server doing the same JSON round
// trip (the framework's ceiling). Load comes from autocannon in this process; each
// server runs in its own process. Figures are medians of 3 runs; latency p50/p95
// come from every response's time.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import type { BenchCase } from './run.ts';

const RUNS = 3;
const DURATION_S = 4;
const CONNECTIONS = 50;
const BATCH = 1000;
const BATCH_CONNECTIONS = 4;
const TARGET = join(import.meta.dirname, 'api-target.ts');

const note = (msg: string) => process.stderr.write(`  ${msg}\n`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (x: number) => Number(x.toPrecision(4));
const percentile = (xs: number[], p: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] ?? 0;
};

const root = mkdtempSync(join(tmpdir(), 'tidepool-api-bench-'));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));
let fileNo = 0;

async function startTarget(kind: 'tidepool' | 'bare', store?: string): Promise<{ url: string; proc: ChildProcess }> {
  const proc = spawn(process.execPath, [TARGET, kind, ...(store ? [store] : [])], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (c) => {
      out += c;
      if (out.includes('\n')) resolve(out.trim());
    });
    proc.once('exit', (code) => reject(new Error(`bench target ${kind} exited ${code}`)));
  });
  return { url, proc };
}

interface Load {
  perSec: number;
  p50Ms: number;
  p95Ms: number;
  non2xx: number;
  errors: number;
}

async function load(url: string, path: string, body: string, connections: number): Promise<Load> {
  const times: number[] = [];
  const instance = autocannon({ url: url + path, method: 'POST', headers: { 'content-type': 'application/json' }, body, connections, pipelining: 1, duration: DURATION_S });
  instance.on('response', (_client: unknown, _status: number, _bytes: number, responseTimeMs: number) => times.push(responseTimeMs));
  const result = await instance;
  return { perSec: result.requests.average, p50Ms: percentile(times, 0.5), p95Ms: percentile(times, 0.95), non2xx: result.non2xx, errors: result.errors };
}

async function measure(kind: 'tidepool' | 'bare', store: string | undefined, path: string, body: string, connections: number): Promise<Load[]> {
  const runs: Load[] = [];
  for (let i = 0; i < RUNS; i++) {
    const target = await startTarget(kind, store === 'sqlite' ? `sqlite:${join(root, `api${++fileNo}.db`)}` : store);
    try {
      const r = await load(target.url, path, body, connections);
      if (r.non2xx || r.errors) note(`${kind} ${path}: ${r.non2xx} non-2xx, ${r.errors} errors`);
      runs.push(r);
      note(`${kind}${store ? `/${store}` : ''} ${path}: ${Math.round(r.perSec)} req/s, p50 ${r.p50Ms.toFixed(1)} ms, p95 ${r.p95Ms.toFixed(1)} ms`);
    } finally {
      target.proc.kill('SIGKILL');
    }
  }
  return runs;
}

function summarize(name: string, unitPerRequest: number, ours: Load[], peer: Load[]): Record<string, unknown> {
  const m = median(ours.map((r) => r.perSec)) * unitPerRequest;
  const pm = median(peer.map((r) => r.perSec)) * unitPerRequest;
  return {
    name,
    unit: 'tasks/s',
    runs: RUNS,
    median: round(m),
    p50LatencyMs: round(median(ours.map((r) => r.p50Ms))),
    p95LatencyMs: round(median(ours.map((r) => r.p95Ms))),
    peer: 'bare fastify (same JSON round trip, no validation, no store)',
    peerMedian: round(pm),
    peerP50LatencyMs: round(median(peer.map((r) => r.p50Ms))),
    peerP95LatencyMs: round(median(peer.map((r) => r.p95Ms))),
    ratio: round(m / pm),
    connections: unitPerRequest === 1 ? CONNECTIONS : BATCH_CONNECTIONS,
    // The machine is shared (2 cores): a load average above ~2 means other work competed.
    loadAvg1m: round(loadavg()[0]),
  };
}

const oneBody = JSON.stringify({ type: 'bench', payload: { prompt: 'summarize this paragraph', n: 1 } });
const batchBody = JSON.stringify({ tasks: Array.from({ length: BATCH }, (_, i) => ({ type: 'bench', payload: { n: i } })) });

function submitCase(store: 'sqlite' | 'memory'): BenchCase {
  return {
    name: `api-submit-${store}`,
    async run() {
      const ours = await measure('tidepool', store, '/v1/tasks', oneBody, CONNECTIONS);
      const peer = await measure('bare', undefined, '/v1/tasks', oneBody, CONNECTIONS);
      return [summarize(`api-submit-${store}`, 1, ours, peer)];
    },
  };
}

function batchCase(store: 'sqlite' | 'memory'): BenchCase {
  return {
    name: `api-batch-${store}`,
    async run() {
      const ours = await measure('tidepool', store, '/v1/tasks/batch', batchBody, BATCH_CONNECTIONS);
      const peer = await measure('bare', undefined, '/v1/tasks/batch', batchBody, BATCH_CONNECTIONS);
      return [summarize(`api-batch-${store}`, BATCH, ours, peer)];
    },
  };
}

export const cases: BenchCase[] = [submitCase('sqlite'), batchCase('sqlite'), submitCase('memory'), batchCase('memory')];
