// What every route shares: the runtime, clock, metrics, the wait registry and
// tenant rules. Built once per server in app.ts.
import type { FastifyRequest } from 'fastify';
import type { Clock, Task } from '../core/index.ts';
import { TidepoolError } from '../core/index.ts';
import type { ServerMetrics } from './metrics.ts';
import type { ServerRuntime } from './types.ts';
import type { TaskWaiter } from './waiter.ts';
import type { LiveFeed } from './live-feed.ts';

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
  /** True when API keys are configured: tenants see only their own tasks. */
  readonly isMultiTenant: boolean;
  isDraining = false;

  constructor(fields: { runtime: ServerRuntime; clock: Clock; metrics: ServerMetrics; waiter: TaskWaiter; feed: LiveFeed; isMultiTenant: boolean }) {
    this.runtime = fields.runtime;
    this.clock = fields.clock;
    this.metrics = fields.metrics;
    this.waiter = fields.waiter;
    this.feed = fields.feed;
    this.isMultiTenant = fields.isMultiTenant;
  }

  maySee(req: FastifyRequest, task: Task): boolean {
    return !this.isMultiTenant || task.tenant === req.tenant;
  }

  refuseWhileDraining(): void {
    if (this.isDraining) throw new TidepoolError('ShuttingDown', 'the server is draining and takes no new tasks; submit to another instance or retry after restart');
  }
}
