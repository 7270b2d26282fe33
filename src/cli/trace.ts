// `tidepool trace export --store URL [--from T] [--to T] [--type T] [--out FILE]`:
// writes the finished tasks of a store as a trace CSV (arrival_ms,service_ms,tenant,
// priority,type) for `tidepool simulate --trace`.
import { existsSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgsWithNegatives as parseArgs, parseInstant } from './args.ts';
import { InvalidInputError, type Task } from '../core/index.ts';
import { openStore, parseStoreUrl } from '../store/index.ts';
import { formatTrace, tasksToWorkload } from '../sim/index.ts';

const HELP = `Usage: tidepool trace export --store URL [--from T] [--to T] [--type T] [--out FILE]

Writes the store's finished tasks (succeeded or dead) as a trace CSV: arrival_ms is the
submit time relative to the first task, service_ms the run time of the last attempt,
then tenant, priority and type. Replay it with: tidepool simulate --trace FILE --compare

  --store URL   memory or sqlite:PATH
  --from T      only tasks submitted at or after T (epoch ms or an ISO date)
  --to T        only tasks submitted before T (epoch ms or an ISO date)
  --type T      only tasks of this type
  --out FILE    write to FILE instead of stdout`;

function instant(flag: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const ms = parseInstant(raw);
  if (typeof ms !== 'number') throw new InvalidInputError(`${flag}: got ${JSON.stringify(raw)}; ${ms.problem}`);
  return ms;
}

/**
 * trace export only reads: a store that does not exist is refused rather than created
 * empty (an empty export would make every policy look as if it met the SLO).
 */
function refuseMissingStore(url: string): void {
  const parsed = parseStoreUrl(url, '--store (flag)');
  if (parsed.kind === 'memory') {
    throw new InvalidInputError('--store (flag): got "memory"; a new process\'s memory store is always empty, so there is nothing to export; expected the store a server wrote, e.g. sqlite:./tidepool.db (tidepool start) or sqlite:./tidepool-demo.db (npm start)');
  }
  if (parsed.kind === 'sqlite' && !existsSync(parsed.path)) {
    throw new InvalidInputError(`--store (flag): got ${JSON.stringify(url)}; no such file ${resolve(parsed.path)}: trace export reads a store and does not create one; expected the store a server wrote, e.g. sqlite:./tidepool.db (tidepool start) or sqlite:./tidepool-demo.db (npm start)`);
  }
}

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h') {
    process.stdout.write(HELP + '\n');
    return sub === undefined ? 2 : 0;
  }
  if (sub !== 'export') throw new InvalidInputError(`trace: unknown subcommand ${JSON.stringify(sub)}; expected export\n\n${HELP}`);
  let values;
  try {
    values = parseArgs({
      args: rest,
      strict: true,
      options: {
        store: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        type: { type: 'string' },
        out: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (err) {
    throw new InvalidInputError(`${(err as Error).message}\n\n${HELP}`, { cause: err });
  }
  if (values.help) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  if (values.store === undefined) throw new InvalidInputError('--store: missing; expected memory or sqlite:PATH');
  const fromMs = instant('--from', values.from);
  const toMs = instant('--to', values.to);
  refuseMissingStore(values.store);
  const store = await openStore(values.store);
  const tasks: Task[] = [];
  try {
    let cursor: string | undefined;
    for (;;) {
      const page = await store.list({ status: ['succeeded', 'dead'], type: values.type, limit: 1000, cursor });
      tasks.push(...page.tasks);
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
  } finally {
    await store.close();
  }
  const csv = formatTrace(tasksToWorkload(tasks, { fromMs, toMs, type: values.type }));
  if (values.out !== undefined) {
    try {
      writeFileSync(values.out, csv);
    } catch (err) {
      throw new InvalidInputError(`--out: cannot write ${JSON.stringify(values.out)}: ${(err as Error).message}`, { cause: err });
    }
    process.stderr.write(`wrote ${csv.split('\n').length - 2} tasks to ${values.out}\n`);
  } else {
    process.stdout.write(csv);
  }
  if (tasks.length === 0) process.stderr.write(`trace export: warning: ${values.store} holds no finished (succeeded or dead) tasks${values.type ? ` of type ${values.type}` : ''}; the trace is empty\n`);
  return 0;
}
