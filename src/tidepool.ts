// createTidepool(): the one non-CLI place that picks concrete Store and Pool kinds. It opens
// the store the config names, makes one pool per configured pool (and one inline pool per
// handler type no pool lists) with the worker driver its `kind` names (DRIVERS below),
// and runs the autoscaler over them.
import {
  ConfigInvalidError,
  TidepoolError,
  checkConfigShape,
  crossFieldProblems,
  defaultConfig,
  formatProblem,
  poolsForTypes,
  systemClock,
  type Clock,
  type PoolConfig,
  type PoolStats,
  type SubmitInput,
  type SubmitResult,
  type TidepoolConfig,
  type WorkerKind,
} from './core/index.ts';
import { MaintenanceLoop, openStore, type Store } from './store/index.ts';
import { CommandDriver, InlineDriver, ProcessDriver, ThreadDriver, RemotePool, WorkerPool, watchPoolEvents, type HandlerMap, type PoolEventNote, type WorkerDriver } from './pools/index.ts';
import { Autoscaler, bindPolicy, policyBounds, type PolicyChoice } from './autoscaler/index.ts';
import { configPolicyProblems } from './policies/index.ts';
import { ClusterNode, ClusterSeams } from './cluster/index.ts';
import { Scheduler, syncConfigSchedules, type SchedulerSettings } from './schedules/index.ts';
import { createRequire } from 'node:module';

const VERSION = (createRequire(import.meta.url)('../package.json') as { version: string }).version;

type DeepPartial<T> = { [K in keyof T]?: T[K] extends (infer U)[] ? Partial<U>[] : T[K] extends object ? DeepPartial<T[K]> : T[K] };

/** A config as a caller writes it: any subset of TidepoolConfig; the rest takes the defaults. */
export type TidepoolConfigInput = DeepPartial<TidepoolConfig>;

export interface TidepoolOptions {
  /** Time source for every timer (tests pass a VirtualClock). */
  clock?: Clock;
  /** Use this store instead of opening config.store (it is not closed by close()). */
  store?: Store;
  /**
   * Whether config.durability was set by the caller (the CLI knows from its config sources);
   * by default, when the input config has it. Only a set durability competes with the store
   * URL's `?durability=` (the URL wins, with a warning).
   */
  durabilityGiven?: boolean;
  /** Where durability was set, for that warning (e.g. "flag --durability"). */
  durabilitySource?: string;
  /** Receives configuration warnings (default: process.emitWarning). */
  onWarning?: (message: string) => void;
  /** Lines worth the server log from the scheduler (lease taken or lost, missed ticks and the catch-up applied). */
  log?: (line: string) => void;
  /** Worker events worth a line in the server log (crashes, respawns, stalls, recycles); they also go to the event log. */
  onPoolEvent?: (note: PoolEventNote) => void;
  /** Wraps the store before anything uses it (`tidepool start` watches every store call for /health). */
  wrapStore?: (store: Store) => Store;
  /** false: build everything but leave the autoscaler stopped (start it with autoscaler.start()). */
  startAutoscaler?: boolean;
}

export interface Tidepool {
  config: TidepoolConfig;
  store: Store;
  /** Pools by name. */
  pools: Map<string, WorkerPool | RemotePool>;
  autoscaler: Autoscaler;
  /** This process as a node of the cluster sharing its store (null: cluster.enabled resolved to off). */
  cluster: ClusterNode | null;
  /**
   * Runs store.maintain() every second (reclaims expired leases, purges ended tasks past
   * server.retentionMs, scaling events and metric samples past theirs). Off the claim path.
   */
  maintenance: MaintenanceLoop;
  /**
   * Submits the due ticks of the store's schedules while this process holds the
   * `scheduler` lease (docs/schedules.md); config.schedules were synced in before it started.
   */
  scheduler: Scheduler;
  submit(input: SubmitInput): Promise<SubmitResult>;
  submitBatch(inputs: readonly SubmitInput[]): Promise<SubmitResult[]>;
  stats(): PoolStats[];
  /** Stops the autoscaler, drains every pool within timeoutMs (default: each pool's shutdownTimeoutMs), closes the store it opened. */
  close(timeoutMs?: number): Promise<void>;
}

/** What a driver factory gets to build one pool's driver. */
export interface DriverContext {
  /** The pool's resolved config (kind, module, and the kind's own settings). */
  pool: PoolConfig;
  /** Where in the config the pool is (`pools[2]`, or `handler type "x"` for an implicit pool), for messages. */
  where: string;
  /** The handlers given to createTidepool for the pool's types (inline uses them). */
  handlers: HandlerMap;
  clock: Clock;
  /** Errors contained in hosted code or in the driver's background work (counted and emitted by the pool). */
  report(error: Error, doing: string): void;
}

export type DriverFactory = (ctx: DriverContext) => WorkerDriver | Promise<WorkerDriver>;

/**
 * The registry of worker kinds: the only place a kind name becomes a driver. A kind whose
 * driver is not built yet is null and refused with a message naming the pool. (Helper h9k
 * plugs `command`, `process` and `remote` in here, from src/pools/drivers/.)
 */
const DRIVERS: Record<WorkerKind, DriverFactory | null> = {
  inline: (ctx) => new InlineDriver({ handlers: ctx.handlers, clock: ctx.clock, report: ctx.report }),
  thread: (ctx) => new ThreadDriver({ module: ctx.pool.module!, types: ctx.pool.types, clock: ctx.clock }),
  command: (ctx) => new CommandDriver({ command: ctx.pool.command!, cwd: ctx.pool.cwd, env: ctx.pool.env, types: ctx.pool.types, clock: ctx.clock, killGraceMs: ctx.pool.killGraceMs }),
  process: (ctx) => new ProcessDriver({ command: ctx.pool.command!, cwd: ctx.pool.cwd, env: ctx.pool.env, types: ctx.pool.types, clock: ctx.clock, killGraceMs: ctx.pool.killGraceMs, startTimeoutMs: ctx.pool.startTimeoutMs }),
  // Remote workers start themselves and pull over HTTP: the pool is a RemotePool, no driver (see createTidepool).
  remote: null,
};

async function makeDriver(ctx: DriverContext): Promise<WorkerDriver> {
  const kind = ctx.pool.kind ?? 'inline';
  const factory = DRIVERS[kind];
  if (!factory) {
    const known = Object.entries(DRIVERS).filter(([, f]) => f).map(([k]) => k);
    throw new ConfigInvalidError([`${ctx.where}.kind: got ${JSON.stringify(kind)}; this build runs ${known.join(', ')} workers only`]);
  }
  return factory(ctx);
}

function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    const b = base[k];
    base[k] = v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object' && !Array.isArray(b) ? merge({ ...(b as object) } as Record<string, unknown>, v as Record<string, unknown>) : structuredClone(v);
  }
  return base;
}

/** Fills a partial config with the defaults and validates it (every problem at once). */
export function completeConfig(input: TidepoolConfigInput = {}): TidepoolConfig {
  const source = 'createTidepool config';
  const shape = checkConfigShape(input, source);
  // Policy problems are reported with the rest, in the same run (bounds only once they are valid).
  if (shape.problems.length) throw new ConfigInvalidError([...shape.problems, ...configPolicyProblems(input, source, false)]);
  const config = merge(defaultConfig() as unknown as Record<string, unknown>, shape.data) as unknown as TidepoolConfig;
  const cross = crossFieldProblems(config);
  const problems = cross.map((p) => formatProblem(p.path, source, p.got, p.expected));
  config.pools.forEach((p, i) => {
    if (!p.types?.length) problems.push(`pools[${i}].types (${source}): missing; expected a non-empty list of non-empty strings`);
  });
  problems.push(...configPolicyProblems(shape.data, source, cross.length === 0));
  if (problems.length) throw new ConfigInvalidError(problems);
  return config;
}

/**
 * Per-type timeouts for the store: a type's own (taskTimeoutMsByType) wins over its pool's
 * taskTimeoutMs; types with neither take the global taskTimeoutMs (a task's own wins over all).
 */
export function timeoutsByType(config: TidepoolConfig, handlerTypes: readonly string[]): Record<string, number> {
  const out: Record<string, number> = Object.create(null);
  for (const pool of poolsForTypes(config, handlerTypes)) {
    if (pool.taskTimeoutMs === undefined) continue;
    for (const type of pool.types) out[type] = pool.taskTimeoutMs;
  }
  for (const [type, ms] of Object.entries(config.taskTimeoutMsByType ?? {})) out[type] = ms;
  return { ...out };
}

/** Prefixes the policies room's problems with the pool they belong to. */
function withPoolName<T>(pool: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ConfigInvalidError) throw new ConfigInvalidError(err.problems.map((p) => `pool ${JSON.stringify(pool)}: ${p}`));
    throw err;
  }
}

export async function createTidepool(input: TidepoolConfigInput, handlers: HandlerMap, options: TidepoolOptions = {}): Promise<Tidepool> {
  const config = completeConfig(input);
  const clock = options.clock ?? systemClock;
  const ownsStore = !options.store;
  const opened =
    options.store ??
    (await openStore(config.store, {
      clock,
      retry: config.retry,
      maxQueueDepth: config.maxQueueDepth,
      tenantConcurrency: config.tenantConcurrency,
      defaultTimeoutMs: config.taskTimeoutMs,
      timeoutMsByType: timeoutsByType(config, Object.keys(handlers)),
    }, {
      // Only a durability the caller set competes with the URL's; the default does not.
      settings: { durability: (options.durabilityGiven ?? input.durability !== undefined) ? config.durability : undefined },
      settingsSource: options.durabilitySource ?? 'the config key durability',
      onWarning: options.onWarning,
    }));
  const store = options.wrapStore ? options.wrapStore(opened) : opened;
  const clusterOn = config.cluster.enabled === 'on' || (config.cluster.enabled === 'auto' && store.capabilities.includes('multiProcess'));
  // The cluster node, once made: pools read the regions they claim from it.
  const regionsOf: { node: ClusterNode | null } = { node: null };
  const pools = new Map<string, WorkerPool | RemotePool>();
  const scaled: { pool: WorkerPool | RemotePool; policy: PolicyChoice; intervalMs?: number; minWorkers: number; maxWorkers: number; nodeCap?: number }[] = [];
  try {
    for (const pc of poolsForTypes(config, Object.keys(handlers))) {
      // A pool's sloMs is adaptive's target unless the knobs name one.
      const startCost = withStartCost(pc);
      const overrides = pc.sloMs !== undefined && pc.policy === 'adaptive' && startCost.targetP95WaitMs === undefined ? { ...startCost, targetP95WaitMs: pc.sloMs } : startCost;
      const policy: PolicyChoice = { name: pc.policy, preset: pc.preset, overrides };
      const own = withPoolName(pc.name, () => policyBounds(policy));
      // fixed:N pins its own count; other policies take the pool's bounds when set.
      const isFixed = pc.policy.startsWith('fixed:');
      const minWorkers = isFixed ? own.minWorkers : (pc.minWorkers ?? own.minWorkers);
      const maxWorkers = isFixed ? own.maxWorkers : (pc.maxWorkers ?? Math.max(own.maxWorkers, minWorkers));
      withPoolName(pc.name, () => bindPolicy(policy, minWorkers, maxWorkers)); // validates the knobs against these bounds
      // In a cluster the bounds are the pool's total over every node: each node's pool runs
      // 0..its cap and the leader's share moves it (a node never starts workers on its own).
      const local = clusterOn ? { min: 0, max: Math.min(maxWorkers, pc.maxWorkersPerNode ?? maxWorkers) } : { min: minWorkers, max: maxWorkers };
      const poolHandlers = Object.fromEntries(pc.types.filter((t) => handlers[t]).map((t) => [t, handlers[t]!]));
      const index = config.pools.findIndex((p) => (p.name ?? p.types?.[0]) === pc.name);
      if (pc.kind === 'remote') {
        const remote = new RemotePool({ name: pc.name, types: pc.types, store, clock, minWorkers: local.min, maxWorkers: local.max, leaseMs: config.leaseMs, heartbeatMs: config.heartbeatMs || Math.max(1, Math.floor(config.leaseMs / 3)), windowMs: pc.windowMs });
        pools.set(pc.name, remote);
        scaled.push({ pool: remote, policy, intervalMs: pc.intervalMs, minWorkers, maxWorkers, ...(pc.maxWorkersPerNode !== undefined ? { nodeCap: pc.maxWorkersPerNode } : {}) });
        continue;
      }
      const holder: { pool: WorkerPool | null } = { pool: null };
      const driver = await makeDriver({
        pool: pc,
        where: index >= 0 ? `pools[${index}]` : `pool ${JSON.stringify(pc.name)}`,
        handlers: poolHandlers,
        clock,
        report: (error, doing) => (holder.pool ? holder.pool.report(error, doing) : console.error(`tidepool: pool ${JSON.stringify(pc.name)}: ${doing}:`, error)),
      });
      let pool: WorkerPool;
      try {
        pool = new WorkerPool({
          name: pc.name,
          types: pc.types,
          driver,
          store,
          clock,
          minWorkers: local.min,
          maxWorkers: local.max,
          leaseMs: config.leaseMs,
          heartbeatMs: config.heartbeatMs,
          pollMs: pc.pollMs,
          maxTasksPerWorker: pc.maxTasksPerWorker,
          stallTimeoutMs: pc.stallTimeoutMs,
          shutdownTimeoutMs: pc.shutdownTimeoutMs,
          windowMs: pc.windowMs,
          pricePerWorkerHour: pc.pricePerWorkerHour,
          pricePerStart: pc.pricePerStart,
          // A node with a region claims its region's tasks (and failed-over regions'), as the cluster node says.
          ...(clusterOn && config.region !== undefined ? { regions: () => regionsOf.node?.claimRegions() ?? [config.region!] } : {}),
        });
      } catch (err) {
        await driver.close?.();
        throw err;
      }
      holder.pool = pool;
      pools.set(pc.name, pool);
      scaled.push({ pool, policy, intervalMs: pc.intervalMs, minWorkers, maxWorkers, ...(pc.maxWorkersPerNode !== undefined ? { nodeCap: pc.maxWorkersPerNode } : {}) });
    }
  } catch (err) {
    await Promise.all([...pools.values()].map((p) => p.close(0)));
    if (ownsStore) await store.close();
    throw err;
  }
  const holderOfAutoscaler: { autoscaler: Autoscaler | null } = { autoscaler: null };
  const cluster: ClusterNode | null = clusterOn
    ? new ClusterNode({
        store,
        clock,
        pools: [...pools.values()],
        id: config.cluster.nodeId,
        region: config.region ?? null,
        version: VERSION,
        heartbeatMs: config.cluster.heartbeatMs,
        nodeTtlMs: config.cluster.nodeTtlMs,
        leaderTtlMs: config.cluster.leaderTtlMs,
        regionFailoverMs: config.regionFailoverMs,
        boundsOf: (pool) => holderOfAutoscaler.autoscaler?.bounds(pool.name) ?? { minWorkers: pool.minWorkers, maxWorkers: pool.maxWorkers },
        onPoolConfig: async (pool, change): Promise<void> => {
          if (holderOfAutoscaler.autoscaler) await applySharedChange(holderOfAutoscaler.autoscaler, cluster!, pool, change);
        },
      })
    : null;
  regionsOf.node = cluster;
  const autoscaler = new Autoscaler({
    store,
    clock,
    pools: scaled,
    intervalMs: config.autoscaler.intervalMs,
    sampleEveryTicks: config.autoscaler.sampleEveryTicks,
    applyDecisions: config.autoscaler.enabled,
    ...(cluster ? { seams: new ClusterSeams(cluster) } : {}),
  });
  holderOfAutoscaler.autoscaler = autoscaler;
  const retentionMs = (config as { server?: { retentionMs?: unknown } }).server?.retentionMs;
  const maintenance = new MaintenanceLoop({
    store,
    clock,
    policy: typeof retentionMs === 'number' ? { finishedRetentionMs: retentionMs } : {},
    // In a cluster the leader alone runs maintenance.
    ...(cluster ? { shouldRun: () => cluster.isLeader } : {}),
    // Reported where the autoscaler's own background errors go (never swallowed).
    onError: (err) => {
      const wrapped = new TidepoolError('StoreUnavailable', `store maintenance failed: ${err.message}`, { cause: err });
      if (autoscaler.listenerCount('error') > 0) autoscaler.emit('error', wrapped);
      else process.emitWarning(wrapped);
    },
  });
  if (cluster) {
    cluster.on('error', (err: Error) => {
      const wrapped = new TidepoolError('StoreUnavailable', `cluster heartbeat failed: ${err.message}`, { cause: err });
      if (autoscaler.listenerCount('error') > 0) autoscaler.emit('error', wrapped);
    });
    // A node is part of the cluster (and has tried for the lease) before its loops start.
    await cluster.start().catch(async (err: unknown) => {
      await Promise.all([...pools.values()].map((p) => p.close(0)));
      if (ownsStore) await store.close();
      throw err;
    });
  }
  maintenance.start();
  const scheduler = new Scheduler({ store, clock, ...((config.scheduler ?? {}) as Partial<SchedulerSettings>), ...(options.log ? { log: options.log } : {}) });
  scheduler.on('error', (err: Error) => (autoscaler.listenerCount('error') > 0 ? autoscaler.emit('error', err) : process.emitWarning(err)));
  try {
    if (config.schedules !== undefined) await syncConfigSchedules(store, config.schedules);
  } catch (err) {
    await maintenance.stop();
    await cluster?.stop();
    await Promise.all([...pools.values()].map((p) => p.close(0)));
    if (ownsStore) await store.close();
    throw err;
  }
  scheduler.start();
  for (const pool of pools.values()) {
    watchPoolEvents(pool, clock, (note) => {
      options.onPoolEvent?.(note);
      void autoscaler.recordPoolEvent(note.pool, note.code, note.reason);
    });
  }
  if (options.startAutoscaler !== false) autoscaler.start();
  let closing: Promise<void> | null = null;
  return {
    config,
    store,
    pools,
    autoscaler,
    cluster,
    maintenance,
    scheduler,
    submit: (input) => store.submit(input),
    submitBatch: (inputs) => store.submitBatch(inputs),
    stats: () => [...pools.values()].map((p) => p.stats()),
    close(timeoutMs?: number) {
      closing ??= (async () => {
        await autoscaler.stop();
        await scheduler.close();
        await maintenance.stop();
        // Hands leadership over at once and leaves the node list before the pools drain.
        await cluster?.stop();
        await Promise.all([...pools.values()].map((p) => p.close(timeoutMs)));
        if (ownsStore) await store.close();
      })();
      return closing;
    },
  };
}

/**
 * A runtime pool change another node made (PATCH, scale), applied here: bounds and policy
 * on every node; a count set by hand by the leader alone (it owns the total).
 */
async function applySharedChange(autoscaler: Autoscaler, cluster: ClusterNode, pool: string, change: unknown): Promise<void> {
  const c = (change ?? {}) as { min?: number; max?: number; policy?: string; preset?: string; scaleTo?: number };
  if (!autoscaler.poolNames().includes(pool)) return;
  if (typeof c.scaleTo === 'number') {
    if (cluster.isLeader) await autoscaler.scaleByHand(pool, c.scaleTo);
    return;
  }
  if (typeof c.min === 'number' && typeof c.max === 'number') await autoscaler.setBounds(pool, c.min, c.max);
  if (typeof c.policy === 'string') await autoscaler.setPolicy(pool, { name: c.policy, ...(typeof c.preset === 'string' ? { preset: c.preset } : {}) });
}

/** adaptive weighs the price of a start: its startCostMs from the pool's prices, unless policyOptions sets it. */
function withStartCost(pc: { policy: string; policyOptions: Record<string, unknown>; pricePerWorkerHour: number; pricePerStart: number }): Record<string, unknown> {
  if (pc.policy !== 'adaptive' || pc.pricePerStart <= 0 || 'startCostMs' in pc.policyOptions) return pc.policyOptions;
  const ms = pc.pricePerWorkerHour > 0 ? (pc.pricePerStart / pc.pricePerWorkerHour) * 3_600_000 : 86_400_000;
  return { ...pc.policyOptions, startCostMs: Math.min(86_400_000, ms) };
}
