// A pool of `inline` workers built from a handler map: the pool with the inline driver
// (drivers/inline.ts). Tests and library users who never pick a kind use this.
import { systemClock } from '../core/index.ts';
import { InlineDriver } from './drivers/inline.ts';
import { WorkerPool, type WorkerPoolOptions } from './pool.ts';
import type { HandlerMap } from './types.ts';

export interface InProcessPoolOptions extends Omit<WorkerPoolOptions, 'driver'> {
  /** One handler per type; every type the pool serves needs one. */
  handlers: HandlerMap;
  /** Time a new worker spends in `starting` before it takes tasks, ms (default 0). */
  startupMs?: number;
}

export class InProcessPool extends WorkerPool {
  constructor(options: InProcessPoolOptions) {
    const self: { pool: WorkerPool | null } = { pool: null };
    const { handlers, startupMs, ...rest } = options;
    const driver = new InlineDriver({
      handlers,
      clock: options.clock ?? systemClock,
      startupMs,
      report: (error, doing) => (self.pool ? self.pool.report(error, doing) : console.error(`tidepool: ${doing}:`, error)),
    });
    super({ ...rest, driver });
    self.pool = this;
  }
}
