// What the Redis store says about the server's persistence (no server needed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { durabilityWarning } from '../../src/store/redis/durability.ts';

test('the persistence check warns unless appendonly yes with appendfsync always, and says what to set', () => {
  const where = 'redis://h:6379/0';
  assert.equal(durabilityWarning({ appendonly: 'yes', appendfsync: 'always', save: '' }, where), null);
  assert.match(durabilityWarning({ appendonly: 'no', appendfsync: 'everysec', save: '' }, where)!, /no persistence at all .*lost when Redis restarts; for no loss set `appendonly yes` and `appendfsync always`/);
  assert.match(durabilityWarning({ appendonly: 'no', appendfsync: 'everysec', save: '3600 1' }, where)!, /only RDB snapshots \(save "3600 1"\)/);
  assert.match(durabilityWarning({ appendonly: 'yes', appendfsync: 'everysec', save: '' }, where)!, /up to about 1 s of acknowledged tasks/);
  assert.match(durabilityWarning({ appendonly: 'yes', appendfsync: 'no', save: '' }, where)!, /the OS decides/);
  assert.match(durabilityWarning({ appendonly: null, appendfsync: null, save: null }, where)!, /could not read appendonly/);
});
