// Demo handlers for `npm start` and `tidepool start` without --handlers.
// A handlers module's default export maps each task type to
// `async (payload, ctx) => result`; ctx has at least {id, attempt, signal}.
//
//   llm  a simulated LLM call: waits a few hundred ms to a few seconds (I/O-bound),
//        answers with a made-up completion, and fails now and then like a real API.
//   cpu  a CPU task: hashes the payload's text `rounds` times (default 20,000).
import { createHash } from 'node:crypto';
import { systemClock } from '../src/core/index.ts';
import type { TaskContext } from '../src/pools/index.ts';

export interface LlmPayload {
  prompt?: string;
  /** Mean simulated latency, ms (default 800). */
  meanMs?: number;
  /** Chance an attempt fails with a retryable error, 0..1 (default 0.03). */
  failRate?: number;
}

export interface CpuPayload {
  text?: string;
  /** Hash rounds (default 20,000; at most 5,000,000). */
  rounds?: number;
}

/** A draw with the long right tail of real LLM latencies (log-normal, sigma 0.5). */
function latencyMs(meanMs: number): number {
  const u1 = Math.random() || 1e-9;
  const u2 = Math.random();
  const normal = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  return Math.min(meanMs * 10, Math.max(20, meanMs * Math.exp(0.5 * normal - 0.125)));
}

async function llm(payload: LlmPayload | null, ctx: TaskContext) {
  const meanMs = payload?.meanMs ?? 800;
  const ms = latencyMs(meanMs);
  await systemClock.sleep(ms, ctx.signal);
  if (Math.random() < (payload?.failRate ?? 0.03)) throw new Error(`simulated upstream 503 after ${Math.round(ms)} ms (attempt ${ctx.attempt})`);
  const prompt = String(payload?.prompt ?? 'hello');
  return { completion: `echo: ${prompt.slice(0, 200)}`, tokens: 8 + (prompt.length % 50), latencyMs: Math.round(ms) };
}

async function cpu(payload: CpuPayload | null, ctx: TaskContext) {
  const rounds = Math.min(5_000_000, Math.max(1, Math.floor(payload?.rounds ?? 20_000)));
  let digest = String(payload?.text ?? ctx.id);
  for (let i = 0; i < rounds; i++) {
    digest = createHash('sha256').update(digest).digest('hex');
    // Stay responsive: let heartbeats and other tasks run every few thousand rounds.
    if (i % 5000 === 4999) {
      await new Promise((r) => setImmediate(r));
      ctx.signal.throwIfAborted();
    }
  }
  return { digest, rounds };
}

export default { llm, cpu };
