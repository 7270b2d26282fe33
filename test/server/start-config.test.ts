// The server section of the configuration as `tidepool start` reads it: defaults,
// a config file, environment and flags, and problems named with their source.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveStartConfig } from '../../src/cli/start.ts';
import type { ServerSection } from '../../src/cli/start.ts';
import { tempDir } from './helpers.ts';

test('out of the box the rate limit, the maximum queue depth and tenant limits are off, and maxAttempts is 3', () => {
  const config = resolveStartConfig({}, {});
  const server = config.server as ServerSection;
  assert.equal(server.port, 7700);
  assert.equal(server.host, '127.0.0.1');
  assert.equal(server.limits, 'off');
  assert.equal(server.rateLimitPerSec, 0);
  assert.equal(config.maxQueueDepth, 0);
  assert.equal(config.tenantConcurrency, 0);
  assert.equal(config.retry.maxAttempts, 3);
  assert.equal(config.store, 'sqlite:./tidepool.db');
  assert.ok(config.leaseMs <= 30_000, 'a killed server\'s tasks come back within 30 s');
});

test('the server section comes from the file, the environment and flags, the later winning', () => {
  const tmp = tempDir();
  try {
    const file = join(tmp.dir, 'tidepool.json');
    writeFileSync(file, JSON.stringify({ server: { port: 8100, limits: 'standard', retentionMs: '2h', bodyLimitBytes: 4096 } }));
    const config = resolveStartConfig({ config: file, port: '8300' }, { GLOBAL_QPS_LIMIT: '12.5', TIDEPOOL_PORT: '8200' });
    const server = config.server as ServerSection;
    assert.equal(server.port, 8300, 'the flag beats the environment and the file');
    assert.equal(server.limits, 'standard');
    assert.equal(server.retentionMs, 7_200_000);
    assert.equal(server.bodyLimitBytes, 4096);
    assert.equal(server.rateLimitPerSec, 12.5);
  } finally {
    tmp.remove();
  }
});

test('bad server settings are all reported at once, each naming its source, value and range', () => {
  const tmp = tempDir();
  try {
    const file = join(tmp.dir, 'tidepool.json');
    writeFileSync(file, JSON.stringify({ server: { bodyLimitBytes: 10 } }));
    assert.throws(
      () => resolveStartConfig({ config: file, limits: 'max' }, { TIDEPOOL_PORT: '70000' }),
      (err: Error & { problems: string[] }) => {
        const all = err.problems.join('\n');
        assert.match(all, /server\.bodyLimitBytes \(tidepool\.json\): got 10; expected an integer in \[1024, 1073741824\]/);
        assert.match(all, /TIDEPOOL_PORT \(environment\): got "70000"; expected an integer in \[0, 65535\]/);
        assert.match(all, /--limits \(flag\): got "max"; expected one of off, standard/);
        return true;
      },
    );
  } finally {
    tmp.remove();
  }
});
