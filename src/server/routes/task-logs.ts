// GET /v1/tasks/{id}/logs (a contract): what the task's workers printed, per attempt:
// `{lines: [{attempt, atMs, stream, text}], truncated}`, oldest first. `?follow=1` turns it
// into a server-sent event stream: every stored line as an `event: line` message (its
// `id:` is the line's seq, so a client that reconnects with Last-Event-ID misses nothing),
// new lines as they are stored (the store is read every FOLLOW_POLL_MS), then `event: end`
// with the task's final status once it has ended and its last lines went out.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { FINAL_STATUSES, TaskNotFoundError, type StoredTaskLogLine, type TimerHandle } from '../../core/index.ts';
import { ErrorSchema, TaskIdParamsSchema } from '../schemas.ts';
import type { ServerContext } from '../context.ts';

/** How often a follower's stream looks for new lines, ms. */
export const FOLLOW_POLL_MS = 500;

const LogLineSchema = z.object({
  attempt: z.number().describe('The attempt that printed it (1 = first run).'),
  atMs: z.number().describe('When it was printed, epoch ms.'),
  stream: z.enum(['log', 'stdout', 'stderr']).describe('`log`: ctx.log() or a protocol log message; `stdout`/`stderr`: a child process.'),
  text: z.string(),
});
export const TaskLogSchema = z
  .object({
    lines: z.array(LogLineSchema),
    truncated: z.boolean().describe('True once older lines were dropped to keep the task within its log size (TASK_LOG_MAX_BYTES).'),
  })
  .meta({ id: 'TaskLog' });
const LogQuerySchema = z.strictObject({
  follow: z.enum(['0', '1', 'true', 'false']).optional().describe('1: stream the lines as server-sent events until the task ends.'),
});

const errors = { 400: ErrorSchema, 401: ErrorSchema, 404: ErrorSchema, 429: ErrorSchema, 503: ErrorSchema };

const toJson = (l: StoredTaskLogLine) => ({ attempt: l.attempt, atMs: l.atMs, stream: l.stream, text: l.text });

export function registerTaskLogRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { store } = ctx.runtime;

  async function ownTaskStatus(req: FastifyRequest, id: string) {
    const task = await store.get(id);
    if (!task || !ctx.maySee(req, task)) throw new TaskNotFoundError(id);
    return task.status;
  }

  r.get(
    '/v1/tasks/:id/logs',
    {
      schema: {
        summary: "A task's log lines per attempt; ?follow=1 streams them as server-sent events until the task ends",
        tags: ['tasks'],
        params: TaskIdParamsSchema,
        querystring: LogQuerySchema,
        response: { 200: TaskLogSchema, ...errors },
      },
    },
    async (req, reply) => {
      const id = req.params.id;
      await ownTaskStatus(req, id);
      const follow = req.query.follow === '1' || req.query.follow === 'true';
      if (!follow) {
        const page = await store.readTaskLog(id);
        return { lines: page.lines.map(toJson), truncated: page.truncated };
      }
      const lastId = Number(req.headers['last-event-id']);
      let afterSeq = Number.isSafeInteger(lastId) && lastId > 0 ? lastId : 0;
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', connection: 'keep-alive', 'x-accel-buffering': 'no' });
      res.write('retry: 2000\n\n');
      let timer: TimerHandle | null = null;
      let isClosed = false;
      req.raw.once('close', () => {
        isClosed = true;
        timer?.cancel();
      });
      const send = (event: string, data: unknown, eventId?: number) => {
        if (!res.writableEnded && !res.destroyed) res.write(`${eventId !== undefined ? `id: ${eventId}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      };
      let truncatedSent = false;
      const pump = async () => {
        if (isClosed) return;
        try {
          // Read the status before the lines: a line stored before the task ended is then never missed.
          const status = await ownTaskStatus(req, id);
          const page = await store.readTaskLog(id, { afterSeq });
          if (page.truncated && !truncatedSent) {
            truncatedSent = true;
            send('truncated', { truncated: true });
          }
          for (const l of page.lines) {
            send('line', toJson(l), l.seq);
            afterSeq = l.seq;
          }
          if (FINAL_STATUSES.includes(status)) {
            send('end', { status });
            res.end();
            return;
          }
        } catch (err) {
          send('error', { code: (err as { code?: string }).code ?? 'StoreUnavailable', message: err instanceof TaskNotFoundError ? err.message : 'reading the log failed; the server log has the details' });
          if (!(err instanceof TaskNotFoundError)) req.log.error({ err }, `following the log of task ${id}`);
          res.end();
          return;
        }
        timer = ctx.clock.setTimer(() => void pump(), FOLLOW_POLL_MS);
      };
      await pump();
    },
  );
}
