// The remote worker runner behind `tidepool worker`: registers with a server's remote
// pool over HTTP (/v1/workers), claims tasks by long poll, runs each with the handler of
// its type (one task per slot, --concurrency slots), extends the leases by heartbeat,
// and completes or fails each with its lease token.
//
// States: registering -> running (claiming while slots are free) -> draining (SIGTERM: no
// more claims, running tasks finish, then deregister) -> stopped. A server that goes away
// (restart, network) is retried with a growing, jittered backoff; a server that no longer
// knows the worker (404 WorkerNotFound, heartbeat isRegistered: false) gets a new
// registration, and the tasks in flight carry on under their leases.
import { TidepoolError, type Clock, type Json, type TimerHandle } from '../core/index.ts';
import type { HandlerMap, TaskContext } from '../pools/index.ts';

export interface RunnerOptions {
  url: string;
  key?: string;
  handlers: HandlerMap;
  /** Types to serve (default: every type of the handlers module). */
  types?: readonly string[];
  concurrency: number;
  pool?: string;
  name?: string;
  clock: Clock;
  /** Claim long poll, ms. */
  claimWaitMs?: number;
  log?: (line: string) => void;
}

interface WireTask {
  id: string;
  type: string;
  payload: Json;
  attempt: number;
  timeoutMs: number;
  tenant: string;
  leaseToken: string;
}

class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const BACKOFF_FIRST_MS = 250;
const BACKOFF_MAX_MS = 10_000;

export class RemoteRunner {
  private readonly o: RunnerOptions;
  private readonly types: string[];
  private workerId: string | null = null;
  private heartbeatMs = 5000;
  private leaseMs = 20_000;
  private readonly running = new Map<string, { task: WireTask; controller: AbortController; done: Promise<void> }>();
  private isDraining = false;
  private readonly claimAbort = new AbortController();
  private heartbeatTimer: TimerHandle | null = null;
  private failuresInRow = 0;
  private wakeLoop: (() => void) | null = null;
  /** Tasks this runner finished (succeeded or failed), for its exit line. */
  completed = 0;
  failed = 0;

  constructor(options: RunnerOptions) {
    this.o = options;
    this.types = [...(options.types ?? Object.keys(options.handlers))];
    const missing = this.types.filter((t) => !options.handlers[t]);
    if (missing.length) throw new TidepoolError('ConfigInvalid', `--types: ${missing.join(', ')} have no handler in the handlers module; it serves ${Object.keys(options.handlers).join(', ')}`);
    if (this.types.length === 0) throw new TidepoolError('ConfigInvalid', '--handlers: the module exports no task types');
  }

  get id(): string | null {
    return this.workerId;
  }

  /** Runs until drain() was called and every running task ended. */
  async run(): Promise<void> {
    this.beat();
    while (!this.isDraining) {
      try {
        if (!this.workerId) await this.register();
        const free = this.o.concurrency - this.running.size;
        if (free <= 0) {
          await new Promise<void>((resolve) => (this.wakeLoop = resolve));
          continue;
        }
        const { tasks } = (await this.call('POST', `/v1/workers/${this.workerId}/claim`, { max: free, waitMs: this.o.claimWaitMs ?? 20_000 }, this.claimAbort.signal)) as { tasks: WireTask[] };
        this.failuresInRow = 0;
        for (const t of tasks) this.start(t);
      } catch (err) {
        if (this.isDraining) break;
        if (err instanceof HttpError && err.code === 'WorkerNotFound') {
          this.say(`the server does not know worker ${this.workerId}: registering again`);
          this.workerId = null;
          continue;
        }
        await this.backoff(err);
      }
    }
    // Tasks a completion claimed just before the drain began run too.
    while (this.running.size > 0) await Promise.all([...this.running.values()].map((r) => r.done));
    this.heartbeatTimer?.cancel();
    if (this.workerId) await this.call('DELETE', `/v1/workers/${this.workerId}`).catch(() => {});
  }

  /** Stop claiming; running tasks finish. With `abort`, running tasks are stopped too (and failed, so they retry soon). */
  drain(abort = false): void {
    this.isDraining = true;
    this.claimAbort.abort();
    this.wakeLoop?.();
    if (abort) for (const r of this.running.values()) r.controller.abort(new TidepoolError('ShuttingDown', 'the worker was stopped'));
  }

  private async register(): Promise<void> {
    const body: Record<string, unknown> = { types: this.types, concurrency: this.o.concurrency, ...(this.o.pool ? { pool: this.o.pool } : {}), ...(this.o.name ? { name: this.o.name } : {}) };
    const reg = (await this.call('POST', '/v1/workers/register', body, this.claimAbort.signal)) as { workerId: string; pool: string; heartbeatMs: number; leaseMs: number };
    this.workerId = reg.workerId;
    this.heartbeatMs = reg.heartbeatMs;
    this.leaseMs = reg.leaseMs;
    this.failuresInRow = 0;
    this.say(`registered ${reg.workerId} with pool ${reg.pool} (${this.types.join(', ')}; ${this.o.concurrency} at once)`);
  }

  private start(task: WireTask): void {
    const controller = new AbortController();
    const timer = task.timeoutMs > 0 ? this.o.clock.setTimer(() => controller.abort(new TidepoolError('Timeout', `task ${task.id}: attempt ${task.attempt} passed its timeout of ${task.timeoutMs} ms`)), task.timeoutMs) : null;
    const ctx: TaskContext & { log(text: string): void } = {
      id: task.id,
      attempt: task.attempt,
      signal: controller.signal,
      type: task.type,
      tenant: task.tenant,
      workerId: this.workerId ?? '',
      progress: () => {},
      log: (text: string) => this.say(`[${task.id}] ${text}`),
    };
    const done = (async () => {
      try {
        const handler = this.o.handlers[task.type]!;
        const value = await Promise.race([
          Promise.resolve().then(() => handler(task.payload, ctx)),
          new Promise<never>((_, reject) => controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true })),
        ]);
        const answer = await this.report('complete', { taskId: task.id, leaseToken: task.leaseToken, result: (value ?? null) as Json, ...this.nextClaim() });
        this.completed++;
        for (const t of answer?.tasks ?? []) this.start(t);
      } catch (err) {
        const e = err as { message?: string; code?: unknown; retryable?: unknown };
        if (e?.code === 'LeaseLost') return; // the lease is someone else's now: nothing to report
        const answer = await this.report('fail', {
          taskId: task.id,
          leaseToken: task.leaseToken,
          error: { message: String(e?.message ?? err).slice(0, 10_000), code: typeof e?.code === 'string' ? e.code : 'HandlerError' },
          retryable: e?.retryable !== false,
          ...this.nextClaim(),
        });
        this.failed++;
        for (const t of answer?.tasks ?? []) this.start(t);
      } finally {
        timer?.cancel();
        this.running.delete(task.id);
        this.wakeLoop?.();
        this.wakeLoop = null;
      }
    })();
    this.running.set(task.id, { task, controller, done });
  }

  /** Completing a task also claims the next one in the same request, while not draining. */
  private nextClaim(): { next?: { max: number } } {
    return this.isDraining || !this.workerId ? {} : { next: { max: 1 } };
  }

  /** complete/fail, retried through a server restart until the lease could have lapsed. */
  private async report(what: 'complete' | 'fail', body: Record<string, unknown>): Promise<{ tasks?: WireTask[] } | null> {
    const endMs = this.o.clock.now() + this.leaseMs;
    for (let i = 0; ; i++) {
      try {
        const answer = (await this.call('POST', `/v1/workers/${this.workerId ?? 'unregistered.r-0'}/${what}`, body)) as { tasks?: WireTask[] };
        // Tasks claimed with it are ours even if a drain began meanwhile: they run, then the drain ends.
        return answer;
      } catch (err) {
        if (err instanceof HttpError && err.status < 500) {
          if (err.code !== 'LeaseLost') this.say(`${what} of task ${String(body.taskId)} refused: ${err.message}`);
          return null;
        }
        if (this.o.clock.now() >= endMs) {
          this.say(`${what} of task ${String(body.taskId)} gave up after ${i + 1} tries: ${(err as Error).message}`);
          return null;
        }
        await this.o.clock.sleep(Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** i));
      }
    }
  }

  private beat(): void {
    this.heartbeatTimer = this.o.clock.setTimer(() => {
      const id = this.workerId;
      const tasks = [...this.running.values()].map((r) => ({ id: r.task.id, leaseToken: r.task.leaseToken }));
      if (id)
        this.call('POST', `/v1/workers/${id}/heartbeat`, { tasks }).then(
          (res) => {
            const { leases, isRegistered } = res as { leases: { id: string; isLost: boolean }[]; isRegistered: boolean };
            for (const l of leases) if (l.isLost) this.running.get(l.id)?.controller.abort(new TidepoolError('LeaseLost', `task ${l.id}: the lease was lost`));
            if (!isRegistered && this.workerId === id && !this.isDraining) {
              this.workerId = null;
              this.claimAbort.signal.aborted || this.wakeLoop?.();
            }
          },
          () => {}, // the server is away: the claim loop backs off and reports it
        );
      if (!this.isDraining || this.running.size > 0) this.beat();
    }, this.heartbeatMs);
  }

  private async backoff(err: unknown): Promise<void> {
    const capMs = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** this.failuresInRow);
    this.failuresInRow++;
    const waitMs = Math.round(capMs / 2 + (Math.random() * capMs) / 2);
    this.say(`server unavailable (${(err as Error).message}); retrying in ${waitMs} ms`);
    await this.o.clock.sleep(waitMs, this.claimAbort.signal).catch(() => {});
  }

  private async call(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<unknown> {
    const headers: Record<string, string> = {};
    if (this.o.key) headers.authorization = `Bearer ${this.o.key}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(this.o.url.replace(/\/$/, '') + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code;
      throw new Error(cause ? `${cause} ${this.o.url}` : (err as Error).message, { cause: err });
    }
    const text = await res.text();
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // not JSON (a proxy's page)
    }
    if (!res.ok) {
      const e = (parsed as { error?: { code?: string; message?: string } } | null)?.error;
      throw new HttpError(res.status, e?.code ?? `HTTP${res.status}`, e?.message ?? `${method} ${path}: HTTP ${res.status}`);
    }
    return parsed;
  }

  private say(line: string): void {
    this.o.log?.(line);
  }
}
