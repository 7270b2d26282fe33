// `tidepool load-test`: the smoke scenario as a real run on SQLite (the issue's done-when
// check), a virtual-time run of a small scenario, and seed 003's acceptance criteria.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VirtualClock } from '../../src/core/index.ts';
import { runLoadTest } from '../../src/cli/load-test.ts';
import { SCENARIOS, judge, scaledPolicyOptions, type Scenario } from '../../src/cli/load-scenarios.ts';
import { scratchDir } from '../scratch-dir.ts';

const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

function runCli(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [main, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('the smoke scenario on SQLite passes, loses nothing, scales up from its minimum and back down to it', { timeout: 60_000 }, async () => {
  const db = join(scratchDir('tidepool-smoke-'), 'x.db');
  const started = Date.now();
  const { code, stdout, stderr } = await runCli(['load-test', '--scenario', 'smoke', '--store', `sqlite:${db}`, '--json']);
  const last = stdout.trim().split('\n').at(-1)!;
  const r = JSON.parse(last);
  assert.equal(code, 0, `exit code; stderr: ${stderr}`);
  assert.ok(Date.now() - started < 30_000, 'smoke finishes in under 30 s');
  for (const field of ['scenario', 'submitted', 'completed', 'failed', 'lost', 'throughputPerSec', 'p50LatencyMs', 'p95LatencyMs', 'p99LatencyMs', 'successRate', 'peakWorkers', 'finalWorkers', 'scaleUps', 'scaleDowns', 'backpressureActivations', 'stalls', 'passed'])
    assert.ok(field in r, `JSON has ${field}`);
  assert.equal(r.scenario, 'smoke');
  assert.equal(r.lost, 0);
  assert.equal(r.passed, true);
  assert.equal(r.submitted, 300);
  assert.equal(r.completed + r.failed, r.submitted);
  assert.ok(r.peakWorkers > r.finalWorkers, `peak ${r.peakWorkers} > final ${r.finalWorkers}`);
  assert.equal(r.finalWorkers, SCENARIOS.smoke!.minWorkers);
  assert.ok(r.scaleUps >= 1 && r.scaleDowns >= 1);
  assert.equal(stderr, '', 'no progress bar when stderr is not a terminal');
});

test('an unknown scenario is refused with exit code 2, naming the known ones', async () => {
  const { code, stderr } = await runCli(['load-test', '--scenario', 'huge']);
  assert.equal(code, 2);
  assert.match(stderr, /--scenario got "huge"; expected one of smoke, light, medium, heavy, stress/);
});

test('a small scenario runs in virtual time on the memory store with the same accounting', async () => {
  const tiny: Scenario = { ...SCENARIOS.smoke!, name: 'tiny', totalTasks: 60, meanServiceMs: 100, rampUpMs: 500, maxWorkers: 6, targetWorkers: 6, maxQueueDepth: 20, failureRate: 0.1 };
  const clock = new VirtualClock(0);
  let done = false;
  const running = runLoadTest(tiny, { store: 'memory', clock, seed: 7 }).finally(() => (done = true));
  // Virtual time, but let the store's real event-loop yields (setImmediate) run between steps.
  for (let steps = 0; !done && steps < 10_000; steps++) {
    await clock.advance(25);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  assert.ok(done, 'the virtual run ended within 250 virtual seconds');
  const r = await running;
  assert.equal(r.submitted, 60);
  assert.equal(r.lost, 0);
  assert.equal(r.completed + r.failed, 60);
  assert.equal(r.peakWorkers, 6);
  assert.equal(r.finalWorkers, 2);
  assert.ok(r.backpressureActivations >= 1, 'a queue limit of 20 refused some submits, which were retried');
  assert.ok(r.failedAttempts >= 1, 'a 10% failure rate failed some attempts');
  assert.equal(r.passed, true, JSON.stringify(r.criteria.filter((c) => !c.passed)));
});

test("a scenario's cooldowns and intervals are handed to whatever policy runs it", () => {
  const s = SCENARIOS.smoke!;
  assert.equal(scaledPolicyOptions('ratio', s).cooldownMs, 300);
  const threshold = scaledPolicyOptions('threshold', s);
  assert.deepEqual([threshold.scaleUpCooldownMs, threshold.scaleDownCooldownMs, threshold.evaluationIntervalMs], [300, 300, 100]);
  assert.equal(scaledPolicyOptions('queue-latency', s).targetP95Ms, s.sloMs);
});

const good = { submitted: 300, completed: 290, failed: 10, lost: 0, successRate: 290 / 300, health: 'healthy' as const, stalls: 0, peakWorkers: 10, finalWorkers: 2, scaleUps: 2, scaleDowns: 8 };
const rows = [
  { name: 'a clean run', figures: good, failing: [], why: 'every criterion holds' },
  { name: 'success below 80%', figures: { ...good, completed: 230, failed: 70, successRate: 230 / 300 }, failing: ['successRate'], why: 'seed 003 criterion 1' },
  { name: 'an unhealthy pool', figures: { ...good, health: 'unhealthy' as const }, failing: ['health'], why: 'seed 003 criterion 2' },
  { name: 'one stall in ten workers', figures: { ...good, stalls: 1 }, failing: ['stalls'], why: 'stalls must stay under 10% of workers' },
  { name: 'a peak of 7 for a target of 10', figures: { ...good, peakWorkers: 7 }, failing: ['peakConcurrency'], why: 'outside 20% of the target' },
  { name: 'a peak of 8 for a target of 10', figures: { ...good, peakWorkers: 8 }, failing: [], why: 'exactly 20% under is within' },
  { name: 'a lost task', figures: { ...good, lost: 1 }, failing: ['lost'], why: 'nothing accepted may be lost' },
  { name: 'a pool left above its minimum', figures: { ...good, finalWorkers: 3 }, failing: ['scaledUpAndBack'], why: 'the run must end back at its minimum' },
];
for (const row of rows) {
  test(`acceptance: ${row.name} ${row.failing.length ? `fails ${row.failing.join(', ')}` : 'passes'} (${row.why})`, () => {
    const criteria = judge(SCENARIOS.smoke!, row.figures);
    assert.deepEqual(criteria.filter((c) => !c.passed).map((c) => c.name), row.failing);
  });
}

test('without --store the scratch SQLite folder is removed after the run', { timeout: 90_000 }, async () => {
  const tmp = scratchDir('tidepool-load-tmp-');
  const { code, stderr } = await runCli(['load-test', '--scenario', 'smoke', '--json'], { ...process.env, TMPDIR: tmp });
  // Passed or not (a loaded machine may miss a criterion), the run ended and cleaned up.
  assert.ok(code === 0 || code === 1, `exit ${code}: ${stderr}`);
  assert.deepEqual(readdirSync(tmp), [], `the run left ${readdirSync(tmp).join(', ')} in the temp directory`);
});
