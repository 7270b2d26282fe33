// One child process for a `command` or `process` worker: spawned without a shell, as the
// leader of its own process group, with a minimal environment. Stopping it stops the whole
// group: SIGTERM to every process of it, then SIGKILL after a grace period, then a check
// that the group is empty, so grandchildren the program started do not outlive it.
//
// States: running -> exited (the leader is gone; the group may still hold processes until
// stop() ends them) -> stopped (the group is empty).
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import type { Clock } from '../../core/index.ts';

/** The variables a child inherits from the server's environment; everything else stays out. */
export const INHERITED_ENV = ['PATH', 'HOME', 'LANG', 'TZ'] as const;
/** Default SIGTERM -> SIGKILL grace, ms. */
export const DEFAULT_KILL_GRACE_MS = 2000;

export interface ChildOptions {
  /** Program and its arguments; argv[0] is looked up on PATH. */
  argv: readonly string[];
  cwd?: string;
  /** The pool's own variables, added to the inherited ones. */
  env?: Readonly<Record<string, string>>;
  clock: Clock;
}

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** The environment a child sees: PATH, HOME, LANG and TZ from this process, then the pool's env. */
export function childEnv(poolEnv: Readonly<Record<string, string>> = {}, from: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of INHERITED_ENV) {
    const v = from[name];
    if (v !== undefined) env[name] = v;
  }
  return { ...env, ...poolEnv };
}

export class Child {
  readonly proc: ChildProcess;
  readonly pid: number;
  /** Settles when the leader process exits (or could not start: code null, `spawnError` set). */
  readonly exited: Promise<ChildExit>;
  spawnError: Error | null = null;
  exit: ChildExit | null = null;
  private readonly clock: Clock;
  private stopping: Promise<void> | null = null;

  private constructor(proc: ChildProcess, clock: Clock) {
    this.proc = proc;
    this.pid = proc.pid ?? -1;
    this.clock = clock;
    this.exited = new Promise((resolve) => {
      proc.once('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
      proc.once('error', (err) => {
        this.spawnError = err;
        // A spawn failure emits no exit.
        if (proc.pid === undefined) {
          this.exit = { code: null, signal: null };
          resolve(this.exit);
        }
      });
    });
    // A child that exits before reading its stdin must not crash us with EPIPE.
    proc.stdin?.on('error', () => {});
  }

  static spawn(options: ChildOptions): Child {
    if (options.argv.length === 0 || !options.argv[0]) throw new RangeError('command: expected a non-empty argv list');
    const [program, ...args] = options.argv;
    const proc = spawn(program!, args, {
      cwd: options.cwd,
      env: childEnv(options.env),
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true, // its own process group, so the group can be signalled as one
      shell: false,
      windowsHide: true,
    });
    return new Child(proc, options.clock);
  }

  get isRunning(): boolean {
    return this.exit === null;
  }

  /** Is any process of the group still alive (the leader or what it started)? */
  groupAlive(): boolean {
    if (this.pid <= 0) return false;
    try {
      process.kill(-this.pid, 0);
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'EPERM';
    }
    // kill(0) also answers for zombies (dead, not yet reaped by whoever inherited them).
    return process.platform !== 'linux' || livingGroupMembers(this.pid).length > 0;
  }

  /** Sends a signal to every process of the group; false when the group is already gone. */
  signalGroup(signal: NodeJS.Signals): boolean {
    if (this.pid <= 0) return false;
    try {
      process.kill(-this.pid, signal);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Ends the whole group: SIGTERM, then SIGKILL once graceMs passed (at once with 0), and
   * waits until no process of it is left. Safe to call more than once.
   */
  stop(graceMs = DEFAULT_KILL_GRACE_MS): Promise<void> {
    this.stopping ??= (async () => {
      if (!this.groupAlive()) return;
      if (graceMs > 0) {
        this.signalGroup('SIGTERM');
        await this.waitGroupGone(graceMs);
      }
      for (let i = 0; this.groupAlive(); i++) {
        this.signalGroup('SIGKILL');
        await this.clock.sleep(Math.min(50, 5 * (i + 1)));
        if (i > 400) throw new Error(`process group ${this.pid} survived SIGKILL for 20 s`);
      }
    })();
    return this.stopping;
  }

  /** Waits up to ms for the group to be empty (polls: a group has no exit event). */
  private async waitGroupGone(ms: number): Promise<void> {
    const endMs = this.clock.now() + ms;
    for (let step = 5; this.groupAlive() && this.clock.now() < endMs; step = Math.min(step * 2, 100)) {
      await this.clock.sleep(Math.min(step, Math.max(1, endMs - this.clock.now())));
    }
  }
}

/** Pids of the group's processes that are not zombies (Linux: read from /proc). */
export function livingGroupMembers(pgid: number): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses, so split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid && fields[0] !== 'Z' && fields[0] !== 'X') pids.push(Number(name));
  }
  return pids;
}
