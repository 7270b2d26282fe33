// /v1/tasks: submit (one, batch), get, list, cancel, retry; ?wait=MS holds until the task ends.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { QueueFullError, TaskNotFoundError, toTaskJson } from '../../core/index.ts';
import type { SubmitInput, Task } from '../../core/index.ts';
import {
  BatchBodySchema,
  BatchResultSchema,
  ErrorSchema,
  ListQuerySchema,
  SubmitBodySchema,
  SubmittedTaskSchema,
  TaskIdParamsSchema,
  TaskPageSchema,
  TaskSchema,
  WaitQuerySchema,
} from '../schemas.ts';
import type { SubmitBody } from '../schemas.ts';
import type { ServerContext } from '../context.ts';
import { servedTypes, unservedWarning } from '../unserved.ts';
import { checkCallbackUrls, registerCallbacks } from '../callback-urls.ts';

const errors = { 400: ErrorSchema, 401: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema, 429: ErrorSchema, 503: ErrorSchema };

export function toSubmitInput(body: SubmitBody, tenant: string): SubmitInput {
  const input: SubmitInput = { type: body.type, tenant };
  if (body.payload !== undefined) input.payload = body.payload as SubmitInput['payload'];
  if (body.priority !== undefined) input.priority = body.priority;
  if (body.delayMs !== undefined) input.delayMs = body.delayMs;
  if (body.runAt !== undefined) input.runAtMs = typeof body.runAt === 'number' ? body.runAt : Date.parse(body.runAt);
  if (body.maxAttempts !== undefined) input.maxAttempts = body.maxAttempts;
  if (body.timeoutMs !== undefined) input.timeoutMs = body.timeoutMs;
  if (body.idempotencyKey !== undefined) input.idempotencyKey = body.idempotencyKey;
  if (body.region !== undefined) input.region = body.region;
  return input;
}

export function registerTaskRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { store } = ctx.runtime;

  /** A task the requester may see: its own (or any, without keys); otherwise 404. */
  async function ownTask(req: FastifyRequest, id: string): Promise<Task> {
    const task = await store.get(id);
    if (!task || !ctx.maySee(req, task)) throw new TaskNotFoundError(id);
    return task;
  }

  async function waitIfAsked(req: FastifyRequest, task: Task, waitMs: number | undefined): Promise<Task> {
    if (!waitMs) return task;
    const ac = new AbortController();
    const onClose = () => ac.abort();
    req.raw.once('close', onClose);
    try {
      return (await ctx.waiter.waitForEnd(task.id, waitMs, () => store.get(task.id), ac.signal)) ?? task;
    } finally {
      req.raw.off('close', onClose);
    }
  }

  r.post(
    '/v1/tasks',
    {
      schema: {
        summary: 'Submit a task',
        description: '201 with the new task; 200 with the first task when the idempotency key was seen before. ?wait=MS holds the answer until the task ends or MS passes.',
        tags: ['tasks'],
        body: SubmitBodySchema,
        querystring: WaitQuerySchema,
        response: { 200: SubmittedTaskSchema, 201: SubmittedTaskSchema, ...errors },
      },
    },
    async (req, reply) => {
      ctx.refuseWhileDraining();
      const input = toSubmitInput(req.body, req.tenant);
      const warning = unservedWarning(input.type, servedTypes(ctx.runtime));
      const { callbackUrl } = req.body;
      await checkCallbackUrls(ctx.runtime, callbackUrl === undefined ? [] : [{ field: 'body.callbackUrl', url: callbackUrl }]);
      let result;
      try {
        result = await store.submit(input);
      } catch (err) {
        if (err instanceof QueueFullError) ctx.metrics.onBackpressure(input.type);
        throw err;
      }
      await registerCallbacks(ctx.runtime, [{ task: result.task, url: callbackUrl, isNew: result.created }]);
      if (warning) req.log.warn({ taskId: result.task.id, type: input.type }, `task ${result.task.id}: ${warning}`);
      const task = await waitIfAsked(req, result.task, req.query.wait);
      return reply.code(result.created ? 201 : 200).send(warning ? { ...task, warning } : task);
    },
  );

  r.post(
    '/v1/tasks/batch',
    {
      schema: {
        summary: 'Submit up to 1,000 tasks at once, all or none',
        tags: ['tasks'],
        body: BatchBodySchema,
        response: { 201: BatchResultSchema, ...errors },
      },
    },
    async (req, reply) => {
      ctx.refuseWhileDraining();
      const inputs = req.body.tasks.map((t) => toSubmitInput(t, req.tenant));
      const served = servedTypes(ctx.runtime);
      const warnings = [...new Set(inputs.map((t) => t.type))].map((t) => unservedWarning(t, served)).filter((w): w is string => w !== undefined);
      const urls = req.body.tasks.map((t) => t.callbackUrl);
      await checkCallbackUrls(ctx.runtime, urls.flatMap((url, i) => (url === undefined ? [] : [{ field: `body.tasks[${i}].callbackUrl`, url }])));
      let results;
      try {
        results = await store.submitBatch(inputs);
      } catch (err) {
        if (err instanceof QueueFullError) ctx.metrics.onBackpressure(inputs[0].type);
        throw err;
      }
      await registerCallbacks(ctx.runtime, results.map((x, i) => ({ task: x.task, url: urls[i], isNew: x.created })));
      // The store's tasks already have the documented shape; a plain stringify of the
      // picked fields saves the zod pass over 1,000 payloads (about a fifth of the request).
      for (const w of warnings) req.log.warn(`batch of ${inputs.length} tasks: ${w}`);
      return reply
        .code(201)
        .serializer((data: unknown) => JSON.stringify(data))
        .send({ tasks: results.map((x) => toTaskJson(x.task)), created: results.map((x) => x.created), ...(warnings.length ? { warnings } : {}) });
    },
  );

  r.get(
    '/v1/tasks',
    {
      schema: {
        summary: 'List tasks, oldest first (in submission order), paged via nextCursor (dead-letter view: ?status=dead)',
        tags: ['tasks'],
        querystring: ListQuerySchema,
        response: { 200: TaskPageSchema, ...errors },
      },
    },
    async (req) => {
      const q = req.query;
      const page = await store.list({
        ...(q.status ? { status: q.status } : {}),
        ...(q.type ? { type: q.type } : {}),
        ...(ctx.isMultiTenant ? { tenant: req.tenant } : {}),
        limit: q.limit ?? 100,
        ...(q.cursor ? { cursor: q.cursor } : {}),
      });
      return page;
    },
  );

  r.get(
    '/v1/tasks/:id',
    {
      schema: {
        summary: 'Get a task; ?wait=MS holds the answer until it ends or MS passes',
        tags: ['tasks'],
        params: TaskIdParamsSchema,
        querystring: WaitQuerySchema,
        response: { 200: TaskSchema, ...errors },
      },
    },
    async (req) => {
      const task = await ownTask(req, req.params.id);
      return waitIfAsked(req, task, req.query.wait);
    },
  );

  r.post(
    '/v1/tasks/:id/cancel',
    {
      schema: {
        summary: 'Cancel a task that has not ended (409 once it has)',
        tags: ['tasks'],
        params: TaskIdParamsSchema,
        response: { 200: TaskSchema, ...errors },
      },
    },
    async (req) => {
      await ownTask(req, req.params.id);
      return store.cancel(req.params.id);
    },
  );

  r.post(
    '/v1/tasks/:id/retry',
    {
      schema: {
        summary: 'Re-queue a dead task with fresh attempts (409 unless dead)',
        tags: ['tasks'],
        params: TaskIdParamsSchema,
        response: { 200: TaskSchema, ...errors },
      },
    },
    async (req) => {
      await ownTask(req, req.params.id);
      return store.retryDead(req.params.id);
    },
  );
}
