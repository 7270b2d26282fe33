// Compile-time checks of the policies room's public types (tsc runs them in `npm test`),
// plus one runtime test so the file reports. A change that breaks a promise below no
// longer compiles.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  clampDecision,
  makeObservation,
  resolvePolicy,
  type ClampLimits,
  type Decision,
  type Knob,
  type Observation,
  type PolicyInfo,
  type ResolvedPolicy,
  type ScaleAction,
} from '../../src/policies/index.ts';

type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<T extends true>(_: T): void {}

// The action names are a contract (event log, HTTP, dashboard).
expectType<Equals<ScaleAction, 'scale_up' | 'scale_down' | 'none'>>(true);
// A decision carries exactly these fields.
expectType<Equals<keyof Decision<unknown>, 'action' | 'target' | 'code' | 'reason' | 'state'>>(true);
// Bounds are part of every resolved config; knobs are numbers with unit and range.
expectType<Equals<ResolvedPolicy['config']['minWorkers'], number>>(true);
expectType<Equals<keyof Knob, 'kind' | 'unit' | 'default' | 'min' | 'max' | 'doc'>>(true);
expectType<Equals<PolicyInfo['knobs'], Record<string, Knob>>>(true);
// The clamp takes named limits.
expectType<Equals<keyof ClampLimits, 'minWorkers' | 'maxWorkers' | 'maxStepUp' | 'maxStepDown' | 'stepUpSource' | 'stepDownSource'>>(true);

function verb(action: ScaleAction): string {
  switch (action) {
    case 'scale_up':
      return 'add';
    case 'scale_down':
      return 'remove';
    case 'none':
      return 'keep';
    default: {
      const missing: never = action;
      return missing;
    }
  }
}

test('the public types hold at run time too: resolve, decide, clamp', () => {
  const { definition, config } = resolvePolicy({ name: 'ratio' });
  const obs: Observation = makeObservation({ currentTarget: 10, queueDepth: 40 });
  const d: Decision<unknown> = clampDecision(definition.decide(obs, config, definition.initialState(config), 0), 10, config);
  assert.equal(verb(d.action), 'add');
  assert.equal(d.target, 14);
});
