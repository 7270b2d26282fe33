// PostgreSQL outages, without stopping the shared server: the store talks to it through a
// TCP proxy this test opens and closes (a closed proxy refuses connections, as a server that
// is down does), and a mid-run drop is pg_terminate_backend of this store's own backends.
//   - down at start: the store opens anyway; submits fail with StoreUnavailable, which the
//     server answers 503 with Retry-After; /health names the store; once the server is
//     reachable the same store works, and the listener picks up the other process's submits;
//   - connections cut mid-run: nothing acknowledged is lost, the listener re-subscribes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { connect } from 'node:net';
import { StoreUnavailableError, systemClock } from '../../src/core/index.ts';
import { openStore } from '../../src/store/index.ts';
import type { StoreEvent } from '../../src/store/index.ts';
import { TidepoolServer } from '../../src/server/index.ts';
import { request } from '../server/helpers.ts';
import { PG_URL, adminQuery, freshSchema, pgSkip, schemaUrl } from './postgres-helpers.ts';

const skip = await pgSkip();
const target = new URL(PG_URL);

/** A TCP proxy to the PostgreSQL server that can be taken down and brought back on its port. */
class Proxy {
  private server: Server | null = null;
  private sockets = new Set<Socket>();
  port = 0;

  async up(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(Number(target.port || 5432), target.hostname);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  async down(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    if (this.server) await new Promise((r) => this.server!.close(r));
    this.server = null;
  }

  url(schema: string): string {
    const u = new URL(schemaUrl(schema));
    u.hostname = '127.0.0.1';
    u.port = String(this.port);
    return u.href;
  }
}

/** Resolves on the first event the predicate accepts. */
function nextEvent(store: { subscribe(l: (e: StoreEvent) => void): () => void }, accept: (e: StoreEvent) => boolean): Promise<StoreEvent> {
  return new Promise((resolve) => {
    const off = store.subscribe((e) => {
      if (accept(e)) {
        off();
        resolve(e);
      }
    });
  });
}

test('PostgreSQL down at start: the store opens, submits get 503 with Retry-After, /health names the store, and work resumes once it is reachable', { skip, timeout: 60_000 }, async () => {
  const proxy = new Proxy();
  await proxy.up();
  const port = proxy.port;
  await proxy.down();
  proxy.port = port;
  const schema = freshSchema('tp_outage');
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.message);
  process.on('warning', onWarning);
  const store = await openStore(proxy.url(schema));
  let server: TidepoolServer | null = null;
  try {
    server = await TidepoolServer.create({ clock: systemClock, logStream: { write: () => undefined }, runtime: { store, pools: () => [] } });
    const url = await server.listen({ port: 0, host: '127.0.0.1' });
    await assert.rejects(store.submit({ type: 'email' }), (err: Error) => {
      assert.ok(err instanceof StoreUnavailableError, `got ${err.constructor.name}: ${err.message}`);
      assert.match(err.message, /PostgreSQL store postgres:\/\/postgres@127\.0\.0\.1:\d+\/test\?schema=tp_outage_\w+: .*PostgreSQL is unreachable/);
      return true;
    });
    const refused = await request(url, 'POST', '/v1/tasks', { body: { type: 'email' } });
    assert.equal(refused.status, 503);
    assert.equal(refused.body.error.code, 'StoreUnavailable');
    assert.equal(refused.headers.get('retry-after'), '1');
    const health = await request(url, 'GET', '/health');
    assert.equal(health.body.status, 'unhealthy');
    assert.ok(health.body.reasons.some((r: string) => /PostgreSQL store \[url\].*PostgreSQL is unreachable/.test(r)), health.body.reasons.join('; '));

    await proxy.up();
    assert.equal(proxy.port, port);
    const accepted = await request(url, 'POST', '/v1/tasks', { body: { type: 'email' } });
    assert.equal(accepted.status, 201, JSON.stringify(accepted.body));
    assert.equal((await request(url, 'GET', '/health')).body.status, 'healthy');
    // The listener connected too: another process's submit wakes this one.
    const other = await openStore(schemaUrl(schema));
    try {
      for (let i = 0; i < 100; i++) {
        const heard = nextEvent(store, (e) => e.kind === 'submitted' && e.types.includes('sms'));
        await other.submit({ type: 'sms' });
        const got = await Promise.race([heard.then(() => true), new Promise<boolean>((r) => setImmediate(() => setTimeout(r, 100, false)))]);
        if (got) break;
        assert.ok(i < 99, 'the store never heard the other process (LISTEN did not come up)');
      }
    } finally {
      await other.close();
    }
    assert.ok(warnings.some((w) => /will keep trying/.test(w)), 'opening while down warned');
    assert.ok(warnings.every((w) => !w.includes('password')));
  } finally {
    process.off('warning', onWarning);
    await server?.close();
    await store.close();
    await proxy.down();
  }
});

test('connections cut mid-run: acknowledged tasks are kept, the listener re-subscribes, and work resumes', { skip, timeout: 60_000 }, async () => {
  const schema = freshSchema('tp_outage');
  const store = await openStore(schemaUrl(schema));
  const other = await openStore(schemaUrl(schema));
  try {
    const acked = (await store.submitBatch(Array.from({ length: 50 }, (_, i) => ({ type: 'email', payload: i })))).map((r) => r.task.id);
    const claimed = await store.claim({ workerId: 'w', types: ['email'], limit: 10, leaseMs: 60_000 });
    // Cut every connection of the first store (its pool and its LISTEN connection).
    const killed = await adminQuery<{ n: number }>(
      `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name = $1`,
      [`tidepool/${schema}/${(store as unknown as { processTag: string }).processTag}`],
    );
    assert.ok(killed[0]!.n >= 1, 'some backends were cut');
    // The next calls may fail once while the pool notices, then succeed on fresh connections.
    let done = 0;
    for (const t of claimed) {
      for (let attempt = 0; ; attempt++) {
        try {
          await store.complete(t.id, t.leaseToken, null);
          done++;
          break;
        } catch (err) {
          assert.ok(err instanceof StoreUnavailableError, `got ${(err as Error).message}`);
          assert.ok(attempt < 3, 'the store did not reconnect');
        }
      }
    }
    assert.equal(done, 10);
    for (const id of acked) assert.ok(await store.get(id), `acknowledged task ${id} is still there`);
    // The listener came back: the other process's submit is heard.
    for (let i = 0; ; i++) {
      const heard = nextEvent(store, (e) => e.kind === 'submitted' && e.types.includes('sms'));
      await other.submit({ type: 'sms' });
      if (await Promise.race([heard.then(() => true), new Promise<boolean>((r) => setTimeout(r, 100, false))])) break;
      assert.ok(i < 100, 'the listener never re-subscribed');
    }
    assert.equal((await store.counts()).byStatus.succeeded, 10);
  } finally {
    await other.close();
    await store.close();
  }
});
