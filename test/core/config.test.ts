// Configuration: defaults < file < environment < flags, and messages that name the
// setting, its source, the value and what is allowed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigInvalidError, defaultConfig, poolsForTypes, renderConfigReference } from '../../src/core/index.ts';
import { loadConfig } from '../../src/cli/config-load.ts';
import { completeConfig } from '../../src/tidepool.ts';
import { scratchDir } from '../scratch-dir.ts';

const dir = scratchDir('tidepool-config-');
function file(name: string, body: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof body === 'string' ? body : JSON.stringify(body));
  return path;
}
function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigInvalidError, `expected ConfigInvalidError, got ${String(err)}`);
    return err.problems;
  }
  assert.fail('expected the configuration to be refused');
}

test('the defaults form a valid configuration with the documented values', () => {
  const { config } = loadConfig();
  assert.equal(config.store, 'sqlite:./tidepool.db');
  assert.equal(config.durability, 'full');
  assert.equal(config.retry.maxAttempts, 3);
  assert.equal(config.maxQueueDepth, 0);
  assert.equal(config.tenantConcurrency, 0);
  assert.equal(config.autoscaler.intervalMs, 1000);
  assert.deepEqual(config.pools, []);
  assert.deepEqual(config, defaultConfig());
});

test('file, environment and flags override in that order', () => {
  const path = file('order.json', { leaseMs: 5000, poolDefaults: { maxWorkers: 8 }, retry: { maxAttempts: 5 } });
  const { config, origins } = loadConfig({
    file: path,
    env: { MAX_WORKERS: '12', TIDEPOOL_LEASE_MS: '7s' },
    flags: { '--max': '20' },
  });
  assert.equal(config.leaseMs, 7000, 'env beats file (and takes 7s)');
  assert.equal(config.poolDefaults.maxWorkers, 20, 'flag beats env');
  assert.equal(config.retry.maxAttempts, 5, 'file beats default');
  assert.deepEqual(origins['poolDefaults.maxWorkers'], { label: '--max', source: 'flag' });
  assert.deepEqual(origins.leaseMs, { label: 'TIDEPOOL_LEASE_MS', source: 'environment' });
});

test("the seeds' environment variables set their settings", () => {
  const { config } = loadConfig({
    env: {
      MIN_WORKERS: '2',
      MAX_WORKERS: '12',
      TARGET_QUEUE_DEPTH: '40',
      TARGET_P95_LATENCY_MS: '1500',
      SCALE_UP_STEP: '3',
      SCALE_DOWN_STEP: '2',
      SCALE_DECISION_INTERVAL_MS: '2500',
      MAX_RETRIES: '4',
      RETRY_BASE_MS: '400',
      RETRY_JITTER_PCT: '20',
      PER_TENANT_MAX_CONCURRENCY: '3',
      AUTOSCALE_EVALUATION_INTERVAL: '30s',
      AUTOSCALE_ENABLED: 'false',
      WORKER_SHUTDOWN_TIMEOUT_S: '30',
    },
  });
  assert.deepEqual([config.poolDefaults.minWorkers, config.poolDefaults.maxWorkers], [2, 12]);
  assert.deepEqual(config.poolDefaults.policyOptions, { targetQueueDepth: 40, targetP95Ms: 1500, scaleUpStep: 3, scaleDownStep: 2, decisionIntervalMs: 2500 });
  assert.equal(config.retry.maxAttempts, 5, 'MAX_RETRIES counts retries after the first attempt');
  assert.deepEqual([config.retry.baseMs, config.retry.jitter], [400, 0.2], 'RETRY_JITTER_PCT is a percent: 20 is the fraction 0.2');
  assert.equal(config.tenantConcurrency, 3);
  assert.equal(config.autoscaler.intervalMs, 30_000);
  assert.equal(config.autoscaler.enabled, false);
  assert.equal(config.poolDefaults.shutdownTimeoutMs, 30_000);
});

test('a policy knob from the environment applies only to pools whose policy has it', () => {
  const path = file('knobs.json', { pools: [{ types: ['a'], policy: 'threshold' }, { types: ['b'], policy: 'queue-latency' }] });
  const { config } = loadConfig({ file: path, env: { AUTOSCALE_MAX_UTILIZATION: '0.75', TARGET_QUEUE_DEPTH: '9' } });
  assert.deepEqual(config.pools[0]!.policyOptions, { maxUtilization: 0.75 });
  assert.deepEqual(config.pools[1]!.policyOptions, { targetQueueDepth: 9 });
  const { config: every } = loadConfig({ file: path, env: { AUTOSCALE_EVALUATION_INTERVAL: '10s' } });
  assert.equal(every.autoscaler.intervalMs, 10_000);
  assert.deepEqual(every.pools[0]!.policyOptions, { evaluationIntervalMs: 10_000 }, "threshold's own interval follows the seed's variable");
});

test('a bad value in the file is named with its path, the file, the value and what is allowed', () => {
  const path = file('tidepool.json', {
    pools: [
      { types: ['a'], minWorkers: 1, maxWorkers: 4 },
      { types: ['b'], minWorkers: 2, maxWorkers: 1 },
    ],
    retry: { jitter: 2 },
    durability: 'sometimes',
    leaseMs: 'soon',
    colour: 'blue',
  });
  const problems = problemsOf(() => loadConfig({ file: path }));
  assert.match(problems.find((p) => p.startsWith('colour'))!, /^colour \(tidepool\.json\): unknown setting; known settings here: store, durability, leaseMs, .*poolDefaults, pools, schedules$/);
  assert.deepEqual(problems.filter((p) => !p.startsWith('colour')).sort(), [
    'durability (tidepool.json): got "sometimes"; expected one of full, normal',
    'leaseMs (tidepool.json): got "soon"; expected a duration in ms (an integer, or 500ms/30s/2m/1h) in [100, 86400000]',
    'retry.jitter (tidepool.json): got 2; expected a number in [0, 1]',
  ].sort());
});

test('a maxWorkers below its minWorkers in the file is named with the pool index and the minimum', () => {
  const path = file('tidepool.json', { pools: [{ types: ['a'] }, { types: ['b'], minWorkers: 2, maxWorkers: 1 }] });
  assert.deepEqual(problemsOf(() => loadConfig({ file: path })), ['pools[1].maxWorkers (tidepool.json): got 1; expected an integer >= minWorkers (2)']);
  const zero = file('zero.json', { pools: [{ types: ['a'] }, { types: ['b'], maxWorkers: 0 }] });
  assert.deepEqual(problemsOf(() => loadConfig({ file: zero })), ['pools[1].maxWorkers (zero.json): got 0; expected an integer in [1, 100000]']);
});

test('a bad environment value is named with the variable, the value and what is allowed', () => {
  const problems = problemsOf(() => loadConfig({ env: { MAX_WORKERS: 'abc', RETRY_JITTER_PCT: '150', TIDEPOOL_DURABILITY: 'fast', MAX_RETRIES: '-1', TARGET_QUEUE_DEPTH: 'x' } }));
  assert.deepEqual(problems.sort(), [
    'MAX_RETRIES (environment): got "-1"; expected an integer in [0, 999]',
    'MAX_WORKERS (environment): got "abc"; expected an integer in [1, 100000]',
    'RETRY_JITTER_PCT (environment): got "150"; expected a number in [0, 100]',
    'TARGET_QUEUE_DEPTH (environment): got "x"; expected an integer >= 0',
    'TIDEPOOL_DURABILITY (environment): got "fast"; expected one of full, normal',
  ].sort());
});

test('a bad flag value is named with the flag, the value and what is allowed', () => {
  assert.deepEqual(problemsOf(() => loadConfig({ flags: { '--max': '-3', '--interval-ms': '5' } })).sort(), [
    '--interval-ms (flag): got "5"; expected a duration in ms (an integer, or 500ms/30s/2m/1h) in [10, 3600000]',
    '--max (flag): got "-3"; expected an integer in [1, 100000]',
  ]);
  assert.deepEqual(problemsOf(() => loadConfig({ env: { MIN_WORKERS: '5' }, flags: { '--max': '2' } })), ['--max (flag): got 2; expected an integer >= minWorkers (5)']);
});

test('a bad policy knob in the file is named with its pool, the file and the range', () => {
  const path = file('knob.json', { pools: [{ types: ['a'], policy: 'threshold', policyOptions: { scaleUpStep: 0 } }] });
  const problems = problemsOf(() => loadConfig({ file: path }));
  assert.equal(problems.length, 1);
  assert.match(problems[0]!, /^pools\[0\]\.policyOptions\.scaleUpStep \(knob\.json\): got 0; expected an integer from 1 to 100000/);
});

test('an unknown policy or store is refused with the known choices', () => {
  const problems = problemsOf(() => loadConfig({ flags: { '--policy': 'treshold', '--store': 'mongo://x' } }));
  assert.equal(problems.length, 2);
  assert.match(problems.find((p) => p.startsWith('--policy'))!, /^--policy \(flag\): policy "treshold" is unknown; known policies: threshold, queue-latency/);
  assert.match(problems.find((p) => p.startsWith('--store'))!, /^--store \(flag\): got "mongo:\/\/x"; unknown store kind; supported: memory, sqlite:PATH/);
});

test('a config file that is not JSON is refused with its path', () => {
  const path = file('broken.json', '{ "leaseMs": ');
  assert.match(problemsOf(() => loadConfig({ file: path }))[0]!, /^config file .*broken\.json: not valid JSON/);
});

test('handler types no pool lists get a pool of their own named after them', () => {
  const path = file('pools.json', { poolDefaults: { maxWorkers: 6 }, pools: [{ name: 'llm', types: ['chat', 'embed'], maxWorkers: 20 }] });
  const { config } = loadConfig({ file: path });
  const pools = poolsForTypes(config, ['chat', 'embed', 'resize']);
  assert.deepEqual(pools.map((p) => [p.name, p.types, p.maxWorkers]), [
    ['llm', ['chat', 'embed'], 20],
    ['resize', ['resize'], 6],
  ]);
});

test('docs/configuration.md lists every option as the option table says (regenerate with TIDEPOOL_WRITE_DOCS=1)', () => {
  const docPath = new URL('../../docs/configuration.md', import.meta.url);
  const begin = '<!-- options:begin (generated from src/core/config.ts) -->';
  const end = '<!-- options:end -->';
  const doc = readFileSync(docPath, 'utf8');
  const i = doc.indexOf(begin);
  const j = doc.indexOf(end);
  assert.ok(i >= 0 && j > i, 'the doc has the generated block markers');
  const expected = `${begin}\n${renderConfigReference()}\n${end}`;
  if (process.env.TIDEPOOL_WRITE_DOCS) writeFileSync(docPath, doc.slice(0, i) + expected + doc.slice(j + end.length));
  else assert.equal(doc.slice(i, j + end.length), expected, 'docs/configuration.md is out of step: run TIDEPOOL_WRITE_DOCS=1 node --test test/core/config.test.ts');
});

test('a policy knob error is reported in the same run as the other config errors', () => {
  const path = file('mixed.json', {
    leaseMs: 'soon',
    pools: [{ types: ['a'], maxWorkers: 0, policy: 'threshold', policyOptions: { bogus: 1, scaleUpStep: -4 } }, { types: ['b'], policy: 'ratio', preset: 'fast' }],
  });
  const problems = problemsOf(() => loadConfig({ file: path, env: { MAX_WORKERS: 'abc' } }));
  assert.deepEqual(problems.map((p) => p.split(':')[0]).sort(), [
    'MAX_WORKERS (environment)',
    'leaseMs (mixed.json)',
    'pools[0].maxWorkers (mixed.json)',
    'pools[0].policyOptions.bogus (mixed.json)',
    'pools[0].policyOptions.scaleUpStep (mixed.json)',
    'pools[1].preset (mixed.json)',
  ]);
  assert.ok(problems.includes('pools[1].preset (mixed.json): preset "fast" is unknown for policy "ratio"; known presets: harness, koubou'), problems.join('\n'));
  const lib = problemsOf(() => completeConfig({ pools: [{ types: ['a'], maxWorkers: 0, policy: 'threshold', policyOptions: { bogus: 1 } }] } as never));
  assert.deepEqual(lib.map((p) => p.split(':')[0]), ['pools[0].maxWorkers (createTidepool config)', 'pools[0].policyOptions.bogus (createTidepool config)']);
});

test('fixed:N with a bound is refused naming fixed:N, in a library config, a file and flags', () => {
  const lib = problemsOf(() => completeConfig({ pools: [{ types: ['a'], policy: 'fixed:3', minWorkers: 0, maxWorkers: 5 }] }));
  assert.deepEqual(lib, [
    'pools[0].minWorkers (createTidepool config): got 0 with policy fixed:3: fixed:N pins the pool at N workers, so a bound other than 3 is refused; drop minWorkers, or choose another policy',
    'pools[0].maxWorkers (createTidepool config): got 5 with policy fixed:3: fixed:N pins the pool at N workers, so a bound other than 3 is refused; drop maxWorkers, or choose another policy',
  ]);
  assert.doesNotThrow(() => completeConfig({ pools: [{ types: ['a'], policy: 'fixed:3', minWorkers: 3, maxWorkers: 3 }] }), 'bounds that restate N are accepted');
  // Bounds from poolDefaults are for the pools that scale; a fixed pool does not inherit them.
  assert.doesNotThrow(() => completeConfig({ poolDefaults: { minWorkers: 1, maxWorkers: 8 }, pools: [{ types: ['a'], policy: 'fixed:3' }, { types: ['b'] }] }));
  const flags = problemsOf(() => loadConfig({ flags: { '--policy': 'fixed:4', '--max': '12' } }));
  assert.deepEqual(flags, ['--max (flag): got 12 with policy fixed:4: fixed:N pins the pool at N workers, so a bound other than 4 is refused; drop maxWorkers, or choose another policy']);
  const inFile = file('fixed.json', { pools: [{ types: ['a'], policy: 'fixed:2', maxWorkers: 4 }] });
  assert.match(problemsOf(() => loadConfig({ file: inFile })).join('\n'), /^pools\[0\]\.maxWorkers \(fixed\.json\): got 4 with policy fixed:2: fixed:N pins the pool/);
});
