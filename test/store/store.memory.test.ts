// The store contract against the in-memory adapter.
import { openStore } from '../../src/store/index.ts';
import { runStoreContract } from './store.contract.ts';

runStoreContract({
  name: 'memory',
  capabilities: [],
  namespace: () => ({ open: (options) => openStore('memory', options) }),
});
