// The HTTP API's zod schemas: the one source that validates requests, serializes
// responses and generates the OpenAPI document at /v1/openapi.json.
import { z } from 'zod';
import { isWellFormedText, jsonDepth, MAX_POOL_WORKERS, TASK_STATUSES, TASK_LIMITS, WORKER_STATUSES, POOL_STATUSES } from '../core/index.ts';

/** Largest integer the API accepts anywhere (2^53 - 1); only priority may be negative. Fields with a tighter range say so (TASK_LIMITS). */
export const MAX_INT = Number.MAX_SAFE_INTEGER;
/** Tasks in one POST /v1/tasks/batch, at most. */
export const MAX_BATCH_TASKS = 1000;
/** Longest ?wait= a request may hold, in ms (5 minutes). */
export const MAX_WAIT_MS = 300_000;
/** Longest task type name, in characters. */
export const MAX_TYPE_CHARS = TASK_LIMITS.maxNameChars;
/** Longest idempotency key, in characters. */
export const MAX_IDEMPOTENCY_KEY_CHARS = TASK_LIMITS.maxIdempotencyKeyChars;


const typeName = z
  .string()
  .min(1)
  .max(MAX_TYPE_CHARS)
  .regex(/^[A-Za-z0-9_.:-]+$/, 'expected letters, digits, _ . : - only')
  .describe('The task type (capability); routes the task to the pool serving it.');

const jsonValue: z.ZodType = z.json().describe('Any JSON value.');

/** A region name: the rule of tenant names (1-100 letters, digits, _ . -). */
export const REGION_PATTERN = /^[A-Za-z0-9_.-]{1,100}$/;
const regionName = z
  .string()
  .regex(REGION_PATTERN, 'expected 1-100 letters, digits, _ . - (a region name)')
  .describe('The region whose nodes serve this task first; nodes of other regions take it once its region has had no live node for regionFailoverMs. Unset: any node.');

/** A task's payload: any JSON value nesting at most TASK_LIMITS.maxPayloadDepth levels. */
const payloadValue = z
  .json()
  .refine((v) => jsonDepth(v) <= TASK_LIMITS.maxPayloadDepth, `nests more than ${TASK_LIMITS.maxPayloadDepth} levels of arrays/objects (the limit); flatten it`)
  .describe(`Any JSON value nesting at most ${TASK_LIMITS.maxPayloadDepth} levels of arrays/objects.`);

const MAX_RUN_AT_ISO = new Date(TASK_LIMITS.maxRunAtMs).toISOString();

export const RunAtSchema = z
  .union([
    z.int().min(0).max(TASK_LIMITS.maxRunAtMs, `expected epoch ms <= ${TASK_LIMITS.maxRunAtMs} (${MAX_RUN_AT_ISO})`),
    z.iso.datetime({ offset: true }).refine((s) => {
      const ms = Date.parse(s);
      return Number.isFinite(ms) && ms >= 0 && ms <= TASK_LIMITS.maxRunAtMs;
    }, `expected a date-time from 1970-01-01T00:00:00Z to ${MAX_RUN_AT_ISO}`),
  ])
  .describe(`Earliest start: epoch milliseconds or an ISO 8601 date-time string, from 1970 up to ${MAX_RUN_AT_ISO}.`);

/** A string with no lone UTF-16 surrogate (it has no UTF-8 form and would collide with U+FFFD once stored). */
const wellFormed = (s: string) => isWellFormedText(s);

export const SubmitBodySchema = z
  .strictObject({
    type: typeName,
    payload: payloadValue.optional(),
    priority: z.int().min(-TASK_LIMITS.maxPriority).max(TASK_LIMITS.maxPriority).optional().describe('Higher runs first (default 0); an integer within +/-(2^53 - 1).'),
    delayMs: z.int().min(0).max(TASK_LIMITS.maxDelayMs).optional().describe(`Start no earlier than this many ms from now: 0 .. ${TASK_LIMITS.maxDelayMs} (10 years).`),
    runAt: RunAtSchema.optional(),
    maxAttempts: z.int().min(1).max(TASK_LIMITS.maxAttempts).optional().describe(`Attempts before the task is dead: 1 .. ${TASK_LIMITS.maxAttempts} (default from the server config, 3 out of the box).`),
    timeoutMs: z.int().min(1).max(TASK_LIMITS.maxTimeoutMs).optional().describe(`Per-attempt time limit in ms: 1 .. ${TASK_LIMITS.maxTimeoutMs} (2^31 - 1, the longest timer).`),
    idempotencyKey: z
      .string()
      .min(1)
      .max(MAX_IDEMPOTENCY_KEY_CHARS)
      .refine(wellFormed, 'contains a lone UTF-16 surrogate (not valid Unicode)')
      .optional()
      .describe('A repeated key returns the first task (200) instead of creating one.'),
    region: regionName.optional(),
    callbackUrl: z
      .string()
      .min(1)
      .max(TASK_LIMITS.maxCallbackUrlChars)
      .refine((u) => /^https?:\/\//i.test(u) && URL.canParse(u), 'expected an absolute http(s) URL')
      .optional()
      .describe('When the task ends (succeeded, dead or cancelled), its task JSON is POSTed here, signed (Tidepool-Signature), retried until delivered or the attempts run out. Private and loopback hosts are refused unless callbacks.allowPrivateHosts allows them.'),
  })
  .refine((b) => b.delayMs === undefined || b.runAt === undefined, {
    message: 'give delayMs or runAt, not both',
    path: ['runAt'],
  })
  .meta({ id: 'SubmitTask' });

export const BatchBodySchema = z
  .strictObject({
    tasks: z.array(SubmitBodySchema).min(1).max(MAX_BATCH_TASKS),
  })
  .meta({ id: 'SubmitBatch' });

export const WaitQuerySchema = z.strictObject({
  wait: z.coerce.number().int().min(0).max(MAX_WAIT_MS).optional().describe('Hold the request until the task ends or this many ms pass.'),
});

export const TaskIdParamsSchema = z.strictObject({
  id: z.string().min(1).max(64).regex(/^[A-Za-z0-9_-]+$/, 'expected a task id (letters, digits, _ and - only)'),
});

export const ListQuerySchema = z.strictObject({
  status: z.enum(TASK_STATUSES).optional(),
  type: typeName.optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional().describe('Page size (default 100).'),
  cursor: z.string().min(1).max(200).optional().describe('nextCursor from the previous page.'),
});

const TaskErrorSchema = z.object({ message: z.string(), code: z.string().optional() });

export const TaskSchema = z
  .object({
    id: z.string(),
    type: z.string(),
    status: z.enum(TASK_STATUSES),
    payload: jsonValue,
    priority: z.number(),
    attempts: z.number(),
    maxAttempts: z.number(),
    timeoutMs: z.number(),
    tenant: z.string(),
    region: z.string().nullable().describe('The region named at submit; null when none.'),
    idempotencyKey: z.string().nullable(),
    result: jsonValue.nullable(),
    error: TaskErrorSchema.nullable(),
    runAtMs: z.number(),
    createdAtMs: z.number(),
    updatedAtMs: z.number(),
    startedAtMs: z.number().nullable(),
    finishedAtMs: z.number().nullable(),
    workerId: z.string().nullable(),
    leaseExpiresAtMs: z.number().nullable(),
  })
  .meta({ id: 'Task' });

/** The submit answer: the task, plus `warning` when no pool serves its type. */
export const SubmittedTaskSchema = TaskSchema.extend({
  warning: z.string().optional().describe('Set when no pool of this server serves the task type: the task is stored but waits until a pool serving it starts.'),
});

/** Waiting (queued or retrying) tasks of types no pool serves, by type. */
export const UnservedSchema = z.object({
  tasks: z.number().describe('Queued or retrying tasks of types no pool serves.'),
  types: z.record(z.string(), z.number()).describe('Those tasks by type.'),
});

export const TaskPageSchema = z.object({ tasks: z.array(TaskSchema), nextCursor: z.string().nullable() });
export const BatchResultSchema = z.object({
  tasks: z.array(TaskSchema),
  /** Per task: false when an earlier task with the same idempotency key came back. */
  created: z.array(z.boolean()),
  /** One per type in the batch that no pool serves (absent when every type is served). */
  warnings: z.array(z.string()).optional(),
});

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.string().describe('Stable error code (InvalidInput, TaskNotFound, RateLimited, ...).'),
      message: z.string().describe('What was wrong, naming the field.'),
    }),
  })
  .meta({ id: 'Error' });

export const PoolNameParamsSchema = z.strictObject({
  name: z.string().min(1).max(200).regex(/^[A-Za-z0-9_.:-]+$/, 'expected a pool name'),
});

export const PoolPatchBodySchema = z
  .strictObject({
    min: z.int().min(0).max(MAX_POOL_WORKERS).optional().describe(`New minimum workers: 0 .. ${MAX_POOL_WORKERS}.`),
    max: z.int().min(1).max(MAX_POOL_WORKERS).optional().describe(`New maximum workers: 1 .. ${MAX_POOL_WORKERS}.`),
    policy: z.string().min(1).max(100).optional().describe('Policy name (threshold, queue-latency, ...).'),
    preset: z.string().min(1).max(100).optional().describe("Preset of the policy (e.g. 'aggressive')."),
  })
  .refine((b) => b.min === undefined || b.max === undefined || b.min <= b.max, {
    message: 'min must be <= max',
    path: ['min'],
  })
  .meta({ id: 'PoolPatch' });

export const ScaleBodySchema = z.strictObject({ count: z.int().min(0).max(MAX_POOL_WORKERS).describe(`Desired workers, within the pool's min..max (at most ${MAX_POOL_WORKERS}).`) });

const WorkerSchema = z.object({
  id: z.string(),
  status: z.enum(WORKER_STATUSES),
  startedAtMs: z.number(),
  lastHeartbeatMs: z.number(),
  taskId: z.string().nullable(),
  tasksDone: z.number(),
  startupMs: z.number().nullable().describe('Measured start-up of this worker (spawn to ready), ms; null while starting.'),
  respawnAtMs: z.number().nullable().describe('A respawn waiting out its backoff: when it spawns (epoch ms); null otherwise.'),
});

const PercentilesSchema = z.object({ p50: z.number(), p95: z.number(), p99: z.number(), count: z.number() });

export const PoolSchema = z
  .object({
    name: z.string(),
    types: z.array(z.string()),
    kind: z.string().describe('Worker kind: inline, thread, command, process or remote.'),
    startupMs: z.number().describe('Measured worker start-up (spawn to ready), p95 over the window, ms; 0 before any worker started.'),
    status: z.enum(POOL_STATUSES),
    current: z.number().describe('Workers now (starting + idle + busy + draining).'),
    target: z.number().describe("The autoscaler's target worker count (GET /v1/pools/{name}/desired and the gauge tidepool_pool_desired_workers publish it, at least 1 while tasks of the pool run or wait)."),
    min: z.number(),
    max: z.number(),
    policy: z.string(),
    preset: z.string().nullable(),
    queueDepth: z.number(),
    busy: z.number(),
    idle: z.number(),
    starting: z.number(),
    draining: z.number(),
    utilization: z.number(),
    completed: z.number(),
    failed: z.number(),
    waitMs: PercentilesSchema,
    runMs: PercentilesSchema,
    throughputPerMin: z.number(),
    successRate: z.number(),
    health: z.enum(['healthy', 'degraded', 'unhealthy']),
    crashes: z.number().describe('Workers that ended on their own since start.'),
    startFailures: z.number().describe('Workers that could not start since start.'),
    respawns: z.number().describe('Replacement workers started after a crash, failed start, stall or kill.'),
    recycles: z.number().describe('Workers replaced after maxTasksPerWorker tasks.'),
    stalls: z.number(),
    respawnBackoffMs: z.number().describe('Delay before the next respawn, ms (grows while workers die before or soon after ready).'),
    workerSeconds: z.number().nullable().describe('Time every worker existed (starting included) since the pool opened, s; null when the pool does not count it.'),
    starts: z.number().nullable().describe('Workers started since the pool opened (initial ones, respawns and recycles included).'),
    spend: z.number().nullable().describe('Money: workerSeconds / 3600 x pricePerWorkerHour + starts x pricePerStart (config keys; the defaults 1 and 0 make it worker-hours).'),
    workers: z.array(WorkerSchema),
    cluster: z
      .object({
        current: z.int().describe('Workers of the pool on every live node (starting and draining included).'),
        target: z.int().describe("The leader's total for the pool (what the nodes' shares add up to)."),
        nodes: z.int().describe('Live nodes that run the pool.'),
        leader: z.string().nullable().describe('The node that leads (decides the total).'),
      })
      .optional()
      .describe('In a cluster: the pool over every live node (the fields above are this node\'s own).'),
  })
  .meta({ id: 'Pool' });

const NodePoolSchema = z.object({
  name: z.string(),
  kind: z.string(),
  types: z.array(z.string()),
  min: z.int().describe("This node's configured bounds of the pool's total."),
  max: z.int(),
  cap: z.int().describe('Most workers of the pool this node runs (maxWorkersPerNode, else max).'),
  target: z.int(),
  current: z.int(),
  busy: z.int(),
  idle: z.int(),
  starting: z.int(),
  draining: z.int(),
  share: z.int().nullable().describe("This node's share in the leader's last decision (null: none yet)."),
  leaderBounds: z.object({ min: z.int(), max: z.int() }).nullable().describe("The bounds the leader applies (they win when nodes are configured differently)."),
});

export const NodeSchema = z
  .object({
    id: z.string(),
    host: z.string(),
    pid: z.int(),
    version: z.string(),
    region: z.string().nullable(),
    leader: z.boolean().describe('True for exactly one live node: the one holding the leadership lease.'),
    self: z.boolean().describe('True for the node that answered.'),
    startedAtMs: z.number(),
    lastSeenMs: z.number().describe('When the node last renewed its record (time of record).'),
    pools: z.array(NodePoolSchema),
  })
  .meta({ id: 'Node' });

export const NodeListSchema = z.object({
  nodes: z.array(NodeSchema),
  leader: z.object({ id: z.string(), token: z.int(), expiresAtMs: z.number() }).nullable().describe('The leadership lease: holder, fencing token, expiry.'),
});

export const PoolListSchema = z.object({ pools: z.array(PoolSchema), unserved: UnservedSchema });

/** A time bound in a query string: epoch ms (digits) or an ISO 8601 date-time. */
const instantQuery = z
  .union([z.string().regex(/^\d{1,16}$/, 'expected epoch ms').transform(Number), z.iso.datetime({ offset: true })])
  .describe('Epoch milliseconds or an ISO 8601 date-time.');

export const RangeQuerySchema = z.strictObject({
  from: instantQuery.optional().describe('Start of the range (default: 1 hour before `to`).'),
  to: instantQuery.optional().describe('End of the range (default: now).'),
  pool: z.string().min(1).max(200).optional(),
  limit: z.coerce.number().int().min(1).max(10_000).optional().describe('At most this many items (default 1000).'),
});

export const ScalingEventSchema = z.object({
  atMs: z.number(),
  pool: z.string(),
  from: z.number(),
  to: z.number(),
  action: z.enum(['scale_up', 'scale_down', 'none']),
  code: z.string(),
  reason: z.string(),
  policy: z.string(),
});
export const EventListSchema = z.object({ events: z.array(ScalingEventSchema) });

export const MetricSampleSchema = z.object({ atMs: z.number(), pool: z.string(), values: z.record(z.string(), z.number()) });
export const MetricHistorySchema = z.object({ samples: z.array(MetricSampleSchema) });

export const HealthSchema = z.object({
  status: z.enum(['healthy', 'degraded', 'unhealthy']),
  reasons: z.array(z.string()),
  draining: z.boolean(),
  faults: z.array(z.string()).describe('Server-level faults (each also in reasons); non-empty exactly when the answer is 503.'),
  unserved: UnservedSchema.optional(),
});

export type SubmitBody = z.infer<typeof SubmitBodySchema>;
export type PoolPatchBody = z.infer<typeof PoolPatchBodySchema>;
