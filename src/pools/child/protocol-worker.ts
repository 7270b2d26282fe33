// One long-lived worker process (`process` workers) speaking the worker protocol
// (protocol.ts, docs/worker-protocol.md): spawn, wait for `ready`, then one task at a time.
//
// States: starting -> ready (its `ready` line arrived) -> busy (a task sent) -> ready
// (its result or error arrived) ...; any -> exited (the process is gone: a crash when it
// was not asked to stop). start() fails when the process exits, prints a wrong protocol
// version, or stays silent past startTimeoutMs. A task in flight when the process exits
// fails with code `Crashed`; an abort of the run (timeout, stall, cancel, lost lease) ends
// the whole process group: a worker that may be stuck in a task is not trusted again.
import { TidepoolError, type Clock, type Json, type TimerHandle } from '../../core/index.ts';
import { Child, DEFAULT_KILL_GRACE_MS, type ChildExit } from './child.ts';
import { LineReader } from './line-reader.ts';
import { MAX_LINE_BYTES, MAX_LOG_LINE_BYTES, MAX_RESULT_BYTES, PROTOCOL_VERSION, encodeMessage, jsonBytes, parseLine, type FromWorker } from './protocol.ts';

export interface ProtocolWorkerOptions {
  command: readonly string[];
  cwd?: string;
  env?: Readonly<Record<string, string>>;
  clock: Clock;
  /** start() fails when `ready` has not arrived by then, ms. */
  startTimeoutMs?: number;
  killGraceMs?: number;
  maxLineBytes?: number;
  maxResultBytes?: number;
  /** A log line outside any task (start-up chatter, a line between tasks). */
  onIdleLog?: (stream: string, text: string) => void;
}

export interface ProtocolTask {
  id: string;
  type: string;
  attempt: number;
  tenant: string;
  payload: Json;
  timeoutMs: number;
}

export interface RunHooks {
  signal: AbortSignal;
  onLog?: (stream: string, text: string) => void;
  onProgress?: () => void;
}

export type ProtocolOutcome =
  | { kind: 'ok'; value: Json }
  | { kind: 'error'; code: string; message: string; retryable: boolean };

export const DEFAULT_START_TIMEOUT_MS = 30_000;

type Waiting = { task: ProtocolTask; hooks: RunHooks; settle: (o: ProtocolOutcome) => void };

export class ProtocolWorker {
  private readonly options: ProtocolWorkerOptions;
  private child: Child | null = null;
  private current: Waiting | null = null;
  private onReady: ((m: FromWorker & { type: 'ready' }) => void) | null = null;
  private isStopping = false;
  private killedForTask = false;
  /** The last protocol problem, shown when the process is stopped for it. */
  private problem: string | null = null;
  /** Settles when the process is gone (after start). */
  exited!: Promise<ChildExit>;

  constructor(options: ProtocolWorkerOptions) {
    this.options = options;
  }

  get pid(): number {
    return this.child?.pid ?? -1;
  }

  get isAlive(): boolean {
    return this.child?.isRunning ?? false;
  }

  /** Tidepool itself signalled the group (a cut task, a protocol error, stop()). */
  get wasKilledByUs(): boolean {
    return this.isStopping || this.killedForTask;
  }

  /** True when the exit was not asked for (a crash, or killed from outside). */
  get hasCrashed(): boolean {
    return this.child !== null && !this.child.isRunning && !this.isStopping;
  }

  /** Spawns the process and waits for its `ready` line. Rejects (and ends the group) on failure. */
  async start(): Promise<void> {
    const { clock } = this.options;
    const child = Child.spawn({ argv: this.options.command, cwd: this.options.cwd, env: { TIDEPOOL_PROTOCOL: String(PROTOCOL_VERSION), ...this.options.env }, clock });
    this.child = child;
    this.exited = child.exited;
    const maxLine = this.options.maxLineBytes ?? MAX_LINE_BYTES;
    const stdout = new LineReader(maxLine, (line) => {
      if (line.isOverflow) return this.protocolProblem(`a stdout line of ${line.bytes} bytes is over the ${maxLine}-byte line cap`);
      this.onLine(line.text);
    });
    const stderr = new LineReader(MAX_LOG_LINE_BYTES, (line) => this.log('stderr', line.text));
    child.proc.stdout!.on('data', (c: Buffer) => stdout.push(c));
    child.proc.stdout!.on('end', () => stdout.end());
    child.proc.stderr!.on('data', (c: Buffer) => stderr.push(c));
    child.proc.stderr!.on('end', () => stderr.end());
    void child.exited.then((exit) => {
      void child.stop(0); // what it started goes with it
      const w = this.current;
      if (w) {
        this.current = null;
        const how = exit.signal ? `was killed by ${exit.signal}` : `exited with ${exit.code}`;
        w.settle({ kind: 'error', code: 'Crashed', message: `worker process ${child.pid} ${how} while running task ${w.task.id}${this.problem ? ` (${this.problem})` : ''}`, retryable: true });
      }
    });
    const timeoutMs = this.options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
    let timer: TimerHandle | null = null;
    try {
      const ready = await Promise.race([
        new Promise<FromWorker & { type: 'ready' }>((resolve) => (this.onReady = resolve)),
        child.exited.then((exit): never => {
          const why = child.spawnError ? `could not start: ${child.spawnError.message}` : exit.signal ? `was killed by ${exit.signal}` : `exited with ${exit.code}`;
          throw new TidepoolError('Timeout', `worker process ${JSON.stringify(this.options.command.join(' '))} ${why} before it was ready${this.problem ? ` (${this.problem})` : ''}`);
        }),
        new Promise<never>((_, reject) => {
          timer = clock.setTimer(() => reject(new TidepoolError('Timeout', `worker process ${child.pid} sent no "ready" line within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      if (ready.protocol !== PROTOCOL_VERSION) throw new TidepoolError('InvalidInput', `worker process ${child.pid} speaks protocol ${ready.protocol}; this Tidepool speaks ${PROTOCOL_VERSION}`);
    } catch (err) {
      this.isStopping = true;
      await child.stop(0);
      throw err;
    } finally {
      (timer as TimerHandle | null)?.cancel();
      this.onReady = null;
    }
  }

  /** Sends one task and waits for its result or error. An abort ends the process group. */
  run(task: ProtocolTask, hooks: RunHooks): Promise<ProtocolOutcome> {
    const child = this.child;
    if (!child || !child.isRunning) return Promise.resolve({ kind: 'error', code: 'Crashed', message: 'worker process is not running', retryable: true });
    if (this.current) throw new Error(`worker process ${child.pid} is busy with task ${this.current.task.id}`);
    return new Promise<ProtocolOutcome>((resolve, reject) => {
      const onAbort = () => {
        this.current = null;
        this.killedForTask = true;
        void this.child!.stop(this.options.killGraceMs ?? DEFAULT_KILL_GRACE_MS).then(() => reject(hooks.signal.reason));
      };
      if (hooks.signal.aborted) return onAbort();
      hooks.signal.addEventListener('abort', onAbort, { once: true });
      this.current = {
        task,
        hooks,
        settle: (o) => {
          hooks.signal.removeEventListener('abort', onAbort);
          resolve(o);
        },
      };
      child.proc.stdin!.write(encodeMessage({ type: 'task', id: task.id, taskType: task.type, attempt: task.attempt, payload: task.payload, timeoutMs: task.timeoutMs, tenant: task.tenant }));
    });
  }

  /** drain: ask it to exit (`shutdown`), kill after the grace; kill: end the group now (SIGTERM, then SIGKILL). */
  async stop(mode: 'drain' | 'kill'): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.isStopping = true;
    const graceMs = this.options.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
    if (mode === 'drain' && child.isRunning) {
      child.proc.stdin!.write(encodeMessage({ type: 'shutdown' }));
      child.proc.stdin!.end();
      let timer: TimerHandle | null = null;
      await Promise.race([child.exited, new Promise<void>((r) => (timer = this.options.clock.setTimer(r, graceMs)))]);
      (timer as TimerHandle | null)?.cancel();
      await child.stop(graceMs);
    } else {
      await child.stop(mode === 'kill' ? graceMs : 0);
    }
  }

  private onLine(text: string): void {
    const parsed = parseLine(text);
    switch (parsed.kind) {
      case 'text':
        return this.log('stdout', text);
      case 'invalid':
        return this.protocolProblem(parsed.problem);
      case 'message':
        return this.onMessage(parsed.message);
      default: {
        const never: never = parsed;
        throw new Error(`unhandled line ${JSON.stringify(never)}`);
      }
    }
  }

  private onMessage(m: FromWorker): void {
    const w = this.current;
    switch (m.type) {
      case 'ready':
        this.onReady?.(m);
        return;
      case 'heartbeat':
      case 'progress':
        if (w && (m.id === undefined || m.id === w.task.id)) w.hooks.onProgress?.();
        return;
      case 'log':
        return this.log(m.stream ?? 'log', m.text);
      case 'result': {
        if (!w || m.id !== w.task.id) return this.log('stdout', `(result for a task not running here: ${m.id})`);
        this.current = null;
        const cap = this.options.maxResultBytes ?? MAX_RESULT_BYTES;
        const bytes = jsonBytes(m.value);
        if (bytes > cap) return w.settle({ kind: 'error', code: 'ResultTooLarge', message: `task ${m.id}: the result is ${bytes} bytes, over the ${cap}-byte cap`, retryable: false });
        return w.settle({ kind: 'ok', value: m.value });
      }
      case 'error':
        if (!w || m.id !== w.task.id) return this.log('stdout', `(error for a task not running here: ${m.id})`);
        this.current = null;
        return w.settle({ kind: 'error', code: m.code ?? 'HandlerError', message: m.message, retryable: m.retryable !== false });
      default: {
        const never: never = m;
        throw new Error(`unhandled message ${JSON.stringify(never)}`);
      }
    }
  }

  /** A broken protocol line: the task in flight fails and the process is replaced. */
  private protocolProblem(problem: string): void {
    this.problem = problem;
    const w = this.current;
    this.current = null;
    w?.settle({ kind: 'error', code: 'ProtocolError', message: `worker process ${this.pid}: ${problem}`, retryable: true });
    this.isStopping = true;
    void this.child?.stop(0);
  }

  private log(stream: string, text: string): void {
    const cut = Buffer.byteLength(text) > MAX_LOG_LINE_BYTES ? Buffer.from(text).subarray(0, MAX_LOG_LINE_BYTES).toString('utf8') + ' [cut]' : text;
    if (this.current?.hooks.onLog) this.current.hooks.onLog(stream, cut);
    else this.options.onIdleLog?.(stream, cut);
  }
}
