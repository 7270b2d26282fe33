// The `process` worker kind: long-lived worker processes in any language that speak the
// worker protocol (docs/worker-protocol.md; child/protocol-worker.ts holds the
// conversation). A worker is one process: start() spawns it and resolves on its `ready`
// line (the pool measures that as the start-up); a task is one `task` message and its
// `result` or `error`. The process exiting at any time settles `exited` (the pool fails
// its task as WorkerCrashed and respawns it); so does the group being killed because a
// task was cut (timeout, stall, cancel, lost lease): a process that may be stuck in a
// task is not given another. stop('drain') sends `shutdown` (a recycle or a scale-down),
// stop('kill') ends the whole process group.
import { TidepoolError, type Clock } from '../../core/index.ts';
import type { StopMode, WorkerDriver, WorkerExit, WorkerHandle, WorkerJob, WorkerOutcome, WorkerSpec } from '../driver.ts';
import { ProtocolWorker } from '../child/protocol-worker.ts';

export interface ProcessDriverOptions {
  command: readonly string[];
  cwd?: string;
  env?: Readonly<Record<string, string>>;
  types: readonly string[];
  clock: Clock;
  startTimeoutMs?: number;
  killGraceMs?: number;
  /** A line the process printed outside any task (its start-up chatter). */
  onIdleLog?: (workerId: string, stream: string, text: string) => void;
}

export class ProcessDriver implements WorkerDriver {
  readonly kind = 'process' as const;
  readonly canKill = true;
  readonly types: readonly string[];
  private readonly options: ProcessDriverOptions;
  private readonly live = new Set<ProcessWorker>();

  constructor(options: ProcessDriverOptions) {
    this.options = options;
    this.types = [...options.types];
  }

  async start(spec: WorkerSpec): Promise<WorkerHandle> {
    const o = this.options;
    const proc = new ProtocolWorker({ command: o.command, cwd: o.cwd, env: o.env, clock: o.clock, startTimeoutMs: o.startTimeoutMs, killGraceMs: o.killGraceMs, onIdleLog: (s, t) => o.onIdleLog?.(spec.workerId, s, t) });
    const onAbort = () => void proc.stop('kill');
    spec.signal.addEventListener('abort', onAbort, { once: true });
    try {
      await proc.start();
    } finally {
      spec.signal.removeEventListener('abort', onAbort);
    }
    if (spec.signal.aborted) {
      await proc.stop('kill');
      throw new TidepoolError('ShuttingDown', `worker ${spec.workerId}: start abandoned`);
    }
    const worker = new ProcessWorker(proc, () => this.live.delete(worker));
    this.live.add(worker);
    return worker;
  }

  /** Every process this driver started is gone once this settles. */
  async close(): Promise<void> {
    await Promise.all([...this.live].map((w) => w.stop('kill')));
  }
}

class ProcessWorker implements WorkerHandle {
  private readonly proc: ProtocolWorker;
  private isStopped = false;
  readonly exited: Promise<WorkerExit>;

  constructor(proc: ProtocolWorker, onGone: () => void) {
    this.proc = proc;
    this.exited = new Promise<WorkerExit>((resolve) => {
      void proc.exited.then((exit) => {
        onGone();
        if (this.isStopped) return; // stop() does not settle exited
        const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
        // Killed by a signal Tidepool did not send: from outside (an operator, the OOM killer),
        // not a program that cannot run. The pool may count it as a crash but not as an early exit.
        const isExternalKill = !proc.wasKilledByUs && (exit.signal === 'SIGKILL' || exit.signal === 'SIGTERM');
        resolve({ reason: `worker process ${proc.pid} ${how}${isExternalKill ? ' (from outside Tidepool)' : ''}`, isExternalKill });
      });
    });
  }

  async run(job: WorkerJob): Promise<WorkerOutcome> {
    const { task } = job;
    try {
      const out = await this.proc.run(
        { id: task.id, type: task.type, attempt: task.attempts, tenant: task.tenant, payload: task.payload, timeoutMs: task.timeoutMs },
        { signal: job.signal, onLog: (stream, text) => job.log(stream === 'stderr' ? 'stderr' : stream === 'stdout' ? 'stdout' : 'log', text), onProgress: () => job.progress() },
      );
      if (out.kind === 'ok') return out;
      if (out.code === 'Crashed' || out.code === 'ProtocolError') return { kind: 'crashed', error: new TidepoolError('WorkerCrashed', out.message) };
      return { kind: 'error', error: Object.assign(new TidepoolError('InvalidInput', out.message), { code: out.code, retryable: out.retryable }) };
    } catch (err) {
      return { kind: 'error', error: err };
    }
  }

  async stop(mode: StopMode): Promise<void> {
    this.isStopped = true;
    await this.proc.stop(mode);
  }
}
