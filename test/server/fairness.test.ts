// Fairness end to end over HTTP: tenant A floods 10,000 tasks, tenant B then submits
// one; B's task is among the next N task starts after its submit (N = workers).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { systemClock } from '../../src/core/index.ts';
import type { TaskContext } from '../../src/pools/index.ts';
import { resolveStartConfig, startTidepool } from '../../src/cli/start.ts';
import { tempDir } from './helpers.ts';

const WORKERS = 4;

test("one tenant's flood of 10,000 tasks does not starve another: B's task starts within the next N starts", { timeout: 120_000 }, async () => {
  const tmp = tempDir();
  const config = resolveStartConfig({ store: `sqlite:${join(tmp.dir, 'fair.db')}`, port: '0' }, {});
  config.pools = [{ name: 'shared', types: ['work'], policy: `fixed:${WORKERS}`, minWorkers: WORKERS, maxWorkers: WORKERS, policyOptions: {} }] as typeof config.pools;
  const starts: string[] = [];
  let onStart: (() => void) | null = null;
  const running = await startTidepool({
    config,
    apiKeysEnv: 'a=key-tenant-a-1,b=key-tenant-b-2',
    handlers: {
      work: async (_payload: unknown, ctx: TaskContext) => {
        starts.push(`${ctx.tenant}:${ctx.id}`);
        onStart?.();
        await systemClock.sleep(15, ctx.signal);
        return null;
      },
    },
  });
  try {
    const post = async (key: string, path: string, body: unknown) => {
      const res = await fetch(running.url + path, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as any };
    };
    for (let i = 0; i < 10; i++) {
      const res = await post('key-tenant-a-1', '/v1/tasks/batch', { tasks: Array.from({ length: 1000 }, (_, j) => ({ type: 'work', payload: i * 1000 + j })) });
      assert.equal(res.status, 201);
    }
    // Let A's flood get going: wait for 3 rounds of starts.
    await new Promise<void>((resolve) => {
      onStart = () => {
        if (starts.length >= WORKERS * 3) resolve();
      };
    });
    onStart = null;
    // B's submit commits when the store announces it; count starts from that moment.
    let startsAtSubmit = -1;
    const unsubscribe = running.store.subscribe((e) => {
      if (e.kind === 'submitted' && startsAtSubmit < 0) startsAtSubmit = starts.length;
    });
    const b = await post('key-tenant-b-2', '/v1/tasks', { type: 'work', payload: 'b' });
    unsubscribe();
    assert.equal(b.status, 201);
    assert.ok(startsAtSubmit >= 0);
    const waited = await fetch(`${running.url}/v1/tasks/${b.body.id}?wait=20000`, { headers: { authorization: 'Bearer key-tenant-b-2' } });
    assert.equal(((await waited.json()) as { status: string }).status, 'succeeded');
    const position = starts.indexOf(`b:${b.body.id}`);
    assert.ok(position >= 0, "B's task started");
    const after = position - startsAtSubmit;
    assert.ok(after < WORKERS, `B's task was start #${after + 1} after its submit; expected within the next ${WORKERS} (A had ${startsAtSubmit} starts before)`);
    const aRemaining = (await running.store.counts()).byStatus.queued;
    assert.ok(aRemaining > 9000, `A's flood was still queued (${aRemaining}) when B ran`);
  } finally {
    await running.stop(0);
    tmp.remove();
  }
});
