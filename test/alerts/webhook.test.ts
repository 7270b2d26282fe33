// Alerts reach a real HTTP receiver, signed, when a real pool turns unhealthy and when it
// recovers; deliveries are retried with backoff; signatures reject tampering and age.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import { resolveStartConfig, startTidepool } from '../../src/cli/start.ts';
import { signBody, verifySignature, WebhookSender } from '../../src/webhooks/index.ts';
import { systemClock } from '../../src/core/index.ts';

const SECRET = 'whsec-test-0123456789';

async function receiver(answer: (n: number) => number = () => 200) {
  const got: Array<{ headers: IncomingHttpHeaders; body: string; json: any }> = [];
  let n = 0;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      got.push({ headers: req.headers, body, json: JSON.parse(body) });
      res.writeHead(answer(++n)).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/hook`, got, close: () => new Promise<void>((r) => server.close(() => r())) };
}

async function until(what: string, check: () => boolean, ms = 15_000) {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

test('signatures: t=<ms>,v1=<HMAC-SHA256(secret, t.body)>; a changed body, a wrong secret or an old timestamp is rejected', () => {
  const body = '{"a":1}';
  const header = signBody(SECRET, body, 1_000_000);
  assert.match(header, /^t=1000000,v1=[0-9a-f]{64}$/);
  assert.equal(verifySignature(SECRET, header, body, 1_000_000 + 1000), true);
  assert.equal(verifySignature(SECRET, header, '{"a":2}', 1_000_000), false);
  assert.equal(verifySignature('another-secret-xxxxxx', header, body, 1_000_000), false);
  assert.equal(verifySignature(SECRET, header, body, 1_000_000 + 301_000), false);
  assert.equal(verifySignature(SECRET, null, body, 1_000_000), false);
});

test('a delivery answered 500 is retried with backoff until the receiver takes it; a 400 is not retried', async () => {
  const r = await receiver((n) => (n < 3 ? 500 : 200));
  const sender = new WebhookSender({ clock: systemClock, baseBackoffMs: 20, maxAttempts: 5 });
  try {
    const outcome = await sender.send({ url: r.url, secret: SECRET }, { hello: 1 });
    assert.deepEqual({ ok: outcome.ok, attempts: outcome.attempts, status: outcome.status }, { ok: true, attempts: 3, status: 200 });
    assert.equal(r.got.length, 3);
    for (const g of r.got) assert.equal(verifySignature(SECRET, g.headers['tidepool-signature'] as string, g.body, Date.now()), true);
  } finally {
    await sender.close();
    await r.close();
  }
  const refusing = await receiver(() => 400);
  const s2 = new WebhookSender({ clock: systemClock, baseBackoffMs: 20 });
  try {
    const outcome = await s2.send({ url: refusing.url, secret: SECRET }, { hello: 2 });
    assert.deepEqual({ ok: outcome.ok, attempts: outcome.attempts }, { ok: false, attempts: 1 });
  } finally {
    await s2.close();
    await refusing.close();
  }
});

test('a pool whose tasks fail sends a signed pool_health alert to the webhook, and a resolution once it recovers', { timeout: 60_000 }, async () => {
  const r = await receiver();
  let isBroken = true;
  const config = resolveStartConfig({ store: 'memory', port: '0', autoscale: 'false' }, {});
  config.retry = { ...config.retry, maxAttempts: 1 };
  config.alerts = { webhooks: [{ url: r.url, secret: SECRET }], intervalMs: 100 };
  config.pools = [{ name: 'flaky', types: ['flaky'], minWorkers: 2, maxWorkers: 2, policy: 'fixed:2', windowMs: 1500 }] as typeof config.pools;
  const log: string[] = [];
  const running = await startTidepool({
    config,
    log: (l) => log.push(l),
    handlers: {
      flaky: async () => {
        if (isBroken) throw new Error('the model endpoint is down');
        return 'ok';
      },
    },
  });
  const submit = (n: number) => Promise.all(Array.from({ length: n }, () => running.store.submit({ type: 'flaky' })));
  try {
    await submit(10);
    await until('a firing alert', () => r.got.some((g) => g.json.alert === 'pool_health' && g.json.state === 'firing'));
    const firing = r.got.find((g) => g.json.state === 'firing')!;
    assert.equal(firing.json.pool, 'flaky');
    assert.equal(firing.json.severity, 'critical');
    assert.match(firing.json.message, /pool flaky is unhealthy/);
    assert.equal(verifySignature(SECRET, firing.headers['tidepool-signature'] as string, firing.body, Date.now()), true, 'signed');
    isBroken = false;
    // New successes, and the failures age out of the 1.5 s window.
    const feeder = setInterval(() => void submit(2), 100);
    try {
      await until('a resolution', () => r.got.some((g) => g.json.alert === 'pool_health' && g.json.state === 'resolved'));
    } finally {
      clearInterval(feeder);
    }
    const events = await running.store.listScalingEvents({ pool: 'flaky' });
    const codes = events.map((e) => e.code);
    assert.ok(codes.includes('alert_firing:pool_health'), codes.join(','));
    assert.ok(codes.includes('alert_resolved:pool_health'), codes.join(','));
    assert.ok(log.some((l) => /alert firing: pool_health/.test(l)));
  } finally {
    await running.stop(0);
    await r.close();
  }
});
