// `tidepool start`: runs the queue (store), one in-process pool per capability with
// its bounds and policy, the autoscaler and the HTTP API + dashboard. SIGTERM/SIGINT
// drain running tasks (up to server.drainTimeoutMs), then exit.
//
//   tidepool start [--port 7700] [--host 127.0.0.1] [--store sqlite:./tidepool.db]
//                  [--handlers MODULE] [--config FILE] [--api-keys-file FILE]
//                  [--limits off|standard] [--rate-limit N] [--max-queue-depth N]
//                  [--tenant-concurrency N] [--lease-ms MS] [--retention-ms MS]
//                  [--admin-tenants TENANT,TENANT] ...
import { parseArgsWithNegatives as parseArgs } from './args.ts';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigInvalidError, OPTIONS, POOL_OPTIONS, optionForPath, poolsForTypes, redactStoreUrl, systemClock } from '../core/index.ts';
import type { Clock, OptionSpec, TidepoolConfig } from '../core/index.ts';
import type { Store } from '../store/index.ts';
import type { HandlerMap, Pool } from '../pools/index.ts';
import type { Autoscaler } from '../autoscaler/index.ts';
import { createTidepool } from '../tidepool.ts';
import { AlertMonitor } from '../alerts/index.ts';
import type { AlertSettings } from '../alerts/index.ts';
import type { WebhookTarget } from '../webhooks/index.ts';
import { CallbackDelivery, CallbackGuard, CallbackRecords, PENDING_PREFIX } from '../callbacks/index.ts';
import type { CallbackSettings } from '../callbacks/index.ts';
import { configFlagOptions, loadConfig } from './config-load.ts';
import type { LoadedConfig } from './config-load.ts';
import { ServerFaults, TidepoolServer, autoscaledRuntime, isLoopbackHost, loadKeyFile, parseApiKeys, watchStore } from '../server/index.ts';

/** The server section of the config (rows `server.*` in OPTIONS). */
export interface ServerSection {
  port: number;
  host: string;
  limits: 'off' | 'standard';
  rateLimitPerSec: number;
  rateLimitBurst: number;
  bodyLimitBytes: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  idleTimeoutMs: number;
  retentionMs: number;
  apiKeysFile?: string;
  /** Tenants that may change pools; unset: every tenant may (warned about at start when keys are configured). */
  adminTenants?: string[];
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
  /** Where config.durability was set (e.g. "flag --durability"); undefined: left at its default. */
  durabilitySource?: string;
}

export interface RunningTidepool {
  url: string;
  store: Store;
  pools: Pool[];
  autoscaler: Autoscaler;
  server: TidepoolServer;
  /** The alert rules and their webhooks (docs/alerts.md). */
  alerts: AlertMonitor;
  /** The completion callbacks' delivery loop; null when callbacks.secret is not set (docs/callbacks.md). */
  callbacks: CallbackDelivery | null;
  /** The limits in effect (after `limits: standard` filled in the ones left at 0). */
  limits: EffectiveLimits;
  /** Drains running tasks (up to timeoutMs), stops the server and closes the store. */
  stop(timeoutMs?: number): Promise<void>;
}

/** The limits a server runs with; 0 = off (unlimited). */
export interface EffectiveLimits {
  preset: 'off' | 'standard';
  rateLimitPerSec: number;
  rateLimitBurst: number;
  maxQueueDepth: number;
  tenantConcurrency: number;
  maxAttempts: number;
  leaseMs: number;
  taskTimeoutMs: number;
  bodyLimitBytes: number;
}

/** One line for the start-up log: which limits are in effect. */
export function describeLimits(l: EffectiveLimits): string {
  const off = (n: number, text: string) => (n > 0 ? text : 'off');
  return [
    `${l.preset} (--limits)`,
    `rate limit ${off(l.rateLimitPerSec, `${l.rateLimitPerSec}/s, burst ${l.rateLimitBurst}`)}`,
    `max queue depth ${off(l.maxQueueDepth, String(l.maxQueueDepth))}`,
    `tenant concurrency ${l.tenantConcurrency > 0 ? l.tenantConcurrency : 'unlimited'}`,
    `max attempts ${l.maxAttempts}`,
    `lease ${l.leaseMs} ms`,
    `task timeout ${l.taskTimeoutMs} ms`,
    `body limit ${l.bodyLimitBytes} bytes`,
  ].join(', ');
}

/** Starts store, pools, autoscaler (createTidepool) and the HTTP server from a resolved config. */
export async function startTidepool(input: StartInput): Promise<RunningTidepool> {
  const { handlers } = input;
  const clock = input.clock ?? systemClock;
  const server = input.config.server as ServerSection;
  const isStandard = server.limits === 'standard';
  // `limits: standard` fills in the seeds' numbers for the limits left at 0 (off).
  const config: TidepoolConfig = {
    ...input.config,
    maxQueueDepth: input.config.maxQueueDepth || (isStandard ? STANDARD_LIMITS.maxQueueDepth : 0),
    tenantConcurrency: input.config.tenantConcurrency || (isStandard ? STANDARD_LIMITS.tenantConcurrency : 0),
  };
  const rateLimitPerSec = server.rateLimitPerSec || (isStandard ? STANDARD_LIMITS.rateLimitPerSec : 0);
  const keysEnv = input.apiKeysEnv ?? process.env.TIDEPOOL_API_KEYS;
  const apiKeys = [...(server.apiKeysFile ? loadKeyFile(server.apiKeysFile) : []), ...(keysEnv ? parseApiKeys(keysEnv, 'TIDEPOOL_API_KEYS (environment)') : [])];
  if (Object.keys(handlers).length === 0) throw new ConfigInvalidError(['handlers: the module exports no task types; expected a default export { type: async (payload, ctx) => result }']);
  // Checked again by listen(); refusing here opens no store and starts no pool.
  if (apiKeys.length === 0 && !isLoopbackHost(server.host)) {
    throw new ConfigInvalidError([`server.host: got ${JSON.stringify(server.host)}; without API keys the server listens on loopback only (127.0.0.1, ::1, localhost). Configure keys (TIDEPOOL_API_KEYS=tenant=key or server.apiKeysFile) to listen on other addresses`]);
  }

  const adminTenants = server.adminTenants ?? [];
  if (apiKeys.length > 0) {
    if (adminTenants.length === 0) {
      input.log?.('warning: API keys are configured but server.adminTenants is not set, so every tenant may change pools (PATCH /v1/pools/{name}, POST /v1/pools/{name}/scale); set server.adminTenants (TIDEPOOL_ADMIN_TENANTS, --admin-tenants) to allow only those tenants');
    } else {
      const keyTenants = new Set(apiKeys.map((k) => k.tenant));
      const unknown = adminTenants.filter((t) => !keyTenants.has(t));
      if (unknown.length) input.log?.(`warning: server.adminTenants names ${unknown.map((t) => JSON.stringify(t)).join(', ')}, which no API key belongs to`);
    }
  }

  // Completion callbacks (docs/callbacks.md): on only with a secret to sign them.
  const callbackSection = (config.callbacks ?? {}) as Partial<CallbackSettings> & { allowPrivateHosts?: string[] };
  const callbackSetting = (name: 'maxAttempts' | 'baseBackoffMs' | 'maxBackoffMs' | 'timeoutMs' | 'sweepIntervalMs') => (callbackSection[name] ?? optionForPath(`callbacks.${name}`)!.default) as number;
  const callbackGuard = new CallbackGuard({ allowPrivateHosts: callbackSection.allowPrivateHosts ?? [] });

  // Every store call (routes, pools, autoscaler) reports to /health's fault tracking.
  const faults = new ServerFaults(clock);
  const tidepool = await createTidepool(config, handlers, {
    clock,
    durabilityGiven: input.durabilitySource !== undefined,
    durabilitySource: input.durabilitySource,
    onWarning: (message) => input.log?.(`warning: ${message}`),
    onPoolEvent: (note) => input.log?.(`pool ${note.pool}: ${note.code}: ${note.reason}`),
    ...(input.log ? { log: input.log } : {}),
    wrapStore: (store) => watchStore(store, faults),
  });
  const pools = [...tidepool.pools.values()];
  let httpServer: TidepoolServer | null = null;
  let url: string;
  try {
    // Tasks a killed server held come back once their lease (leaseMs, 20 s by default) expires.
    await tidepool.store.reclaimExpired();
    tidepool.autoscaler.on('error', (err: Error) => input.log?.(`autoscaler: ${err.message}`));
    // Store errors in a pool's background work and errors contained in hosted code (issue 8).
    for (const pool of pools) pool.on('error', (err: Error) => input.log?.(`${err.message}`));
    const runtime = autoscaledRuntime({ store: tidepool.store, pools, autoscaler: tidepool.autoscaler, cluster: tidepool.cluster });
    if (callbackSection.secret) runtime.callbacks = new CallbackRecords({ store: tidepool.store, clock, guard: callbackGuard });
    httpServer = await TidepoolServer.create({
      runtime,
      clock,
      faults,
      apiKeys,
      adminTenants,
      rateLimit: rateLimitPerSec > 0 ? { ratePerSec: rateLimitPerSec, burst: server.rateLimitBurst || Math.max(1, Math.ceil(rateLimitPerSec)) } : null,
      bodyLimitBytes: server.bodyLimitBytes,
      headersTimeoutMs: server.headersTimeoutMs,
      requestTimeoutMs: server.requestTimeoutMs,
      idleTimeoutMs: server.idleTimeoutMs,
      retentionMs: server.retentionMs,
      streamIntervalMs: server.streamIntervalMs,
    });
    url = await httpServer.listen({ port: server.port, host: server.host });
  } catch (err) {
    // A start that fails after the store opened stops everything it started (pools, autoscaler,
    // HTTP server, store), so the process exits with the error instead of running headless.
    await httpServer?.close().catch(() => undefined);
    await tidepool.close(0).catch(() => undefined);
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new Error(`port ${server.port} on ${server.host} is in use (another Tidepool or program listens there); choose another with --port or TIDEPOOL_PORT (0 = any free port)`, { cause: err });
    }
    throw err;
  }
  const started = httpServer;
  // Alerts: the rules over every pool, to the event log, the log and the webhooks.
  const alertsSection = (config.alerts ?? {}) as Partial<AlertSettings> & { webhooks?: WebhookTarget[]; intervalMs?: number };
  const sloByPool = new Map(poolsForTypes(config, Object.keys(handlers)).flatMap((pc) => (pc.sloMs !== undefined ? [[pc.name, pc.sloMs] as const] : [])));
  const alerts = new AlertMonitor({
    clock,
    store: tidepool.store,
    pools: () => pools,
    sloMs: (name) => sloByPool.get(name),
    webhooks: alertsSection.webhooks ?? [],
    intervalMs: alertsSection.intervalMs ?? 10_000,
    settings: {
      ...(alertsSection.sloBreachEvaluations !== undefined ? { sloBreachEvaluations: alertsSection.sloBreachEvaluations } : {}),
      ...(alertsSection.backlogGrowingMs !== undefined ? { backlogGrowingMs: alertsSection.backlogGrowingMs } : {}),
      ...(alertsSection.deadPerMinute !== undefined ? { deadPerMinute: alertsSection.deadPerMinute } : {}),
    },
    ...(input.log ? { log: input.log } : {}),
    // Each node of a cluster alerts on its own workers: the alert says which node.
    ...(tidepool.cluster ? { node: tidepool.cluster.id } : {}),
  });
  alerts.start();
  const poolOfType = new Map(pools.flatMap((p) => p.types.map((t) => [t, p.name] as const)));
  const callbacks = callbackSection.secret
    ? new CallbackDelivery({
        store: tidepool.store,
        clock,
        guard: callbackGuard,
        secret: callbackSection.secret,
        maxAttempts: callbackSetting('maxAttempts'),
        baseBackoffMs: callbackSetting('baseBackoffMs'),
        maxBackoffMs: callbackSetting('maxBackoffMs'),
        timeoutMs: callbackSetting('timeoutMs'),
        sweepIntervalMs: callbackSetting('sweepIntervalMs'),
        doneRetentionMs: server.retentionMs,
        poolOf: (type) => poolOfType.get(type) ?? type,
        ...(input.log ? { log: input.log } : {}),
      })
    : null;
  callbacks?.start();
  if (!callbacks) {
    const pending = await tidepool.store.listState(PENDING_PREFIX).catch(() => []);
    if (pending.length > 0) input.log?.(`warning: ${pending.length} completion callbacks wait in the store, but callbacks.secret is not set, so none is sent; set it (TIDEPOOL_CALLBACK_SECRET) to deliver them`);
  }
  const rateLimitBurst = rateLimitPerSec > 0 ? server.rateLimitBurst || Math.max(1, Math.ceil(rateLimitPerSec)) : 0;
  const limits: EffectiveLimits = {
    preset: server.limits,
    rateLimitPerSec,
    rateLimitBurst,
    maxQueueDepth: config.maxQueueDepth,
    tenantConcurrency: config.tenantConcurrency,
    maxAttempts: config.retry.maxAttempts,
    leaseMs: config.leaseMs,
    taskTimeoutMs: config.taskTimeoutMs,
    bodyLimitBytes: server.bodyLimitBytes,
  };
  let stopping: Promise<void> | null = null;
  return {
    url,
    store: tidepool.store,
    pools,
    autoscaler: tidepool.autoscaler,
    server: started,
    alerts,
    callbacks,
    limits,
    stop(timeoutMs = server.drainTimeoutMs) {
      stopping ??= (async () => {
        // Drain (autoscaler stopped, pools closed within timeoutMs, HTTP closed), then the store.
        await started.drain(timeoutMs);
        await callbacks?.stop();
        await alerts.stop();
        await tidepool.close(0);
      })();
      return stopping;
    },
  };
}

// ---- the command ----------------------------------------------------------------

const FLAG_ROWS = [...OPTIONS, ...POOL_OPTIONS].filter((o) => o.flag);

/** Defaults < config file (values.config) < environment < flags; every problem reported at once (src/cli/config-load.ts). */
export function resolveStartConfig(values: Record<string, string | boolean | undefined>, env: Record<string, string | undefined>, defaults?: Record<string, unknown>): TidepoolConfig {
  return resolveStartSettings(values, env, defaults).config;
}

/** resolveStartConfig, plus where each setting came from. */
export function resolveStartSettings(values: Record<string, string | boolean | undefined>, env: Record<string, string | undefined>, defaults?: Record<string, unknown>): LoadedConfig {
  const flags = { ...values };
  delete flags.config;
  delete flags.handlers;
  delete flags.help;
  return loadConfig({ ...(typeof values.config === 'string' ? { file: values.config } : {}), env, flags, ...(defaults ? { defaults } : {}) });
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

/** How --help shows a flag's value: `true|false`, `off|standard`, `MS`, `WORKERS`. Every config flag takes one. */
function flagValueName(o: OptionSpec): string {
  if (o.kind === 'bool') return 'true|false';
  if (o.kind === 'enum') return o.values!.join('|');
  return (o.unit || 'VALUE').toUpperCase().replace(/[^A-Z/]/g, '') || 'VALUE';
}

const HELP = `Usage: tidepool start [options]

Runs the queue, one pool per task type (or as the config groups types), the
autoscaler, the HTTP API under /v1 and the dashboard at /.

Options:
  --handlers MODULE              module whose default export maps task types to async (payload, ctx) => result
                                 (default: the demo handlers in examples/handlers.ts)
  --config FILE                  JSON config file (see docs/configuration.md)
${FLAG_ROWS.map((o) => `  ${(o.flag + ' ' + flagValueName(o)).padEnd(30)} ${o.doc.split(/\. (?=[A-Z])/)[0].replace(/\.$/, '')}${o.default !== undefined ? ` (default ${JSON.stringify(o.default)})` : ''}`).join('\n')}

Environment: TIDEPOOL_API_KEYS=tenant=key,tenant=key (Bearer keys; without keys the
server serves one 'default' tenant on loopback only), and the variables in docs/configuration.md.`;

/** What `npm start` (examples/demo.ts) changes about `tidepool start`; everything else is the same. */
export interface StartCommandOptions {
  /** Settings by config path that sit under the file, the environment and the flags (the demo's store, pools). */
  defaults?: Record<string, unknown>;
  /** Handlers to serve when --handlers is not given (default: examples/handlers.ts). */
  handlers?: HandlerMap;
  /** The first line of the banner, e.g. "Tidepool demo". */
  title?: string;
  /** Runs once the server listens (the demo's load). */
  afterStart?: (running: RunningTidepool, isStopping: () => boolean) => void;
}

/** `tidepool start` and `npm start`: flags, config, handlers, start, banner, signals. Returns the exit code. */
export async function runStart(argv: string[], opts: StartCommandOptions = {}): Promise<number> {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {
    ...configFlagOptions(),
    handlers: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  };
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
  const { config, origins } = resolveStartSettings(values, process.env, opts.defaults);
  const durability = origins.durability;
  const handlers =
    values.handlers === undefined && opts.handlers ? opts.handlers : await loadHandlers((values.handlers as string | undefined) ?? new URL('../../examples/handlers.ts', import.meta.url).pathname);
  const log = (line: string) => process.stderr.write(`tidepool: ${line}\n`);
  const durabilitySource = durability && durability.source !== 'default' ? `${durability.label} (${durability.source})` : undefined;
  const running = await startTidepool({ config, handlers, log, durabilitySource });
  // Signals are handled before the banner goes out: whoever reads it may stop us at once.
  let isStopping = false;
  const exited = new Promise<number>((resolveExit) => {
    let signals = 0;
    const onSignal = (signal: string) => {
      signals++;
      if (signals > 1) {
        log(`second ${signal}: exiting without waiting`);
        process.exit(1);
      }
      isStopping = true;
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
  // The bounds the autoscaler keeps: in a cluster, of the pool's total over every node.
  const pools = running.pools
    .map((p) => {
      const b = running.autoscaler.bounds(p.name);
      return `${p.name} (${p.types.join(', ')}; ${b.minWorkers}..${b.maxWorkers} workers${p.maxWorkers < b.maxWorkers ? `, at most ${p.maxWorkers} on this node` : ''})`;
    })
    .join(', ');
  if (opts.title) process.stdout.write(`\n${opts.title}\n`);
  process.stdout.write(`tidepool: listening on ${running.url} (store ${redactStoreUrl(config.store)})\n`);
  process.stdout.write(`tidepool: dashboard ${running.url}/   API ${running.url}/v1   OpenAPI ${running.url}/v1/openapi.json   metrics ${running.url}/metrics\n`);
  process.stdout.write(`tidepool: pools ${pools}\n`);
  process.stdout.write(`tidepool: limits ${describeLimits(running.limits)}\n`);
  opts.afterStart?.(running, () => isStopping);
  return exited;
}

export async function run(argv: string[]): Promise<number> {
  return runStart(argv);
}
