// Schemas of the remote worker API (/v1/workers): the one source that validates the
// requests, serializes the answers and documents both in the OpenAPI document.
import { z } from 'zod';

const typeName = z.string().min(1).max(200).regex(/^[A-Za-z0-9_.:-]+$/, 'expected letters, digits, _ . : - only');
/** Longest claim long poll, ms. */
export const MAX_CLAIM_WAIT_MS = 60_000;
export const DEFAULT_CLAIM_WAIT_MS = 20_000;
/** Slots one registration may hold. */
export const MAX_CONCURRENCY = 256;

export const RegisterBodySchema = z
  .strictObject({
    pool: z.string().min(1).max(200).optional().describe('The remote pool to join; default: the one remote pool serving `types`.'),
    types: z.array(typeName).min(1).max(100).optional().describe('Task types this worker serves (default: all of its pool\'s).'),
    concurrency: z.int().min(1).max(MAX_CONCURRENCY).optional().describe('Tasks it runs at once (default 1); it counts as this many workers.'),
    name: z.string().min(1).max(200).optional().describe('A label for views (e.g. the host name and pid).'),
    host: z.string().min(1).max(200).optional(),
  })
  .meta({ id: 'WorkerRegister' });

export const RegisteredSchema = z
  .object({
    workerId: z.string(),
    pool: z.string(),
    types: z.array(z.string()),
    concurrency: z.int(),
    leaseMs: z.int().describe('Lease of each claimed task; heartbeat well within it.'),
    heartbeatMs: z.int().describe('How often to call heartbeat while tasks run.'),
    workerTimeoutMs: z.int().describe('A worker silent this long is failed and removed (its tasks return after their leases).'),
  })
  .meta({ id: 'WorkerRegistered' });

export const WorkerIdParamsSchema = z.strictObject({ id: z.string().min(1).max(300) });

export const ClaimBodySchema = z
  .strictObject({
    max: z.int().min(1).max(MAX_CONCURRENCY).optional().describe('Tasks at most (default and cap: the worker\'s free slots).'),
    waitMs: z.int().min(0).max(MAX_CLAIM_WAIT_MS).optional().describe(`Long poll: hold the request up to this long for a task (default ${DEFAULT_CLAIM_WAIT_MS}).`),
  })
  .meta({ id: 'WorkerClaim' });

export const ClaimedTaskSchema = z
  .object({
    id: z.string(),
    type: z.string(),
    payload: z.json(),
    attempt: z.int().describe('1 for the first run.'),
    maxAttempts: z.int(),
    timeoutMs: z.int(),
    tenant: z.string(),
    priority: z.int(),
    leaseToken: z.string().describe('Send it with heartbeat, complete and fail; a stale one is refused (409 LeaseLost).'),
    leaseExpiresAtMs: z.number(),
  })
  .meta({ id: 'ClaimedTask' });

export const ClaimResultSchema = z.object({ tasks: z.array(ClaimedTaskSchema) });

const LeaseRef = z.strictObject({ id: z.string().min(1).max(300), leaseToken: z.string().min(1).max(300) });

export const HeartbeatBodySchema = z
  .strictObject({ tasks: z.array(LeaseRef).max(MAX_CONCURRENCY).optional().describe('The tasks it runs, with their lease tokens: each lease is extended.') })
  .meta({ id: 'WorkerHeartbeat' });

export const HeartbeatResultSchema = z.object({
  isRegistered: z.boolean().describe('false: the server does not know this worker (it restarted, or the worker missed heartbeats): register again; the leases were extended all the same'),
  leases: z.array(z.object({ id: z.string(), isLost: z.boolean().describe('true: stop this task, its result would be refused'), leaseExpiresAtMs: z.number().nullable() })),
});

const NextClaim = z
  .strictObject({ max: z.int().min(1).max(MAX_CONCURRENCY).describe('Tasks at most (capped by the worker\'s free slots).') })
  .optional()
  .describe('Also claim the next tasks in the same request, without waiting (saves a claim round trip per task).');

export const CompleteBodySchema = z
  .strictObject({ taskId: z.string().min(1).max(300), leaseToken: z.string().min(1).max(300), result: z.json().optional(), next: NextClaim })
  .meta({ id: 'WorkerComplete' });

export const FailBodySchema = z
  .strictObject({
    taskId: z.string().min(1).max(300),
    leaseToken: z.string().min(1).max(300),
    error: z.strictObject({ message: z.string().max(10_000), code: z.string().max(200).optional() }),
    retryable: z.boolean().optional().describe('false: the task ends dead at once (default true: retried while attempts are left).'),
    next: NextClaim,
  })
  .meta({ id: 'WorkerFail' });

export const TaskEndSchema = z.object({ id: z.string(), status: z.string() });
export const TaskEndNextSchema = TaskEndSchema.extend({ tasks: z.array(z.lazy(() => ClaimedTaskSchema)).optional().describe('The tasks `next` claimed (absent without `next`).') });

export const WorkerListSchema = z.object({
  workers: z.array(
    z.object({
      id: z.string(),
      pool: z.string(),
      name: z.string(),
      host: z.string(),
      tenant: z.string(),
      types: z.array(z.string()),
      concurrency: z.int(),
      status: z.string(),
      registeredAtMs: z.number(),
      lastHeartbeatMs: z.number(),
      taskIds: z.array(z.string()),
      tasksDone: z.int(),
    }),
  ),
});

export const DesiredSchema = z
  .object({
    pool: z.string(),
    desired: z.int().describe('Workers the pool wants now; never 0 while its tasks run or wait.'),
    current: z.int().describe('Workers it has (starting and draining included).'),
    min: z.int(),
    max: z.int(),
  })
  .meta({ id: 'PoolDesired' });
