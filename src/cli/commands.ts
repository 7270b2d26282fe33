// The `tidepool` command table: every command with its one-line help and its module
// (each exports `run(argv): Promise<number>` returning the exit code), the global
// options that may come before or after the command, and the one-line fatal report.

import { redactError, redactSecrets } from '../core/index.ts';

type CommandModule = { run(argv: string[]): Promise<number> };

interface Command {
  name: string;
  summary: string;
  /** Client commands receive their own name first so one module serves them all. */
  isClient?: boolean;
  load(): Promise<CommandModule>;
}

const client = () => import('./client.ts');

/** Every command, in the order --help lists them. */
export const COMMANDS: readonly Command[] = [
  { name: 'start', summary: 'run the server (queue, pools, autoscaler, HTTP API, dashboard)', load: () => import('./start.ts') },
  { name: 'mcp', summary: 'an MCP server over stdio for agents (tools submit_task, wait_task, ...) talking to a running server', load: () => import('./mcp.ts') },
  { name: 'worker', summary: "run a remote worker: pull tasks of a server's remote pool over HTTP", load: () => import('./worker.ts') },
  { name: 'submit', summary: 'submit a task (--wait MS waits for its result)', isClient: true, load: client },
  { name: 'status', summary: "show a task (--wait MS waits until it ends)", isClient: true, load: client },
  { name: 'tasks', summary: 'list tasks by status and type', isClient: true, load: client },
  { name: 'cancel', summary: 'cancel a queued or retrying task', isClient: true, load: client },
  { name: 'retry', summary: 're-queue a dead or cancelled task', isClient: true, load: client },
  { name: 'logs', summary: "a task's log lines per attempt (--follow: until the task ends)", isClient: true, load: client },
  { name: 'pools', summary: 'show pools: workers, bounds, policy, queue, health', isClient: true, load: client },
  { name: 'nodes', summary: 'show the nodes sharing the store: which leads, their pools and shares', isClient: true, load: client },
  { name: 'scale', summary: "set a pool's worker count, bounds, policy or preset", isClient: true, load: client },
  { name: 'events', summary: 'list scaling events with their reasons', isClient: true, load: client },
  { name: 'schedules', summary: 'recurring tasks: schedules add NAME --cron EXPR --type TYPE, schedules list, schedules rm NAME', load: () => import('./schedules.ts') },
  { name: 'top', summary: 'live view of pools, workers and recent scaling events', isClient: true, load: client },
  { name: 'load-test', summary: 'run a named load scenario on a real pool and store', load: () => import('./load-test.ts') },
  { name: 'simulate', summary: 'replay a trace or a generated workload against a policy in virtual time', load: () => import('./simulate.ts') },
  { name: 'trace', summary: "trace export: write a store's finished tasks as a trace CSV", load: () => import('./trace.ts') },
];

export const HELP = `tidepool: a durable task queue whose worker pools scale with the load

Usage: tidepool [--url URL] [--key KEY] [--json] <command> [options]

Commands:
${COMMANDS.map((c) => `  ${(c.name === 'trace' ? 'trace export' : c.name).padEnd(13)} ${c.summary}`).join('\n')}

Global options (before or after the command): --url URL (env TIDEPOOL_URL), --key KEY
(env TIDEPOOL_KEY), --json. Run 'tidepool <command> --help' for a command's options.`;

/** Global options that take a value, and those that do not. */
const GLOBAL_VALUE = new Set(['--url', '--key']);
const GLOBAL_SWITCH = new Set(['--json']);

/**
 * Moves global options given before the command to after it:
 * `--url U pools` -> `pools --url U`. Returns a problem when a leading option is not a global one.
 */
export function hoistGlobalOptions(argv: readonly string[]): { command: string | undefined; rest: string[] } | { problem: string } {
  const globals: string[] = [];
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--') || a === '--help' || a === '--version') break;
    const name = a.split('=')[0]!;
    if (GLOBAL_SWITCH.has(name)) globals.push(a);
    else if (GLOBAL_VALUE.has(name)) {
      if (a.includes('=')) globals.push(a);
      else {
        if (argv[i + 1] === undefined) return { problem: `option ${name} needs a value` };
        globals.push(a, argv[++i]!);
      }
    } else return { problem: `option ${JSON.stringify(a)} is not a global option (--url, --key, --json); give it after the command` };
  }
  return { command: argv[i], rest: [...argv.slice(i + 1), ...globals] };
}

/** How `tidepool` reports an error that reached the top: one line, exit 2 for bad input. */
export function reportFatal(err: unknown, prefix = 'tidepool'): number {
  const e = err as { code?: string; message?: string };
  // A store URL's password never reaches the terminal, whatever threw.
  process.stderr.write(`${prefix}: ${redactSecrets(e?.message ?? String(err))}\n`);
  if (process.env.TIDEPOOL_DEBUG) console.error(redactError(err));
  return e?.code === 'ConfigInvalid' || e?.code === 'InvalidInput' ? 2 : 1;
}

