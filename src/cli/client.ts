// `tidepool submit | status | tasks | cancel | retry | pools | scale | events | top`:
// a client of a running server's HTTP API. Human output by default, `--json` for
// scripts (one JSON document on stdout). The address and key come from --url/--key
// or TIDEPOOL_URL/TIDEPOOL_KEY. Exit codes: 0 ok, 1 the server refused or failed,
// 2 bad usage.
import type { ParseArgsConfig } from 'node:util';
import { readFileSync } from 'node:fs';
import { systemClock } from '../core/index.ts';
import { parseFlags, parseInstant } from './args.ts';
import { describeTask, eventList, nodeTable, outcomeLines, unservedLine, poolTable, policyLabel, taskDetail, taskTable, topScreen } from './client-views.ts';

export const DEFAULT_URL = 'http://127.0.0.1:7700';

export class UsageError extends Error {}
export class ServerError extends Error {}

export const COMMON = {
  url: { type: 'string' },
  key: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies ParseArgsConfig['options'];

const USAGE: Record<string, string> = {
  submit: 'tidepool submit TYPE [--payload JSON | --payload-file FILE] [--priority N] [--delay-ms MS | --run-at EPOCH_MS|ISO] [--max-attempts N] [--timeout-ms MS] [--idempotency-key KEY] [--region REGION] [--callback-url URL] [--wait MS]',
  status: 'tidepool status TASK_ID [--wait MS]',
  tasks: 'tidepool tasks [--status queued|running|retrying|succeeded|dead|cancelled] [--type TYPE] [--limit N] [--cursor CURSOR]',
  cancel: 'tidepool cancel TASK_ID',
  retry: 'tidepool retry TASK_ID',
  logs: 'tidepool logs TASK_ID [--follow]',
  pools: 'tidepool pools',
  nodes: 'tidepool nodes',
  scale: 'tidepool scale POOL COUNT   |   tidepool scale POOL [--min N] [--max N] [--policy NAME] [--preset NAME]',
  events: 'tidepool events [--pool POOL] [--from EPOCH_MS|ISO] [--to EPOCH_MS|ISO] [--limit N]',
  top: 'tidepool top [--interval-ms MS] [--once]',
};
export const COMMON_HELP = 'Common options: --url URL (env TIDEPOOL_URL, default http://127.0.0.1:7700), --key KEY (env TIDEPOOL_KEY), --json';

interface Io {
  out(text: string): void;
  err(text: string): void;
}

const stdio: Io = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
};

export async function run(argv: string[], io: Io = stdio): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || !(command in USAGE)) {
    io.err(`tidepool: unknown client command ${JSON.stringify(command ?? '')}; known: ${Object.keys(USAGE).join(', ')}\n`);
    return 2;
  }
  try {
    return await dispatch(command, rest, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`tidepool ${command}: ${err.message}\nusage: ${USAGE[command]}\n${COMMON_HELP}\n`);
      return 2;
    }
    if (err instanceof ServerError) {
      io.err(`tidepool ${command}: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

function parse<O extends NonNullable<ParseArgsConfig['options']>>(command: string, args: string[], options: O) {
  try {
    return parseFlags(args, { ...COMMON, ...options }, true);
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
  }
}

export function intFlag(name: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(Number(value)) || Number(value) < min) {
    throw new UsageError(`--${name} (flag): got ${JSON.stringify(value)}; expected an integer >= ${min}`);
  }
  return Number(value);
}

/** An instant flag, sent to the server as epoch ms (so a date alone works too). */
function instantFlag(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseInstant(value);
  if (typeof ms !== 'number') throw new UsageError(`--${name} (flag): got ${JSON.stringify(value)}; ${ms.problem}`);
  return ms;
}

export class Client {
  readonly url: string;
  private readonly key: string | undefined;

  constructor(url: string, key: string | undefined) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new UsageError(`--url: got ${JSON.stringify(url)}; expected an http:// or https:// address`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new UsageError(`--url: got ${JSON.stringify(url)}; expected an http:// or https:// address`);
    this.url = url.replace(/\/+$/, '');
    this.key = key || undefined;
  }

  /** Opens a server-sent event stream and calls onEvent per message until the stream ends. */
  async stream(path: string, onEvent: (event: string, data: any) => boolean | void): Promise<void> {
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (this.key) headers.authorization = `Bearer ${this.key}`;
    let res: Response;
    try {
      res = await fetch(this.url + path, { headers });
    } catch (err) {
      throw new ServerError(`cannot reach ${this.url} (${(err as Error).message}); is \`tidepool start\` running? Set --url or TIDEPOOL_URL`);
    }
    if (res.status >= 400 || !res.body) {
      const text = await res.text();
      let e: any = null;
      try {
        e = JSON.parse(text)?.error;
      } catch {
        // keep the text
      }
      throw new ServerError(`${res.status} ${e?.code ?? ''}: ${e?.message ?? text}`.replace('  ', ' '));
    }
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let event = 'message';
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('event: ')) event = line.slice(7);
          else if (line.startsWith('data: ')) data.push(line.slice(6));
        }
        if (data.length === 0) continue;
        if (onEvent(event, JSON.parse(data.join('\n'))) === false) return;
      }
    }
  }

  async call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
    const headers: Record<string, string> = {};
    if (this.key) headers.authorization = `Bearer ${this.key}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(this.url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (err) {
      const c = (err as { cause?: { code?: string; message?: string; errors?: Array<{ code?: string }> } }).cause;
      const cause = c?.code ?? c?.errors?.find((e) => e.code)?.code ?? c?.message ?? (err as Error).message;
      throw new ServerError(`cannot reach ${this.url} (${cause}); is \`tidepool start\` running? Set --url or TIDEPOOL_URL`);
    }
    const text = await res.text();
    let parsed: any = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // keep the text
    }
    if (res.status >= 400) {
      const e = parsed?.error;
      const retry = res.headers.get('retry-after');
      throw new ServerError(`${res.status} ${e?.code ?? ''}: ${e?.message ?? text}${retry ? ` (retry after ${retry} s)` : ''}`.replace('  ', ' '));
    }
    return { status: res.status, body: parsed };
  }
}

async function dispatch(command: string, args: string[], io: Io): Promise<number> {
  const spec = {
    submit: { payload: { type: 'string' }, 'payload-file': { type: 'string' }, priority: { type: 'string' }, 'delay-ms': { type: 'string' }, 'run-at': { type: 'string' }, 'max-attempts': { type: 'string' }, 'timeout-ms': { type: 'string' }, 'idempotency-key': { type: 'string' }, region: { type: 'string' }, 'callback-url': { type: 'string' }, wait: { type: 'string' } },
    status: { wait: { type: 'string' } },
    tasks: { status: { type: 'string' }, type: { type: 'string' }, limit: { type: 'string' }, cursor: { type: 'string' } },
    cancel: {},
    retry: {},
    logs: { follow: { type: 'boolean', default: false } },
    pools: {},
    nodes: {},
    scale: { min: { type: 'string' }, max: { type: 'string' }, policy: { type: 'string' }, preset: { type: 'string' } },
    events: { pool: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, limit: { type: 'string' } },
    top: { 'interval-ms': { type: 'string' }, once: { type: 'boolean', default: false } },
  } as const satisfies Record<string, NonNullable<ParseArgsConfig['options']>>;
  const { values: v, positionals } = parse(command, args, spec[command as keyof typeof spec]) as { values: Record<string, string | boolean | undefined>; positionals: string[] };
  if (v.help) {
    io.out(`usage: ${USAGE[command]}\n${COMMON_HELP}\n`);
    return 0;
  }
  const client = new Client((v.url as string | undefined) ?? process.env.TIDEPOOL_URL ?? DEFAULT_URL, (v.key as string | undefined) ?? process.env.TIDEPOOL_KEY);
  const json = v.json === true;
  const print = (value: unknown, human: () => string) => io.out(json ? JSON.stringify(value) + '\n' : human() + '\n');
  const str = (name: string) => v[name] as string | undefined;
  const positional = (n: number, what: string[]) => {
    if (positionals.length !== n) throw new UsageError(`expected ${what.join(' ')}; got ${positionals.length} argument${positionals.length === 1 ? '' : 's'}`);
    return positionals;
  };

  switch (command) {
    case 'submit': {
      const [type] = positional(1, ['TYPE']);
      const body: Record<string, unknown> = { type };
      const payload = payloadFromFlags(str('payload'), str('payload-file'));
      if (payload !== undefined) body.payload = payload;
      const setInt = (flag: string, field: string, min: number) => {
        const n = intFlag(flag, str(flag), min);
        if (n !== undefined) body[field] = n;
      };
      setInt('priority', 'priority', -Number.MAX_SAFE_INTEGER);
      setInt('delay-ms', 'delayMs', 0);
      setInt('max-attempts', 'maxAttempts', 1);
      setInt('timeout-ms', 'timeoutMs', 1);
      const runAt = instantFlag('run-at', str('run-at'));
      if (runAt !== undefined) body.runAt = runAt;
      if (str('idempotency-key') !== undefined) body.idempotencyKey = str('idempotency-key');
      if (str('region') !== undefined) body.region = str('region');
      if (str('callback-url') !== undefined) body.callbackUrl = str('callback-url');
      const wait = intFlag('wait', str('wait'), 0);
      const res = await client.call('POST', `/v1/tasks${wait ? `?wait=${wait}` : ''}`, body);
      print(res.body, () => `${res.status === 200 ? 'already submitted (same idempotency key): ' : 'submitted '}${describeTask(res.body)}${wait ? outcomeLines(res.body) : ''}`);
      if (res.body.warning) io.err(`tidepool submit: warning: ${res.body.warning}\n`);
      return 0;
    }
    case 'logs': {
      const [id] = positional(1, ['TASK_ID']);
      const line = (l: { attempt: number; atMs: number; stream: string; text: string }) =>
        json ? JSON.stringify(l) : `${new Date(l.atMs).toISOString()} #${l.attempt} ${l.stream.padEnd(6)} ${l.text}`;
      if (v.follow !== true) {
        const res = await client.call('GET', `/v1/tasks/${encodeURIComponent(id)}/logs`);
        if (json) io.out(JSON.stringify(res.body) + '\n');
        else {
          if (res.body.truncated) io.out('(older lines were dropped: the log is kept within its size limit)\n');
          for (const l of res.body.lines) io.out(line(l) + '\n');
        }
        return 0;
      }
      let code = 0;
      await client.stream(`/v1/tasks/${encodeURIComponent(id)}/logs?follow=1`, (event, data) => {
        if (event === 'line') io.out(line(data) + '\n');
        else if (event === 'truncated' && !json) io.out('(older lines were dropped: the log is kept within its size limit)\n');
        else if (event === 'end') {
          if (!json) io.out(`(task ${id} ended: ${data.status})\n`);
          return false;
        } else if (event === 'error') {
          io.err(`tidepool logs: ${data.message}\n`);
          code = 1;
          return false;
        }
      });
      return code;
    }
    case 'status': {
      const [id] = positional(1, ['TASK_ID']);
      const wait = intFlag('wait', str('wait'), 0);
      const res = await client.call('GET', `/v1/tasks/${encodeURIComponent(id)}${wait ? `?wait=${wait}` : ''}`);
      print(res.body, () => taskDetail(res.body));
      return 0;
    }
    case 'tasks': {
      positional(0, []);
      const q = new URLSearchParams();
      for (const k of ['status', 'type', 'cursor']) if (str(k) !== undefined) q.set(k, str(k)!);
      const limit = intFlag('limit', str('limit'), 1);
      if (limit !== undefined) q.set('limit', String(limit));
      const res = await client.call('GET', `/v1/tasks${q.size ? `?${q}` : ''}`);
      print(res.body, () => taskTable(res.body.tasks) + (res.body.nextCursor ? `\nmore: --cursor ${res.body.nextCursor}` : ''));
      return 0;
    }
    case 'cancel':
    case 'retry': {
      const [id] = positional(1, ['TASK_ID']);
      const res = await client.call('POST', `/v1/tasks/${encodeURIComponent(id)}/${command}`);
      print(res.body, () => `${command === 'cancel' ? 'cancelled' : 're-queued'} ${describeTask(res.body)}`);
      return 0;
    }
    case 'pools': {
      positional(0, []);
      const res = await client.call('GET', '/v1/pools');
      print(res.body, () => poolTable(res.body.pools) + unservedLine(res.body.unserved));
      return 0;
    }
    case 'nodes': {
      positional(0, []);
      const res = await client.call('GET', '/v1/nodes');
      print(res.body, () => nodeTable(res.body.nodes));
      return 0;
    }
    case 'scale': {
      if (positionals.length === 2) {
        const [pool, countText] = positionals;
        const count = intFlag('count', countText, 0)!;
        const res = await client.call('POST', `/v1/pools/${encodeURIComponent(pool)}/scale`, { count });
        print(res.body, () => `pool ${res.body.name}: set to ${count} workers (bounds ${res.body.min}..${res.body.max}, now ${res.body.current})`);
        return 0;
      }
      const [pool] = positional(1, ['POOL', '[COUNT]']);
      const body: Record<string, unknown> = {};
      const min = intFlag('min', str('min'), 0);
      const max = intFlag('max', str('max'), 1);
      if (min !== undefined) body.min = min;
      if (max !== undefined) body.max = max;
      if (str('policy') !== undefined) body.policy = str('policy');
      if (str('preset') !== undefined) body.preset = str('preset');
      if (Object.keys(body).length === 0) throw new UsageError('give COUNT, or at least one of --min, --max, --policy, --preset');
      const res = await client.call('PATCH', `/v1/pools/${encodeURIComponent(pool)}`, body);
      print(res.body, () => `pool ${res.body.name}: bounds ${res.body.min}..${res.body.max}, policy ${policyLabel(res.body)}`);
      return 0;
    }
    case 'events': {
      positional(0, []);
      const q = new URLSearchParams();
      if (str('pool') !== undefined) q.set('pool', str('pool')!);
      for (const k of ['from', 'to']) {
        const t = instantFlag(k, str(k));
        if (t !== undefined) q.set(k, String(t));
      }
      const limit = intFlag('limit', str('limit'), 1);
      if (limit !== undefined) q.set('limit', String(limit));
      const res = await client.call('GET', `/v1/events${q.size ? `?${q}` : ''}`);
      print(res.body, () => eventList(res.body.events));
      return 0;
    }
    case 'top': {
      positional(0, []);
      const intervalMs = intFlag('interval-ms', str('interval-ms'), 100) ?? 2000;
      const once = v.once === true || json;
      for (;;) {
        const [pools, events] = await Promise.all([client.call('GET', '/v1/pools'), client.call('GET', '/v1/events?limit=1000')]);
        const health = await client.call('GET', '/health').catch(() => ({ body: { status: 'unknown', reasons: [] } }));
        const view = { pools: pools.body.pools, health: health.body, recentEvents: events.body.events.slice(-5) };
        if (json) {
          io.out(JSON.stringify(view) + '\n');
          return 0;
        }
        const screen = topScreen(view, client.url, systemClock.now());
        io.out(once ? screen + '\n' : `\x1b[2J\x1b[H${screen}\n`);
        if (once) return 0;
        await systemClock.sleep(intervalMs);
      }
    }
    default:
      throw new UsageError(`unknown command ${command}`);
  }
}

/** The payload of --payload JSON or --payload-file FILE (not both); undefined when neither is given. */
export function payloadFromFlags(text: string | undefined, file: string | undefined): unknown {
  if (text !== undefined && file !== undefined) throw new UsageError('give --payload or --payload-file, not both');
  const payloadText = text ?? (file !== undefined ? readPayloadFile(file) : undefined);
  if (payloadText === undefined) return undefined;
  try {
    return JSON.parse(payloadText);
  } catch (err) {
    throw new UsageError(`--payload (flag): not valid JSON (${(err as Error).message})`);
  }
}

export function readPayloadFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`--payload-file (flag): cannot read ${JSON.stringify(path)} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}
