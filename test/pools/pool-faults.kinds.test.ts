// Runs the pool fault contract on every driver kind this build has.
import { join } from 'node:path';
import { InProcessPool, ThreadDriver, WorkerPool } from '../../src/pools/index.ts';
import { runPoolFaultContract } from './pool-faults.contract.ts';
import handlers from './fixtures/contract-handlers.ts';

const MODULE = join(import.meta.dirname, 'fixtures/contract-handlers.ts');

runPoolFaultContract({ name: 'inline', capabilities: [], make: (o) => new InProcessPool({ ...o, handlers }) });
runPoolFaultContract({
  name: 'thread',
  capabilities: ['kill', 'crash'],
  make: (o) => new WorkerPool({ ...o, driver: new ThreadDriver({ module: MODULE, types: o.types, clock: o.clock! }) }),
});
