// /v1/schedules (a contract): recurring tasks (docs/schedules.md). GET lists them with
// their next run and which node's scheduler submits the ticks; POST creates one (201; the
// same definition again answers 200, another one under the name 409); GET and DELETE
// /v1/schedules/{name}. Schedules are state in the store, so any node serves these routes.
// With API keys a tenant sees and creates only its own schedules, whose tasks are its own.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { CATCH_UP_RULES, InvalidInputError, SCHEDULE_NAME_PATTERN, ScheduleNotFoundError, scheduleInputSchema } from '../../core/index.ts';
import { createSchedule, deleteSchedule, getSchedule, listSchedules, SCHEDULER_LEASE } from '../../schedules/index.ts';
import type { ScheduleView } from '../../schedules/index.ts';
import { ErrorSchema } from '../schemas.ts';
import type { ServerContext } from '../context.ts';
import { servedTypes, unservedWarning } from '../unserved.ts';

export const ScheduleSchema = z
  .object({
    name: z.string(),
    cron: z.string(),
    timezone: z.string().describe('IANA time zone the cron fields are read in.'),
    type: z.string().describe('Task type each tick submits.'),
    payload: z.json(),
    priority: z.number(),
    tenant: z.string(),
    catchUp: z.enum(CATCH_UP_RULES).describe('What a scheduler does with ticks missed while no node ran: latest, all or none.'),
    source: z.enum(['config', 'api']).describe('config: from the config file (synced at each start); api: POST /v1/schedules or the CLI.'),
    createdAtMs: z.number().describe('Ticks after this instant are due.'),
    lastTickMs: z.number().nullable().describe('The last tick handled (submitted, or skipped by the catch-up rule), epoch ms; null before the first.'),
    lastTaskId: z.string().nullable().describe('The task of the last tick submitted.'),
    nextRunMs: z.number().nullable().describe('The next tick, epoch ms; null when the cron never fires again.'),
  })
  .meta({ id: 'Schedule' });

const ScheduleListSchema = z
  .object({
    schedules: z.array(ScheduleSchema),
    scheduler: z
      .object({ holder: z.string().describe('The node submitting ticks (host:pid:random).'), token: z.number(), expiresAtMs: z.number() })
      .nullable()
      .describe('The scheduler lease: which node submits due ticks; null when no node holds it (none runs, or scheduler.enabled is false everywhere).'),
  })
  .meta({ id: 'ScheduleList' });

const CreatedScheduleSchema = ScheduleSchema.extend({
  warning: z.string().optional().describe('Set when no pool of this server serves the type: its tasks will wait until one does (another node may serve it).'),
});

const NameParamsSchema = z.strictObject({ name: z.string().regex(SCHEDULE_NAME_PATTERN, 'expected a schedule name (1-128 letters, digits, . _ -)') });

const errors = { 400: ErrorSchema, 401: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema, 429: ErrorSchema, 503: ErrorSchema };

const toJson = (s: ScheduleView) => ({ ...s, payload: s.payload as never });

export function registerScheduleRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { store } = ctx.runtime;

  /** A schedule the requester may see: its tenant's (or any, without keys); otherwise 404. */
  async function ownSchedule(req: FastifyRequest, name: string): Promise<ScheduleView> {
    const s = await getSchedule(store, name);
    if (!s || (ctx.isMultiTenant && s.tenant !== req.tenant)) throw new ScheduleNotFoundError(name);
    return s;
  }

  r.get(
    '/v1/schedules',
    { schema: { summary: 'Schedules (recurring tasks) with their next run, and the node whose scheduler submits their ticks', tags: ['schedules'], response: { 200: ScheduleListSchema, ...errors } } },
    async (req) => {
      const [schedules, lease] = await Promise.all([listSchedules(store, ctx.isMultiTenant ? { tenant: req.tenant } : {}), store.readLease(SCHEDULER_LEASE)]);
      return { schedules: schedules.map(toJson), scheduler: lease ? { holder: lease.holder, token: lease.token, expiresAtMs: lease.expiresAtMs } : null };
    },
  );

  r.post(
    '/v1/schedules',
    {
      schema: {
        summary: 'Create a schedule: each tick of `cron` in `timezone` submits one task of `type` (201; the same definition again: 200; another definition under the name: 409)',
        tags: ['schedules'],
        body: scheduleInputSchema,
        response: { 200: CreatedScheduleSchema, 201: CreatedScheduleSchema, ...errors },
      },
    },
    async (req, reply) => {
      const body = req.body;
      if (ctx.isMultiTenant && body.tenant !== undefined && body.tenant !== req.tenant)
        throw new InvalidInputError(`body.tenant: got ${JSON.stringify(body.tenant)}; a schedule's tasks belong to the tenant of the key that creates it (${JSON.stringify(req.tenant)}): leave tenant out`);
      const tenant = ctx.isMultiTenant ? req.tenant : body.tenant;
      const { schedule, created } = await createSchedule(store, { ...body, ...(tenant !== undefined ? { tenant } : {}) } as never, { source: 'api' });
      const warning = unservedWarning(schedule.type, servedTypes(ctx.runtime));
      if (warning) req.log.warn({ schedule: schedule.name, type: schedule.type }, `schedule ${schedule.name}: ${warning}`);
      return reply.code(created ? 201 : 200).send(warning ? { ...toJson(schedule), warning } : toJson(schedule));
    },
  );

  r.get(
    '/v1/schedules/:name',
    { schema: { summary: 'One schedule with its last tick and next run', tags: ['schedules'], params: NameParamsSchema, response: { 200: ScheduleSchema, ...errors } } },
    async (req) => toJson(await ownSchedule(req, req.params.name)),
  );

  r.delete(
    '/v1/schedules/:name',
    { schema: { summary: 'Delete a schedule (its tasks already submitted stay); answers the schedule as it was', tags: ['schedules'], params: NameParamsSchema, response: { 200: ScheduleSchema, ...errors } } },
    async (req) => {
      const s = await ownSchedule(req, req.params.name);
      if (!(await deleteSchedule(store, s.name))) throw new ScheduleNotFoundError(s.name);
      return toJson(s);
    },
  );
}
