// /v1/workers: the remote worker API. A worker on another machine registers with a remote
// pool, claims tasks by long poll, extends their leases by heartbeat, and completes or
// fails each with its lease token. The token fences: once a lease was lost (expired and
// taken over, or the task cancelled) the worker's result is refused with 409 LeaseLost.
// A worker key acts for its tenant: it claims only that tenant's tasks, unless the tenant
// is in server.adminTenants (or the server has no keys: one `default` tenant).
//
// Registrations live in the server's memory. After a server restart a worker's calls
// answer 404 WorkerNotFound (claim) or isRegistered: false (heartbeat); it registers
// again and carries on: its running tasks' leases are in the store and still valid.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { LeaseLostError, TidepoolError, type ClaimedTask, type TimerHandle } from '../../core/index.ts';
import type { RemotePool, RunnerInfo } from '../../pools/index.ts';
import type { ServerContext } from '../context.ts';
import { ErrorSchema } from '../schemas.ts';
import {
  ClaimBodySchema,
  ClaimResultSchema,
  CompleteBodySchema,
  DEFAULT_CLAIM_WAIT_MS,
  FailBodySchema,
  HeartbeatBodySchema,
  HeartbeatResultSchema,
  RegisterBodySchema,
  RegisteredSchema,
  TaskEndNextSchema,
  TaskEndSchema,
  WorkerIdParamsSchema,
  WorkerListSchema,
} from '../worker-schemas.ts';

const errors = { 400: ErrorSchema, 401: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema, 429: ErrorSchema, 503: ErrorSchema };
/** A long poll re-claims this often even without a submit event (delayed tasks coming due, other nodes). */
const RECLAIM_MS = 1000;

export function registerWorkerRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const held = new Set<AbortController>();
  app.addHook('preClose', async () => {
    for (const c of held) c.abort();
  });

  const remotePools = (): RemotePool[] => ctx.runtime.remotePools?.() ?? [];
  const poolOfWorker = (id: string): RemotePool | null => {
    const name = id.slice(0, Math.max(0, id.lastIndexOf('.r-')));
    return remotePools().find((p) => p.name === name) ?? null;
  };
  /** The caller's registration, or null (unknown, failed, or another tenant's). */
  const findRunner = (req: FastifyRequest, id: string): { pool: RemotePool; runner: RunnerInfo } | null => {
    const pool = poolOfWorker(id);
    const runner = pool?.runner(id);
    if (!pool || !runner || runner.tenant !== req.tenant) return null;
    pool.touch(runner);
    return { pool, runner };
  };
  const requireRunner = (req: FastifyRequest, id: string) => {
    const found = findRunner(req, id);
    if (!found) throw new TidepoolError('WorkerNotFound', `worker ${JSON.stringify(id)} is not registered (the server may have restarted, or it missed heartbeats); register again`);
    return found;
  };
  const tenantsFor = (tenant: string): string[] | undefined => (!ctx.isMultiTenant || ctx.adminTenants.includes(tenant) ? undefined : [tenant]);
  /** Claims without waiting for a registered worker's free slots (none for an unknown worker: it must register). */
  const claimNext = async (found: { pool: RemotePool; runner: RunnerInfo } | null, max: number) => {
    if (!found || ctx.isDraining) return [];
    const { pool, runner } = found;
    const free = Math.min(pool.freeSlots(runner), max);
    if (free === 0) return [];
    const tasks = await ctx.runtime.store.claim({ workerId: runner.id, types: runner.types, limit: free, leaseMs: pool.leaseMs, tenants: tenantsFor(runner.tenant) });
    const nowMs = ctx.clock.now();
    for (const t of tasks) pool.taskStarted(runner, t.id, nowMs - Math.max(t.runAtMs, t.createdAtMs));
    return tasks.map(toClaimedJson);
  };

  r.post(
    '/v1/workers/register',
    { schema: { summary: 'Register a remote worker with a remote pool', tags: ['workers'], body: RegisterBodySchema, response: { 201: RegisteredSchema, ...errors } } },
    async (req, reply) => {
      ctx.refuseWhileDraining();
      const pools = remotePools();
      const wanted = req.body.types;
      let pool: RemotePool | undefined;
      if (req.body.pool !== undefined) {
        pool = pools.find((p) => p.name === req.body.pool);
        if (!pool) throw new TidepoolError('PoolNotFound', `body.pool: no remote pool ${JSON.stringify(req.body.pool)}; remote pools: ${pools.map((p) => p.name).join(', ') || '(none: configure a pool with kind "remote")'}`);
      } else {
        const fits = pools.filter((p) => !wanted || wanted.every((t) => p.types.includes(t)));
        if (fits.length !== 1) {
          const what = wanted ? `serving ${wanted.join(', ')}` : '';
          throw new TidepoolError(
            fits.length ? 'InvalidInput' : 'PoolNotFound',
            fits.length ? `body.pool: several remote pools ${what} (${fits.map((p) => p.name).join(', ')}); name one` : `no remote pool ${what}; remote pools: ${pools.map((p) => `${p.name} (${p.types.join(', ')})`).join(', ') || '(none: configure a pool with kind "remote")'}`,
          );
        }
        pool = fits[0]!;
      }
      const runner = pool.register({ tenant: req.tenant, types: wanted, concurrency: req.body.concurrency ?? 1, name: req.body.name, host: req.body.host ?? req.ip });
      reply.code(201);
      return { workerId: runner.id, pool: pool.name, types: runner.types, concurrency: runner.concurrency, leaseMs: pool.leaseMs, heartbeatMs: pool.heartbeatMs, workerTimeoutMs: pool.workerTimeoutMs };
    },
  );

  r.post(
    '/v1/workers/:id/claim',
    { schema: { summary: 'Claim tasks (long poll): answers once a task is leased to this worker or waitMs passes', tags: ['workers'], params: WorkerIdParamsSchema, body: ClaimBodySchema, response: { 200: ClaimResultSchema, ...errors } } },
    async (req, reply) => {
      const { pool, runner } = requireRunner(req, req.params.id);
      const controller = new AbortController();
      held.add(controller);
      // The response closing before it was written means the worker hung up (a request's own
      // 'close' fires as soon as its body was read, so it cannot tell).
      const onClose = () => {
        if (!reply.raw.writableFinished) controller.abort();
      };
      reply.raw.once('close', onClose);
      try {
        const waitMs = req.body.waitMs ?? DEFAULT_CLAIM_WAIT_MS;
        const endMs = ctx.clock.now() + waitMs;
        for (;;) {
          const free = Math.min(pool.freeSlots(runner), req.body.max ?? Number.MAX_SAFE_INTEGER);
          if (ctx.isDraining || controller.signal.aborted || free === 0) return { tasks: [] };
          // Listen before claiming, so a submit between the claim and the wait is not missed.
          const woken = wakeOnSubmit(ctx, runner.types, Math.min(RECLAIM_MS, Math.max(0, endMs - ctx.clock.now())), controller.signal);
          const tasks = await ctx.runtime.store.claim({ workerId: runner.id, types: runner.types, limit: free, leaseMs: pool.leaseMs, tenants: tenantsFor(runner.tenant) });
          if (tasks.length || ctx.clock.now() >= endMs) {
            woken.cancel();
            const nowMs = ctx.clock.now();
            for (const t of tasks) pool.taskStarted(runner, t.id, nowMs - Math.max(t.runAtMs, t.createdAtMs));
            if (controller.signal.aborted && tasks.length) req.log.warn({ tasks: tasks.map((t) => t.id) }, 'claim answered after the worker hung up; the tasks return after their leases');
            return { tasks: tasks.map(toClaimedJson) };
          }
          await woken.promise;
          pool.touch(runner);
        }
      } finally {
        held.delete(controller);
        reply.raw.off('close', onClose);
      }
    },
  );

  r.post(
    '/v1/workers/:id/heartbeat',
    { schema: { summary: 'Keep the worker registered and extend the leases of the tasks it runs', tags: ['workers'], params: WorkerIdParamsSchema, body: HeartbeatBodySchema, response: { 200: HeartbeatResultSchema, ...errors } } },
    async (req) => {
      const found = findRunner(req, req.params.id);
      const pool = found?.pool ?? poolOfWorker(req.params.id);
      const leaseMs = pool?.leaseMs ?? 30_000;
      const leases = await Promise.all(
        (req.body.tasks ?? []).map(async (t) => {
          try {
            const { leaseExpiresAtMs } = await ctx.runtime.store.heartbeat(t.id, t.leaseToken, leaseMs);
            // A worker that registered again after a restart carries its tasks over.
            if (found && !found.runner.tasks.has(t.id)) found.runner.tasks.set(t.id, ctx.clock.now());
            return { id: t.id, isLost: false, leaseExpiresAtMs };
          } catch (err) {
            if (!(err instanceof LeaseLostError) && (err as TidepoolError).code !== 'TaskNotFound') throw err;
            if (found) found.pool.taskEnded(found.runner, t.id, 'lost');
            return { id: t.id, isLost: true, leaseExpiresAtMs: null };
          }
        }),
      );
      return { leases, isRegistered: found !== null };
    },
  );

  r.post(
    '/v1/workers/:id/complete',
    { schema: { summary: 'Record a task\'s result (refused with 409 LeaseLost when the lease token is stale)', tags: ['workers'], params: WorkerIdParamsSchema, body: CompleteBodySchema, response: { 200: TaskEndNextSchema, ...errors } } },
    async (req) => {
      const found = findRunner(req, req.params.id);
      try {
        await ctx.runtime.store.complete(req.body.taskId, req.body.leaseToken, (req.body.result ?? null) as never);
      } catch (err) {
        if (err instanceof LeaseLostError && found) found.pool.taskEnded(found.runner, req.body.taskId, 'lost');
        throw err;
      }
      (found?.pool ?? poolOfWorker(req.params.id))?.taskEnded(found?.runner ?? null, req.body.taskId, 'succeeded');
      return { id: req.body.taskId, status: 'succeeded', ...(req.body.next ? { tasks: await claimNext(found, req.body.next.max) } : {}) };
    },
  );

  r.post(
    '/v1/workers/:id/fail',
    { schema: { summary: 'Record a failed attempt: retried with backoff while attempts are left, else dead', tags: ['workers'], params: WorkerIdParamsSchema, body: FailBodySchema, response: { 200: TaskEndNextSchema, ...errors } } },
    async (req) => {
      const found = findRunner(req, req.params.id);
      const { taskId, leaseToken, error } = req.body;
      try {
        await ctx.runtime.store.fail(taskId, leaseToken, { message: error.message, code: error.code ?? 'HandlerError' }, { retryable: req.body.retryable !== false });
      } catch (err) {
        if (err instanceof LeaseLostError && found) found.pool.taskEnded(found.runner, taskId, 'lost');
        throw err;
      }
      const status = (await ctx.runtime.store.get(taskId))?.status ?? 'dead';
      (found?.pool ?? poolOfWorker(req.params.id))?.taskEnded(found?.runner ?? null, taskId, status === 'dead' ? 'dead' : 'failed');
      return { id: taskId, status, ...(req.body.next ? { tasks: await claimNext(found, req.body.next.max) } : {}) };
    },
  );

  r.delete(
    '/v1/workers/:id',
    { schema: { summary: 'Deregister: the worker takes nothing more and leaves once its tasks end', tags: ['workers'], params: WorkerIdParamsSchema, response: { 200: TaskEndSchema, ...errors } } },
    async (req) => {
      const { pool, runner } = requireRunner(req, req.params.id);
      pool.deregister(runner);
      return { id: runner.id, status: runner.tasks.size ? 'draining' : 'removed' };
    },
  );

  r.get(
    '/v1/workers',
    { schema: { summary: 'Registered remote workers (the caller\'s tenant only, unless admin)', tags: ['workers'], response: { 200: WorkerListSchema, ...errors } } },
    async (req) => ({
      workers: remotePools().flatMap((p) =>
        p
          .runnerList()
          .filter((w) => !tenantsFor(req.tenant) || w.tenant === req.tenant)
          .map((w) => ({ id: w.id, pool: p.name, name: w.name, host: w.host, tenant: w.tenant, types: w.types, concurrency: w.concurrency, status: w.status, registeredAtMs: w.registeredAtMs, lastHeartbeatMs: w.lastHeartbeatMs, taskIds: [...w.tasks.keys()], tasksDone: w.tasksDone })),
      ),
    }),
  );
}

function toClaimedJson(t: ClaimedTask) {
  return { id: t.id, type: t.type, payload: t.payload, attempt: t.attempts, maxAttempts: t.maxAttempts, timeoutMs: t.timeoutMs, tenant: t.tenant, priority: t.priority, leaseToken: t.leaseToken, leaseExpiresAtMs: t.leaseExpiresAtMs ?? 0 };
}

/** Resolves on a submit of one of `types`, after ms, or on abort, whichever comes first. */
function wakeOnSubmit(ctx: ServerContext, types: readonly string[], ms: number, signal: AbortSignal): { promise: Promise<void>; cancel(): void } {
  let done!: () => void;
  const promise = new Promise<void>((resolve) => (done = resolve));
  let timer: TimerHandle | null = null;
  const unsubscribe = ctx.runtime.store.subscribe((e) => {
    if (e.kind === 'submitted' && e.types.some((t) => types.includes(t))) finish();
  });
  const finish = () => {
    unsubscribe();
    timer?.cancel();
    signal.removeEventListener('abort', finish);
    done();
  };
  timer = ctx.clock.setTimer(finish, ms);
  signal.addEventListener('abort', finish, { once: true });
  return { promise, cancel: finish };
}
