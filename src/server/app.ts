// Builds the fastify app: zod validation and serialization, OpenAPI from the same
// schemas, bearer-key tenants, the global rate limit, error mapping, and the routes.
import Fastify from 'fastify';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fastifySwagger from '@fastify/swagger';
import { jsonSchemaTransform, jsonSchemaTransformObject, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { RateLimitedError } from '../core/index.ts';
import { ApiKeys, bearerKey, DEFAULT_TENANT } from './auth.ts';
import { ServerContext } from './context.ts';
import { answerClientError, errorBody, sendError } from './errors.ts';
import { useJsonBodyParser } from './json-body.ts';
import { LiveFeed } from './live-feed.ts';
import { ServerMetrics } from './metrics.ts';
import { ServerFaults, watchStore } from './store-watch.ts';
import { registerDashboardRoutes } from './routes/dashboard.ts';
import { registerMcpRoutes } from './routes/mcp.ts';
import { registerOpsRoutes } from './routes/ops.ts';
import { registerPoolRoutes } from './routes/pools.ts';
import { registerNodeRoutes } from './routes/nodes.ts';
import { registerScheduleRoutes } from './routes/schedules.ts';
import { registerTaskRoutes } from './routes/tasks.ts';
import { registerTaskLogRoutes } from './routes/task-logs.ts';
import { registerWorkerRoutes } from './routes/workers.ts';
import { TokenBucket } from './token-bucket.ts';
import { SERVER_DEFAULTS } from './types.ts';
import type { ServerOptions } from './types.ts';
import { TaskWaiter } from './waiter.ts';

/** Paths anyone may read without a key. */
const PUBLIC_PATHS = new Set(['/health', '/metrics', '/v1/openapi.json', '/', '/favicon.ico']);

export interface BuiltApp {
  app: FastifyInstance;
  ctx: ServerContext;
}

export async function buildApp(options: ServerOptions): Promise<BuiltApp> {
  const { clock } = options;
  // Every store call the routes make reports its outcome (a store `tidepool start` already
  // watches for the pools and the autoscaler is used as is).
  const faults = options.faults ?? new ServerFaults(clock, options.stallMs !== undefined ? { stallMs: options.stallMs } : {});
  const runtime: ServerOptions['runtime'] = { ...options.runtime, pools: () => options.runtime.pools(), store: watchStore(options.runtime.store, faults) };
  if (options.runtime.drain) runtime.drain = (ms) => options.runtime.drain!(ms);
  const keys = new ApiKeys(options.apiKeys ?? []);
  // In a cluster each live node takes an equal share of the global rate limit.
  let liveNodes = 1;
  const cluster = options.runtime.cluster;
  const onNodes = (n: number) => {
    liveNodes = Math.max(1, n);
    bucket?.setShare(1 / liveNodes);
  };
  const bucket = options.rateLimit ? new TokenBucket({ ratePerSec: options.rateLimit.ratePerSec, burst: options.rateLimit.burst ?? Math.max(1, Math.ceil(options.rateLimit.ratePerSec)) }, clock) : null;
  if (bucket && cluster) cluster.on('nodes', onNodes);

  const requestMs = options.requestTimeoutMs ?? SERVER_DEFAULTS.requestTimeoutMs;
  const headersMs = Math.min(requestMs, options.headersTimeoutMs ?? SERVER_DEFAULTS.headersTimeoutMs);
  // Node checks for late requests on this interval: a tenth of the shortest timeout, within 10 ms .. 1 s.
  const timeouts = { requestMs, headersMs, idleMs: options.idleTimeoutMs ?? SERVER_DEFAULTS.idleTimeoutMs, checkEveryMs: Math.max(10, Math.min(1000, Math.floor(headersMs / 10))) };
  const app = Fastify({
    // Requests are logged at info only when asked; warnings and every 500 are always logged.
    logger: { level: options.isLogging ? 'info' : 'warn', ...(options.logStream ? { stream: options.logStream } : {}) },
    bodyLimit: options.bodyLimitBytes ?? SERVER_DEFAULTS.bodyLimitBytes,
    // Keep-alive clients (load generators, the CLI's top) should not be cut mid-run.
    keepAliveTimeout: timeouts.idleMs,
    // Receiving a request (headers, then body) is bounded, so slow or stalled clients cannot
    // pile up sockets; node stops the clock once the request has arrived, so an answer held
    // by ?wait (up to 5 minutes) is not cut.
    requestTimeout: timeouts.requestMs,
    http: { requestTimeout: timeouts.requestMs, headersTimeout: timeouts.headersMs, connectionsCheckingInterval: timeouts.checkEveryMs } as never,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    routerOptions: { maxParamLength: 200, ignoreTrailingSlash: true },
    // Bad URL encoding and over-long path parameters answer in the API's error shape too.
    frameworkErrors: (err, req, reply) => void sendError(err, req, reply),
    // Errors node's HTTP parser finds before any route runs (bad method, 431, bad framing).
    clientErrorHandler: answerClientError,
  });
  useJsonBodyParser(app);
  // CONNECT is never served: answer it (node would drop the socket without a word).
  app.server.on('connect', (_req, socket) => answerClientError(Object.assign(new Error('CONNECT is not supported'), { code: 'TIDEPOOL_CONNECT' }), socket));
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  const metrics = new ServerMetrics(runtime);
  const waiter = new TaskWaiter(runtime.store, clock);
  const feed = new LiveFeed({
    runtime,
    clock,
    intervalMs: options.streamIntervalMs ?? SERVER_DEFAULTS.streamIntervalMs,
    onError: (err) => {
      metrics.onBackgroundError('stream');
      app.log.warn({ err }, 'live feed error');
    },
    onEvent: (e) => metrics.onScalingEvent(e),
  });
  metrics.watchHeld(() => waiter.heldCount, () => feed.clientCount);
  const ctx = new ServerContext({ runtime, clock, metrics, waiter, feed, faults, isMultiTenant: keys.size > 0, adminTenants: options.adminTenants });
  const unsubscribeStore = runtime.store.subscribe((e) => {
    if (e.kind === 'finished') metrics.onTaskFinished(e.task);
  });

  app.decorateRequest('tenant', DEFAULT_TENANT);

  // Auth, then the rate limit (a request with a bad key costs no token).
  app.addHook('onRequest', async (req: FastifyRequest, reply) => {
    const path = pathOf(req.url);
    if (PUBLIC_PATHS.has(path) || path.startsWith('/dashboard/')) return;
    if (keys.size > 0) {
      const key = bearerKey(req.headers.authorization) ?? (path === '/v1/stream' ? queryKey(req.url) : null);
      const tenant = key ? keys.tenantOf(key) : null;
      if (!tenant) {
        reply.header('www-authenticate', 'Bearer');
        return reply.code(401).send(errorBody('Unauthorized', key ? 'the API key is not valid' : 'missing API key; send Authorization: Bearer KEY'));
      }
      req.tenant = tenant;
    }
    if (bucket && path !== '/v1/stream') {
      const taken = bucket.take();
      if (!taken.isAllowed) {
        metrics.onRateLimited();
        throw new RateLimitedError(taken.retryAfterMs, `global rate limit of ${options.rateLimit!.ratePerSec} requests/s exceeded${liveNodes > 1 ? ` (this node's share: 1/${liveNodes} of it, one per live node)` : ''}`);
      }
    }
  });
  // A refusal sent before the request's body arrived (401, 429, 413 of unknown length...)
  // closes the connection: the client may never finish the body, and the socket must not
  // stay open waiting for it.
  app.addHook('onSend', async (req, reply, payload) => {
    if (reply.statusCode >= 400 && !req.raw.complete) reply.header('connection', 'close');
    return payload;
  });
  app.addHook('onResponse', async (req, reply) => {
    metrics.onResponse(req.method, req.routeOptions.url ?? 'unmatched', reply.statusCode);
  });

  app.setErrorHandler((err, req, reply) => sendError(err as Error, req, reply));
  app.setNotFoundHandler((req, reply) => {
    const path = pathOf(req.url);
    reply.code(404).send(errorBody('NotFound', `no route ${req.method} ${path.length > 200 ? path.slice(0, 200) + '...' : path}`));
  });

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Tidepool HTTP API',
        description: 'A durable task queue whose worker pools scale with the load. JSON under /v1; send Authorization: Bearer KEY when keys are configured.',
        version: '1',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
    transformObject: (documentObject) => describeResponses(jsonSchemaTransformObject(documentObject)),
  });

  registerTaskRoutes(app, ctx);
  registerTaskLogRoutes(app, ctx);
  registerPoolRoutes(app, ctx);
  registerNodeRoutes(app, ctx);
  registerOpsRoutes(app, ctx);
  registerWorkerRoutes(app, ctx);
  registerScheduleRoutes(app, ctx);
  registerDashboardRoutes(app);
  registerMcpRoutes(app);
  app.get('/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  // Before the HTTP server closes: end the never-ending streams and release held
  // ?wait requests, or close() would wait for them.
  app.addHook('preClose', async () => {
    cluster?.off('nodes', onNodes);
    feed.stop();
    waiter.close();
  });
  app.addHook('onClose', async () => {
    unsubscribeStore();
  });
  return { app, ctx };
}

function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

function queryKey(url: string): string | null {
  const q = url.indexOf('?');
  if (q < 0) return null;
  return new URLSearchParams(url.slice(q + 1)).get('key');
}

/** What each status means in this API, so the OpenAPI document says more than "Default Response". */
const RESPONSE_DESCRIPTIONS: Record<string, string> = {
  '200': 'OK',
  '201': 'Created: the task is stored (on disk, at the default durability)',
  '400': 'Bad request: the error message names the field and what was wrong',
  '401': 'Missing or unknown API key',
  '403': 'Forbidden: the tenant is not in server.adminTenants',
  '404': 'Not found (or another tenant\'s task or worker)',
  '409': 'Conflict with the task\'s status (e.g. cancelling an ended task), LeaseLost: the lease token is stale, or ScheduleConflict: another schedule has the name',
  '413': 'Body over the size limit',
  '429': 'Rate limited or queue full; see Retry-After',
  '503': 'Draining or store unavailable',
};

function describeResponses<T>(doc: T): T {
  const paths = (doc as { paths?: Record<string, Record<string, { responses?: Record<string, { description?: string }> }>> }).paths ?? {};
  for (const methods of Object.values(paths)) {
    for (const op of Object.values(methods)) {
      for (const [code, response] of Object.entries(op?.responses ?? {})) {
        if (response && (!response.description || response.description === 'Default Response')) response.description = RESPONSE_DESCRIPTIONS[code] ?? 'Response';
      }
    }
  }
  return doc;
}
