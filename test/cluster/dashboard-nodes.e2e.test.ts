// The dashboard's nodes and alerts panels in a real browser (playwright-core driving
// Debian's chromium): two servers on one SQLite file, the page opened on one of them lists
// both nodes, marks the leader and this node, and their pools with workers and shares; an
// alert that fired (recorded in the event log as the alert loop records it) shows as
// firing until its resolution. Screenshots go to test-results/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { resolveStartConfig, startTidepool } from '../../src/cli/start.ts';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
const skip = !hasChromium && !process.env.CI ? `${CHROMIUM} is missing (install Debian's chromium; .ci/run does)` : false;

test('the dashboard lists the nodes sharing the store, which one leads, and each one\'s workers and share; and the alerts firing', { skip, timeout: 90_000 }, async () => {
  assert.ok(hasChromium, `${CHROMIUM} is missing, and CI is set: the browser test must not be skipped`);
  const dir = mkdtempSync(join(tmpdir(), 'tidepool-dash-nodes-'));
  const running = [];
  const userDataDir = mkdtempSync(join(tmpdir(), 'tidepool-chromium-'));
  let browser: Awaited<ReturnType<typeof chromium.launchPersistentContext>> | null = null;
  try {
    for (const id of ['node-east', 'node-west']) {
      const config = resolveStartConfig({ store: `sqlite:${join(dir, 'shared.db')}`, port: '0', 'node-id': id, region: id.slice(5) }, {});
      config.pools = [{ name: 'llm', types: ['llm'], policy: 'fixed:3', policyOptions: {} }] as typeof config.pools;
      running.push(await startTidepool({ config, handlers: { llm: async () => ({ ok: true }) } }));
    }
    browser = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1400, height: 1000 },
    });
    const page = browser.pages()[0] ?? (await browser.newPage());
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(running[1]!.url + '/');
    await page.waitForFunction(() => {
      const rows = (globalThis as any).document.querySelectorAll('#nodes-body tr');
      // Both rows show a share, and each node runs its share.
      return rows.length === 2 && [...rows].every((r: any) => { const m = /llm (\d+) \/ (\d+)/.exec(r.textContent); return m && m[1] === m[2]; });
    }, undefined, { timeout: 20_000 });
    const rows = await page.$$eval('#nodes-body tr', (trs) => trs.map((tr) => tr.textContent ?? ''));
    assert.equal(rows.filter((r) => /leader/.test(r)).length, 1, rows.join('\n'));
    assert.equal(rows.filter((r) => /follower/.test(r)).length, 1, rows.join('\n'));
    assert.match(rows.find((r) => r.includes('(this)'))!, /node-west/);
    assert.ok(rows.some((r) => /east/.test(r)) && rows.some((r) => /west/.test(r)), 'regions shown');
    // The shares add up to the pool's fixed 3 over both nodes.
    const shares = rows.map((r) => Number(/llm \d+ \/ (\d+)/.exec(r)?.[1]));
    assert.equal(shares[0]! + shares[1]!, 3, rows.join('\n'));
    const workers = rows.map((r) => Number(/llm (\d+) \//.exec(r)?.[1]));
    assert.equal(workers[0]! + workers[1]!, 3, `the pool runs its 3 workers over both nodes, not 3 each: ${rows.join(' | ')}`);
    assert.match(await page.textContent('#nodes-scope') ?? '', /2 live nodes; leader node-(east|west) \(fencing token \d+\)/);
    mkdirSync('test-results', { recursive: true });
    await page.locator('#nodes-card').screenshot({ path: join('test-results', 'dashboard-nodes.png') });

    // Alerts: a firing recorded by one node's alert loop shows on the other node's page, then its resolution.
    const store = running[0]!.store;
    const atMs = await store.now();
    await store.recordScalingEvent({ atMs, pool: 'llm', from: 0, to: 0, action: 'none', code: 'alert_firing:pool_health', reason: 'pool llm is unhealthy: success rate 40% over the window (< 50%)', policy: 'alerts' });
    await page.waitForSelector('#alerts-list li.alert.firing[data-rule="pool_health"]', { timeout: 15_000 });
    assert.match(await page.textContent('#alerts-scope') ?? '', /^1 firing$/);
    assert.match(await page.textContent('#alerts-list li.alert.firing') ?? '', /llm.*pool_health.*success rate 40%/);
    await page.locator('#alerts-card').screenshot({ path: join('test-results', 'dashboard-alerts.png') });
    await store.recordScalingEvent({ atMs: atMs + 1, pool: 'llm', from: 0, to: 0, action: 'none', code: 'alert_resolved:pool_health', reason: 'pool llm is healthy again', policy: 'alerts' });
    await page.waitForSelector('#alerts-list li.alert.resolved[data-rule="pool_health"]', { timeout: 15_000 });
    assert.equal(await page.locator('#alerts-list li.alert.firing').count(), 0);
    assert.match(await page.textContent('#alerts-scope') ?? '', /^none firing$/);
    assert.deepEqual(pageErrors, []);
  } finally {
    await browser?.close();
    for (const r of running) await r.stop(0);
    rmSync(userDataDir, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  }
});
