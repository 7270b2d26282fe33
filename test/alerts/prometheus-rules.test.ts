// docs/alerts.yml is a valid Prometheus rule file whose every metric (and every label its
// selectors use) is exported by a running server's /metrics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { resolveStartConfig, startTidepool } from '../../src/cli/start.ts';

const RULES = new URL('../../docs/alerts.yml', import.meta.url);

test('docs/alerts.yml parses, has the seeds\' alerts, and names only metrics and labels /metrics exports', { timeout: 30_000 }, async () => {
  const doc = parse(readFileSync(RULES, 'utf8')) as { groups: Array<{ name: string; rules: Array<{ alert: string; expr: string; for?: string; labels?: { severity?: string }; annotations?: { summary?: string } }> }> };
  const rules = doc.groups.flatMap((g) => g.rules);
  const names = rules.map((r) => r.alert);
  for (const want of ['WorkerPoolSaturated', 'QueueDepthGrowing', 'HighLatency', 'PoolUnhealthy', 'DeadTasks', 'WorkersCrashLooping']) assert.ok(names.includes(want), `${want} is in docs/alerts.yml`);
  for (const r of rules) {
    assert.equal(typeof r.expr, 'string', `${r.alert}: expr`);
    assert.ok(r.labels?.severity, `${r.alert}: severity label`);
    assert.ok(r.annotations?.summary, `${r.alert}: summary`);
    if (r.for !== undefined) assert.match(r.for, /^\d+[smh]$/, `${r.alert}: for`);
  }

  // A server with a finished task, a dead task and a request, so every series has samples.
  const config = resolveStartConfig({ store: 'memory', port: '0', autoscale: 'false' }, {});
  config.retry = { ...config.retry, maxAttempts: 1 };
  config.pools = [{ name: 'gen', types: ['ok', 'bad'], minWorkers: 1, maxWorkers: 1, policy: 'fixed:1' }] as typeof config.pools;
  const running = await startTidepool({ config, log: () => {}, handlers: { ok: async () => 1, bad: async () => { throw new Error('no'); } } });
  try {
    const a = await running.store.submit({ type: 'ok' });
    const b = await running.store.submit({ type: 'bad' });
    for (const id of [a.task.id, b.task.id]) await fetch(`${running.url}/v1/tasks/${id}?wait=5000`).then((r) => r.text());
    await fetch(`${running.url}/v1/nothing-here`).then((r) => r.text());
    const text = await (await fetch(`${running.url}/metrics`)).text();
    const typeOf = new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
    const labelsOf = (name: string) => new Set([...text.matchAll(new RegExp(`^${name}\\{([^}]*)\\}`, 'gm'))].flatMap((m) => [...m[1]!.matchAll(/(\w+)="/g)].map((x) => x[1]!)));
    for (const r of rules) {
      for (const m of r.expr.matchAll(/\b(tidepool_[a-z0-9_]+)(\{([^}]*)\})?/g)) {
        const name = m[1]!;
        const base = name.replace(/_(bucket|sum|count)$/, '');
        const isExported = typeOf.has(name) || (base !== name && typeOf.get(base) === 'histogram');
        assert.ok(isExported, `${r.alert}: metric ${name} is in /metrics`);
        const used = [...(m[3] ?? '').matchAll(/(\w+)\s*(=~|!~|!=|=)/g)].map((x) => x[1]!);
        const have = labelsOf(name);
        for (const l of used) assert.ok(have.has(l), `${r.alert}: ${name} has label ${l} (has ${[...have].join(', ')})`);
      }
      for (const m of r.expr.matchAll(/\bby \(([^)]*)\)/g)) for (const l of m[1]!.split(',').map((x) => x.trim())) assert.ok(['pool', 'le'].includes(l), `${r.alert}: groups by ${l}`);
    }
  } finally {
    await running.stop(0);
  }
});
