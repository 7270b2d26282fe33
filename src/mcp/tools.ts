// The MCP server: seven tools an agent uses to delegate work to Tidepool. Every tool is
// one (or, for a long wait, a few) calls of the HTTP API through an `ApiCall`, so the
// tools answer exactly what the API answers, under the same keys, tenants, validation
// and limits: over stdio the calls go to a running server with fetch; at `/mcp` on the
// server they are injected into the server's own routes with the caller's key.
//
// Tool names and arguments are a contract: submit_task, get_task, wait_task, list_tasks,
// cancel_task, get_task_logs, pool_status.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

export interface ApiResponse {
  status: number;
  body: unknown;
}

/** One HTTP API call (path with its query string; body as JSON). */
export type ApiCall = (method: 'GET' | 'POST', path: string, body?: unknown) => Promise<ApiResponse>;

/** Longest wait one HTTP request may hold (the API's ?wait cap); wait_task chains requests past it. */
const API_MAX_WAIT_MS = 300_000;
/** Longest wait_task timeout: an hour. */
export const MCP_MAX_WAIT_MS = 3_600_000;

const TASK_STATUSES = ['queued', 'running', 'retrying', 'succeeded', 'dead', 'cancelled'] as const;
const ENDED = new Set(['succeeded', 'dead', 'cancelled']);

const taskId = z.string().min(1).max(64).describe('The task id, as submit_task or list_tasks returned it.');

export const TOOL_NAMES = ['submit_task', 'get_task', 'wait_task', 'list_tasks', 'cancel_task', 'get_task_logs', 'pool_status'] as const;

export function createMcpServer(call: ApiCall, version: string): McpServer {
  const server = new McpServer(
    { name: 'tidepool', version },
    {
      instructions:
        'Tidepool is a durable task queue whose worker pools scale with the load. Delegate work with submit_task ' +
        '(pass waitMs to get the finished task back in the same call, or call wait_task later), check it with get_task, ' +
        'read what its worker printed with get_task_logs, and see pool capacity with pool_status. A task ends as ' +
        'succeeded (see result), dead (see error, after its attempts) or cancelled.',
    },
  );

  server.registerTool(
    'submit_task',
    {
      title: 'Submit a task',
      description:
        'Queue one task for a worker pool and return the task as GET /v1/tasks/{id} gives it (status queued, or ' +
        'its end state when waitMs is given and it ends in time). `type` picks the pool (pool_status lists the types ' +
        'each pool serves). Reuse the same idempotencyKey when retrying a submit so the task is not queued twice: the ' +
        'first task comes back instead.',
      inputSchema: {
        type: z.string().min(1).max(200).describe('Task type, e.g. "chat" or "code"; a pool serving it runs the task.'),
        payload: z.unknown().optional().describe('Any JSON value; the handler receives it as its input.'),
        priority: z.number().int().optional().describe('Higher runs first (default 0).'),
        idempotencyKey: z.string().min(1).max(200).optional().describe('A key of yours; a second submit with it returns the first task.'),
        region: z.string().min(1).max(100).optional().describe('Run it on nodes of this region first (1-100 letters, digits, _ . -); other regions take it once this one has no live node for a while.'),
        waitMs: z.number().int().min(0).max(API_MAX_WAIT_MS).optional().describe('Hold the answer until the task ends or this many ms pass (max 300000).'),
        callbackUrl: z.string().min(1).max(2048).optional().describe('An http(s) URL that gets the task JSON, signed, when the task ends (instead of polling); the server refuses private hosts unless configured to allow them.'),
      },
      annotations: { idempotentHint: false, openWorldHint: true },
    },
    async (args) => {
      const body: Record<string, unknown> = { type: args.type };
      if (args.payload !== undefined) body.payload = args.payload;
      if (args.priority !== undefined) body.priority = args.priority;
      if (args.idempotencyKey !== undefined) body.idempotencyKey = args.idempotencyKey;
      if (args.region !== undefined) body.region = args.region;
      if (args.callbackUrl !== undefined) body.callbackUrl = args.callbackUrl;
      return answer(await call('POST', `/v1/tasks${args.waitMs ? `?wait=${args.waitMs}` : ''}`, body));
    },
  );

  server.registerTool(
    'get_task',
    {
      title: 'Get a task',
      description: 'The task as GET /v1/tasks/{id} gives it: status, attempts, result (when succeeded), error (when dead), timings.',
      inputSchema: { id: taskId },
      annotations: { readOnlyHint: true },
    },
    async (args) => answer(await call('GET', `/v1/tasks/${encodeURIComponent(args.id)}`)),
  );

  server.registerTool(
    'wait_task',
    {
      title: 'Wait for a task to end',
      description:
        'Wait until the task ends (succeeded, dead or cancelled) or timeoutMs passes, then return the task in whatever ' +
        'status it has then. A status other than those three means it was still queued, retrying or running: call again.',
      inputSchema: {
        id: taskId,
        timeoutMs: z.number().int().min(0).max(MCP_MAX_WAIT_MS).describe('How long to wait at most, in ms (max 3600000).'),
      },
      annotations: { readOnlyHint: true },
    },
    async (args) => {
      const path = `/v1/tasks/${encodeURIComponent(args.id)}`;
      let left = args.timeoutMs;
      for (;;) {
        const step = Math.min(left, API_MAX_WAIT_MS);
        const res = await call('GET', step > 0 ? `${path}?wait=${step}` : path);
        left -= step;
        const status = (res.body as { status?: string } | null)?.status;
        if (res.status !== 200 || left <= 0 || (status && ENDED.has(status))) return answer(res);
      }
    },
  );

  server.registerTool(
    'list_tasks',
    {
      title: 'List tasks',
      description: 'Tasks oldest first (in submission order), as {tasks, nextCursor}; pass nextCursor back as cursor for the next page (null when there is none). Filter by status (status "dead" is the dead-letter view) and type.',
      inputSchema: {
        status: z.enum(TASK_STATUSES).optional().describe('Only tasks in this status.'),
        type: z.string().min(1).max(200).optional().describe('Only tasks of this type.'),
        limit: z.number().int().min(1).max(1000).optional().describe('Page size (default 100, max 1000).'),
        cursor: z.string().min(1).max(200).optional().describe('nextCursor from the previous page.'),
      },
      annotations: { readOnlyHint: true },
    },
    async (args) => {
      const q = new URLSearchParams();
      if (args.status) q.set('status', args.status);
      if (args.type) q.set('type', args.type);
      if (args.limit !== undefined) q.set('limit', String(args.limit));
      if (args.cursor) q.set('cursor', args.cursor);
      const qs = q.toString();
      return answer(await call('GET', `/v1/tasks${qs ? `?${qs}` : ''}`));
    },
  );

  server.registerTool(
    'cancel_task',
    {
      title: 'Cancel a task',
      description: 'Cancel a task that has not ended; a running task is told to stop through its signal. Returns the task (status cancelled). A task that already ended gives a Conflict error.',
      inputSchema: { id: taskId },
      annotations: { destructiveHint: true, idempotentHint: true },
    },
    async (args) => answer(await call('POST', `/v1/tasks/${encodeURIComponent(args.id)}/cancel`)),
  );

  server.registerTool(
    'get_task_logs',
    {
      title: "Read a task's logs",
      description: "What the task's workers printed, per attempt, oldest first, as {lines: [{attempt, atMs, stream, text}], truncated}; an empty list when it printed nothing. truncated is true when the oldest lines were dropped to keep the task's log bounded.",
      inputSchema: { id: taskId },
      annotations: { readOnlyHint: true },
    },
    async (args) => answer(await call('GET', `/v1/tasks/${encodeURIComponent(args.id)}/logs`)),
  );

  server.registerTool(
    'pool_status',
    {
      title: 'Pool status',
      description: 'Worker pools as GET /v1/pools gives them ({pools: [...]}): the types each serves, workers by status, target and bounds, policy, queue depth, wait and run percentiles, health. With name, that one pool\'s object.',
      inputSchema: { name: z.string().min(1).max(200).optional().describe('One pool by name; all pools when left out.') },
      annotations: { readOnlyHint: true },
    },
    async (args) => {
      const res = await call('GET', '/v1/pools');
      if (args.name === undefined || res.status !== 200) return answer(res);
      const pool = ((res.body as { pools?: Array<{ name: string }> }).pools ?? []).find((p) => p.name === args.name);
      if (pool) return answer({ status: 200, body: pool });
      const names = ((res.body as { pools?: Array<{ name: string }> }).pools ?? []).map((p) => p.name);
      return answer({ status: 404, body: { error: { code: 'NotFound', message: `name: no pool ${JSON.stringify(args.name)}; pools: ${names.join(', ') || '(none)'}` } } });
    },
  );

  return server;
}

/** The API's answer as a tool result: its JSON as structured content and as text; a 4xx/5xx as a tool error. */
function answer(res: ApiResponse): CallToolResult {
  const isObject = res.body !== null && typeof res.body === 'object' && !Array.isArray(res.body);
  if (res.status >= 200 && res.status < 300) {
    const text = JSON.stringify(res.body);
    return isObject ? { content: [{ type: 'text', text }], structuredContent: res.body as Record<string, unknown> } : { content: [{ type: 'text', text }] };
  }
  const err = (res.body as { error?: { code?: string; message?: string } } | null)?.error;
  const text = err ? `${err.code ?? 'Error'} (HTTP ${res.status}): ${err.message ?? ''}` : `HTTP ${res.status}: ${typeof res.body === 'string' ? res.body.slice(0, 500) : JSON.stringify(res.body)}`;
  return { isError: true, content: [{ type: 'text', text }], ...(isObject ? { structuredContent: res.body as Record<string, unknown> } : {}) };
}
