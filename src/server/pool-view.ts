// The fields every view of a pool shares (GET /v1/pools and the dashboard's live feed),
// derived from its stats in one place so the two never disagree; and the desired count
// external scalers read (the desired endpoint and its gauge share it).
import type { Health, PoolStats, PoolStatus, TaskCounts } from '../core/index.ts';
import type { PoolControl, ServerRuntime } from './types.ts';
import type { ClusterNode } from '../cluster/index.ts';

export interface PoolSummary {
  name: string;
  /** Worker kind (inline, thread, command, process, remote). */
  kind: string;
  /** Measured worker start-up, p95 over the window, ms. */
  startupMs: number;
  status: PoolStatus;
  /** Workers that exist: starting + idle + busy + draining. */
  current: number;
  target: number;
  min: number;
  max: number;
  policy: string;
  preset: string | null;
  queueDepth: number;
  busy: number;
  idle: number;
  starting: number;
  draining: number;
  completed: number;
  failed: number;
  throughputPerMin: number;
  health: Health;
  crashes: number;
  startFailures: number;
  respawns: number;
  recycles: number;
  stalls: number;
  respawnBackoffMs: number;
  /** Worker-time since the pool opened, s; starts; spend = worker-hours x pricePerWorkerHour + starts x pricePerStart (null for a pool that does not count them). */
  workerSeconds: number | null;
  starts: number | null;
  spend: number | null;
}

export function summarizePool(p: PoolControl): PoolSummary {
  const s = p.stats();
  const policy = p.policy();
  return {
    name: s.name,
    kind: s.kind,
    startupMs: s.startupMs,
    status: s.status,
    current: s.starting + s.idle + s.busy + s.draining,
    target: s.target,
    min: s.minWorkers,
    max: s.maxWorkers,
    policy: policy.name,
    preset: policy.preset,
    queueDepth: s.queueDepth,
    busy: s.busy,
    idle: s.idle,
    starting: s.starting,
    draining: s.draining,
    completed: s.completed,
    failed: s.failed,
    throughputPerMin: s.throughputPerMin,
    health: s.health,
    crashes: s.crashes,
    startFailures: s.startFailures,
    respawns: s.respawns,
    recycles: s.recycles,
    stalls: s.stalls,
    respawnBackoffMs: s.respawnBackoffMs,
    workerSeconds: s.workerSeconds ?? null,
    starts: s.starts ?? null,
    spend: s.spend ?? null,
  };
}

/**
 * What a pool publishes to external scalers (GET /v1/pools/{name}/desired and the gauge
 * tidepool_pool_desired_workers): the autoscaler's target, but at least 1 while tasks of
 * the pool's types run or wait in the store (queued, retrying or running, on any node).
 * A queue that keeps up shows no backlog and a policy may then want 0, yet its tasks need a
 * worker: a scaler that followed a 0 would stop them (the cold-start trap of KEDA users).
 * The counts are read at the call, not at the autoscaler's last tick.
 */
export function desiredWorkers(s: Pick<PoolStats, 'target' | 'busy' | 'maxWorkers' | 'types'>, counts: TaskCounts): number {
  const hasWork = s.busy > 0 || s.types.some((t) => {
    const c = counts.byType[t];
    return c !== undefined && (c.queued ?? 0) + (c.retrying ?? 0) + (c.running ?? 0) > 0;
  });
  return Math.min(s.maxWorkers, Math.max(s.target, hasWork ? 1 : 0));
}

/** The pool over every live node: workers, the leader's total, how many nodes run it. */
export function clusterFigures(cluster: ClusterNode, pool: string): { current: number; target: number; nodes: number; leader: string | null; busy: number } {
  // The records as of the last heartbeat (no store read per request): what the records say is a heartbeat old anyway.
  let current = 0;
  let nodes = 0;
  let targets = 0;
  let busy = 0;
  for (const r of cluster.withSelf()) {
    const p = r.pools.find((x) => x.name === pool);
    if (!p) continue;
    nodes++;
    current += p.current;
    busy += p.busy;
    targets += p.target;
  }
  const d = cluster.desired(pool);
  return { current, target: d ? d.total : targets, nodes, leader: d?.leader ?? null, busy };
}

/**
 * The desired count and current workers a pool publishes (the desired endpoint, the gauge):
 * over the cluster when this process is a node of one (the leader's total, every live
 * node's workers), so every node answers the same.
 */
export async function publishedDesired(runtime: ServerRuntime, p: PoolControl, counts: TaskCounts): Promise<{ desired: number; current: number }> {
  const s = p.stats();
  let current = s.starting + s.idle + s.busy + s.draining;
  let target = s.target;
  let busy = s.busy;
  if (runtime.cluster) {
    const c = clusterFigures(runtime.cluster, s.name);
    current = c.current;
    target = c.target;
    busy = c.busy;
  }
  return { desired: desiredWorkers({ target, busy, maxWorkers: s.maxWorkers, types: s.types }, counts), current };
}
