// One task as one child process (`command` workers): the argv template filled from the
// task, the payload as JSON on stdin, stdout as the result (JSON when it parses, else the
// text), stderr line by line to the task's log. Exit 0 succeeds; NO_RETRY_EXIT_CODE fails
// the task for good; any other exit fails the attempt (retried per the task's policy).
// An abort (timeout, cancel, lost lease, shutdown) ends the child's whole process group,
// and the returned promise settles only once no process of it is left.
import { TidepoolError, type Clock, type Json } from '../../core/index.ts';
import { Child, DEFAULT_KILL_GRACE_MS } from './child.ts';
import { LineReader } from './line-reader.ts';
import { MAX_LOG_LINE_BYTES, MAX_RESULT_BYTES } from './protocol.ts';

/** Exit code meaning "this task cannot succeed: do not retry it" (EX_DATAERR of sysexits.h). */
export const NO_RETRY_EXIT_CODE = 65;

export interface CommandTask {
  id: string;
  type: string;
  attempt: number;
  tenant: string;
  payload: Json;
}

export interface CommandRunOptions {
  /** argv template: `{payload}`, `{payload.a.b}`, `{id}`, `{type}`, `{attempt}`, `{tenant}`; `{{` is a literal brace. */
  command: readonly string[];
  cwd?: string;
  env?: Readonly<Record<string, string>>;
  clock: Clock;
  /** Aborts the run: the group is stopped, and the promise rejects with signal.reason. */
  signal: AbortSignal;
  killGraceMs?: number;
  maxResultBytes?: number;
  /** A stderr line (and, on failure, nothing else: stdout is the result). */
  onLog?: (stream: 'stderr', text: string) => void;
  /** The child was spawned (its group id), for tests and for `ps`-style views. */
  onSpawn?: (pid: number) => void;
}

export type CommandOutcome =
  | { kind: 'ok'; value: Json }
  | { kind: 'error'; code: string; message: string; retryable: boolean };

const PLACEHOLDER = /\{\{|\}\}|\{([a-zA-Z]+)((?:\.[A-Za-z0-9_-]+)*)\}/g;
const FIELDS = new Set(['payload', 'id', 'type', 'attempt', 'tenant']);

/** Problems with an argv template (unknown placeholders), for config validation. */
export function commandTemplateProblems(command: readonly string[]): string[] {
  const problems: string[] = [];
  command.forEach((arg, i) => {
    for (const m of arg.matchAll(PLACEHOLDER)) {
      if (m[1] === undefined) continue;
      if (!FIELDS.has(m[1])) problems.push(`command[${i}]: placeholder {${m[1]}${m[2]}} is unknown; known: {payload}, {payload.FIELD}, {id}, {type}, {attempt}, {tenant}`);
      else if (m[2] && m[1] !== 'payload') problems.push(`command[${i}]: {${m[1]}${m[2]}}: only {payload} has fields`);
    }
  });
  return problems;
}

/** Fills the template; throws a TidepoolError naming the argument when a payload field is missing. */
export function fillCommand(command: readonly string[], task: CommandTask): string[] {
  return command.map((arg, i) =>
    arg.replace(PLACEHOLDER, (whole, field: string | undefined, path: string) => {
      if (field === undefined) return whole[0]!;
      if (field !== 'payload') return String(task[field as 'id' | 'type' | 'attempt' | 'tenant']);
      let value: Json | undefined = task.payload;
      for (const key of path.split('.').slice(1)) {
        value = value && typeof value === 'object' && !Array.isArray(value) ? value[key] : undefined;
        if (value === undefined) throw new TidepoolError('InvalidInput', `command[${i}] ${JSON.stringify(arg)}: the payload has no field ${path.slice(1)}`);
      }
      return typeof value === 'string' ? value : JSON.stringify(value);
    }),
  );
}

export async function runCommand(task: CommandTask, options: CommandRunOptions): Promise<CommandOutcome> {
  const { signal, clock } = options;
  const maxResultBytes = options.maxResultBytes ?? MAX_RESULT_BYTES;
  const graceMs = options.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
  signal.throwIfAborted();
  let argv: string[];
  try {
    argv = fillCommand(options.command, task);
  } catch (err) {
    return { kind: 'error', code: 'InvalidInput', message: (err as Error).message, retryable: false };
  }
  const child = Child.spawn({ argv, cwd: options.cwd, env: options.env, clock });
  if (child.pid > 0) options.onSpawn?.(child.pid);
  const out: Buffer[] = [];
  let outBytes = 0;
  let tooLarge = false;
  let lastStderr = '';
  child.proc.stdout!.on('data', (chunk: Buffer) => {
    outBytes += chunk.length;
    if (outBytes > maxResultBytes) {
      if (!tooLarge) {
        tooLarge = true;
        void child.stop(0);
      }
      return;
    }
    out.push(chunk);
  });
  const errLines = new LineReader(MAX_LOG_LINE_BYTES, (line) => {
    lastStderr = line.text;
    options.onLog?.('stderr', line.isOverflow ? `${line.text} [line cut at ${MAX_LOG_LINE_BYTES} of ${line.bytes} bytes]` : line.text);
  });
  child.proc.stderr!.on('data', (chunk: Buffer) => errLines.push(chunk));
  const stderrDone = new Promise<void>((resolve) => child.proc.stderr!.once('close', resolve));
  const stdoutDone = new Promise<void>((resolve) => child.proc.stdout!.once('close', resolve));
  const onAbort = () => void child.stop(graceMs);
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    child.proc.stdin!.end(JSON.stringify(task.payload ?? null));
    const exit = await child.exited;
    // Grandchildren may hold the pipes open: end the group before waiting for them to close.
    await child.stop(signal.aborted ? graceMs : 0);
    await Promise.all([stdoutDone, stderrDone]);
    errLines.end();
    if (signal.aborted) throw signal.reason;
    if (child.spawnError) return { kind: 'error', code: 'CommandFailed', message: `command ${JSON.stringify(argv[0])} could not start: ${child.spawnError.message}`, retryable: false };
    if (tooLarge) return { kind: 'error', code: 'ResultTooLarge', message: `command wrote more than ${maxResultBytes} bytes on stdout (the result cap); it was stopped`, retryable: false };
    const tail = lastStderr ? `; last stderr line: ${lastStderr.slice(0, 500)}` : '';
    if (exit.signal) return { kind: 'error', code: 'Crashed', message: `command was killed by ${exit.signal}${tail}`, retryable: true };
    if (exit.code === NO_RETRY_EXIT_CODE) return { kind: 'error', code: 'CommandFailed', message: `command exited with ${NO_RETRY_EXIT_CODE} (do not retry)${tail}`, retryable: false };
    if (exit.code !== 0) return { kind: 'error', code: 'CommandFailed', message: `command exited with ${exit.code}${tail}`, retryable: true };
    return { kind: 'ok', value: parseOutput(Buffer.concat(out).toString('utf8')) };
  } finally {
    signal.removeEventListener('abort', onAbort);
    await child.stop(0);
  }
}

/** stdout as the result: JSON when the whole of it parses, else the text without its last newline. */
export function parseOutput(text: string): Json {
  const trimmed = text.trim();
  if (trimmed === '') return null;
  try {
    return JSON.parse(trimmed) as Json;
  } catch {
    return text.replace(/\r?\n$/, '');
  }
}
