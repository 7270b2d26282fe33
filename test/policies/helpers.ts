// Table helpers for policy tests: resolve a policy through the registry (the same way the
// autoscaler and the simulator do), then run rows or a sequence of checks in virtual time
// (just nowMs; nothing sleeps).

import assert from 'node:assert/strict';
import { makeObservation, resolvePolicy, type Decision, type ScaleAction } from '../../src/policies/index.ts';
import type { ObservationInput } from '../../src/policies/observation.ts';

export interface Expect {
  action: ScaleAction;
  target: number;
  code: string;
  /** Substrings the reason must contain (the numbers behind it). */
  reason?: string[];
}

export interface Row {
  name: string;
  obs: ObservationInput;
  preset?: string;
  config?: Record<string, number>;
  /** State fields to start from (merged over the initial state). */
  state?: Record<string, unknown>;
  nowMs?: number;
  expect: Expect;
  why: string;
}

export function checkDecision(d: Decision<unknown>, e: Expect, label: string): void {
  assert.deepEqual(
    { action: d.action, target: d.target, code: d.code },
    { action: e.action, target: e.target, code: e.code },
    `${label}: got ${d.action} -> ${d.target} (${d.code}): ${d.reason}`,
  );
  for (const part of e.reason ?? []) {
    assert.ok(d.reason.includes(part), `${label}: reason ${JSON.stringify(d.reason)} lacks ${JSON.stringify(part)}`);
  }
}

/** Runs one row: a single decision from a given state. */
export function runRow(policy: string, row: Row): Decision<unknown> {
  const { definition, config } = resolvePolicy({ name: policy, preset: row.preset, overrides: row.config });
  const state = { ...definition.initialState(config), ...row.state };
  const d = definition.decide(makeObservation(row.obs), config, state, row.nowMs ?? 0);
  checkDecision(d, row.expect, row.name);
  return d;
}

export interface Step {
  atMs: number;
  /** currentTarget defaults to the previous decision's target (the pool followed it). */
  obs: ObservationInput;
  expect: Expect;
}

/** Runs checks in order, carrying the policy's state and the pool's target between them. */
export function runSteps(
  policy: string,
  opts: { preset?: string; config?: Record<string, number>; start: number },
  steps: Step[],
): Decision<unknown>[] {
  const { definition, config } = resolvePolicy({ name: policy, preset: opts.preset, overrides: opts.config });
  let state = definition.initialState(config);
  let current = opts.start;
  const out: Decision<unknown>[] = [];
  for (const step of steps) {
    const obs = makeObservation({ currentTarget: current, ...step.obs });
    const d = definition.decide(obs, config, state, step.atMs);
    checkDecision(d, step.expect, `at ${step.atMs} ms`);
    state = d.state;
    current = d.target;
    out.push(d);
  }
  return out;
}

export const SEC = 1000;
export const MIN = 60_000;
