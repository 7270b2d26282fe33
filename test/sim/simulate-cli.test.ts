// The `tidepool simulate` command as outside scripts use it: real child processes, and
// the independent checker (tools/verify_sim.py) re-checking the events of a few runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { scratchDir } from '../scratch-dir.ts';

const NODE = process.execPath;
const MAIN = join(import.meta.dirname, '../../src/cli/main.ts');
const VERIFY = '/work/shared/tools/verify_sim.py';
const TRACES = '/work/shared/traces';
const dir = scratchDir('tidepool-sim-');

function simulate(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(NODE, [MAIN, 'simulate', ...args], { encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const runs = [
  { name: 'adaptive on the bursty generator, slow starts', workload: ['--scenario', 'bursty', '--seed', '5'], policy: 'adaptive', slo: 5000, startup: 10_000 },
  { name: 'adaptive on the spike generator, fast starts', workload: ['--scenario', 'spike', '--seed', '2'], policy: 'adaptive', slo: 2000, startup: 1000 },
  { name: 'fixed:40 on the Azure trace', workload: ['--trace', `${TRACES}/azure_llm2023_conv.csv`], policy: 'fixed:40', slo: 2000, startup: 1000 },
  { name: 'adaptive on the Alibaba trace, slow starts', workload: ['--trace', `${TRACES}/alibaba2017_tasks.csv`], policy: 'adaptive', slo: 5000, startup: 10_000 },
  { name: 'the clairvoyant floor on the Azure trace', workload: ['--trace', `${TRACES}/azure_llm2023_conv.csv`], policy: 'clairvoyant', slo: 2000, startup: 1000 },
  { name: 'the clairvoyant floor on the bursty generator, slow starts', workload: ['--scenario', 'bursty', '--seed', '5'], policy: 'clairvoyant', slo: 5000, startup: 10_000 },
];

for (const r of runs) {
  test(`the events of ${r.name} pass the independent re-check`, { skip: existsSync(VERIFY) ? false : `${VERIFY} is missing` }, () => {
    const events = join(dir, `${r.policy}-${r.slo}.jsonl`);
    let trace = r.workload[1];
    if (r.workload[0] === '--scenario') {
      // Re-check against the generated workload written as a trace.
      trace = join(dir, `${r.workload[1]}.csv`);
      const csv = execFileSync(NODE, ['-e', `import('${join(import.meta.dirname, '../../src/sim/index.ts')}').then(m => process.stdout.write(m.formatTrace(m.generate('${r.workload[1]}', { seed: ${r.workload[3]} }))))`], { encoding: 'utf8', maxBuffer: 1 << 26 });
      writeFileSync(trace, csv);
    }
    const out = simulate([...r.workload, '--policy', r.policy, '--slo-ms', String(r.slo), '--startup-ms', String(r.startup), '--events', events, '--json']);
    assert.equal(out.code, 0, out.stderr);
    const last = out.stdout.trim().split('\n').at(-1)!;
    const result = join(dir, 'result.json');
    writeFileSync(result, last);
    const v = spawnSync('python3', [VERIFY, trace, events, result, String(r.slo), String(r.startup)], { encoding: 'utf8' });
    assert.equal(v.status, 0, v.stdout + v.stderr);
    assert.match(v.stdout, /"ok": true/);
  });
}

test('the same inputs give byte-identical JSON and events', () => {
  const a = join(dir, 'a.jsonl');
  const b = join(dir, 'b.jsonl');
  const x = simulate(['--scenario', 'diurnal', '--seed', '9', '--policy', 'adaptive', '--events', a, '--json']);
  const y = simulate(['--scenario', 'diurnal', '--seed', '9', '--policy', 'adaptive', '--events', b, '--json']);
  assert.equal(x.code, 0, x.stderr);
  assert.equal(x.stdout, y.stdout);
  assert.equal(readFileSync(a, 'utf8'), readFileSync(b, 'utf8'));
  const j = JSON.parse(x.stdout.trim().split('\n').at(-1)!);
  for (const k of ['policy', 'tasks', 'p50WaitMs', 'p95WaitMs', 'p99WaitMs', 'sloAttainment', 'workerSeconds', 'busySeconds', 'costRatio', 'scaleActions', 'maxWorkers']) {
    assert.ok(k in j, `JSON lacks ${k}`);
  }
});

test('a malformed trace row fails the command with its line number', () => {
  const bad = join(dir, 'bad.csv');
  writeFileSync(bad, 'arrival_ms,service_ms\n0,10\n5,x\n');
  const out = simulate(['--trace', bad, '--policy', 'fixed:1']);
  assert.equal(out.code, 2);
  assert.equal(out.stderr.trim(), 'tidepool: bad.csv line 3: service_ms "x" is not a non-negative integer');
});

test('a bad flag value is named in the error', () => {
  const out = simulate(['--scenario', 'step', '--policy', 'adaptive', '--slo-ms', 'soon']);
  assert.equal(out.code, 2);
  assert.equal(out.stderr.trim(), 'tidepool: --slo-ms: got "soon"; expected an integer from 0 to 9007199254740991');
});

test('an unknown policy lists the known ones', () => {
  const out = simulate(['--scenario', 'step', '--policy', 'adaptve']);
  assert.equal(out.code, 2);
  assert.match(out.stderr, /policy "adaptve" is unknown; known policies: .*adaptive.*fixed:N/);
});

test('--compare prints every policy and the smallest fixed pool meeting the SLO', () => {
  const out = simulate(['--scenario', 'ramp', '--compare', '--json']);
  assert.equal(out.code, 0, out.stderr);
  const j = JSON.parse(out.stdout.trim().split('\n').at(-1)!);
  const names = j.results.map((r: { policy: string }) => r.policy);
  assert.ok(names.includes('adaptive'));
  assert.equal(names.at(-1), `fixed:${j.smallestFixedPool}`);
  assert.ok(j.results.at(-1).sloAttainment >= 0.95);
});

test('--max caps every policy but fixed:N', () => {
  const capped = simulate(['--scenario', 'spike', '--policy', 'adaptive', '--max', '5', '--json']);
  assert.equal(capped.code, 0, capped.stderr);
  assert.equal(JSON.parse(capped.stdout.trim()).maxWorkers, 5);
  const fixed = simulate(['--scenario', 'spike', '--policy', 'fixed:8', '--max', '5', '--json']);
  assert.equal(JSON.parse(fixed.stdout.trim()).maxWorkers, 8);
});
