// Pools, events, metric history, /metrics gauges, the stream and retention, on a
// real server wired by startTidepool (memory store, in-process pool, autoscaler)
// running on a virtual clock: the autoscaler ticks only when the test advances time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../../src/core/index.ts';
import type { TaskContext } from '../../src/pools/index.ts';
import { resolveStartConfig, startTidepool } from '../../src/cli/start.ts';
import { request } from './helpers.ts';

async function start(options: { keys?: string; retentionMs?: string; limits?: string } = {}) {
  const clock = new VirtualClock();
  const config = resolveStartConfig(
    { store: 'memory', port: '0', 'interval-ms': '1000', ...(options.retentionMs ? { 'retention-ms': options.retentionMs } : {}), ...(options.limits ? { limits: options.limits } : {}) },
    {},
  );
  config.autoscaler.sampleEveryTicks = 1;
  config.pools = [{ name: 'gen', types: ['gen', 'gen2'], minWorkers: 1, maxWorkers: 6, policy: 'queue-latency', policyOptions: { targetQueueDepth: 2, decisionIntervalMs: 0 } }] as typeof config.pools;
  const gate: Array<() => void> = [];
  const running = await startTidepool({
    config,
    clock,
    apiKeysEnv: options.keys ?? '',
    handlers: {
      gen: (_p: unknown, ctx: TaskContext) => new Promise((resolve) => gate.push(() => resolve(ctx.id))),
      gen2: async () => 'done',
    },
  });
  const call = (method: string, path: string, body?: unknown, key?: string) => request(running.url, method, path, { body, key });
  return { clock, running, call, release: () => gate.splice(0).forEach((f) => f()) };
}

test('GET /v1/pools shows status, current, target, bounds, policy and workers with heartbeats', async () => {
  const t = await start();
  try {
    const res = await t.call('GET', '/v1/pools');
    assert.equal(res.status, 200);
    const [p] = res.body.pools;
    assert.equal(p.name, 'gen');
    assert.deepEqual(p.types, ['gen', 'gen2']);
    assert.equal(p.status, 'active');
    assert.equal(p.current, 1);
    assert.equal(p.target, 1);
    assert.equal(p.min, 1);
    assert.equal(p.max, 6);
    assert.equal(p.policy, 'queue-latency');
    assert.equal(p.workers.length, 1);
    assert.ok(['starting', 'idle'].includes(p.workers[0].status));
    assert.equal(typeof p.workers[0].lastHeartbeatMs, 'number');
  } finally {
    t.release();
    await t.running.stop(0);
  }
});

test('a backlog makes the autoscaler scale up; the event with its reason, the history and the desired-workers gauge show it', async () => {
  const t = await start();
  try {
    const batch = await t.call('POST', '/v1/tasks/batch', { tasks: Array.from({ length: 12 }, () => ({ type: 'gen' })) });
    assert.equal(batch.status, 201);
    await t.clock.advance(1000);
    const pools = await t.call('GET', '/v1/pools');
    assert.ok(pools.body.pools[0].target > 1, `target ${pools.body.pools[0].target}`);
    assert.equal(pools.body.pools[0].status, 'scaling_up');
    const events = await t.call('GET', `/v1/events?from=0&pool=gen`);
    const up = events.body.events.find((e: { action: string }) => e.action === 'scale_up');
    assert.ok(up, JSON.stringify(events.body));
    assert.equal(up.from, 1);
    assert.match(up.code, /^scale_up/);
    assert.match(up.reason, /\d/);
    const history = await t.call('GET', '/v1/metrics/history?from=0');
    assert.ok(history.body.samples.length >= 1);
    assert.equal(typeof history.body.samples[0].values.queueDepth, 'number');
    // The live feed passes recorded events on at its next tick (scale operations counter).
    await t.clock.advance(1000);
    const metrics: string = (await t.call('GET', '/metrics')).body;
    assert.match(metrics, /tidepool_scale_operations_total\{pool="gen",action="scale_up"\} [1-9]/);
    const target = (await t.call('GET', '/v1/pools')).body.pools[0].target;
    assert.match(metrics, new RegExp(`tidepool_pool_desired_workers\\{pool="gen"\\} ${target}`));
    assert.match(metrics, /tidepool_queue_depth\{type="gen",pool="gen"\} \d+/);
    assert.match(metrics, /tidepool_workers\{pool="gen",status="busy"\} \d+/);
  } finally {
    t.release();
    await t.running.stop(0);
  }
});

test('PATCH changes bounds and policy at runtime, refusing a bad policy or bounds with the field named', async () => {
  const t = await start();
  try {
    const ok = await t.call('PATCH', '/v1/pools/gen', { min: 2, max: 8, policy: 'threshold', preset: 'aggressive' });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.min, 2);
    assert.equal(ok.body.max, 8);
    assert.equal(ok.body.policy, 'threshold');
    assert.equal(ok.body.preset, 'aggressive');
    assert.equal(ok.body.target, 2, 'the target moved inside the new bounds');
    const presetOnly = await t.call('PATCH', '/v1/pools/gen', { preset: 'conservative' });
    assert.equal(presetOnly.body.preset, 'conservative');
    const unknown = await t.call('PATCH', '/v1/pools/gen', { policy: 'treshold' });
    assert.equal(unknown.status, 400);
    assert.match(unknown.body.error.message, /^body\.policy: policy "treshold" is unknown; known policies: /);
    const badPreset = await t.call('PATCH', '/v1/pools/gen', { policy: 'threshold', preset: 'turbo' });
    assert.equal(badPreset.status, 400);
    assert.match(badPreset.body.error.message, /^body\.preset: .*turbo/);
    const inverted = await t.call('PATCH', '/v1/pools/gen', { min: 9 });
    assert.equal(inverted.status, 400);
    assert.equal(inverted.body.error.message, 'body.min: got 9; expected min (9) <= max (8)');
    const missing = await t.call('PATCH', '/v1/pools/nope', { min: 1 });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.message, 'pool "nope" not found; known pools: gen');
    const events = await t.call('GET', '/v1/events?from=0');
    const codes = events.body.events.map((e: { code: string }) => e.code);
    assert.ok(codes.includes('bounds_changed') && codes.includes('policy_changed'), codes.join(','));
  } finally {
    t.release();
    await t.running.stop(0);
  }
});

test('POST /v1/pools/{name}/scale sets a count within min..max and refuses one outside', async () => {
  const t = await start();
  try {
    const ok = await t.call('POST', '/v1/pools/gen/scale', { count: 4 });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.target, 4);
    const low = await t.call('POST', '/v1/pools/gen/scale', { count: 0 });
    assert.equal(low.status, 400);
    assert.equal(low.body.error.message, 'body.count: got 0; expected an integer within min..max (1..6) of pool gen');
    const notInt = await t.call('POST', '/v1/pools/gen/scale', { count: 2.5 });
    assert.equal(notInt.status, 400);
    assert.match(notInt.body.error.message, /^body\.count: /);
  } finally {
    t.release();
    await t.running.stop(0);
  }
});

test('the stream needs a key when keys are configured, taken from ?key= as EventSource cannot send headers', async () => {
  const t = await start({ keys: 'ops=stream-key-001' });
  try {
    const denied = await fetch(`${t.running.url}/v1/stream`);
    assert.equal(denied.status, 401);
    await denied.text();
    const ac = new AbortController();
    const res = await fetch(`${t.running.url}/v1/stream?key=stream-key-001`, { signal: ac.signal });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    const reader = res.body!.getReader();
    let text = '';
    while (!text.includes('event: hello')) text += new TextDecoder().decode((await reader.read()).value);
    assert.match(text, /event: hello\ndata: \{"intervalMs":1000,"history":\[/);
    ac.abort();
  } finally {
    t.release();
    await t.running.stop(0);
  }
});

test('ended tasks are purged once the retention passes', async () => {
  const t = await start({ retentionMs: '60000' });
  try {
    const task = await t.call('POST', '/v1/tasks?wait=5000', { type: 'gen2' });
    assert.equal(task.body.status, 'succeeded');
    await t.clock.advance(30_000);
    assert.equal((await t.call('GET', `/v1/tasks/${task.body.id}`)).status, 200, 'kept within the retention');
    await t.clock.advance(40_000);
    assert.equal((await t.call('GET', `/v1/tasks/${task.body.id}`)).status, 404, 'purged after it');
  } finally {
    t.release();
    await t.running.stop(0);
  }
});

test('--limits standard applies the seeds\' 3 running tasks per tenant: the excess waits, it is not refused, and other tenants still run', async () => {
  const t = await start({ keys: 'a=tenant-a-key-1,b=tenant-b-key-2', limits: 'standard' });
  try {
    await t.call('POST', '/v1/pools/gen/scale', { count: 6 }, 'tenant-a-key-1');
    const a = await t.call('POST', '/v1/tasks/batch', { tasks: Array.from({ length: 5 }, () => ({ type: 'gen' })) }, 'tenant-a-key-1');
    assert.equal(a.status, 201, 'the excess is accepted, never rejected');
    const b = await t.call('POST', '/v1/tasks', { type: 'gen' }, 'tenant-b-key-2');
    assert.equal(b.status, 201);
    // Let idle workers poll (virtual time) until the claims settle.
    await t.clock.advance(3000);
    const runningA = await t.call('GET', '/v1/tasks?status=running', undefined, 'tenant-a-key-1');
    const queuedA = await t.call('GET', '/v1/tasks?status=queued', undefined, 'tenant-a-key-1');
    const runningB = await t.call('GET', '/v1/tasks?status=running', undefined, 'tenant-b-key-2');
    assert.equal(runningA.body.tasks.length, 3, 'tenant a runs at most 3');
    assert.equal(queuedA.body.tasks.length, 2, 'its other 2 wait');
    assert.equal(runningB.body.tasks.length, 1, 'tenant b runs beside it');
  } finally {
    t.release();
    await t.running.stop(0);
  }
});
