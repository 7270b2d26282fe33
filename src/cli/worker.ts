// `tidepool worker`: a remote worker. Pulls tasks from a server's remote pool over HTTP
// and runs them with a handlers module (the same default export `tidepool start
// --handlers` takes). Drains on SIGTERM/SIGINT (a second signal stops the running tasks).
import { parseArgs } from 'node:util';
import { hostname } from 'node:os';
import { systemClock } from '../core/index.ts';
import { loadHandlers } from './start.ts';
import { RemoteRunner } from './remote-runner.ts';

const HELP = `Usage: tidepool worker --url URL --handlers MODULE [options]

Runs tasks of a server's remote pool (kind "remote") on this machine: registers, claims
by long poll, heartbeats, completes or fails each task with its lease token. Reconnects
with backoff when the server restarts; drains on SIGTERM.

Options:
  --url URL            the Tidepool server (env TIDEPOOL_URL)
  --key KEY            API key of the tenant it works for (env TIDEPOOL_API_KEY)
  --handlers MODULE    default export { type: async (payload, ctx) => result }
  --types a,b          types to serve (default: every type of the module)
  --concurrency N      tasks at once (default 1; it counts as N workers)
  --pool NAME          the remote pool to join (default: the one serving the types)
  --name NAME          a label for views (default: host/pid)`;

export async function run(argv: string[]): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { url: { type: 'string' }, key: { type: 'string' }, handlers: { type: 'string' }, types: { type: 'string' }, concurrency: { type: 'string' }, pool: { type: 'string' }, name: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    }));
  } catch (err) {
    process.stderr.write(`tidepool worker: ${(err as Error).message}\n\n${HELP}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  const url = (values.url as string | undefined) ?? process.env.TIDEPOOL_URL;
  const problems: string[] = [];
  if (!url) problems.push('--url (flag): missing; expected the server address, e.g. http://127.0.0.1:7700 (or set TIDEPOOL_URL)');
  else if (!/^https?:\/\/[^/]/.test(url)) problems.push(`--url (flag): got ${JSON.stringify(url)}; expected an http:// or https:// address`);
  if (!values.handlers) problems.push('--handlers (flag): missing; expected a module whose default export maps task types to handlers');
  const concurrency = values.concurrency === undefined ? 1 : Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256) problems.push(`--concurrency (flag): got ${JSON.stringify(values.concurrency)}; expected an integer in 1..256`);
  if (problems.length) {
    process.stderr.write(`tidepool worker: ${problems.join('\n  ')}\n`);
    return 2;
  }
  const handlers = await loadHandlers(values.handlers as string);
  const types = typeof values.types === 'string' ? values.types.split(',').map((t) => t.trim()).filter(Boolean) : undefined;
  const log = (line: string) => process.stderr.write(`tidepool worker: ${line}\n`);
  const runner = new RemoteRunner({
    url: url!,
    key: (values.key as string | undefined) ?? process.env.TIDEPOOL_API_KEY,
    handlers,
    types,
    concurrency,
    pool: values.pool as string | undefined,
    name: (values.name as string | undefined) ?? `${hostname()}/${process.pid}`,
    clock: systemClock,
    log,
  });
  let signals = 0;
  const onSignal = (signal: string) => {
    signals++;
    log(signals > 1 ? `second ${signal}: stopping running tasks` : `${signal}: draining (running tasks finish; a second signal stops them)`);
    runner.drain(signals > 1);
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
  await runner.run();
  log(`stopped (${runner.completed} completed, ${runner.failed} failed)`);
  return 0;
}
