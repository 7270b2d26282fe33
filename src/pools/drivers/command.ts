// The `command` worker kind: one child process per task (a coding-agent CLI, a script).
// A worker is a slot that runs one program at a time; it starts at once and never exits
// by itself. Each task runs `command` (an argv template, no shell) with the payload as
// JSON on stdin; stdout is the result (JSON when it parses, else the text), stderr goes
// to the task's log, exit 0 succeeds, exit 65 (NO_RETRY_EXIT_CODE) fails the task without
// retry, any other exit fails the attempt. A timeout, a cancel, a lost lease or a kill
// ends the child's whole process group (SIGTERM, then SIGKILL after killGraceMs), and the
// run settles only once no process of the group is left (child/command-run.ts).
import { TidepoolError, type Clock } from '../../core/index.ts';
import type { StopMode, WorkerDriver, WorkerHandle, WorkerJob, WorkerOutcome, WorkerSpec } from '../driver.ts';
import { runCommand } from '../child/command-run.ts';

export interface CommandDriverOptions {
  /** argv template: `{payload}`, `{payload.FIELD}`, `{id}`, `{type}`, `{attempt}`, `{tenant}`. */
  command: readonly string[];
  cwd?: string;
  env?: Readonly<Record<string, string>>;
  types: readonly string[];
  clock: Clock;
  killGraceMs?: number;
}

export class CommandDriver implements WorkerDriver {
  readonly kind = 'command' as const;
  readonly canKill = true;
  readonly types: readonly string[];
  private readonly options: CommandDriverOptions;
  /** Runs still ending (their groups being killed): close() waits for them. */
  readonly inFlight = new Set<Promise<unknown>>();

  constructor(options: CommandDriverOptions) {
    this.options = options;
    this.types = [...options.types];
  }

  start(_spec: WorkerSpec): WorkerHandle {
    return new CommandWorker(this);
  }

  run(job: WorkerJob, signal: AbortSignal): Promise<WorkerOutcome> {
    const o = this.options;
    const { task } = job;
    const run = runCommand(
      { id: task.id, type: task.type, attempt: task.attempts, tenant: task.tenant, payload: task.payload },
      { command: o.command, cwd: o.cwd, env: o.env, clock: o.clock, killGraceMs: o.killGraceMs, signal, onLog: (stream, text) => job.log(stream, text) },
    ).then(
      (out): WorkerOutcome => (out.kind === 'ok' ? out : { kind: 'error', error: Object.assign(new TidepoolError('InvalidInput', out.message), { code: out.code, retryable: out.retryable }) }),
      (err): WorkerOutcome => ({ kind: 'error', error: err }),
    );
    this.inFlight.add(run);
    void run.finally(() => this.inFlight.delete(run));
    return run;
  }

  async close(): Promise<void> {
    await Promise.all(this.inFlight);
  }
}

class CommandWorker implements WorkerHandle {
  private readonly driver: CommandDriver;
  private current: { controller: AbortController; done: Promise<WorkerOutcome> } | null = null;
  /** A command worker is a slot, not a process: it never ends by itself. */
  readonly exited: Promise<never> = new Promise(() => undefined);

  constructor(driver: CommandDriver) {
    this.driver = driver;
  }

  run(job: WorkerJob): Promise<WorkerOutcome> {
    const controller = new AbortController();
    const onAbort = () => controller.abort(job.signal.reason);
    if (job.signal.aborted) onAbort();
    else job.signal.addEventListener('abort', onAbort, { once: true });
    const done = this.driver.run(job, controller.signal).finally(() => {
      job.signal.removeEventListener('abort', onAbort);
      this.current = null;
    });
    this.current = { controller, done };
    return done;
  }

  async stop(mode: StopMode): Promise<void> {
    const current = this.current;
    if (!current) return;
    if (mode === 'kill') current.controller.abort(new TidepoolError('ShuttingDown', 'the worker was stopped'));
    await current.done;
  }
}
