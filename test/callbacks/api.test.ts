// Completion callbacks through the front doors of a real server (`startTidepool` on
// SQLite, real pool, real receiver): POST /v1/tasks, the batch, `tidepool submit
// --callback-url` and MCP's submit_task take callbackUrl; the receiver gets the task JSON
// as GET /v1/tasks/{id} gives it, signed; a URL that reaches a private address (or any
// URL on a server without callbacks.secret) is refused with a 400 naming the field, and
// nothing is stored.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { resolveStartConfig, startTidepool } from '../../src/cli/start.ts';
import type { RunningTidepool } from '../../src/cli/start.ts';
import { run } from '../../src/cli/client.ts';
import { verifySignature } from '../../src/webhooks/index.ts';
import { tempDir } from '../store/helpers.ts';
import { startReceiver } from './receiver.ts';
import type { Receiver } from './receiver.ts';

const SECRET = 'cbsec-api-0123456789';
const tmp = tempDir('tidepool-callbacks-api-');
let running: RunningTidepool;
let bare: RunningTidepool;
let receiver: Receiver;

async function start(name: string, callbacks: Record<string, unknown> | undefined): Promise<RunningTidepool> {
  const config = resolveStartConfig({ store: `sqlite:${join(tmp, `${name}.db`)}`, port: '0' }, {});
  config.pools = [{ name: 'work', types: ['echo', 'fail'], minWorkers: 2, maxWorkers: 2, policy: 'fixed:2' }] as typeof config.pools;
  if (callbacks) config.callbacks = { ...(config.callbacks as object), ...callbacks };
  return startTidepool({
    config,
    apiKeysEnv: '',
    log: () => {},
    handlers: {
      echo: async (payload) => ({ echoed: payload }),
      fail: async () => {
        throw new Error('always fails');
      },
    },
  });
}

before(async () => {
  receiver = await startReceiver();
  running = await start('on', { secret: SECRET, allowPrivateHosts: ['127.0.0.1'], sweepIntervalMs: 200 });
  bare = await start('off', undefined);
});

after(async () => {
  await running.stop(1000);
  await bare.stop(1000);
  await receiver.close();
});

const post = async (base: string, path: string, body: unknown) => {
  const res = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as any };
};

async function callbackOf(id: string) {
  for (let n = receiver.got.length + 1; !receiver.got.some((g) => g.json?.id === id); n++) await receiver.waitFor(n);
  return receiver.got.find((g) => g.json.id === id)!;
}

test('POST /v1/tasks with callbackUrl: the receiver gets the ended task as GET /v1/tasks/{id} gives it, signed', async () => {
  const ok = await post(running.url, '/v1/tasks', { type: 'echo', payload: { n: 1 }, callbackUrl: receiver.url });
  assert.equal(ok.status, 201);
  assert.equal(ok.body.callbackUrl, undefined, 'the task JSON is the contract: no new field');
  const dead = await post(running.url, '/v1/tasks', { type: 'fail', maxAttempts: 1, callbackUrl: receiver.url });
  for (const id of [ok.body.id, dead.body.id]) {
    const got = await callbackOf(id);
    const viaGet = await (await fetch(`${running.url}/v1/tasks/${id}`)).json();
    assert.deepEqual(got.json, viaGet);
    assert.equal(verifySignature(SECRET, got.headers['tidepool-signature'] as string, got.body, Date.now()), true);
    assert.equal(got.headers['content-type'], 'application/json');
  }
  assert.equal((await callbackOf(dead.body.id)).json.status, 'dead');
  assert.equal((await callbackOf(ok.body.id)).json.status, 'succeeded');
});

test('a batch carries callbackUrl per task; tasks without one get none', async () => {
  const before = receiver.got.length;
  const res = await post(running.url, '/v1/tasks/batch', { tasks: [{ type: 'echo', payload: 'a', callbackUrl: receiver.url }, { type: 'echo', payload: 'b' }, { type: 'echo', payload: 'c', callbackUrl: receiver.url }] });
  assert.equal(res.status, 201);
  const [a, b, c] = res.body.tasks.map((t: { id: string }) => t.id);
  await callbackOf(a);
  await callbackOf(c);
  await fetch(`${running.url}/v1/tasks/${b}?wait=10000`).then((r) => r.json());
  await running.callbacks!.sweep();
  await running.callbacks!.idle();
  const ids = receiver.got.slice(before).map((g) => g.json.id);
  assert.deepEqual(ids.sort(), [a, c].sort());
});

test('a callbackUrl that reaches a private or loopback address is refused with a 400 naming it, and nothing is stored', async () => {
  const count = async () => ((await (await fetch(`${running.url}/v1/tasks?limit=1000`)).json()) as { tasks: unknown[] }).tasks.length;
  const n = await count();
  // The server allows 127.0.0.1 (its receiver), nothing else of 127/8.
  const loopback = await post(running.url, '/v1/tasks', { type: 'echo', callbackUrl: 'http://127.0.0.2:9/hook' });
  assert.equal(loopback.status, 400);
  assert.equal(loopback.body.error.code, 'InvalidInput');
  assert.equal(loopback.body.error.message, 'body.callbackUrl: host 127.0.0.2: 127.0.0.2 is a private, loopback, link-local or otherwise special-purpose address (allow it with callbacks.allowPrivateHosts)');
  const metadata = await post(running.url, '/v1/tasks', { type: 'echo', callbackUrl: 'http://169.254.169.254/latest/meta-data' });
  assert.match(metadata.body.error.message, /^body\.callbackUrl: host 169\.254\.169\.254: 169\.254\.169\.254 is a private/);
  const batch = await post(running.url, '/v1/tasks/batch', { tasks: [{ type: 'echo', callbackUrl: receiver.url }, { type: 'echo', callbackUrl: 'http://10.0.0.1/x' }] });
  assert.equal(batch.status, 400);
  assert.match(batch.body.error.message, /^body\.tasks\[1\]\.callbackUrl: host 10\.0\.0\.1: /);
  const scheme = await post(running.url, '/v1/tasks', { type: 'echo', callbackUrl: 'file:///etc/passwd' });
  assert.equal(scheme.status, 400);
  assert.match(scheme.body.error.message, /body\.callbackUrl: expected an absolute http\(s\) URL/);
  assert.equal(await count(), n, 'no refused submit stored a task');
});

test('a server without callbacks.secret refuses callbackUrl, naming the field and the setting', async () => {
  const res = await post(bare.url, '/v1/tasks', { type: 'echo', callbackUrl: receiver.url });
  assert.equal(res.status, 400);
  assert.equal(res.body.error.message, 'body.callbackUrl: this server sends no completion callbacks (callbacks.secret is not set)');
  assert.equal(bare.callbacks, null);
});

test('tidepool submit --callback-url and MCP submit_task carry callbackUrl', async () => {
  let out = '';
  const code = await run(['submit', 'echo', '--payload', '{"via":"cli"}', '--callback-url', receiver.url, '--json', '--url', running.url], { out: (t) => (out += t), err: () => {} });
  assert.equal(code, 0);
  const cliTask = JSON.parse(out);
  assert.deepEqual((await callbackOf(cliTask.id)).json.payload, { via: 'cli' });

  const client = new Client({ name: 'tidepool-test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL('/mcp', running.url)));
  try {
    const result = (await client.callTool({ name: 'submit_task', arguments: { type: 'echo', payload: { via: 'mcp' }, callbackUrl: receiver.url } })) as unknown as { structuredContent: { id: string } };
    assert.deepEqual((await callbackOf(result.structuredContent.id)).json.payload, { via: 'mcp' });
    const refused = (await client.callTool({ name: 'submit_task', arguments: { type: 'echo', callbackUrl: 'http://127.0.0.2/' } })) as unknown as { isError?: boolean; content: Array<{ text: string }> };
    assert.equal(refused.isError, true);
    assert.match(refused.content[0]!.text, /callbackUrl: host 127\.0\.0\.2: /);
  } finally {
    await client.close();
  }
});
