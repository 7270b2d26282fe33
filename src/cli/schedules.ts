// `tidepool schedules add | list | rm`: recurring tasks on a running server
// (/v1/schedules, docs/schedules.md), a client like `tidepool submit`: --url/--key or
// TIDEPOOL_URL/TIDEPOOL_KEY, --json for one JSON document on stdout. Exit codes: 0 ok,
// 1 the server refused or failed, 2 bad usage.
import type { ParseArgsConfig } from 'node:util';
import { CATCH_UP_RULES } from '../core/index.ts';
import { Client, COMMON, COMMON_HELP, DEFAULT_URL, ServerError, UsageError, intFlag, payloadFromFlags } from './client.ts';
import { parseFlags } from './args.ts';
import { scheduleLine, scheduleTable } from './client-views.ts';

const USAGE: Record<string, string> = {
  add: `tidepool schedules add NAME --cron EXPR --type TYPE [--timezone TZ] [--payload JSON | --payload-file FILE] [--priority N] [--catch-up ${CATCH_UP_RULES.join('|')}] [--tenant TENANT]`,
  list: 'tidepool schedules list',
  rm: 'tidepool schedules rm NAME',
};
const HELP = `usage:\n${Object.values(USAGE).map((u) => `  ${u}`).join('\n')}\n
EXPR is a cron expression: 6 fields with seconds first ("*/10 * * * * *": every 10 s) or
5 ("0 9 * * 1-5": 09:00 on weekdays), read in --timezone (an IANA name; default UTC).
Each tick submits one task; --catch-up says what happens to ticks missed while no server
ran (latest: submit the most recent, the default; all: each; none: skip them).
${COMMON_HELP}`;

interface Io {
  out(text: string): void;
  err(text: string): void;
}

const stdio: Io = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };

const SPEC = {
  add: { cron: { type: 'string' }, type: { type: 'string' }, timezone: { type: 'string' }, payload: { type: 'string' }, 'payload-file': { type: 'string' }, priority: { type: 'string' }, 'catch-up': { type: 'string' }, tenant: { type: 'string' } },
  list: {},
  rm: {},
} as const satisfies Record<string, NonNullable<ParseArgsConfig['options']>>;

export async function run(argv: string[], io: Io = stdio): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    io.out(HELP + '\n');
    return sub === undefined ? 2 : 0;
  }
  if (!(sub in SPEC)) {
    io.err(`tidepool schedules: unknown subcommand ${JSON.stringify(sub)}; known: add, list, rm\n${HELP}\n`);
    return 2;
  }
  try {
    return await dispatch(sub as keyof typeof SPEC, rest, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`tidepool schedules ${sub}: ${err.message}\nusage: ${USAGE[sub]}\n${COMMON_HELP}\n`);
      return 2;
    }
    if (err instanceof ServerError) {
      io.err(`tidepool schedules ${sub}: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

async function dispatch(sub: keyof typeof SPEC, args: string[], io: Io): Promise<number> {
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseFlags(args, { ...COMMON, ...SPEC[sub] }, true) as typeof parsed;
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
  }
  const { values: v, positionals } = parsed;
  if (v.help) {
    io.out(`usage: ${USAGE[sub]}\n${COMMON_HELP}\n`);
    return 0;
  }
  const str = (name: string) => v[name] as string | undefined;
  const expect = (n: number, what: string) => {
    if (positionals.length !== n) throw new UsageError(`expected ${what || 'no arguments'}; got ${positionals.length} argument${positionals.length === 1 ? '' : 's'}`);
    return positionals;
  };
  const client = new Client(str('url') ?? process.env.TIDEPOOL_URL ?? DEFAULT_URL, str('key') ?? process.env.TIDEPOOL_KEY);
  const print = (value: unknown, human: () => string) => io.out(v.json === true ? JSON.stringify(value) + '\n' : human() + '\n');

  switch (sub) {
    case 'add': {
      const [name] = expect(1, 'NAME');
      if (str('cron') === undefined) throw new UsageError('--cron is required (e.g. --cron "*/10 * * * * *")');
      if (str('type') === undefined) throw new UsageError('--type is required: the task type each tick submits');
      const body: Record<string, unknown> = { name, cron: str('cron'), type: str('type') };
      const payload = payloadFromFlags(str('payload'), str('payload-file'));
      if (payload !== undefined) body.payload = payload;
      const priority = intFlag('priority', str('priority'), -Number.MAX_SAFE_INTEGER);
      if (priority !== undefined) body.priority = priority;
      if (str('timezone') !== undefined) body.timezone = str('timezone');
      if (str('tenant') !== undefined) body.tenant = str('tenant');
      const catchUp = str('catch-up');
      if (catchUp !== undefined) {
        if (!(CATCH_UP_RULES as readonly string[]).includes(catchUp)) throw new UsageError(`--catch-up (flag): got ${JSON.stringify(catchUp)}; expected one of ${CATCH_UP_RULES.join(', ')}`);
        body.catchUp = catchUp;
      }
      const res = await client.call('POST', '/v1/schedules', body);
      print(res.body, () => `${res.status === 201 ? 'created' : 'already there (same definition)'}: ${scheduleLine(res.body)}`);
      if (res.body.warning) io.err(`tidepool schedules add: warning: ${res.body.warning}\n`);
      return 0;
    }
    case 'list': {
      expect(0, '');
      const res = await client.call('GET', '/v1/schedules');
      print(res.body, () => scheduleTable(res.body.schedules) + `\nscheduler: ${res.body.scheduler ? `ticks on ${res.body.scheduler.holder}` : 'no node holds the scheduler lease (no server runs the schedules)'}`);
      return 0;
    }
    case 'rm': {
      const [name] = expect(1, 'NAME');
      const res = await client.call('DELETE', `/v1/schedules/${encodeURIComponent(name)}`);
      print(res.body, () => `removed schedule ${res.body.name} (its tasks already submitted stay)`);
      return 0;
    }
    default: {
      const never: never = sub;
      throw new UsageError(`unknown subcommand ${String(never)}`);
    }
  }
}
