// The MCP server, driven by the official SDK's client over stdio (a real `tidepool mcp`
// child process) and over streamable HTTP at /mcp, against a real server with two
// tenants' keys: the tools are listed, a task is submitted and waited for, a bad
// argument is a tool error naming it, and a tenant cannot see another tenant's task.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { resolveStartConfig, startTidepool } from '../../src/cli/start.ts';
import { TOOL_NAMES } from '../../src/mcp/index.ts';

const KEYS = 'alpha=alpha-key-0001,beta=beta-key-0001';
const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

async function startServer() {
  const config = resolveStartConfig({ store: 'memory', port: '0', autoscale: 'false' }, {});
  config.pools = [{ name: 'gen', types: ['echo', 'slow'], minWorkers: 2, maxWorkers: 2, policy: 'fixed:2' }] as typeof config.pools;
  return startTidepool({
    config,
    apiKeysEnv: KEYS,
    log: () => {},
    handlers: {
      echo: async (payload) => ({ echoed: payload }),
      // Runs until cancelled: ends when its signal aborts (no timer left behind).
      slow: async (_p, ctx) =>
        new Promise((resolve) => {
          const timer = setTimeout(resolve, 60_000, 'late');
          ctx.signal.addEventListener('abort', () => {
            clearTimeout(timer);
            resolve(null);
          });
        }),
    },
  });
}

function stdioTransport(url: string, key: string): Transport {
  return new StdioClientTransport({ command: process.execPath, args: [MAIN, 'mcp', '--url', url], env: { ...(process.env as Record<string, string>), TIDEPOOL_KEY: key }, stderr: 'pipe' });
}

function httpTransport(url: string, key: string): Transport {
  return new StreamableHTTPClientTransport(new URL('/mcp', url), { requestInit: { headers: { authorization: `Bearer ${key}` } } });
}

async function connect(transport: Transport): Promise<Client> {
  const client = new Client({ name: 'tidepool-test', version: '1.0.0' });
  await client.connect(transport);
  return client;
}

type Result = { isError?: boolean; structuredContent?: any; content: Array<{ type: string; text?: string }> };
const call = async (c: Client, name: string, args: Record<string, unknown>) => (await c.callTool({ name, arguments: args })) as Result;
const text = (r: Result) => r.content.map((x) => x.text ?? '').join('');

for (const [kind, make] of [
  ['stdio', stdioTransport],
  ['HTTP', httpTransport],
] as const) {
  test(`MCP over ${kind}: tools listed, a task submitted and waited for, bad arguments are tool errors, tenants sealed`, { timeout: 60_000 }, async () => {
    const running = await startServer();
    const alpha = await connect(make(running.url, 'alpha-key-0001'));
    const beta = await connect(make(running.url, 'beta-key-0001'));
    try {
      const { tools } = await alpha.listTools();
      assert.deepEqual(tools.map((t) => t.name).sort(), [...TOOL_NAMES].sort());
      for (const t of tools) {
        assert.ok(t.description && t.description.length > 40, `${t.name} has a description an agent can act on`);
        assert.equal(t.inputSchema.type, 'object');
      }
      const submitTool = tools.find((t) => t.name === 'submit_task')!;
      assert.deepEqual((submitTool.inputSchema.required as string[]).sort(), ['type']);

      // Submit and wait in one call, then the same task by id: the JSON of GET /v1/tasks/{id}.
      const done = await call(alpha, 'submit_task', { type: 'echo', payload: { n: 1 }, idempotencyKey: `k-${kind}`, waitMs: 10_000 });
      assert.equal(done.isError, undefined, text(done));
      assert.equal(done.structuredContent.status, 'succeeded');
      assert.deepEqual(done.structuredContent.result, { echoed: { n: 1 } });
      assert.deepEqual(JSON.parse(text(done)), done.structuredContent);
      const id = done.structuredContent.id as string;
      const http = await (await fetch(`${running.url}/v1/tasks/${id}`, { headers: { authorization: 'Bearer alpha-key-0001' } })).json();
      const got = await call(alpha, 'get_task', { id });
      assert.deepEqual(got.structuredContent, http);
      // The idempotency key returns the first task.
      const again = await call(alpha, 'submit_task', { type: 'echo', payload: { n: 2 }, idempotencyKey: `k-${kind}` });
      assert.equal(again.structuredContent.id, id);

      // wait_task: returns the task as it is when the timeout passes.
      const slow = await call(alpha, 'submit_task', { type: 'slow' });
      assert.equal(slow.structuredContent.status, 'queued');
      const waited = await call(alpha, 'wait_task', { id: slow.structuredContent.id, timeoutMs: 300 });
      assert.equal(waited.isError, undefined, text(waited));
      assert.ok(['queued', 'running'].includes(waited.structuredContent.status));
      const cancelled = await call(alpha, 'cancel_task', { id: slow.structuredContent.id });
      assert.equal(cancelled.structuredContent.status, 'cancelled');
      const ended = await call(alpha, 'wait_task', { id: slow.structuredContent.id, timeoutMs: 5_000 });
      assert.equal(ended.structuredContent.status, 'cancelled');

      const page = await call(alpha, 'list_tasks', { type: 'echo', limit: 10 });
      assert.deepEqual(Object.keys(page.structuredContent).sort(), ['nextCursor', 'tasks']);
      assert.deepEqual(page.structuredContent.tasks.map((t: { id: string }) => t.id), [id]);
      const logs = await call(alpha, 'get_task_logs', { id });
      assert.equal(logs.isError, undefined, text(logs));
      assert.deepEqual(logs.structuredContent.lines, []);
      const pools = await call(alpha, 'pool_status', {});
      assert.equal(pools.structuredContent.pools[0].name, 'gen');
      const pool = await call(alpha, 'pool_status', { name: 'gen' });
      assert.equal(pool.structuredContent.name, 'gen');

      // Bad arguments: tool errors that name the argument; the server goes on.
      const badType = await call(alpha, 'submit_task', { type: 42 });
      assert.equal(badType.isError, true);
      assert.match(text(badType), /type/);
      const badWait = await call(alpha, 'wait_task', { id });
      assert.equal(badWait.isError, true);
      assert.match(text(badWait), /timeoutMs/);
      const badStatus = await call(alpha, 'list_tasks', { status: 'exploded' });
      assert.equal(badStatus.isError, true);
      assert.match(text(badStatus), /status/);
      const badId = await call(alpha, 'get_task', { id: 'no such/id' });
      assert.equal(badId.isError, true);
      assert.match(text(badId), /id/);
      const missing = await call(alpha, 'pool_status', { name: 'nope' });
      assert.equal(missing.isError, true);
      assert.match(text(missing), /NotFound/);

      // Another tenant sees nothing of alpha's.
      const foreign = await call(beta, 'get_task', { id });
      assert.equal(foreign.isError, true);
      assert.match(text(foreign), /NotFound/);
      assert.equal((await call(beta, 'get_task_logs', { id })).isError, true);
      assert.equal((await call(beta, 'cancel_task', { id })).isError, true);
      assert.deepEqual((await call(beta, 'list_tasks', {})).structuredContent.tasks, []);
      assert.equal((await call(alpha, 'get_task', { id })).structuredContent.status, 'succeeded');
    } finally {
      await alpha.close();
      await beta.close();
      await running.stop(0);
    }
  });
}

test('/mcp refuses a request without a key like any other API path', async () => {
  const running = await startServer();
  try {
    const res = await fetch(`${running.url}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }) });
    assert.equal(res.status, 401);
    const get = await fetch(`${running.url}/mcp`, { headers: { authorization: 'Bearer alpha-key-0001' } });
    assert.equal(get.status, 405);
  } finally {
    await running.stop(0);
  }
});
