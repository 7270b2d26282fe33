#!/usr/bin/env node
// The `tidepool` command: dispatches to one module per subcommand (table in commands.ts).
// The global options (--url, --key, --json) may come before the command or after it.
import { COMMANDS, HELP, hoistGlobalOptions, reportFatal } from './commands.ts';

async function main(argv: string[]): Promise<number> {
  const hoisted = hoistGlobalOptions(argv);
  if ('problem' in hoisted) {
    process.stderr.write(`tidepool: ${hoisted.problem}\n\n${HELP}\n`);
    return 2;
  }
  const { command, rest } = hoisted;
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
  const entry = COMMANDS.find((c) => c.name === command);
  if (!entry) {
    process.stderr.write(`tidepool: unknown command ${JSON.stringify(command)}\n\n${HELP}\n`);
    return 2;
  }
  const mod = await entry.load();
  return mod.run(entry.isClient ? [command, ...rest] : rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.exitCode = reportFatal(err);
  },
);
