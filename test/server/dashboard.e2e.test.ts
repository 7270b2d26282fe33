// The dashboard end to end: a real server with a real pool and autoscaler, loaded
// with tasks, opened in headless Chromium (playwright-core driving Debian's
// `chromium`). It must show the charts moving, the event list growing with a
// scaling decision and its reason; a task opened from the tasks list shows its log and
// follows it live until the task ends; a worker process SIGKILLed from outside shows in
// the pool events panel (crash, respawn) with the pool's counts; and it saves a screenshot
// to test-results/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { systemClock } from '../../src/core/index.ts';
import type { TaskContext } from '../../src/pools/index.ts';
import { resolveStartConfig, startTidepool } from '../../src/cli/start.ts';
import { PID_WORKER, livingWorkerPids } from '../pools/fixtures/pid-worker.ts';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
const skip = !hasChromium && !process.env.CI ? `${CHROMIUM} is missing (install Debian's chromium; .ci/run does)` : false;

test('the dashboard shows charts moving and a scaling decision with its reason while tasks run', { skip, timeout: 90_000 }, async () => {
  assert.ok(hasChromium, `${CHROMIUM} is missing, and CI is set: the browser test must not be skipped`);
  const dir = mkdtempSync(join(tmpdir(), 'tidepool-dash-'));
  const config = resolveStartConfig({ store: `sqlite:${join(dir, 'dash.db')}`, port: '0', 'interval-ms': '250' }, {});
  (config.server as { streamIntervalMs: number }).streamIntervalMs = 250;
  config.pools = [
    { name: 'llm', types: ['llm'], minWorkers: 1, maxWorkers: 8, policy: 'queue-latency', policyOptions: { targetQueueDepth: 5, targetP95Ms: 300, decisionIntervalMs: 250 } },
    { name: 'cpu', types: ['cpu'], policy: 'fixed:2', policyOptions: {} },
    { name: 'talk', types: ['talk'], policy: 'fixed:1', policyOptions: {} },
    { name: 'proc', kind: 'process', types: ['pid'], command: [process.execPath, '-e', PID_WORKER], env: { PID_DIR: dir }, policy: 'fixed:1', policyOptions: {}, pollMs: 50 },
  ] as typeof config.pools;
  // A talk task logs a line, waits for the test to open its view, then logs more and ends.
  let openGate = () => {};
  const gate = new Promise<void>((resolve) => (openGate = resolve));
  const handlers = {
    llm: async (payload: { ms: number }, ctx: TaskContext) => {
      await systemClock.sleep(payload.ms, ctx.signal);
      return { ok: true };
    },
    cpu: async () => ({ ok: true }),
    talk: async (_payload: unknown, ctx: TaskContext) => {
      ctx.log('waiting for the gate');
      await gate;
      ctx.log('through the gate');
      ctx.log('done: 3 of 3 steps');
      return { talked: true };
    },
  };
  const running = await startTidepool({ config, handlers });
  // A fresh profile (--user-data-dir) per run; playwright passes it itself.
  const userDataDir = mkdtempSync(join(tmpdir(), 'tidepool-chromium-'));
  let browser: Awaited<ReturnType<typeof chromium.launchPersistentContext>> | null = null;
  try {
    browser = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1400, height: 1100 },
    });
    const page = browser.pages()[0] ?? (await browser.newPage());
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    const failedRequests: string[] = [];
    page.on('response', (r) => {
      if (r.status() >= 400) failedRequests.push(`${r.status()} ${r.url()}`);
    });
    await page.goto(running.url + '/');
    await page.waitForSelector('#conn.live', { timeout: 10_000 });
    const seriesPoints = () =>
      page.evaluate(() => {
        const c = (globalThis as any).echarts.getInstanceByDom((globalThis as any).document.getElementById('chart-depth'));
        const s = c.getOption().series as Array<{ data: Array<[number, number]> }>;
        return s.length ? s[0].data.length : 0;
      });
    const eventsBefore = await page.locator('#events li.event').count();
    // The store is a SQLite file, so the server is a node of a cluster of one: its leader's
    // first decisions raised each pool to its minimum (scale_up events) before the load.
    const upsBefore = await page.locator('#events li.event.scale_up').count();
    const pointsBefore = await seriesPoints();

    // Load: 60 tasks of 300 ms on one worker makes a backlog the policy must answer.
    const res = await fetch(`${running.url}/v1/tasks/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ tasks: Array.from({ length: 60 }, () => ({ type: 'llm', payload: { ms: 300 } })) }),
    });
    assert.equal(res.status, 201);

    await page.waitForFunction((n) => (globalThis as any).document.querySelectorAll('#events li.event.scale_up').length > n, upsBefore, { timeout: 30_000 });
    await page.waitForFunction(() => Number((globalThis as any).document.body.dataset.snapshots ?? 0) >= 8, null, { timeout: 20_000 });
    const maxDepth = await page.evaluate(() => {
      const c = (globalThis as any).echarts.getInstanceByDom((globalThis as any).document.getElementById('chart-depth'));
      return Math.max(0, ...c.getOption().series[0].data.map((d: [number, number]) => d[1] ?? 0));
    });
    const pointsAfter = await seriesPoints();
    const eventsAfter = await page.locator('#events li.event').count();
    const upReasons = await page.locator('#events li.event.scale_up .why').allTextContents();
    const busyCells = await page.locator('#pools-body tr[data-pool="llm"] td').allTextContents();

    assert.ok(pointsAfter > pointsBefore, `the depth chart moved (${pointsBefore} -> ${pointsAfter} points)`);
    assert.ok(maxDepth > 0, 'the depth chart saw the backlog');
    assert.ok(eventsAfter > eventsBefore, `the event list grew (${eventsBefore} -> ${eventsAfter})`);
    // Each shows its code then the sentence with the numbers behind it (the last may be `capped_max`).
    assert.ok(upReasons.some((r) => /^scale_up_\w+ \S.*\d/.test(r)), `a scaling decision with its code and reason: ${upReasons.join(' | ')}`);
    assert.equal(busyCells[0], 'llm');
    assert.match(busyCells[4], /^queue-latency/);
    assert.deepEqual(pageErrors, []);

    // The Workers chart shows one pool at a time (its own target), or the sum, labelled as such.
    const workersChart = () =>
      page.evaluate(() => {
        const c = (globalThis as any).echarts.getInstanceByDom((globalThis as any).document.getElementById('chart-workers'));
        const series = c.getOption().series as Array<{ name: string; data: Array<[number, number]> }>;
        const target = series.find((x) => x.name.startsWith('target'))!;
        return { names: series.map((x) => x.name), maxTarget: Math.max(...target.data.map((d) => d[1] ?? 0)), scope: (globalThis as any).document.getElementById('workers-scope').textContent };
      });
    const llmView = await workersChart();
    assert.match(llmView.scope, /^pool llm \(bounds 1\.\.8\)/);
    assert.ok(llmView.maxTarget <= 8, `the llm target stays within its max 8 (got ${llmView.maxTarget})`);
    await page.selectOption('#workers-pool', '');
    const sumView = await workersChart();
    assert.match(sumView.scope, /^sum of all 4 pools/);
    assert.ok(sumView.names.includes('target (sum)'));
    await page.selectOption('#workers-pool', 'llm');

    // The workers list, as tidepool top shows it: id, status, task.
    await page.waitForSelector('#workers-body tr[data-worker]', { timeout: 10_000 });
    const pools = (await (await fetch(`${running.url}/v1/pools`)).json()) as { pools: { workers: { id: string }[] }[] };
    const ids = pools.pools.flatMap((p) => p.workers.map((w) => w.id));
    const shown = await page.locator('#workers-body tr[data-worker]').evaluateAll((rows) => rows.map((r) => (r as { dataset: { worker: string } }).dataset.worker));
    assert.ok(shown.some((id) => ids.includes(id)), `the list shows the pools' workers (${shown.slice(0, 3).join(', ')})`);
    const firstRow = await page.locator('#workers-body tr[data-worker]').first().locator('td').allTextContents();
    assert.match(firstRow[2]!, /^(starting|idle|busy|draining|failed)$/);

    // The task view: a running task opened from the tasks list shows its log and follows it live.
    const talk = (await (await fetch(`${running.url}/v1/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 'talk' }) })).json()) as { id: string };
    await page.locator(`#tasks-body tr[data-task="${talk.id}"] a.link`).click({ timeout: 15_000 });
    await page.waitForSelector('#task-view:not([hidden])');
    assert.equal(await page.locator('#tv-id').textContent(), talk.id);
    await page.waitForFunction(() => (globalThis as any).document.querySelector('#tv-log li.line .text')?.textContent === 'waiting for the gate', null, { timeout: 10_000 });
    assert.equal(await page.locator('#tv-follow').getAttribute('class'), 'follow live', 'it follows the log while the task runs');
    assert.match((await page.locator('#tv-status').textContent())!, /^running$/);
    openGate();
    await page.waitForSelector('#tv-follow.ended', { timeout: 10_000 });
    assert.match((await page.locator('#tv-follow').textContent())!, /^ended: succeeded · 3 lines$/);
    const shownLines = await page.locator('#tv-log li.line .text').allTextContents();
    const apiLog = (await (await fetch(`${running.url}/v1/tasks/${talk.id}/logs`)).json()) as { lines: { text: string; attempt: number; stream: string }[] };
    assert.deepEqual(shownLines, apiLog.lines.map((l) => l.text), 'the lines that came live are the stored log');
    assert.deepEqual(shownLines, ['waiting for the gate', 'through the gate', 'done: 3 of 3 steps']);
    assert.deepEqual(await page.locator('#tv-log li.attempt').allTextContents(), ['attempt 1']);
    await page.waitForFunction(() => (globalThis as any).document.getElementById('tv-status').textContent === 'succeeded', null, { timeout: 5000 });

    // The pool events panel: a worker process SIGKILLed from outside crashes and is respawned.
    const [victim] = livingWorkerPids(dir);
    assert.ok(victim, 'the proc pool has a live worker process');
    process.kill(victim, 'SIGKILL');
    await page.waitForSelector('#pool-events li[data-code="worker_respawn"]', { timeout: 15_000 });
    await page.selectOption('#pool-events-pool', 'proc');
    const crashText = await page.locator('#pool-events li[data-code="worker_crashed"] .why').first().textContent();
    assert.match(crashText!, new RegExp(`^worker proc-\\S+ ended on its own: worker process ${victim} was killed by SIGKILL`));
    const procFigures = () => page.locator('#pool-counts .pool-count[data-pool="proc"] .figure').allTextContents();
    await page.waitForFunction(() => [...(globalThis as any).document.querySelectorAll('#pool-counts .pool-count[data-pool="proc"] .figure')].some((f: any) => f.textContent === '1 crash'), null, { timeout: 5000 });
    assert.equal(await page.locator('#pool-counts .pool-count').count(), 1, 'one pool picked, one row of counts');
    assert.deepEqual((await procFigures()).slice(0, 5), ['1 crash', '0 failed starts', '0 stalls', '1 respawn', '0 recycles']);
    const scalingCodes = await page.locator('#events li.event .code').allTextContents();
    assert.ok(scalingCodes.every((c) => !c.startsWith('worker_')), `worker events stay out of the scaling events: ${scalingCodes.join(', ')}`);
    assert.deepEqual(pageErrors, []);

    // No 404 anywhere, the favicon included (browsers ask for it on their own).
    const favicon = await fetch(`${running.url}/favicon.ico`);
    assert.equal(favicon.status, 200);
    assert.match(favicon.headers.get('content-type') ?? '', /^image\/svg\+xml/);
    assert.deepEqual(failedRequests, []);

    mkdirSync('test-results', { recursive: true });
    const shot = join('test-results', 'dashboard.png');
    await page.screenshot({ path: shot, fullPage: true });
    await page.locator('#task-view').screenshot({ path: join('test-results', 'dashboard-task.png') });
    await page.locator('#pool-events').locator('..').screenshot({ path: join('test-results', 'dashboard-pool-events.png') });
    process.stderr.write(`dashboard screenshot: ${shot}\n`);
  } finally {
    await browser?.close();
    await running.stop(2000);
    rmSync(userDataDir, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  }
});
