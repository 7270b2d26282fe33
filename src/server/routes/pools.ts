// /v1/pools: status, bounds and policy of each pool; runtime changes; manual scale.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { InvalidInputError, TidepoolError } from '../../core/index.ts';
import { ErrorSchema, PoolListSchema, PoolNameParamsSchema, PoolPatchBodySchema, PoolSchema, ScaleBodySchema } from '../schemas.ts';
import type { ServerContext } from '../context.ts';
import type { PoolControl } from '../types.ts';
import { clusterFigures, publishedDesired, summarizePool } from '../pool-view.ts';
import { servedTypes, unservedFigure } from '../unserved.ts';
import { DesiredSchema } from '../worker-schemas.ts';

const errors = { 400: ErrorSchema, 401: ErrorSchema, 404: ErrorSchema, 429: ErrorSchema };
/** Routes that change a pool may also answer 403 (the tenant is not in server.adminTenants). */
const changeErrors = { ...errors, 403: ErrorSchema };

export function describePool(p: PoolControl) {
  const s = p.stats();
  return {
    ...summarizePool(p),
    types: s.types,
    utilization: s.utilization,
    waitMs: s.waitMs,
    runMs: s.runMs,
    successRate: s.successRate,
    workers: p.workers().map((w) => ({
      id: w.id,
      status: w.status,
      startedAtMs: w.startedAtMs,
      lastHeartbeatMs: w.lastHeartbeatMs,
      taskId: w.taskId,
      tasksDone: w.tasksDone,
      startupMs: w.startupMs ?? null,
      respawnAtMs: w.respawnAtMs ?? null,
    })),
  };
}

/**
 * A pool as one tenant may see it: with API keys, a worker's taskId shows only when the
 * task is the requester's own (another tenant's task ids stay hidden, as their tasks do).
 */
async function describePoolFor(ctx: ServerContext, req: FastifyRequest, p: PoolControl): Promise<ReturnType<typeof describePool> & { cluster?: Omit<ReturnType<typeof clusterFigures>, 'busy'> }> {
  const view: ReturnType<typeof describePool> & { cluster?: Omit<ReturnType<typeof clusterFigures>, 'busy'> } = describePool(p);
  if (ctx.runtime.cluster) {
    const { busy: _busy, ...c } = clusterFigures(ctx.runtime.cluster, p.name);
    view.cluster = c;
  }
  if (!ctx.isMultiTenant) return view;
  for (const w of view.workers) {
    if (w.taskId === null) continue;
    const task = await ctx.runtime.store.get(w.taskId);
    if (!task || task.tenant !== req.tenant) w.taskId = null;
  }
  return view;
}

export function registerPoolRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  function findPool(name: string): PoolControl {
    const pool = ctx.runtime.pools().find((p) => p.name === name);
    if (!pool) {
      const known = ctx.runtime.pools().map((p) => p.name);
      throw new TidepoolError('PoolNotFound', `pool ${JSON.stringify(name)} not found; known pools: ${known.join(', ') || '(none)'}`);
    }
    return pool;
  }

  r.get(
    '/v1/pools',
    { schema: { summary: 'Pools with status, current and target workers, bounds, policy and workers', tags: ['pools'], response: { 200: PoolListSchema, ...errors } } },
    async (req) => ({
      pools: await Promise.all(ctx.runtime.pools().map((p) => describePoolFor(ctx, req, p))),
      unserved: unservedFigure(await ctx.runtime.store.counts(), servedTypes(ctx.runtime)),
    }),
  );

  r.patch(
    '/v1/pools/:name',
    {
      schema: {
        summary: 'Change a pool\'s bounds and/or policy at runtime',
        tags: ['pools'],
        params: PoolNameParamsSchema,
        body: PoolPatchBodySchema,
        response: { 200: PoolSchema, ...changeErrors },
      },
      // Before body validation: a tenant that may not change pools learns only that.
      preValidation: async (req) => ctx.requirePoolAdmin(req),
    },
    async (req) => {
      const pool = findPool(req.params.name);
      const s = pool.stats();
      const min = req.body.min ?? s.minWorkers;
      const max = req.body.max ?? s.maxWorkers;
      if (min > max) {
        const field = req.body.min !== undefined ? 'min' : 'max';
        throw new InvalidInputError(`body.${field}: got ${req.body[field]}; expected min (${min}) <= max (${max})`);
      }
      if (req.body.preset !== undefined && req.body.policy === undefined && Object.keys(req.body).length === 1) {
        // A preset alone applies to the pool's current policy.
        await pool.update({ policy: pool.policy().name, preset: req.body.preset });
      } else {
        await pool.update(req.body);
      }
      return describePoolFor(ctx, req, pool);
    },
  );

  r.post(
    '/v1/pools/:name/scale',
    {
      schema: {
        summary: 'Set a pool\'s worker count by hand (within min..max)',
        tags: ['pools'],
        params: PoolNameParamsSchema,
        body: ScaleBodySchema,
        response: { 200: PoolSchema, ...changeErrors },
      },
      // Before body validation: a tenant that may not change pools learns only that.
      preValidation: async (req) => ctx.requirePoolAdmin(req),
    },
    async (req) => {
      const pool = findPool(req.params.name);
      const s = pool.stats();
      const { count } = req.body;
      if (count < s.minWorkers || count > s.maxWorkers) {
        throw new InvalidInputError(`body.count: got ${count}; expected an integer within min..max (${s.minWorkers}..${s.maxWorkers}) of pool ${pool.name}`);
      }
      await pool.scaleTo(count);
      return describePoolFor(ctx, req, pool);
    },
  );

  r.get(
    '/v1/pools/:name/desired',
    {
      schema: {
        summary: 'The pool\'s desired worker count, for whatever starts machines or pods (KEDA metrics-api, an HPA through an adapter); never 0 while its tasks run or wait',
        tags: ['pools'],
        params: PoolNameParamsSchema,
        response: { 200: DesiredSchema, ...errors },
      },
    },
    async (req) => {
      const pool = findPool(req.params.name);
      const s = pool.stats();
      const { desired, current } = await publishedDesired(ctx.runtime, pool, await ctx.runtime.store.counts());
      return { pool: s.name, desired, current, min: s.minWorkers, max: s.maxWorkers };
    },
  );
}
