// Adapts in-process pools and the autoscaler to what the server needs
// (ServerRuntime): pool status from the autoscaler, runtime policy and bound
// changes that validate before they apply, manual scaling logged as an event.
import { ConfigInvalidError, InvalidInputError } from '../core/index.ts';
import type { PoolStats } from '../core/index.ts';
import type { Autoscaler } from '../autoscaler/index.ts';
import { bindPolicy, boundsAfterChange } from '../autoscaler/index.ts';
import { RemotePool, type Pool } from '../pools/index.ts';
import type { Store } from '../store/index.ts';
import type { ClusterNode } from '../cluster/index.ts';
import type { PoolChange, PoolControl, ServerRuntime } from './types.ts';

export interface AutoscaledRuntimeInput {
  store: Store;
  pools: readonly Pool[];
  autoscaler: Autoscaler;
  /** This process's node, when it runs as one of a cluster. */
  cluster?: ClusterNode | null;
}

export function autoscaledRuntime(input: AutoscaledRuntimeInput): ServerRuntime {
  const { store, autoscaler } = input;
  const cluster = input.cluster ?? null;
  const controls: PoolControl[] = input.pools.map((pool) => poolControl(pool, autoscaler, cluster));
  return {
    store,
    cluster,
    pools: () => controls,
    remotePools: () => input.pools.filter((p) => p instanceof RemotePool) as unknown as RemotePool[],
    async drain(timeoutMs: number) {
      await autoscaler.stop();
      // A leader hands over before its pools drain (another node takes the lead at once).
      await cluster?.stop();
      await Promise.all(input.pools.map((p) => p.close(timeoutMs)));
    },
  };
}

function poolControl(pool: Pool, autoscaler: Autoscaler, cluster: ClusterNode | null): PoolControl {
  const name = pool.name;
  return {
    name,
    stats(): PoolStats {
      // The bounds the autoscaler keeps (in a cluster: of the pool's total over every node).
      const b = autoscaler.bounds(name);
      return { ...pool.stats(), status: autoscaler.control(name).status, minWorkers: b.minWorkers, maxWorkers: b.maxWorkers };
    },
    workers: () => pool.workers(),
    policy() {
      const c = autoscaler.control(name);
      return { name: c.policy, preset: c.preset };
    },
    async update(change: PoolChange) {
      const current = autoscaler.control(name);
      const now = autoscaler.bounds(name);
      const bounds = boundsAfterChange({ policy: current.policy, minWorkers: now.minWorkers, maxWorkers: now.maxWorkers }, change);
      if ('problem' in bounds) throw new InvalidInputError(`body.${bounds.field}: ${bounds.problem}`);
      const min = bounds.minWorkers;
      const max = bounds.maxWorkers;
      const choice = change.policy !== undefined ? { name: change.policy, ...(change.preset !== undefined ? { preset: change.preset } : {}) } : null;
      // Check the new policy against the new bounds before changing anything.
      if (choice) {
        try {
          bindPolicy(choice, min, max);
        } catch (err) {
          throw new InvalidInputError(`body.${change.preset !== undefined && /preset/i.test(messageOf(err)) ? 'preset' : 'policy'}: ${messageOf(err)}`, { cause: err });
        }
      } else if (change.preset !== undefined) {
        throw new InvalidInputError(`body.preset: got ${JSON.stringify(change.preset)} without a policy; give policy too (the pool runs ${current.policy})`);
      }
      if (change.min !== undefined || change.max !== undefined || min !== now.minWorkers || max !== now.maxWorkers) await autoscaler.setBounds(name, min, max);
      if (choice) await autoscaler.setPolicy(name, choice);
      // Every other node applies the same change (the leader decides with it at once).
      await cluster?.sharePoolConfig(name, { min, max, ...(choice ? { policy: choice.name, ...(choice.preset !== undefined ? { preset: choice.preset } : {}) } : {}) });
    },
    async scaleTo(count: number) {
      // The total is the leader's: a follower passes the count on to it.
      if (cluster && !cluster.isLeader) await cluster.sharePoolConfig(name, { scaleTo: count });
      else await autoscaler.scaleByHand(name, count);
    },
  };
}

function messageOf(err: unknown): string {
  if (err instanceof ConfigInvalidError) return err.problems.join('; ');
  return err instanceof Error ? err.message : String(err);
}
