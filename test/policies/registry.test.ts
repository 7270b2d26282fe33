// The registry resolves names, presets and options, and explains every bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigInvalidError } from '../../src/core/index.ts';
import { listPolicies, makeObservation, resolvePolicy, type ResolveInput } from '../../src/policies/index.ts';

function problemsOf(input: ResolveInput): string[] {
  try {
    resolvePolicy(input);
  } catch (err) {
    assert.ok(err instanceof ConfigInvalidError, `expected ConfigInvalidError, got ${String(err)}`);
    return err.problems;
  }
  assert.fail(`resolvePolicy(${JSON.stringify(input)}) did not throw`);
}

test('an unknown policy name lists the known policies', () => {
  assert.deepEqual(problemsOf({ name: 'treshold' }), [
    'policy "treshold" is unknown; known policies: threshold, queue-latency, ratio, percent, hpa, keda, kpa, target-tracking, queue-time, adaptive, fixed:N',
  ]);
});

test('an unknown preset lists the policy\'s presets', () => {
  assert.deepEqual(problemsOf({ name: 'threshold', preset: 'fast' }), [
    'preset "fast" is unknown for policy "threshold"; known presets: conservative, aggressive, cost-optimized, production',
  ]);
});

test('a bad option names the field, the value and the allowed range, and every problem is reported at once', () => {
  assert.deepEqual(
    problemsOf({ name: 'threshold', overrides: { scaleUpStep: 0, maxUtilization: 1.5, scaleUpCooldownMs: 'soon', scaleUpStpe: 3 } }),
    [
      'maxUtilization: got 1.5; expected a number from 0 to 1 (fraction)',
      'scaleUpStep: got 0; expected an integer from 1 to 100000 (workers)',
      'scaleUpCooldownMs: got "soon"; expected an integer from 0 to 86400000 (ms)',
      'scaleUpStpe: unknown option for policy "threshold"; known options: minWorkers, maxWorkers, maxQueueDepth, maxUtilization, minIdleWorkers, scaleUpThreshold, minQueueDepth, minUtilization, maxIdleTimeMs, scaleDownThreshold, scaleUpStep, scaleDownStep, scaleUpCooldownMs, scaleDownCooldownMs, evaluationIntervalMs',
    ],
  );
});

test('problems carry the caller\'s path prefix', () => {
  assert.deepEqual(problemsOf({ name: 'threshold', overrides: { scaleUpStep: 2.5 }, path: 'pools[1].policyOptions' }), [
    'pools[1].policyOptions.scaleUpStep: got 2.5; expected an integer from 1 to 100000 (workers)',
  ]);
});

test('a fractional worker bound is refused, once even when it breaks two rules', () => {
  assert.deepEqual(problemsOf({ name: 'threshold', minWorkers: -1.5 }), [
    'minWorkers: got -1.5; expected an integer from 0 to 100000 (workers)',
  ]);
  assert.deepEqual(problemsOf({ name: 'threshold', minWorkers: 1.5 }), [
    'minWorkers: got 1.5; expected an integer from 0 to 100000 (workers)',
  ]);
});

test('minWorkers above maxWorkers is refused naming both', () => {
  assert.deepEqual(problemsOf({ name: 'threshold', minWorkers: 30 }), [
    'maxWorkers: got 20; expected an integer >= minWorkers (30)',
  ]);
});

test('a down-threshold above its up-threshold is refused', () => {
  assert.deepEqual(problemsOf({ name: 'threshold', overrides: { minUtilization: 0.9 } }), [
    'minUtilization: got 0.9; expected at most maxUtilization (0.8)',
  ]);
});

test('defaults < preset < overrides < explicit bounds', () => {
  const { config, preset } = resolvePolicy({
    name: 'threshold',
    preset: 'production',
    overrides: { scaleUpStep: 7, minWorkers: 6 },
    maxWorkers: 40,
  });
  assert.equal(preset, 'production');
  assert.equal(config.maxQueueDepth, 100, 'from the preset');
  assert.equal(config.scaleUpStep, 7, 'override beats preset');
  assert.equal(config.minWorkers, 6, 'override beats preset');
  assert.equal(config.maxWorkers, 40, 'explicit bound beats preset');
  assert.equal(config.scaleDownThreshold, 5, 'default where nobody said otherwise');
});

test('an option given as undefined counts as not given, and NaN, Infinity, strings and null are refused', () => {
  assert.equal(resolvePolicy({ name: 'threshold', overrides: { scaleUpStep: undefined } }).config.scaleUpStep, 2);
  assert.deepEqual(problemsOf({ name: 'threshold', overrides: { scaleUpStep: NaN, maxQueueDepth: Infinity, scaleDownStep: '3', minIdleWorkers: null } }), [
    'minIdleWorkers: got null; expected an integer from 0 to 100000 (workers)',
    'scaleUpStep: got NaN; expected an integer from 1 to 100000 (workers)',
    'scaleDownStep: got "3"; expected an integer from 1 to 100000 (workers)',
    'maxQueueDepth: got Infinity; expected an integer from 0 to 1000000000 (tasks)',
  ].sort((a, b) => order(a) - order(b)));
  assert.deepEqual(problemsOf({ name: 'threshold', overrides: [1] as never }), ['policy options must be an object of named numbers']);
});

function order(problem: string): number {
  return Object.keys(resolvePolicy({ name: 'threshold' }).config).indexOf(problem.split(':')[0]);
}

test('the default preset applies when none is named', () => {
  const { config, preset } = resolvePolicy({ name: 'threshold' });
  assert.equal(preset, 'conservative');
  assert.equal(config.minWorkers, 2);
  assert.equal(config.maxWorkers, 20);
  assert.equal(config.scaleUpCooldownMs, 120_000);
});

test('fixed:N always wants N workers and ignores --min and --max', () => {
  const { definition, config } = resolvePolicy({ name: 'fixed:37', minWorkers: 1, maxWorkers: 1000 });
  assert.equal(config.minWorkers, 37);
  assert.equal(config.maxWorkers, 37);
  const state = definition.initialState(config);
  for (const current of [37, 0, 50]) {
    const d = definition.decide(makeObservation({ currentTarget: current, queueDepth: 500 }), config, state, 0);
    assert.equal(d.target, 37);
    assert.equal(d.action, current === 37 ? 'none' : current < 37 ? 'scale_up' : 'scale_down');
  }
});

test('fixed without a count, or with a bad one, says what it needs', () => {
  assert.deepEqual(problemsOf({ name: 'fixed' }), ['policy "fixed" needs a worker count: fixed:N, e.g. fixed:4']);
  assert.deepEqual(problemsOf({ name: 'fixed:-1' }), [
    'policy "fixed:-1": the worker count after "fixed:" must be an integer from 0 to 100000',
  ]);
  assert.deepEqual(problemsOf({ name: 'fixed:2', overrides: { workers: 3 } }), [
    'workers: unknown option for policy "fixed:2"; fixed:N takes no options (N is in its name)',
  ]);
});

test('listPolicies describes every policy with its presets and options', () => {
  const list = listPolicies();
  const names = list.map((p) => p.name);
  assert.equal(names[0], 'threshold');
  assert.equal(names.at(-1), 'fixed:N');
  const threshold = list[0];
  assert.equal(threshold.defaultPreset, 'conservative');
  assert.deepEqual(threshold.knobs.scaleUpCooldownMs, {
    kind: 'int', unit: 'ms', default: 120_000, min: 0, max: 86_400_000, doc: 'Least time between two scale-ups.',
  });
  for (const p of list) {
    for (const [name, knob] of Object.entries(p.knobs)) {
      assert.ok(knob.min <= knob.default && knob.default <= knob.max, `${p.name}.${name} default within its range`);
      assert.ok(knob.doc.length > 10, `${p.name}.${name} has a doc sentence`);
    }
  }
});
