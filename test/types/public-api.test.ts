// Compile-time checks of the public API's promises (run by `npm run typecheck`), plus a
// run-time check that the package root exports what the README documents.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tidepool from '../../src/index.ts';
import type { Handler, TaskContext, TaskStatus, WorkerStatus, PoolStatus, Decision, Observation } from '../../src/index.ts';

type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const assertType = <T extends true>(_value?: T) => undefined;

// The status names are a contract.
assertType<Equals<TaskStatus, 'queued' | 'running' | 'retrying' | 'succeeded' | 'dead' | 'cancelled'>>();
assertType<Equals<WorkerStatus, 'starting' | 'idle' | 'busy' | 'draining' | 'failed'>>();
assertType<Equals<PoolStatus, 'active' | 'scaling_up' | 'scaling_down'>>();

// A handler gets at least {id, attempt, signal}.
const handler: Handler = async (payload: { prompt: string }, ctx: TaskContext) => {
  const id: string = ctx.id;
  const attempt: number = ctx.attempt;
  const signal: AbortSignal = ctx.signal;
  return { echoed: payload.prompt, id, attempt, aborted: signal.aborted };
};

// A policy decision carries action, target, code, reason and the next state.
type D = Decision<{ n: number }>;
assertType<Equals<D['action'], 'scale_up' | 'scale_down' | 'none'>>();
const observationHasDepth: Observation['queueDepth'] = 0;

test('the package root exports the factory, the stores, the policies registry and the simulator', () => {
  for (const name of ['createTidepool', 'openStore', 'resolvePolicy', 'listPolicies', 'clampDecision', 'InProcessPool', 'Autoscaler', 'simulate', 'parseTrace', 'VirtualClock', 'QueueFullError', 'LeaseLostError']) {
    assert.equal(typeof (tidepool as Record<string, unknown>)[name], 'function', `${name} is exported`);
  }
  assert.equal(typeof handler, 'function');
  assert.equal(observationHasDepth, 0);
});

test('every registered policy name resolves through the public registry', () => {
  const names = tidepool.listPolicies().map((p: { name: string }) => p.name);
  for (const name of ['threshold', 'queue-latency', 'ratio', 'percent', 'hpa', 'keda', 'adaptive']) assert.ok(names.includes(name), `${name} is registered`);
});
