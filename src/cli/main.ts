#!/usr/bin/env node
// The `tidepool` command: dispatches to one module per subcommand. Each module
// exports `run(argv): Promise<number>` returning the exit code.

const HELP = `tidepool: a durable task queue whose worker pools scale with the load

Usage: tidepool <command> [options]

Commands:
  load-test     run a named load scenario on a real pool and store
  simulate      replay a trace or a generated workload against a policy in virtual time
  trace export  write a store's finished tasks as a trace CSV
  start         run the server (queue, pools, autoscaler, HTTP API, dashboard)
  worker        run a remote worker: pull tasks of a server's remote pool over HTTP
  mcp           an MCP server over stdio for agents (tools submit_task, wait_task, ...) talking to a running server
  submit | status | tasks | cancel | pools | scale | events | top
                talk to a running server

Run 'tidepool <command> --help' for a command's options.`;

import { redactError, redactSecrets } from '../core/index.ts';

type CommandModule = { run(argv: string[]): Promise<number> };

async function load(command: string): Promise<CommandModule | null> {
  switch (command) {
    case 'load-test':
      return import('./load-test.ts');
    case 'simulate':
      return import('./simulate.ts');
    case 'trace':
      return import('./trace.ts');
    case 'start':
      return import('./start.ts');
    case 'worker':
      return import('./worker.ts');
    case 'mcp':
      return import('./mcp.ts');
    case 'submit':
    case 'status':
    case 'tasks':
    case 'cancel':
    case 'retry':
    case 'pools':
    case 'scale':
    case 'events':
    case 'top':
      return import('./client.ts');
    default:
      return null;
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(HELP + '\n');
    return command ? 0 : 1;
  }
  if (command === '--version' || command === '-v') {
    const { createRequire } = await import('node:module');
    const pkg = createRequire(import.meta.url)('../../package.json') as { version: string };
    process.stdout.write(pkg.version + '\n');
    return 0;
  }
  const mod = await load(command);
  if (!mod) {
    process.stderr.write(`tidepool: unknown command ${JSON.stringify(command)}\n\n${HELP}\n`);
    return 2;
  }
  // Client commands receive their own name first so one module serves them all.
  const isClient = ['submit', 'status', 'tasks', 'cancel', 'retry', 'pools', 'scale', 'events', 'top'].includes(command);
  return mod.run(isClient ? [command, ...rest] : rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const e = err as { code?: string; message?: string };
    // A store URL's password never reaches the terminal, whatever threw.
    process.stderr.write(`tidepool: ${redactSecrets(e?.message ?? String(err))}\n`);
    if (process.env.TIDEPOOL_DEBUG) console.error(redactError(err));
    process.exitCode = e?.code === 'ConfigInvalid' || e?.code === 'InvalidInput' ? 2 : 1;
  },
);
