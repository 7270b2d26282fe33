// What every route shares: the runtime, clock, metrics, the wait registry and
// tenant rules. Built once per server in app.ts.
import type { FastifyRequest } from 'fastify';
import type { Clock, Task } from '../core/index.ts';
import { TidepoolError } from '../core/index.ts';
import type { ServerMetrics } from './metrics.ts';
import type { ServerRuntime } from './types.ts';
import type { TaskWaiter } from './waiter.ts';
import type { LiveFeed } from './live-feed.ts';
import type { ServerFaults } from './store-watch.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The tenant the request's key belongs to (`default` without keys). */
    tenant: string;
  }
}

export class ServerContext {
  readonly runtime: ServerRuntime;
  readonly clock: Clock;
  readonly metrics: ServerMetrics;
  readonly waiter: TaskWaiter;
  readonly feed: LiveFeed;
  /** Server-level faults (store refusing writes, event loop stalled) /health answers 503 for. */
  readonly faults: ServerFaults;
  /** True when API keys are configured: tenants see only their own tasks. */
  readonly isMultiTenant: boolean;
  /** Tenants that may change pools; empty: every tenant may (see requirePoolAdmin). */
  readonly adminTenants: readonly string[];
  isDraining = false;

  constructor(fields: { runtime: ServerRuntime; clock: Clock; metrics: ServerMetrics; waiter: TaskWaiter; feed: LiveFeed; faults: ServerFaults; isMultiTenant: boolean; adminTenants?: readonly string[] }) {
    this.runtime = fields.runtime;
    this.clock = fields.clock;
    this.metrics = fields.metrics;
    this.waiter = fields.waiter;
    this.feed = fields.feed;
    this.faults = fields.faults;
    this.isMultiTenant = fields.isMultiTenant;
    this.adminTenants = [...(fields.adminTenants ?? [])];
  }

  /**
   * Pool changes (bounds, policy, manual scale) are for admin tenants once
   * server.adminTenants is set. Without API keys (one `default` tenant) or with the
   * list empty, every tenant may change pools, as before.
   */
  requirePoolAdmin(req: FastifyRequest): void {
    if (!this.isMultiTenant || this.adminTenants.length === 0 || this.adminTenants.includes(req.tenant)) return;
    throw new TidepoolError('Forbidden', `tenant ${JSON.stringify(req.tenant)} may not change pools; admin tenants: ${this.adminTenants.join(', ')}`);
  }

  maySee(req: FastifyRequest, task: Task): boolean {
    return !this.isMultiTenant || task.tenant === req.tenant;
  }

  refuseWhileDraining(): void {
    if (this.isDraining) throw new TidepoolError('ShuttingDown', 'the server is draining and takes no new tasks; submit to another instance or retry after restart');
  }
}
