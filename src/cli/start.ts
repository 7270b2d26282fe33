// `tidepool start`: runs the queue (store), one in-process pool per capability with
// its bounds and policy, the autoscaler and the HTTP API + dashboard. SIGTERM/SIGINT
// drain running tasks (up to server.drainTimeoutMs), then exit.
//
//   tidepool start [--port 7700] [--host 127.0.0.1] [--store sqlite:./tidepool.db]
//                  [--handlers MODULE] [--config FILE] [--api-keys-file FILE]
//                  [--limits off|standard] [--rate-limit N] [--max-queue-depth N]
//                  [--tenant-concurrency N] [--lease-ms MS] [--retention-ms MS] ...
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  ConfigInvalidError,
  OPTIONS,
  POOL_OPTIONS,
  configFileSchema,
  defaultConfig,
  describeRange,
  parseDurationMs,
  poolsForTypes,
  systemClock,
} from '../core/index.ts';
import type { Clock, OptionSpec, TidepoolConfig } from '../core/index.ts';
import { openStore } from '../store/index.ts';
import type { Store } from '../store/index.ts';
import { InProcessPool } from '../pools/index.ts';
import type { HandlerMap, Pool } from '../pools/index.ts';
import { Autoscaler, policyBounds } from '../autoscaler/index.ts';
import type { PolicyChoice } from '../autoscaler/index.ts';
import { TidepoolServer, autoscaledRuntime, loadKeyFile, parseApiKeys } from '../server/index.ts';

/** The server section of the config (rows `server.*` in OPTIONS). */
export interface ServerSection {
  port: number;
  host: string;
  limits: 'off' | 'standard';
  rateLimitPerSec: number;
  rateLimitBurst: number;
  bodyLimitBytes: number;
  retentionMs: number;
  apiKeysFile?: string;
  drainTimeoutMs: number;
  streamIntervalMs: number;
}

/** The seeds' numbers, applied by `server.limits: standard` to settings left at 0. */
export const STANDARD_LIMITS = { rateLimitPerSec: 30, tenantConcurrency: 3, maxQueueDepth: 100 } as const;

export interface StartInput {
  config: TidepoolConfig;
  handlers: HandlerMap;
  clock?: Clock;
  /** Overrides TIDEPOOL_API_KEYS (tests). */
  apiKeysEnv?: string;
  log?: (line: string) => void;
}

export interface RunningTidepool {
  url: string;
  store: Store;
  pools: Pool[];
  autoscaler: Autoscaler;
  server: TidepoolServer;
  /** Drains running tasks (up to timeoutMs), stops the server and closes the store. */
  stop(timeoutMs?: number): Promise<void>;
}

/** Starts store, pools, autoscaler and server from a resolved config. */
export async function startTidepool(input: StartInput): Promise<RunningTidepool> {
  const { config, handlers } = input;
  const clock = input.clock ?? systemClock;
  const server = config.server as ServerSection;
  const isStandard = server.limits === 'standard';
  const maxQueueDepth = config.maxQueueDepth || (isStandard ? STANDARD_LIMITS.maxQueueDepth : 0);
  const tenantConcurrency = config.tenantConcurrency || (isStandard ? STANDARD_LIMITS.tenantConcurrency : 0);
  const rateLimitPerSec = server.rateLimitPerSec || (isStandard ? STANDARD_LIMITS.rateLimitPerSec : 0);

  const apiKeys = [
    ...(server.apiKeysFile ? loadKeyFile(server.apiKeysFile) : []),
    ...((input.apiKeysEnv ?? process.env.TIDEPOOL_API_KEYS) ? parseApiKeys((input.apiKeysEnv ?? process.env.TIDEPOOL_API_KEYS)!, 'TIDEPOOL_API_KEYS (environment)') : []),
  ];
  const types = Object.keys(handlers);
  if (types.length === 0) throw new ConfigInvalidError(['handlers: the module exports no task types; expected a default export { type: async (payload, ctx) => result }']);

  const store = await openStore(config.store, {
    clock,
    durability: config.durability,
    retry: config.retry,
    maxQueueDepth,
    tenantConcurrency,
    defaultTimeoutMs: config.taskTimeoutMs,
  });
  // Tasks a killed server held come back once their lease (leaseMs, 30 s by default) expires.
  await store.reclaimExpired();

  const pools: Pool[] = [];
  const scaled = [];
  for (const pc of poolsForTypes(config, types)) {
    const missing = pc.types.filter((t) => !handlers[t]);
    if (missing.length) throw new ConfigInvalidError([`pools ${pc.name}: types ${missing.join(', ')} have no handler in the handlers module`]);
    const choice: PolicyChoice = { name: pc.policy, ...(pc.preset ? { preset: pc.preset } : {}), overrides: pc.policyOptions };
    const bounds = policyBounds(choice);
    const pool = new InProcessPool({
      name: pc.name,
      types: pc.types,
      handlers: Object.fromEntries(pc.types.map((t) => [t, handlers[t]])),
      store,
      clock,
      minWorkers: pc.minWorkers ?? bounds.minWorkers,
      maxWorkers: pc.maxWorkers ?? bounds.maxWorkers,
      leaseMs: config.leaseMs,
      heartbeatMs: config.heartbeatMs,
      pollMs: pc.pollMs,
      maxTasksPerWorker: pc.maxTasksPerWorker,
      stallTimeoutMs: pc.stallTimeoutMs,
      shutdownTimeoutMs: pc.shutdownTimeoutMs,
      windowMs: pc.windowMs,
    });
    pools.push(pool);
    scaled.push({ pool, policy: choice, ...(pc.intervalMs ? { intervalMs: pc.intervalMs } : {}) });
  }
  const autoscaler = new Autoscaler({
    store,
    pools: scaled,
    clock,
    intervalMs: config.autoscaler.intervalMs,
    sampleEveryTicks: config.autoscaler.sampleEveryTicks,
    applyDecisions: config.autoscaler.enabled,
  });
  autoscaler.on('error', (err: Error) => input.log?.(`autoscaler: ${err.message}`));
  autoscaler.start();

  const httpServer = await TidepoolServer.create({
    runtime: autoscaledRuntime({ store, pools, autoscaler }),
    clock,
    apiKeys,
    rateLimit: rateLimitPerSec > 0 ? { ratePerSec: rateLimitPerSec, burst: server.rateLimitBurst || Math.max(1, Math.ceil(rateLimitPerSec)) } : null,
    bodyLimitBytes: server.bodyLimitBytes,
    retentionMs: server.retentionMs,
    streamIntervalMs: server.streamIntervalMs,
  });
  let url: string;
  try {
    url = await httpServer.listen({ port: server.port, host: server.host });
  } catch (err) {
    await autoscaler.stop();
    await Promise.all(pools.map((p) => p.close(0)));
    await httpServer.close();
    await store.close();
    throw err;
  }
  let stopping: Promise<void> | null = null;
  return {
    url,
    store,
    pools,
    autoscaler,
    server: httpServer,
    stop(timeoutMs = server.drainTimeoutMs) {
      stopping ??= (async () => {
        await httpServer.drain(timeoutMs);
        await store.close();
      })();
      return stopping;
    },
  };
}

// ---- the command ----------------------------------------------------------------

/** Pool options (--min, --max, --policy, ...) set poolDefaults, which every pool starts from. */
const POOL_ROWS: OptionSpec[] = POOL_OPTIONS.filter((o) => o.path !== 'name' && o.path !== 'types').map((o) => ({ ...o, path: `poolDefaults.${o.path}` }));
const ROWS: OptionSpec[] = [...OPTIONS, ...POOL_ROWS];
const FLAG_ROWS = ROWS.filter((o) => o.flag);

function flagName(o: OptionSpec): string {
  return o.flag!.replace(/^--/, '');
}

/** Converts a flag or env text to the option's value; a problem names the source. */
function coerce(o: OptionSpec, text: string, source: string): unknown {
  const bad = () => new ConfigInvalidError([`${source}: got ${JSON.stringify(text)}; expected ${describeRange(o)}`]);
  let value: unknown;
  switch (o.kind) {
    case 'int':
      value = /^-?\d+$/.test(text.trim()) ? Number(text) : NaN;
      break;
    case 'number':
      value = text.trim() === '' ? NaN : Number(text);
      break;
    case 'duration':
      value = parseDurationMs(text) ?? NaN;
      break;
    case 'bool':
      value = /^(true|1|yes)$/i.test(text) ? true : /^(false|0|no)$/i.test(text) ? false : undefined;
      break;
    case 'enum':
    case 'string':
      value = text;
      break;
    case 'list':
      value = text.split(',').map((s) => s.trim()).filter(Boolean);
      break;
    case 'record':
      try {
        value = JSON.parse(text);
      } catch {
        throw bad();
      }
      break;
  }
  if (value === undefined || (typeof value === 'number' && !Number.isFinite(value))) throw bad();
  if (typeof value === 'number' && ((o.min !== undefined && value < o.min) || (o.max !== undefined && value > o.max))) throw bad();
  if (o.kind === 'enum' && !o.values!.includes(String(value))) throw bad();
  if (o.kind === 'string' && String(value).length === 0) throw bad();
  return value;
}

function setPath(target: Record<string, any>, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = target;
  for (const p of parts.slice(0, -1)) node = node[p] ??= {};
  node[parts.at(-1)!] = value;
}

function deepMerge(base: Record<string, any>, over: Record<string, any>): Record<string, any> {
  for (const [k, v] of Object.entries(over)) {
    if (v && typeof v === 'object' && !Array.isArray(v) && base[k] && typeof base[k] === 'object' && !Array.isArray(base[k])) deepMerge(base[k], v);
    else base[k] = v;
  }
  return base;
}

/** Defaults < config file < environment < flags. Every problem is collected and reported at once. */
export function resolveStartConfig(values: Record<string, string | boolean | undefined>, env: NodeJS.ProcessEnv): TidepoolConfig {
  const config = defaultConfig() as Record<string, any>;
  const problems: string[] = [];
  const file = values.config as string | undefined;
  if (file) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new ConfigInvalidError([`--config (flag): cannot read ${JSON.stringify(file)} as JSON (${(err as Error).message})`]);
    }
    const result = configFileSchema().safeParse(parsed);
    if (!result.success) {
      for (const issue of result.error.issues) problems.push(`${issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '') || '(root)'} (${file}): ${issue.message}`);
    } else deepMerge(config, result.data as Record<string, any>);
  }
  for (const o of ROWS) {
    for (const name of o.env ?? []) {
      const text = env[name];
      if (text === undefined || text === '') continue;
      try {
        let v = coerce(o, text, `${name} (environment)`);
        if (typeof v === 'number' && o.envScale) v = v * o.envScale;
        if (typeof v === 'number' && o.envOffset) v = v + o.envOffset;
        setPath(config, o.path, v);
      } catch (err) {
        problems.push(...(err as ConfigInvalidError).problems);
      }
      break;
    }
  }
  for (const o of FLAG_ROWS) {
    const text = values[flagName(o)];
    if (typeof text !== 'string') continue;
    try {
      setPath(config, o.path, coerce(o, text, `${o.flag} (flag)`));
    } catch (err) {
      problems.push(...(err as ConfigInvalidError).problems);
    }
  }
  if (problems.length) throw new ConfigInvalidError(problems);
  return config as TidepoolConfig;
}

/** Loads a handlers module (TypeScript or JavaScript): its default export maps each task type to a handler. */
export async function loadHandlers(path: string): Promise<HandlerMap> {
  let mod: { default?: unknown };
  try {
    mod = await import(pathToFileURL(resolve(path)).href);
  } catch (err) {
    throw new ConfigInvalidError([`--handlers (flag): cannot load ${JSON.stringify(path)}: ${(err as Error).message}`]);
  }
  const map = mod.default;
  if (!map || typeof map !== 'object') throw new ConfigInvalidError([`--handlers (flag): ${path} has no default export; expected export default { type: async (payload, ctx) => result }`]);
  const bad = Object.entries(map).filter(([, fn]) => typeof fn !== 'function').map(([k]) => k);
  if (bad.length) throw new ConfigInvalidError([`--handlers (flag): ${path}: ${bad.map((k) => `${JSON.stringify(k)} is not a function`).join(', ')}`]);
  return map as HandlerMap;
}

const HELP = `Usage: tidepool start [options]

Runs the queue, one pool per task type (or as the config groups types), the
autoscaler, the HTTP API under /v1 and the dashboard at /.

Options:
  --handlers MODULE              module whose default export maps task types to async (payload, ctx) => result
                                 (default: the demo handlers in examples/handlers.ts)
  --config FILE                  JSON config file (see docs/configuration.md)
${FLAG_ROWS.map((o) => `  ${(o.flag + ' ' + (o.kind === 'bool' ? '' : o.unit || 'VALUE').toUpperCase().replace(/[^A-Z/]/g, '')).padEnd(30)} ${o.doc.split(/\. (?=[A-Z])/)[0].replace(/\.$/, '')}${o.default !== undefined ? ` (default ${JSON.stringify(o.default)})` : ''}`).join('\n')}

Environment: TIDEPOOL_API_KEYS=tenant=key,tenant=key (Bearer keys; without keys the
server serves one 'default' tenant on loopback only), and the variables in docs/configuration.md.`;

export async function run(argv: string[]): Promise<number> {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {
    handlers: { type: 'string' },
    config: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  };
  for (const o of FLAG_ROWS) options[flagName(o)] = { type: o.kind === 'bool' ? 'boolean' : 'string' };
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: argv, options, allowPositionals: false, strict: true }));
  } catch (err) {
    process.stderr.write(`tidepool start: ${(err as Error).message}\n\n${HELP}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  for (const o of FLAG_ROWS) if (o.kind === 'bool' && typeof values[flagName(o)] === 'boolean') values[flagName(o)] = String(values[flagName(o)]);
  const config = resolveStartConfig(values, process.env);
  const handlersPath = (values.handlers as string | undefined) ?? new URL('../../examples/handlers.ts', import.meta.url).pathname;
  const handlers = await loadHandlers(handlersPath);
  const log = (line: string) => process.stderr.write(`tidepool: ${line}\n`);
  const running = await startTidepool({ config, handlers, log });
  const pools = running.pools.map((p) => `${p.name} (${p.types.join(', ')}; ${p.minWorkers}..${p.maxWorkers} workers)`).join(', ');
  process.stdout.write(`tidepool: listening on ${running.url} (store ${config.store})\n`);
  process.stdout.write(`tidepool: dashboard ${running.url}/   API ${running.url}/v1   OpenAPI ${running.url}/v1/openapi.json\n`);
  process.stdout.write(`tidepool: pools ${pools}\n`);

  return new Promise<number>((resolveExit) => {
    let signals = 0;
    const onSignal = (signal: string) => {
      signals++;
      if (signals > 1) {
        log(`second ${signal}: exiting without waiting`);
        process.exit(1);
      }
      log(`${signal}: draining (up to ${(config.server as ServerSection).drainTimeoutMs} ms for running tasks)`);
      running.stop().then(
        () => {
          log('stopped');
          resolveExit(0);
        },
        (err: Error) => {
          log(`stop failed: ${err.message}`);
          resolveExit(1);
        },
      );
    };
    process.on('SIGTERM', () => onSignal('SIGTERM'));
    process.on('SIGINT', () => onSignal('SIGINT'));
  });
}
