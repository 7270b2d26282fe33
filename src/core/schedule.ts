// A recurring task's definition (a schedule): its shape, limits and validation, written
// once for the config key `schedules`, the body of POST /v1/schedules and the CLI. Cron
// expressions are parsed by croner (5 fields, or 6 with seconds first; time zones by IANA
// name); `cronOf` builds the one croner instance everyone computes ticks with.
import { z } from 'zod';
import { Cron } from 'croner';
import { isWellFormedText, jsonDepth, TASK_LIMITS } from './limits.ts';
import type { Json } from './types.ts';

/**
 * What a scheduler does with ticks it missed (came due more than scheduler.graceMs before
 * it looked, e.g. while every node was down): `latest` submits only the most recent one,
 * `all` submits each (the most recent scheduler.catchUpLimit), `none` skips them.
 */
export const CATCH_UP_RULES = ['latest', 'all', 'none'] as const;
export type CatchUpRule = (typeof CATCH_UP_RULES)[number];

/** Schedule names: they appear in URLs and in idempotency keys (`schedule:<name>:<tickMs>`). */
export const SCHEDULE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
export const SCHEDULE_DEFAULTS = { timezone: 'UTC', priority: 0, tenant: 'default', catchUp: 'latest' as CatchUpRule, payload: null as Json } as const;

/** A schedule as given (config entry, HTTP body): optional fields take SCHEDULE_DEFAULTS. */
export interface ScheduleInput {
  name: string;
  /** `sec min hour day month weekday` or `min hour day month weekday`, or a nickname (@hourly). */
  cron: string;
  /** IANA time zone the cron fields are read in (default UTC). */
  timezone?: string;
  /** Task type each tick submits. */
  type: string;
  payload?: Json;
  priority?: number;
  tenant?: string;
  catchUp?: CatchUpRule;
}

/** A schedule with every field resolved. */
export type ScheduleSpec = Required<ScheduleInput>;

/** The croner instance for a cron expression in a time zone (never started: no callback, no timer). */
export function cronOf(cron: string, timezone: string): Cron {
  return new Cron(cron, { timezone, mode: '5-or-6-parts' });
}

/** Why a time zone name is refused, or null when it is a known IANA zone. */
export function timezoneProblem(timezone: string): string | null {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
    return null;
  } catch {
    return `an IANA time zone name such as "UTC", "Europe/Berlin" or "America/New_York"`;
  }
}

/** Why a cron expression is refused (croner's reason, or: it never fires), or null. */
export function cronProblem(cron: string, timezone = 'UTC'): string | null {
  const expected = 'a cron expression of 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first, or @hourly/@daily/...';
  const fields = cron.trim().split(/\s+/).filter(Boolean).length;
  if (!cron.trim().startsWith('@') && fields !== 5 && fields !== 6) return `${expected} (this one has ${fields} field${fields === 1 ? '' : 's'})`;
  let c: Cron;
  try {
    c = cronOf(cron, timezoneProblem(timezone) ? 'UTC' : timezone);
  } catch (err) {
    return `${expected} (${(err as Error).message.replace(/^CronPattern: /, '')})`;
  }
  // Far enough for any real pattern (Feb 29 on a Monday comes within 28 years); a pattern like 30 Feb never fires.
  if (!c.nextRun(new Date(Date.UTC(2000, 0, 1)))) return `${expected} that fires at least once (this one never does)`;
  return null;
}

const name = z
  .string()
  .regex(SCHEDULE_NAME_PATTERN, { error: () => 'expected 1-128 letters, digits, . _ - (starting with a letter or digit)' })
  .describe('Unique name of the schedule (used in URLs and in each task\'s idempotency key `schedule:<name>:<tickMs>`).');
const text = (what: string) =>
  z
    .string({ error: () => `expected a non-empty string of at most ${TASK_LIMITS.maxNameChars} characters` })
    .min(1, { error: () => `expected a non-empty string of at most ${TASK_LIMITS.maxNameChars} characters` })
    .max(TASK_LIMITS.maxNameChars, { error: () => `expected a non-empty string of at most ${TASK_LIMITS.maxNameChars} characters` })
    .refine(isWellFormedText, { error: () => 'contains a lone UTF-16 surrogate (not valid Unicode)' })
    .describe(what);

/** The zod schema of a schedule as given; cron and timezone are checked with croner and Intl. */
export const scheduleInputSchema = z
  .strictObject({
    name,
    cron: z.string({ error: () => 'expected a cron expression (a string)' }).describe('`sec min hour day month weekday` (seconds optional: 5 fields read as min hour day month weekday), or a nickname (@hourly, @daily, ...).'),
    timezone: z.string({ error: () => 'expected an IANA time zone name (a string)' }).optional().describe('IANA time zone the cron fields are read in (default UTC).'),
    type: text('Task type each tick submits.'),
    payload: z
      .json({ error: () => 'expected a JSON value' })
      .refine((v) => jsonDepth(v) <= TASK_LIMITS.maxPayloadDepth, { error: () => `nests more than ${TASK_LIMITS.maxPayloadDepth} levels of arrays/objects (the limit); flatten it` })
      .optional()
      .describe('Payload of each task (default null).'),
    priority: z
      .int({ error: () => 'expected an integer within +/-(2^53 - 1)' })
      .min(-TASK_LIMITS.maxPriority)
      .max(TASK_LIMITS.maxPriority)
      .optional()
      .describe('Priority of each task (default 0).'),
    tenant: text('Tenant each task belongs to (default "default"; over HTTP, the key\'s tenant).').optional(),
    catchUp: z.enum(CATCH_UP_RULES, { error: () => `expected one of ${CATCH_UP_RULES.join(', ')}` }).optional().describe('Missed ticks after downtime: latest (default) submits the most recent, all submits each (bounded), none skips them.'),
  })
  .superRefine((s, ctx) => {
    const tzProblem = s.timezone === undefined ? null : timezoneProblem(s.timezone);
    if (tzProblem) ctx.addIssue({ code: 'custom', path: ['timezone'], message: `expected ${tzProblem}` });
    const problem = cronProblem(s.cron, s.timezone ?? SCHEDULE_DEFAULTS.timezone);
    if (problem) ctx.addIssue({ code: 'custom', path: ['cron'], message: `expected ${problem}` });
  });

/** Fills the optional fields of a validated schedule. */
export function resolveSchedule(input: ScheduleInput): ScheduleSpec {
  return {
    name: input.name,
    cron: input.cron,
    timezone: input.timezone ?? SCHEDULE_DEFAULTS.timezone,
    type: input.type,
    payload: input.payload === undefined ? SCHEDULE_DEFAULTS.payload : input.payload,
    priority: input.priority ?? SCHEDULE_DEFAULTS.priority,
    tenant: input.tenant ?? SCHEDULE_DEFAULTS.tenant,
    catchUp: input.catchUp ?? SCHEDULE_DEFAULTS.catchUp,
  };
}

/** The idempotency key of a tick's task: the same tick of the same schedule is one task. */
export function scheduleTaskKey(name: string, tickMs: number): string {
  return `schedule:${name}:${tickMs}`;
}
