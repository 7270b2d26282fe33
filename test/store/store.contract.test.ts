// The store contract against every adapter in test/store/adapters.ts. A server adapter whose
// server does not answer is skipped with a message (and fails under CI=true).
import { STORE_ADAPTERS } from './adapters.ts';
import { runStoreContract } from './store.contract.ts';
import { serverSkip } from './servers.ts';

for (const adapter of STORE_ADAPTERS) {
  const unavailable = adapter.probe ? await serverSkip(adapter.server ?? adapter.name, adapter.probe) : false;
  runStoreContract(adapter, unavailable);
}
