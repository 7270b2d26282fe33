// The callbacks.* settings load from the file and the environment, and a short secret or
// a bad allowPrivateHosts entry is named with its source (the secret itself never shown).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigInvalidError } from '../../src/core/index.ts';
import { loadConfig } from '../../src/cli/config-load.ts';
import { tempDir } from '../store/helpers.ts';

const dir = tempDir('tidepool-callbacks-config-');

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigInvalidError) return err.problems;
    throw err;
  }
  assert.fail('expected a ConfigInvalidError');
}

test('callbacks settings come from the file and the environment, with their defaults', () => {
  const path = join(dir, 'ok.json');
  writeFileSync(path, JSON.stringify({ callbacks: { secret: 'file-secret-0123456789', maxAttempts: 4, allowPrivateHosts: ['localhost', '10.0.0.0/8'] } }));
  const { config } = loadConfig({ file: path, env: { TIDEPOOL_CALLBACK_SWEEP_INTERVAL_MS: '2s', TIDEPOOL_CALLBACK_ALLOW_PRIVATE_HOSTS: '127.0.0.1,::1' } });
  assert.deepEqual(config.callbacks, {
    secret: 'file-secret-0123456789',
    maxAttempts: 4,
    baseBackoffMs: 1000,
    maxBackoffMs: 300_000,
    timeoutMs: 10_000,
    sweepIntervalMs: 2000,
    allowPrivateHosts: ['127.0.0.1', '::1'],
  });
});

test('a short secret and a bad allowPrivateHosts entry are named with their source; the secret is not echoed', () => {
  const path = join(dir, 'bad.json');
  writeFileSync(path, JSON.stringify({ callbacks: { secret: 'short-s3cret', allowPrivateHosts: ['10.0.0.0/8', '10.0.0.0/40'] } }));
  const problems = problemsOf(() => loadConfig({ file: path }));
  assert.deepEqual(problems.sort(), [
    'callbacks.allowPrivateHosts[1] (bad.json): got "10.0.0.0/40"; expected a host name, an IP address or a CIDR range (10.0.0.0/8, fd00::/8)',
    'callbacks.secret (bad.json): got "(12 characters)"; expected a secret of at least 16 characters',
  ]);
  assert.ok(!problems.join('\n').includes('short-s3cret'));
});
