// Policy options, written once: each knob's unit, default and range live in one table per
// policy. This file turns such a table into the defaults object and into a zod validator
// whose problems name the field, the value that arrived and what is allowed.

import { z } from 'zod';
import type { Knob } from './types.ts';

export type KnobTable<C> = { [K in keyof C]: Knob };

/** The default value of every knob, as a config object. */
export function defaultsOf<C>(knobs: KnobTable<C>): C {
  const out: Record<string, number> = {};
  for (const [name, knob] of Object.entries(knobs) as [string, Knob][]) out[name] = knob.default;
  return out as C;
}

/** `an integer from 1 to 100 (workers)` */
export function describeRange(knob: Knob): string {
  const what = knob.kind === 'int' ? 'an integer' : 'a number';
  return `${what} from ${knob.min} to ${knob.max} (${knob.unit})`;
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function schemaFor(knob: Knob): z.ZodNumber {
  const base = z.number();
  return (knob.kind === 'int' ? base.int() : base).min(knob.min).max(knob.max);
}

/**
 * Checks a partial config against a knob table. Returns every problem, each as
 * `field: got X; expected Y` (prefixed with `path.` when given). Unknown fields are
 * problems too, listing the known ones.
 */
export function validateKnobs(
  knobs: Record<string, Knob>,
  input: Record<string, unknown>,
  policyName: string,
  path = '',
): string[] {
  const shape: Record<string, z.ZodOptional<z.ZodNumber>> = {};
  for (const [name, knob] of Object.entries(knobs)) shape[name] = schemaFor(knob).optional();
  const parsed = z.strictObject(shape).safeParse(input);
  if (parsed.success) return [];
  const problems: string[] = [];
  const prefix = path ? `${path}.` : '';
  for (const issue of parsed.error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        problems.push(
          `${prefix}${key}: unknown option for policy "${policyName}"; known options: ${Object.keys(knobs).join(', ')}`,
        );
      }
      continue;
    }
    const field = String(issue.path[0] ?? '');
    const knob = knobs[field];
    if (!knob) {
      problems.push(`${prefix}${field || '(config)'}: ${issue.message}`);
      continue;
    }
    problems.push(`${prefix}${field}: got ${show(input[field])}; expected ${describeRange(knob)}`);
  }
  return [...new Set(problems)];
}

/** Shared knobs: every policy has bounds. */
export function boundsKnobs(defaults: { minWorkers: number; maxWorkers: number }): {
  minWorkers: Knob;
  maxWorkers: Knob;
} {
  return {
    minWorkers: {
      kind: 'int',
      unit: 'workers',
      default: defaults.minWorkers,
      min: 0,
      max: MAX_WORKERS_LIMIT,
      doc: 'Fewest workers the pool keeps, even when idle.',
    },
    maxWorkers: {
      kind: 'int',
      unit: 'workers',
      default: defaults.maxWorkers,
      min: 1,
      max: MAX_WORKERS_LIMIT,
      doc: 'Most workers the pool may run.',
    },
  };
}

/** The largest worker count any policy accepts. */
export const MAX_WORKERS_LIMIT = 100_000;

/** Upper bound of every time knob: a day. */
export const DAY_MS = 86_400_000;

/** Cross-field check every policy shares: minWorkers <= maxWorkers. */
export function checkBounds(config: { minWorkers: number; maxWorkers: number }, path = ''): string[] {
  const prefix = path ? `${path}.` : '';
  if (config.minWorkers > config.maxWorkers) {
    return [`${prefix}maxWorkers: got ${config.maxWorkers}; expected an integer >= minWorkers (${config.minWorkers})`];
  }
  return [];
}

/** A cross-field check: `low` must not exceed `high`, or both triggers could hold at once. */
export function checkNotAbove(
  config: Record<string, number>,
  low: string,
  high: string,
  path = '',
): string[] {
  const prefix = path ? `${path}.` : '';
  if (!(config[low] <= config[high])) {
    return [`${prefix}${low}: got ${config[low]}; expected at most ${high} (${config[high]})`];
  }
  return [];
}
