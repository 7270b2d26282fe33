// The autoscaler's two seams for a cluster: where its observation comes from and where its
// decision goes (ScalingSeams in src/autoscaler/autoscaler.ts). Alone, a process observes
// its own pool and resizes it. In a cluster, only the leader decides: it observes each pool
// across every live node (counts, arrivals and the oldest wait from the store; workers,
// completions and window percentiles merged from the node records), runs the same pure
// policy on the pool's total, and gives each node its share (desired/<pool>, fenced); every
// node converges to its share (ClusterNode.converge). The policy's state goes to the store
// every tick (policy/<pool>, fenced), so a new leader continues where the old one stopped.
//
// Percentiles merged across nodes: p50 is the count-weighted mean of the nodes' p50s; p95
// and p99 the highest among nodes with samples (an upper bound: the cluster's own p95 is
// never above the worst node's). Completions: a sum over every node ever seen of its last
// count, kept with the policy state, so a node that leaves does not make the total go back.
import type { Json } from '../core/index.ts';
import type { Observation } from '../policies/index.ts';
import type { Pool } from '../pools/index.ts';
import type { ScalingSeams } from '../autoscaler/index.ts';
import { splitTotal } from './shares.ts';
import type { ClusterNode, NodePoolRecord, NodeRecord } from './node.ts';

interface SavedPolicy {
  state: Json;
  /** nodeId -> that node's last completed + failed count of the pool. */
  completions: Record<string, number>;
  failures: Record<string, number>;
}

export class ClusterSeams implements ScalingSeams {
  private readonly node: ClusterNode;
  private readonly completions = new Map<string, Record<string, number>>();
  private readonly failures = new Map<string, Record<string, number>>();
  /** The records the last observation read, reused by apply in the same tick. */
  private readonly lastRecords = new Map<string, NodeRecord[]>();
  /** What saveState last wrote per pool, with its term's token. */
  private readonly lastSaved = new Map<string, string>();

  constructor(node: ClusterNode) {
    this.node = node;
  }

  decides(): boolean {
    return this.node.isLeader;
  }

  token(): number | null {
    return this.node.fence()?.token ?? null;
  }

  followerReason(pool: string, local: number): string {
    const d = this.node.desired(pool);
    if (!d) return `node ${this.node.id} follows; no leader has decided for this pool yet (${local} workers here)`;
    return `node ${this.node.id} follows node ${d.leader}: the cluster runs ${d.total} workers of this pool, ${d.shares[this.node.id] ?? 0} here`;
  }

  async loadState(pool: string): Promise<unknown | undefined> {
    const entry = await this.node.stateStore().getState(`policy/${pool}`);
    if (!entry) return undefined;
    const saved = entry.value as unknown as SavedPolicy;
    this.completions.set(pool, { ...(saved.completions ?? {}) });
    this.failures.set(pool, { ...(saved.failures ?? {}) });
    return saved.state;
  }

  async saveState(pool: string, state: unknown): Promise<void> {
    const fence = this.node.fence();
    if (!fence) return;
    const saved: SavedPolicy = { state: state as Json, completions: this.completions.get(pool) ?? {}, failures: this.failures.get(pool) ?? {} };
    // Written when it changed in this term (a quiet pool's state does not change every tick).
    const text = `${fence.token}:${JSON.stringify(saved)}`;
    if (this.lastSaved.get(pool) === text) return;
    await this.node.stateStore().putState(`policy/${pool}`, saved as unknown as Json, { fence });
    this.lastSaved.set(pool, text);
  }

  /** The pool's records on every live node, this node's from its live stats. */
  private async records(pool: Pool): Promise<{ id: string; rec: NodePoolRecord }[]> {
    const merged = this.node.withSelf(await this.node.liveRecords());
    this.lastRecords.set(pool.name, merged);
    const out: { id: string; rec: NodePoolRecord }[] = [];
    for (const r of merged) {
      const p = r.pools.find((x) => x.name === pool.name);
      if (p) out.push({ id: r.id, rec: p });
    }
    return out;
  }

  async observe(pool: Pool, local: Observation): Promise<Observation> {
    const recs = await this.records(pool);
    const comp = this.completions.get(pool.name) ?? {};
    const fail = this.failures.get(pool.name) ?? {};
    let starting = 0, idle = 0, busy = 0, draining = 0, target = 0, maxIdleMs = 0, startupMs = 0;
    let waitCount = 0, waitP50 = 0, waitP95 = 0, waitP99 = 0, runCount = 0, runP50 = 0, runP95 = 0, runP99 = 0, runMean = 0;
    for (const { id, rec } of recs) {
      starting += rec.starting;
      idle += rec.idle;
      busy += rec.busy;
      draining += rec.draining;
      target += rec.target;
      maxIdleMs = Math.max(maxIdleMs, rec.maxIdleMs);
      startupMs = Math.max(startupMs, rec.startupMs);
      comp[id] = Math.max(comp[id] ?? 0, rec.completed + rec.failed);
      fail[id] = Math.max(fail[id] ?? 0, rec.failedAttempts);
      if (rec.waitMs.count > 0) {
        waitP50 += rec.waitMs.p50 * rec.waitMs.count;
        waitP95 = Math.max(waitP95, rec.waitMs.p95);
        waitP99 = Math.max(waitP99, rec.waitMs.p99);
        waitCount += rec.waitMs.count;
      }
      if (rec.runMs.count > 0) {
        runP50 += rec.runMs.p50 * rec.runMs.count;
        runMean += rec.runMs.mean * rec.runMs.count;
        runP95 = Math.max(runP95, rec.runMs.p95);
        runP99 = Math.max(runP99, rec.runMs.p99);
        runCount += rec.runMs.count;
      }
    }
    this.completions.set(pool.name, comp);
    this.failures.set(pool.name, fail);
    const ready = idle + busy + draining;
    const d = this.node.desired(pool.name);
    return {
      ...local,
      workers: { total: starting + ready, starting, idle, busy, draining },
      currentTarget: d && d.leader === this.node.id ? d.total : Math.max(target, 0),
      utilization: ready > 0 ? Math.min(1, busy / ready) : 0,
      waitMs: waitCount > 0 ? { p50: waitP50 / waitCount, p95: waitP95, p99: waitP99, count: waitCount } : local.waitMs,
      runMs: runCount > 0 ? { p50: runP50 / runCount, p95: runP95, p99: runP99, mean: runMean / runCount, count: runCount } : local.runMs,
      completionsTotal: Object.values(comp).reduce((a, b) => a + b, 0),
      failuresTotal: Object.values(fail).reduce((a, b) => a + b, 0),
      maxIdleMs,
      ...(startupMs > 0 ? { startupMs } : {}),
    };
  }

  /** The total the decision moves from: the leader's last decision, else what the nodes run. */
  currentTotal(pool: Pool): number {
    const d = this.node.desired(pool.name);
    if (d && d.leader === this.node.id) return d.total;
    const recs = this.lastRecords.get(pool.name) ?? [];
    return recs.reduce((sum, r) => sum + (r.pools.find((p) => p.name === pool.name)?.target ?? 0), 0);
  }

  async apply(pool: Pool, total: number, reason: string, bounds: { minWorkers: number; maxWorkers: number }): Promise<void> {
    const recs = this.lastRecords.get(pool.name) ?? this.node.withSelf();
    const nodes = recs
      .map((r) => ({ id: r.id, p: r.pools.find((x) => x.name === pool.name) }))
      .filter((x): x is { id: string; p: NodePoolRecord } => !!x.p)
      .map(({ id, p }) => ({ id, cap: p.cap, current: Math.max(p.target, p.current) }));
    const shares = splitTotal(total, nodes);
    const previous = this.node.desired(pool.name);
    const same = previous && previous.leader === this.node.id && previous.total === total && previous.max === bounds.maxWorkers && previous.min === bounds.minWorkers &&
      Object.keys(shares).length === Object.keys(previous.shares).length && Object.entries(shares).every(([k, v]) => previous.shares[k] === v);
    if (same) return;
    await this.node.decide(pool.name, { pool: pool.name, total, shares, min: bounds.minWorkers, max: bounds.maxWorkers, reason });
  }
}
