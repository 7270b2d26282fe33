// The dashboard's Schedules panel in a real browser (Debian's chromium via playwright-core,
// never a downloaded one) on a real `tidepool start` runtime: each schedule with its cron,
// time zone, next run and last tick (linked to its task), and which node ticks; it saves
// a screenshot of the panel in test-results/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { resolveStartConfig, startTidepool } from '../../src/cli/start.ts';
import { nextTickMs } from '../../src/schedules/index.ts';
import { scratchDir } from '../scratch-dir.ts';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
const skip = !hasChromium && !process.env.CI ? `${CHROMIUM} is missing (install Debian's chromium; .ci/run does)` : false;

test('the Schedules panel lists each schedule with its next run and its last tick, and names the ticking node', { skip, timeout: 60_000 }, async () => {
  assert.ok(hasChromium, `${CHROMIUM} is missing, and CI is set: the browser test must not be skipped`);
  const dir = scratchDir('tidepool-dash-sched-');
  const config = resolveStartConfig({ store: `sqlite:${join(dir, 'dash.db')}`, port: '0' }, {});
  config.schedules = [
    { name: 'heartbeat', cron: '* * * * * *', type: 'echo', payload: { ping: true } },
    { name: 'nightly-report', cron: '30 2 * * *', timezone: 'Europe/Berlin', type: 'echo', catchUp: 'none' },
    { name: 'quarter-hour', cron: '*/15 * * * *', type: 'echo', catchUp: 'all', tenant: 'acme' },
  ];
  const running = await startTidepool({ config, handlers: { echo: async (p: unknown) => p } });
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-sync'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(running.url + '/');
    const row = (name: string) => page.locator(`#schedules-body tr[data-schedule="${name}"]`);
    await row('heartbeat').waitFor({ timeout: 10_000 });
    assert.deepEqual(await page.locator('#schedules-body tr').evaluateAll((rows) => rows.map((r) => (r as unknown as { dataset: { schedule: string } }).dataset.schedule)), ['heartbeat', 'nightly-report', 'quarter-hour']);
    assert.match((await row('heartbeat').locator('td.cron').textContent()) ?? '', /^\* \* \* \* \* \* UTC$/);
    assert.match((await row('nightly-report').locator('td.cron').textContent()) ?? '', /^30 2 \* \* \* Europe\/Berlin$/);

    // The next run is the cron's next instant in its zone, shown as ISO and as "in ...".
    const nightlyNext = new Date(nextTickMs('30 2 * * *', 'Europe/Berlin', Date.now())!).toISOString().replace('.000Z', 'Z');
    assert.match((await row('nightly-report').locator('td.next-run').textContent()) ?? '', new RegExp(`^in \\d+ (h|min) ${nightlyNext}$`));
    assert.match((await row('quarter-hour').locator('td').nth(2).textContent()) ?? '', /^echo · acme$/);

    // The heartbeat ticks every second: its last tick appears with a link to its task, and moves.
    await page.waitForFunction(() => !!(globalThis as any).document.querySelector('#schedules-body tr[data-schedule="heartbeat"] td.last-tick a.task'), null, { timeout: 10_000 });
    const firstTick = (await row('heartbeat').locator('td.last-tick').textContent())!;
    await page.waitForFunction((before) => (globalThis as any).document.querySelector('#schedules-body tr[data-schedule="heartbeat"] td.last-tick').textContent !== before, firstTick, { timeout: 10_000 });
    assert.match((await row('heartbeat').locator('td.next-run').textContent()) ?? '', /^(in 1 s|due) \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const taskId = await row('heartbeat').locator('td.last-tick a.task').getAttribute('data-task');
    const task = (await (await fetch(`${running.url}/v1/tasks/${taskId}`)).json()) as { idempotencyKey: string; payload: unknown };
    assert.match(task.idempotencyKey, /^schedule:heartbeat:\d+000$/);
    assert.deepEqual(task.payload, { ping: true });
    assert.match((await page.locator('#schedules-scope').textContent()) ?? '', new RegExp(`^3 schedules · ticks submitted by \\S+:${process.pid}:[0-9a-f]+$`));
    assert.deepEqual(pageErrors, []);

    mkdirSync('test-results', { recursive: true });
    const shot = join('test-results', 'dashboard-schedules.png');
    await page.locator('#schedules-card').screenshot({ path: shot });
    process.stderr.write(`schedules panel screenshot: ${shot}\n`);
  } finally {
    await browser.close();
    await running.stop(2000);
  }
});
