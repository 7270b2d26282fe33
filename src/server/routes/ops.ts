// Operations: /health, /metrics (Prometheus), /v1/events, /v1/metrics/history,
// /v1/stream (server-sent events for the dashboard).
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { TimeRange } from '../../core/index.ts';
import { ErrorSchema, EventListSchema, HealthSchema, MetricHistorySchema, RangeQuerySchema } from '../schemas.ts';
import type { ServerContext } from '../context.ts';
import { combineHealth, worst } from '../health.ts';
import { STORE_PROBE_MS } from '../store-watch.ts';

class ProbeTimeout extends Error {}

/** Resolves as `work` does, or rejects with ProbeTimeout after ms (on the server's clock). */
function withDeadline<T>(work: Promise<T>, ms: number, ctx: ServerContext): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = ctx.clock.setTimer(() => reject(new ProbeTimeout()), ms);
    work.then(
      (v) => {
        timer.cancel();
        resolve(v);
      },
      (err) => {
        timer.cancel();
        reject(err);
      },
    );
  });
}
import { servedTypes, unservedFigure } from '../unserved.ts';

const HOUR_MS = 3_600_000;
const errors = { 400: ErrorSchema, 401: ErrorSchema, 429: ErrorSchema };

function toRange(q: { from?: string | number; to?: string | number; pool?: string; limit?: number }, nowMs: number): TimeRange {
  const toMs = q.to === undefined ? nowMs : typeof q.to === 'number' ? q.to : Date.parse(q.to);
  const fromMs = q.from === undefined ? toMs - HOUR_MS : typeof q.from === 'number' ? q.from : Date.parse(q.from);
  return { fromMs, toMs, limit: q.limit ?? 1000, ...(q.pool ? { pool: q.pool } : {}) };
}

export function registerOpsRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get(
    '/health',
    {
      schema: {
        summary: 'healthy | degraded | unhealthy with reasons (seed 003); 503 only for server-level faults (draining, store refusing writes or not answering, event loop stalled)',
        description:
          'Probes read the status code: 503 means this server cannot serve (it is draining, its store does not answer or refuses writes, or its event loop stalled), with those faults in `faults`. Pool verdicts (a pool unhealthy because its tasks fail) stay in `status` and `reasons` with 200, so a probe never restarts a server for its tasks\' failures.',
        tags: ['operations'],
        response: { 200: HealthSchema, 503: HealthSchema },
      },
    },
    async (_req, reply) => {
      const report = combineHealth(ctx.runtime.pools().map((p) => p.stats()));
      const faults: string[] = [];
      let unserved;
      try {
        // A figure only: tasks no pool here serves may be served by another node, so they change no verdict.
        unserved = unservedFigure(await withDeadline(ctx.runtime.store.counts(), STORE_PROBE_MS, ctx), servedTypes(ctx.runtime));
      } catch (err) {
        faults.push(err instanceof ProbeTimeout ? `the store does not answer: a read took over ${STORE_PROBE_MS} ms` : 'the store does not answer reads');
      }
      for (const f of ctx.faults.faults()) if (!(f.startsWith('the store does not answer') && faults.length)) faults.push(f);
      if (ctx.isDraining) faults.push('the server is draining (shutting down)');
      if (faults.length) {
        report.status = ctx.isDraining && faults.length === 1 ? worst(report.status, 'degraded') : 'unhealthy';
        report.reasons.push(...faults);
      }
      return reply.code(faults.length ? 503 : 200).send({ ...report, draining: ctx.isDraining, faults, ...(unserved ? { unserved } : {}) });
    },
  );

  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
    const text = await ctx.metrics.registry.metrics();
    return reply.header('content-type', ctx.metrics.registry.contentType).send(text);
  });

  r.get(
    '/v1/events',
    {
      schema: {
        summary: 'Scaling events with their reasons, oldest first (default: the last hour)',
        tags: ['operations'],
        querystring: RangeQuerySchema,
        response: { 200: EventListSchema, ...errors },
      },
    },
    async (req) => ({ events: await ctx.runtime.store.listScalingEvents(toRange(req.query, ctx.clock.now())) }),
  );

  r.get(
    '/v1/metrics/history',
    {
      schema: {
        summary: 'Metric samples the collector kept in the store (default: the last hour)',
        tags: ['operations'],
        querystring: RangeQuerySchema,
        response: { 200: MetricHistorySchema, ...errors },
      },
    },
    async (req) => ({ samples: await ctx.runtime.store.listMetricSamples(toRange(req.query, ctx.clock.now())) }),
  );

  app.get(
    '/v1/stream',
    { schema: { summary: 'Server-sent events: hello (history), snapshot (each interval), scaling (each decision)', tags: ['operations'] } },
    (_req, reply) => {
      reply.hijack();
      ctx.feed.attach(reply.raw);
    },
  );
}
