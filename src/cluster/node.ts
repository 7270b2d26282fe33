// One Tidepool process as a member of a cluster of processes sharing a store: it keeps a
// node record in the store, takes part in the leader election, and converges its local
// workers to the share of each pool the leader gives it.
//
// State in the store (coordination state, see src/store/shared/coordination.ts):
//   node/<id>         this node's record (host, version, region, its pools with their
//                     workers and window stats); renewed every heartbeatMs, lapses after
//                     nodeTtlMs: a node whose record lapsed is gone (its tasks come back
//                     through their leases).
//   lease "leader"    the leadership lease (leaderTtlMs), renewed every heartbeatMs; its
//                     fencing token goes with every leader-only write.
//   desired/<pool>    the leader's decision: {total, shares: {nodeId: n}, min, max, ...},
//                     written fenced. Each node follows its own share.
//   policy/<pool>     the policy's state, written fenced by the leader each tick, so a new
//                     leader continues where the old one stopped.
//   poolcfg/<pool>    a runtime change of policy or bounds sent to any node; every node
//                     applies it.
//   cluster/handover  written by a leader that stops (SIGTERM), so the others try at once.
//   region/<region>   written by every node of that region at each heartbeat (no time to
//                     live): its updatedAtMs is when a node of the region was last seen, on
//                     the store's time of record, so a node that starts later still knows it.
//
// Regions (docs/cluster.md, "Regions"): a node in region R claims tasks of R and tasks
// without a region; a task of region S goes to nodes of other regions once no live node of
// S has been seen for regionFailoverMs (its last node's record lapsed nodeTtlMs after its
// last heartbeat, plus regionFailoverMs). A node without a region claims every task.
//
// The cluster's maximum holds at every moment: a node grows only under the pool's grow
// lease (`grow/<pool>`), after reading the other nodes' records, and publishes its larger
// target before it starts the workers; a node that shrinks publishes after. Every record
// counts starting and draining workers, so the sum of what the records say is never below
// what runs, and a node grows only into room the others' records leave.
import { hostname } from 'node:os';
import { EventEmitter } from 'node:events';
import { FencedError, newToken, systemClock, type Clock, type Json, type PoolStats, type TimerHandle } from '../core/index.ts';
import type { Fence, Lease, StateEntry, Store } from '../store/index.ts';
import type { Pool } from '../pools/index.ts';

export const LEADER_LEASE = 'leader';
export const DEFAULT_HEARTBEAT_MS = 1_000;
export const DEFAULT_NODE_TTL_MS = 5_000;
export const DEFAULT_LEADER_TTL_MS = 5_000;
export const DEFAULT_REGION_FAILOVER_MS = 30_000;
const GROW_LEASE_TTL_MS = 3_000;

/** A pool as a node record carries it. */
export interface NodePoolRecord {
  name: string;
  kind: string;
  types: string[];
  /** This node's configured bounds of the pool's total. */
  min: number;
  max: number;
  /** Most workers of the pool this node runs (maxWorkersPerNode, else max). */
  cap: number;
  target: number;
  current: number;
  busy: number;
  idle: number;
  starting: number;
  draining: number;
  completed: number;
  failed: number;
  failedAttempts: number;
  utilization: number;
  maxIdleMs: number;
  startupMs: number;
  waitMs: { p50: number; p95: number; p99: number; count: number };
  runMs: { p50: number; p95: number; p99: number; count: number; mean: number };
}

export interface NodeRecord {
  id: string;
  host: string;
  pid: number;
  version: string;
  region: string | null;
  startedAtMs: number;
  pools: NodePoolRecord[];
}

/** A live node as `GET /v1/nodes` lists it. */
export interface NodeView extends NodeRecord {
  leader: boolean;
  self: boolean;
  lastSeenMs: number;
}

/** The leader's decision for one pool. */
export interface DesiredRecord {
  pool: string;
  total: number;
  shares: Record<string, number>;
  min: number;
  max: number;
  leader: string;
  token: number;
  atMs: number;
  reason: string;
}

export interface ClusterNodeOptions {
  store: Store;
  pools: readonly Pool[];
  clock?: Clock;
  id?: string;
  region?: string | null;
  version?: string;
  heartbeatMs?: number;
  nodeTtlMs?: number;
  leaderTtlMs?: number;
  /** How long a region stays without a live node before other regions' nodes take its tasks, ms (default 30,000). */
  regionFailoverMs?: number;
  /** Per pool: the most workers this node runs (maxWorkersPerNode); default the pool's max. */
  capOf?: (pool: Pool) => number;
  /** Per pool: the configured bounds of its total (the autoscaler's); default the pool's own. */
  boundsOf?: (pool: Pool) => { minWorkers: number; maxWorkers: number };
  /** The runtime change a `poolcfg/<pool>` entry carries (written by another node). */
  onPoolConfig?: (pool: string, change: Json) => void | Promise<void>;
  /** Errors of the background loop (store unreachable, ...): reported, the loop goes on. */
  onError?: (err: Error) => void;
}

export function newNodeId(): string {
  return `${hostname().replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 40)}-${process.pid}-${newToken().slice(0, 6)}`;
}

export class ClusterNode extends EventEmitter {
  readonly id: string;
  readonly host = hostname();
  readonly region: string | null;
  readonly version: string;
  readonly heartbeatMs: number;
  readonly nodeTtlMs: number;
  readonly leaderTtlMs: number;
  readonly regionFailoverMs: number;
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly pools = new Map<string, Pool>();
  private readonly capOf: (pool: Pool) => number;
  private readonly options: ClusterNodeOptions;
  private startedAtMs = 0;
  private timer: TimerHandle | null = null;
  private beating: Promise<void> | null = null;
  private isStopped = true;
  private unsubscribe: (() => void) | null = null;
  /** This node's term: the lease token, and when it ends on this node's clock. */
  private lease: { token: number; expiresAtMs: number } | null = null;
  /** Serializes this node's writes of its own record and its scaling steps. */
  private chain: Promise<unknown> = Promise.resolve();
  private lastDesired = new Map<string, DesiredRecord>();
  /** Live node records as of the last heartbeat (withSelf's default). */
  private known: NodeRecord[] = [];
  private readonly appliedConfig = new Map<string, string>();
  /** Regions without a live node for regionFailoverMs, whose tasks this node takes too (sorted). */
  private failedOver: string[] = [];

  constructor(options: ClusterNodeOptions) {
    super();
    this.options = options;
    this.store = options.store;
    this.clock = options.clock ?? systemClock;
    this.id = options.id ?? newNodeId();
    this.region = options.region ?? null;
    this.version = options.version ?? '0';
    this.heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    this.nodeTtlMs = options.nodeTtlMs ?? DEFAULT_NODE_TTL_MS;
    this.leaderTtlMs = options.leaderTtlMs ?? DEFAULT_LEADER_TTL_MS;
    this.regionFailoverMs = options.regionFailoverMs ?? DEFAULT_REGION_FAILOVER_MS;
    this.capOf = options.capOf ?? ((p) => p.maxWorkers);
    for (const p of options.pools) this.pools.set(p.name, p);
    this.on('error', () => undefined);
  }

  /** The store the cluster's state lives in. */
  stateStore(): Store {
    return this.store;
  }

  /** Whether this node holds the leadership lease (as of its last renewal, and not lapsed since). */
  get isLeader(): boolean {
    return this.lease !== null && this.lease.expiresAtMs > this.clock.now();
  }

  /** The fence every leader-only write carries; null when this node does not lead. */
  fence(): Fence | null {
    return this.isLeader ? { lease: LEADER_LEASE, token: this.lease!.token } : null;
  }

  /** Registers, runs the first election and starts the heartbeat. */
  async start(): Promise<void> {
    if (!this.isStopped) return;
    this.isStopped = false;
    this.startedAtMs = await this.store.now();
    this.unsubscribe = this.store.subscribe((event) => {
      if (event.kind !== 'state' || this.isStopped) return;
      const key = event.key;
      if (key.startsWith('desired/')) this.enqueue(() => this.follow(key.slice('desired/'.length)));
      else if (key === 'cluster/handover' && !this.isLeader) void this.beat();
      else if (key.startsWith('poolcfg/')) void this.readPoolConfig(key.slice('poolcfg/'.length));
    });
    await this.beat();
    this.arm();
  }

  /** One heartbeat now: renew or try the lease, publish the record, follow every pool's share. */
  beat(): Promise<void> {
    this.beating ??= this.heartbeat().finally(() => {
      this.beating = null;
    });
    return this.beating;
  }

  private async heartbeat(): Promise<void> {
    try {
      await this.elect();
      await this.enqueue(() => this.publish());
      const records = await this.store.listState('node/');
      this.known = records.map((e) => e.value as unknown as NodeRecord);
      // How many nodes share the store (the server splits the global rate limit by it).
      this.emit('nodes', records.length);
      await this.observeRegions(records);
      for (const name of this.pools.keys()) {
        await this.enqueue(() => this.follow(name));
        await this.readPoolConfig(name);
      }
    } catch (err) {
      this.emit('error', err instanceof Error ? err : new Error(String(err)));
      this.options.onError?.(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private async elect(): Promise<void> {
    const wasLeader = this.isLeader;
    const before = this.lease?.token ?? null;
    // The lease's expiry is on the store's time of record (the database's clock on shared
    // stores); this node counts it on its own clock from before it asked, which can only end
    // its term early, never late. An unreachable store throws here: the term we had then
    // lapses on its own.
    const askedAtMs = this.clock.now();
    const granted = await this.store.acquireLease(LEADER_LEASE, this.id, this.leaderTtlMs);
    this.lease = granted ? { token: granted.token, expiresAtMs: askedAtMs + this.leaderTtlMs } : null;
    if (this.isLeader && (!wasLeader || before !== granted!.token)) this.emit('elected', granted!.token);
    if (wasLeader && !this.isLeader) this.emit('deposed');
  }

  /** Stops the heartbeat, hands leadership over, removes the record (SIGTERM, close). */
  async stop(): Promise<void> {
    if (this.isStopped) return;
    this.isStopped = true;
    this.timer?.cancel();
    this.timer = null;
    this.unsubscribe?.();
    await this.beating?.catch(() => undefined);
    await this.chain.catch(() => undefined);
    try {
      if (this.lease) {
        const released = await this.store.releaseLease(LEADER_LEASE, this.id);
        this.lease = null;
        if (released) await this.store.putState('cluster/handover', { from: this.id }, { ttlMs: this.nodeTtlMs });
      }
      await this.store.deleteState(`node/${this.id}`);
    } catch {
      // The store is gone: the lease and the record lapse on their own.
    }
  }

  private arm(): void {
    if (this.isStopped) return;
    this.timer = this.clock.setTimer(() => {
      this.timer = null;
      void this.beat().then(() => this.arm());
    }, this.heartbeatMs);
  }

  private enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn, fn);
    this.chain = next.catch((err: unknown) => this.emit('error', err instanceof Error ? err : new Error(String(err))));
    return next;
  }

  // --- records --------------------------------------------------------------------

  /** This node's record as it stands. */
  record(): NodeRecord {
    return {
      id: this.id,
      host: this.host,
      pid: process.pid,
      version: this.version,
      region: this.region,
      startedAtMs: this.startedAtMs,
      pools: [...this.pools.values()].map((p) => this.poolRecord(p)),
    };
  }

  private poolRecord(p: Pool, target = p.target): NodePoolRecord {
    const s: PoolStats = p.stats();
    const facts = p.facts();
    const current = s.starting + s.idle + s.busy + s.draining;
    const bounds = this.options.boundsOf?.(p) ?? { minWorkers: p.minWorkers, maxWorkers: p.maxWorkers };
    return {
      name: p.name,
      kind: p.kind,
      types: [...p.types],
      min: bounds.minWorkers,
      max: bounds.maxWorkers,
      cap: Math.min(bounds.maxWorkers, p.maxWorkers, this.capOf(p)),
      target,
      current,
      busy: s.busy,
      idle: s.idle,
      starting: s.starting,
      draining: s.draining,
      completed: s.completed,
      failed: s.failed,
      failedAttempts: s.failedAttempts,
      utilization: s.utilization,
      maxIdleMs: s.maxIdleMs,
      startupMs: s.startupMs,
      waitMs: { p50: s.waitMs.p50, p95: s.waitMs.p95, p99: s.waitMs.p99, count: s.waitMs.count },
      runMs: { p50: s.runMs.p50, p95: s.runMs.p95, p99: s.runMs.p99, count: s.runMs.count, mean: facts.runMeanMs },
    };
  }

  private async publish(): Promise<void> {
    await this.store.putState(`node/${this.id}`, this.record() as unknown as Json, { ttlMs: this.nodeTtlMs });
  }

  /**
   * Live nodes in id order (this one, while its record is live, from its live stats), with
   * who leads and which one is this; and the leadership lease.
   */
  async nodes(): Promise<{ nodes: NodeView[]; lease: Lease | null }> {
    const [entries, lease] = await Promise.all([this.store.listState('node/'), this.store.readLease(LEADER_LEASE)]);
    const nodes = entries
      .map((e) => {
        const r = e.key === `node/${this.id}` ? this.record() : (e.value as unknown as NodeRecord);
        return { ...r, leader: lease?.holder === r.id, self: r.id === this.id, lastSeenMs: e.updatedAtMs };
      })
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return { nodes, lease };
  }

  /**
   * The given live records (default: as of the last heartbeat, no I/O) with this node's own
   * replaced by its live stats.
   */
  withSelf(records: readonly NodeRecord[] = this.known): NodeRecord[] {
    return [...records.filter((r) => r.id !== this.id), this.record()];
  }

  /** Live node records (the leader's observation reads them). */
  async liveRecords(): Promise<NodeRecord[]> {
    return (await this.store.listState('node/')).map((e) => e.value as unknown as NodeRecord);
  }

  // --- regions -------------------------------------------------------------------------

  /**
   * The regions this node's pools claim (ClaimRequest.regions): its own and those failed
   * over to it; undefined for a node without a region (it claims every task).
   */
  claimRegions(): readonly string[] | undefined {
    return this.region === null ? undefined : [this.region, ...this.failedOver];
  }

  /** Regions whose tasks this node serves because they have had no live node for regionFailoverMs. */
  failedOverRegions(): readonly string[] {
    return this.failedOver;
  }

  /** Marks this node's region as seen now, and works out which other regions have failed over. */
  private async observeRegions(records: readonly StateEntry[]): Promise<void> {
    if (this.region === null) return;
    await this.store.putState(`region/${this.region}`, { region: this.region, node: this.id });
    const [entries, nowMs] = await Promise.all([this.store.listState('region/'), this.store.now()]);
    const live = new Set(records.map((e) => (e.value as unknown as NodeRecord).region));
    const failed = entries
      .map((e) => ({ region: e.key.slice('region/'.length), lastSeenMs: e.updatedAtMs }))
      .filter((r) => r.region !== this.region && !live.has(r.region) && nowMs - r.lastSeenMs >= this.nodeTtlMs + this.regionFailoverMs)
      .map((r) => r.region)
      .sort();
    if (failed.join('\u0000') === this.failedOver.join('\u0000')) return;
    const before = this.failedOver;
    this.failedOver = failed;
    this.emit('regions', { failedOver: failed, before });
  }

  // --- following the leader's shares --------------------------------------------------

  /** The leader's last decision for a pool as this node read it. */
  desired(pool: string): DesiredRecord | null {
    return this.lastDesired.get(pool) ?? null;
  }

  /** Writes the leader's decision for a pool (fenced) and converges this node to its share. */
  async decide(pool: string, record: Omit<DesiredRecord, 'leader' | 'token' | 'atMs'>): Promise<DesiredRecord> {
    const fence = this.fence();
    if (!fence) throw new FencedError(LEADER_LEASE, this.lease?.token ?? 0, `node ${this.id} does not lead`);
    const full: DesiredRecord = { ...record, leader: this.id, token: fence.token, atMs: this.clock.now() };
    await this.store.putState(`desired/${pool}`, full as unknown as Json, { fence });
    this.lastDesired.set(pool, full);
    await this.enqueue(() => this.converge(pool, full));
    return full;
  }

  private async follow(pool: string): Promise<void> {
    if (!this.pools.has(pool)) return;
    const entry: StateEntry | null = await this.store.getState(`desired/${pool}`);
    if (!entry) return; // no leader has decided yet: keep what runs
    const d = entry.value as unknown as DesiredRecord;
    this.lastDesired.set(pool, d);
    await this.converge(pool, d);
  }

  /** Moves this node's workers of the pool toward its share, never past the cluster's max. */
  private async converge(name: string, d: DesiredRecord): Promise<void> {
    const pool = this.pools.get(name);
    if (!pool) return;
    const share = Math.min(d.shares[this.id] ?? 0, Math.min(pool.maxWorkers, this.capOf(pool)));
    const now = pool.target;
    if (share === now) return;
    if (share < now) {
      pool.scaleTo(Math.max(share, 0));
      await this.publish();
      return;
    }
    // Growing: under the pool's grow lease, into the room the other nodes' records leave.
    const holder = `${this.id}`;
    const lease = await this.store.acquireLease(`grow/${name}`, holder, GROW_LEASE_TTL_MS);
    if (!lease) return; // another node is growing: the next heartbeat or event tries again
    try {
      const others = (await this.liveRecords()).filter((r) => r.id !== this.id);
      const used = others.reduce((sum, r) => {
        const p = r.pools.find((x) => x.name === name);
        return sum + (p ? Math.max(p.target, p.current) : 0);
      }, 0);
      const s = pool.stats();
      const mine = s.starting + s.idle + s.busy + s.draining;
      const room = Math.max(0, d.max - used);
      const to = Math.max(now, Math.min(share, room));
      if (to <= now) return;
      // Publish the larger target first (fenced by the grow lease), then start the workers.
      const rec = this.record();
      const p = rec.pools.find((x) => x.name === name)!;
      p.target = to;
      p.current = Math.max(p.current, mine);
      await this.store.putState(`node/${this.id}`, rec as unknown as Json, { ttlMs: this.nodeTtlMs, fence: { lease: `grow/${name}`, token: lease.token } });
      pool.scaleTo(to);
    } finally {
      await this.store.releaseLease(`grow/${name}`, holder).catch(() => undefined);
    }
  }

  // --- runtime pool changes ----------------------------------------------------------

  /** Tells every node of a runtime change to a pool (this node applied it already). */
  async sharePoolConfig(pool: string, change: Json): Promise<void> {
    const id = newToken();
    this.appliedConfig.set(pool, id);
    await this.store.putState(`poolcfg/${pool}`, { change, from: this.id, id } as Json);
  }

  private async readPoolConfig(pool: string): Promise<void> {
    try {
      const entry = await this.store.getState(`poolcfg/${pool}`);
      if (!entry) return;
      const v = entry.value as { change: Json; from: string; id: string };
      // Each change once (at start: the cluster's latest, so a new node runs what the others run).
      if (this.appliedConfig.get(pool) === v.id) return;
      this.appliedConfig.set(pool, v.id);
      if (v.from !== this.id) await this.options.onPoolConfig?.(pool, v.change);
    } catch (err) {
      this.emit('error', err instanceof Error ? err : new Error(String(err)));
    }
  }
}
