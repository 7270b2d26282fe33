// The `thread` worker kind: each worker is a worker_threads thread running
// thread-entry.ts, which loads the pool's handler module (`module` config key: the same
// default export of handlers that `--handlers` takes). For CPU-bound handlers: they run
// off the server's event loop, and a thread can be killed.
//
//   start     spawn the thread; ready once the module loaded (it answers `ready` with the
//             types it serves); a module that fails to load is a failed start
//   run       post the task; progress and log messages feed the pool; the thread answers
//             with the result; an abort of the job's signal is passed on to ctx.signal
//   stop      drain: ask the thread to stop and wait up to killGraceMs, then terminate;
//             kill: terminate at once
//   exited    the thread ended without being asked (an uncaught error, process.exit in
//             the handler, a crash): the pool fails its task as WorkerCrashed and respawns
import { Worker } from 'node:worker_threads';
import { extname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidInputError, TidepoolError, type Clock, type Json } from '../../core/index.ts';
import type { WorkerDriver, WorkerExit, WorkerHandle, WorkerJob, WorkerOutcome, WorkerSpec, StopMode } from '../driver.ts';
import { capLogLine } from './log-text.ts';

export interface ThreadDriverOptions {
  /** The handler module each thread loads (resolved against the working directory when relative). */
  module: string;
  /** The pool's types: each must be served by the module (checked when a thread is ready). */
  types: readonly string[];
  clock: Clock;
  /** A drained thread that has not exited after this long is terminated, ms (default 5000). */
  killGraceMs?: number;
  /** A thread not ready after this long is a failed start, ms (default 30,000). */
  startTimeoutMs?: number;
  /** Per-thread heap limit, MB (default: Node's). */
  maxOldGenerationSizeMb?: number;
}

type ThreadMessage =
  | { type: 'ready'; types: string[] }
  | { type: 'progress' }
  | { type: 'log'; text: string }
  | { type: 'result'; ok: true; value: Json }
  | { type: 'result'; ok: false; error: { message: string; code?: string; retryable?: boolean } };

const ENTRY = new URL(`./thread-entry${extname(fileURLToPath(import.meta.url))}`, import.meta.url);

export class ThreadDriver implements WorkerDriver {
  readonly kind = 'thread' as const;
  readonly canKill = true;
  private readonly options: ThreadDriverOptions;
  private readonly module: string;

  constructor(options: ThreadDriverOptions) {
    if (!options.module) throw new InvalidInputError('thread pool: module is missing; expected the path of a handler module');
    this.options = options;
    this.module = isAbsolute(options.module) ? options.module : resolve(process.cwd(), options.module);
  }

  start(spec: WorkerSpec): Promise<WorkerHandle> {
    const { clock } = this.options;
    const startTimeoutMs = this.options.startTimeoutMs ?? 30_000;
    return new Promise<WorkerHandle>((resolveStart, rejectStart) => {
      const worker = new Worker(ENTRY, {
        workerData: { module: this.module },
        name: spec.workerId,
        stdout: false,
        stderr: false,
        ...(this.options.maxOldGenerationSizeMb ? { resourceLimits: { maxOldGenerationSizeMb: this.options.maxOldGenerationSizeMb } } : {}),
      });
      let isSettled = false;
      const fail = (reason: string, cause?: unknown) => {
        if (isSettled) return;
        isSettled = true;
        timer.cancel();
        void worker.terminate();
        rejectStart(new TidepoolError('WorkerCrashed', `thread worker ${spec.workerId} (${this.module}): ${reason}`, { cause }));
      };
      const timer = clock.setTimer(() => fail(`not ready after ${startTimeoutMs} ms`), startTimeoutMs);
      spec.signal.addEventListener('abort', () => fail('start abandoned (the pool no longer wants it)'), { once: true });
      worker.once('error', (err) => fail(`the module failed to load: ${err.message}`, err));
      worker.once('exit', (code) => fail(`exited with code ${code} before it was ready`));
      const types = this.options.types;
      const killGraceMs = this.options.killGraceMs ?? 5000;
      const onReady = (msg: ThreadMessage) => {
        if (msg.type !== 'ready' || isSettled) return;
        worker.off('message', onReady);
        const served = new Set(msg.types);
        const missing = types.filter((t) => !served.has(t));
        if (missing.length) return fail(`the module has no handler for ${missing.map((t) => JSON.stringify(t)).join(', ')}; it exports ${msg.types.join(', ') || '(none)'}`);
        isSettled = true;
        timer.cancel();
        worker.removeAllListeners('error');
        worker.removeAllListeners('exit');
        resolveStart(new ThreadWorker(worker, clock, killGraceMs));
      };
      worker.on('message', onReady);
    });
  }
}

class ThreadWorker implements WorkerHandle {
  readonly exited: Promise<WorkerExit>;
  private readonly worker: Worker;
  private readonly clock: Clock;
  private readonly killGraceMs: number;
  private isStopping = false;
  private lastError: Error | null = null;
  private onExit: ((exit: WorkerExit) => void) | null = null;

  constructor(worker: Worker, clock: Clock, killGraceMs: number) {
    this.worker = worker;
    this.clock = clock;
    this.killGraceMs = killGraceMs;
    worker.on('error', (err) => (this.lastError = err));
    this.exited = new Promise<WorkerExit>((resolveExit) => {
      worker.once('exit', (code) => {
        const exit: WorkerExit = { reason: this.lastError ? `the thread threw: ${this.lastError.message}` : `the thread exited with code ${code}`, ...(this.lastError ? { error: this.lastError } : {}) };
        this.onExit?.(exit);
        // Exits the pool asked for are not crashes: `exited` only settles for the others.
        if (!this.isStopping) resolveExit(exit);
      });
    });
  }

  run(job: WorkerJob): Promise<WorkerOutcome> {
    return new Promise<WorkerOutcome>((resolveRun) => {
      const done = (outcome: WorkerOutcome) => {
        this.worker.off('message', onMessage);
        job.signal.removeEventListener('abort', onAbort);
        this.onExit = null;
        resolveRun(outcome);
      };
      const onMessage = (msg: ThreadMessage) => {
        switch (msg.type) {
          case 'progress':
            return job.progress();
          case 'log':
            return job.log('log', capLogLine(String(msg.text)));
          case 'result':
            if (msg.ok) return done({ kind: 'ok', value: msg.value });
            return done({ kind: 'error', error: Object.assign(new Error(msg.error.message), msg.error.code ? { code: msg.error.code } : {}, msg.error.retryable === false ? { retryable: false } : {}) });
          case 'ready':
            return;
          default: {
            const never: never = msg;
            throw new Error(`unknown thread message ${JSON.stringify(never)}`);
          }
        }
      };
      const onAbort = () => this.worker.postMessage({ type: 'abort', reason: String((job.signal.reason as Error)?.message ?? job.signal.reason) });
      this.onExit = (exit) => done({ kind: 'crashed', error: exit.error ?? new Error(exit.reason) });
      this.worker.on('message', onMessage);
      job.signal.addEventListener('abort', onAbort, { once: true });
      const { task } = job;
      this.worker.postMessage({ type: 'run', task: { id: task.id, attempts: task.attempts, type: task.type, tenant: task.tenant, payload: task.payload }, workerId: job.workerId });
    });
  }

  async stop(mode: StopMode): Promise<void> {
    this.isStopping = true;
    if (mode === 'kill') {
      await this.worker.terminate();
      return;
    }
    const exited = new Promise<void>((r) => this.worker.once('exit', () => r()));
    this.worker.postMessage({ type: 'stop' });
    const timer = this.clock.setTimer(() => void this.worker.terminate(), this.killGraceMs);
    await exited;
    timer.cancel();
  }
}
