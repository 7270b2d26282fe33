// The `inline` worker kind (the default): a worker is an async slot in this process that
// calls the handler registered for the task's type. It starts at once (or after the
// configured startupMs, to stand in for a slow start), cannot be killed (stop('kill')
// only lets go of it: the handler's signal has already aborted), and never exits on its own.
//
// Hosted code must not take the process down (issue 8): every attempt runs inside an
// AsyncLocalStorage context, and while an inline pool is open this module listens for
// `uncaughtException` and `unhandledRejection`. An error thrown from a timer callback or a
// rejection nobody awaited is traced back to the attempt whose code made it: that attempt
// fails with the error (and the line goes to the task's log), the process keeps serving.
// An error no attempt can be found for (or one arriving after its attempt ended) is
// reported to the pool (its `error` event and error count) and nothing else happens.
import { AsyncLocalStorage } from 'node:async_hooks';
import { TidepoolError, type Clock, type Json } from '../../core/index.ts';
import type { WorkerDriver, WorkerHandle, WorkerJob, WorkerOutcome, WorkerSpec } from '../driver.ts';
import type { HandlerMap, TaskContext } from '../types.ts';
import { formatLogArgs } from './log-text.ts';

export interface InlineDriverOptions {
  handlers: HandlerMap;
  clock: Clock;
  /** Time a new worker spends starting before it is ready, ms (default 0: ready at once). */
  startupMs?: number;
  /** Errors in hosted code that no attempt could take (counted and emitted by the pool). */
  report?(error: Error, doing: string): void;
}

/** What runs in an attempt's async context: how a stray error finds its attempt. */
interface AttemptScope {
  taskId: string;
  isOver: boolean;
  strayError(error: unknown, how: string): void;
}

const scopes = new AsyncLocalStorage<AttemptScope>();
const guards = new Set<InlineDriver>();
let listening = false;

function onStray(how: string) {
  return (err: unknown) => {
    const scope = scopes.getStore();
    if (scope && !scope.isOver) return scope.strayError(err, how);
    const error = err instanceof Error ? err : new Error(String(err));
    const owner = guards.values().next().value;
    const doing = scope ? `hosted code of task ${scope.taskId} (after its attempt ended): ${how}` : `hosted code (no task to attribute it to): ${how}`;
    if (owner) owner.reportStray(error, doing);
    else console.error(`tidepool: ${doing}:`, error);
  };
}
const onException = onStray('uncaught exception');
const onRejection = onStray('unhandled rejection');

function guard(driver: InlineDriver): void {
  guards.add(driver);
  if (listening) return;
  listening = true;
  process.on('uncaughtException', onException);
  process.on('unhandledRejection', onRejection);
}

function unguard(driver: InlineDriver): void {
  guards.delete(driver);
  if (guards.size > 0 || !listening) return;
  listening = false;
  process.off('uncaughtException', onException);
  process.off('unhandledRejection', onRejection);
}

export class InlineDriver implements WorkerDriver {
  readonly kind = 'inline' as const;
  readonly canKill = false;
  readonly types: readonly string[];
  private readonly options: InlineDriverOptions;

  constructor(options: InlineDriverOptions) {
    this.options = options;
    this.types = Object.keys(options.handlers).filter((t) => typeof options.handlers[t] === 'function');
    guard(this);
  }

  reportStray(error: Error, doing: string): void {
    if (this.options.report) this.options.report(error, doing);
    else console.error(`tidepool: ${doing}:`, error);
  }

  start(spec: WorkerSpec): WorkerHandle | Promise<WorkerHandle> {
    const handle = new InlineWorker(this.options.handlers, spec.workerId, (error, doing) => this.reportStray(error, doing));
    const startupMs = this.options.startupMs ?? 0;
    if (startupMs <= 0) return handle;
    return new Promise<WorkerHandle>((resolve, reject) => {
      const timer = this.options.clock.setTimer(() => resolve(handle), startupMs);
      spec.signal.addEventListener('abort', () => {
        timer.cancel();
        reject(new TidepoolError('ShuttingDown', `worker ${spec.workerId}: start abandoned`));
      }, { once: true });
    });
  }

  async close(): Promise<void> {
    unguard(this);
  }
}

class InlineWorker implements WorkerHandle {
  private readonly handlers: HandlerMap;
  private readonly workerId: string;
  private readonly report: (error: Error, doing: string) => void;
  /** An inline worker never ends by itself. */
  readonly exited: Promise<never> = new Promise(() => undefined);

  constructor(handlers: HandlerMap, workerId: string, report: (error: Error, doing: string) => void) {
    this.handlers = handlers;
    this.workerId = workerId;
    this.report = report;
  }

  run(job: WorkerJob): Promise<WorkerOutcome> {
    const { task } = job;
    const handler = this.handlers[task.type];
    if (!handler) return Promise.resolve({ kind: 'error', error: new TidepoolError('InvalidInput', `no handler for type ${JSON.stringify(task.type)} on worker ${this.workerId}`) });
    const ctx: TaskContext = {
      id: task.id,
      attempt: task.attempts,
      signal: job.signal,
      type: task.type,
      tenant: task.tenant,
      workerId: job.workerId,
      progress: () => job.progress(),
      log: (...args: unknown[]) => job.log('log', formatLogArgs(args)),
    };
    return new Promise<WorkerOutcome>((resolve) => {
      const scope: AttemptScope = {
        taskId: task.id,
        isOver: false,
        strayError: (err, how) => {
          if (scope.isOver) return;
          scope.isOver = true;
          const error = err instanceof Error ? err : new Error(String(err));
          job.log('stderr', `${how}: ${error.stack ?? error.message}`);
          this.report(error, `task ${task.id} attempt ${task.attempts}: ${how} in its handler (contained: the attempt fails with it)`);
          resolve({ kind: 'error', error });
        },
      };
      const settle = (outcome: WorkerOutcome) => {
        if (scope.isOver) return;
        scope.isOver = true;
        resolve(outcome);
      };
      scopes.run(scope, () => {
        Promise.resolve()
          .then(() => handler(task.payload, ctx))
          .then(
            (value) => settle({ kind: 'ok', value: (value ?? null) as Json }),
            (error) => settle({ kind: 'error', error }),
          );
      });
    });
  }

  async stop(): Promise<void> {
    // Nothing to end: the handler shares this process; its signal has been aborted if it ran.
  }
}
