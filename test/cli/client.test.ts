// The CLI client against a real running server (real pool, autoscaler, SQLite store):
// human output, --json, flags and environment, exit codes and error messages.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createServer } from 'node:net';
import { systemClock } from '../../src/core/index.ts';
import type { TaskContext } from '../../src/pools/index.ts';
import { resolveStartConfig, startTidepool } from '../../src/cli/start.ts';
import type { RunningTidepool } from '../../src/cli/start.ts';
import { run } from '../../src/cli/client.ts';
import { COMMANDS } from '../../src/cli/commands.ts';

const exec = promisify(execFile);

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}
const NODE = process.execPath;
const MAIN = join(import.meta.dirname, '../../src/cli/main.ts');

let running: RunningTidepool;
let dir: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tidepool-cli-'));
  const config = resolveStartConfig({ store: `sqlite:${join(dir, 'cli.db')}`, port: '0' }, {});
  config.pools = [{ name: 'work', types: ['echo', 'fail'], minWorkers: 1, maxWorkers: 5, policy: 'queue-latency', policyOptions: {} }] as typeof config.pools;
  running = await startTidepool({
    config,
    apiKeysEnv: 'ops=ops-key-0001,other=other-key-0002',
    handlers: {
      echo: async (payload: unknown, ctx: TaskContext) => {
        await systemClock.sleep(5, ctx.signal);
        return { echoed: payload };
      },
      fail: async () => {
        throw new Error('always fails');
      },
    },
  });
});

after(async () => {
  await running.stop(1000);
  rmSync(dir, { recursive: true, force: true });
});

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await run(argv, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

const base = () => ['--url', running.url, '--key', 'ops-key-0001'];

test('submit --wait prints the finished task, and --json gives the task object', async () => {
  const human = await cli('submit', 'echo', '--payload', '{"x":1}', '--wait', '10000', ...base());
  assert.equal(human.code, 0, human.err);
  assert.match(human.out, /^submitted [0-9a-f]{26} \(echo\) status succeeded, attempt 1\/3\nresult    \{"echoed":\{"x":1\}\}\n$/, 'the result it waited for is printed');
  const dead = await cli('submit', 'fail', '--max-attempts', '1', '--wait', '10000', ...base());
  assert.match(dead.out, /status dead, attempt 1\/1\nerror     .*always fails\n$/);
  const json = await cli('submit', 'echo', '--payload', '[1,2]', '--wait', '10000', '--json', ...base());
  const task = JSON.parse(json.out);
  assert.equal(task.status, 'succeeded');
  assert.deepEqual(task.result, { echoed: [1, 2] });
});

test('status, tasks, cancel and retry work on one tenant\'s tasks', async () => {
  const dead = JSON.parse((await cli('submit', 'fail', '--max-attempts', '1', '--wait', '10000', '--json', ...base())).out);
  assert.equal(dead.status, 'dead');
  const status = await cli('status', dead.id, ...base());
  assert.match(status.out, /status    dead/);
  assert.match(status.out, /error     .*always fails/);
  const list = JSON.parse((await cli('tasks', '--status', 'dead', '--json', ...base())).out);
  assert.ok(list.tasks.some((t: { id: string }) => t.id === dead.id));
  const table = await cli('tasks', '--status', 'dead', ...base());
  assert.match(table.out, /^ID\s+TYPE\s+STATUS\s+ATTEMPTS/);
  const retried = await cli('retry', dead.id, ...base());
  assert.equal(retried.code, 0);
  assert.match(retried.out, /^re-queued /);
  const later = JSON.parse((await cli('submit', 'echo', '--delay-ms', '600000', '--region', 'eu-west', '--json', ...base())).out);
  assert.equal(later.region, 'eu-west', 'submit --region names the task\'s region');
  const badRegion = await cli('submit', 'echo', '--region', 'eu west', ...base());
  assert.equal(badRegion.code, 1);
  assert.match(badRegion.err, /body\.region: /);
  const cancelled = await cli('cancel', later.id, ...base());
  assert.match(cancelled.out, /^cancelled .* status cancelled/);
  const again = await cli('cancel', later.id, ...base());
  assert.equal(again.code, 1);
  assert.match(again.err, /^tidepool cancel: 409 TaskConflict: /);
  const foreign = await cli('status', later.id, '--url', running.url, '--key', 'other-key-0002');
  assert.equal(foreign.code, 1);
  assert.equal(foreign.err, `tidepool status: 404 TaskNotFound: task "${later.id}" not found\n`);
});

test('pools, scale and events show and change the pool, and a count outside min..max is refused', async () => {
  const pools = await cli('pools', ...base());
  assert.match(pools.out, /^POOL\s+STATUS\s+CURRENT\s+TARGET\s+MIN\.\.MAX/);
  assert.match(pools.out, /\nwork\s+/);
  const scaled = await cli('scale', 'work', '3', ...base());
  assert.equal(scaled.code, 0, scaled.err);
  assert.match(scaled.out, /^pool work: set to 3 workers \(bounds 1\.\.5/);
  const tooMany = await cli('scale', 'work', '9', ...base());
  assert.equal(tooMany.code, 1);
  assert.equal(tooMany.err, 'tidepool scale: 400 InvalidInput: body.count: got 9; expected an integer within min..max (1..5) of pool work\n');
  const patched = JSON.parse((await cli('scale', 'work', '--max', '6', '--policy', 'threshold', '--preset', 'aggressive', '--json', ...base())).out);
  assert.equal(patched.max, 6);
  assert.equal(patched.policy, 'threshold');
  assert.equal(patched.preset, 'aggressive');
  const badPolicy = await cli('scale', 'work', '--policy', 'treshold', ...base());
  assert.equal(badPolicy.code, 1);
  assert.match(badPolicy.err, /body\.policy: policy "treshold" is unknown; known policies: threshold, /);
  const events = await cli('events', '--pool', 'work', ...base());
  assert.match(events.out, /work\s+scale_up\s+\d+ -> 3\s+\[manual\] set by hand/);
  assert.match(events.out, /\[policy_changed\]/);
});

test('top --once prints pools, workers and recent scaling events like seed 004\'s statistics', async () => {
  const top = await cli('top', '--once', ...base());
  assert.equal(top.code, 0, top.err);
  assert.match(top.out, /Pool work \[\w+\]\s+workers \d+ -> target \d+ \(\d+\.\.\d+\)/);
  assert.match(top.out, /• work-\d+-[0-9a-f]+: (idle|busy|starting|draining)/);
  assert.match(top.out, /Recent scaling events:/);
});

test('bad flags exit 2 naming the flag, and an unreachable server says how to point at one', async () => {
  const bad = await cli('submit', 'echo', '--priority', 'high', ...base());
  assert.equal(bad.code, 2);
  assert.match(bad.err, /^tidepool submit: --priority \(flag\): got "high"; expected an integer >= -9007199254740991\nusage: tidepool submit TYPE/);
  const unknown = await cli('tasks', '--colour', 'red', ...base());
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /Unknown option '--colour'/);
  const port = await closedPort();
  const down = await cli('pools', '--url', `http://127.0.0.1:${port}`);
  assert.equal(down.code, 1);
  assert.equal(down.err, `tidepool pools: cannot reach http://127.0.0.1:${port} (ECONNREFUSED); is \`tidepool start\` running? Set --url or TIDEPOOL_URL\n`);
});

test('the tidepool command reads TIDEPOOL_URL and TIDEPOOL_KEY from the environment', async () => {
  const env = { ...process.env, TIDEPOOL_URL: running.url, TIDEPOOL_KEY: 'ops-key-0001' };
  const { stdout } = await exec(NODE, [MAIN, 'submit', 'echo', '--payload', '"hi"', '--wait', '10000', '--json'], { env });
  assert.equal(JSON.parse(stdout).status, 'succeeded');
  const noKey = await exec(NODE, [MAIN, 'pools'], { env: { ...env, TIDEPOOL_KEY: '' } }).catch((e: { code: number; stderr: string }) => e);
  assert.equal((noKey as { code: number }).code, 1);
  assert.match((noKey as { stderr: string }).stderr, /401 Unauthorized: missing API key/);
});

test('negative numbers are values of numeric flags, and a negative where none is allowed names the range', async () => {
  const task = JSON.parse((await cli('submit', 'echo', '--priority', '-3', '--delay-ms', '600000', '--json', ...base())).out);
  assert.equal(task.priority, -3);
  await cli('cancel', task.id, ...base());
  const neg = await cli('scale', 'work', '--min', '-1', ...base());
  assert.equal(neg.code, 2);
  assert.match(neg.err, /^tidepool scale: --min \(flag\): got "-1"; expected an integer >= 0\n/);
});

test('a date alone is a valid --from, read as midnight UTC', async () => {
  const day = new Date(systemClock.now()).toISOString().slice(0, 10);
  const events = await cli('events', '--pool', 'work', '--from', day, '--json', ...base());
  assert.equal(events.code, 0, events.err);
  assert.ok(Array.isArray(JSON.parse(events.out).events));
  const bad = await cli('events', '--from', '2026-13-45x', ...base());
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--from \(flag\): got "2026-13-45x"; expected epoch milliseconds, an ISO 8601 date-time .* or a date \(2026-12-03\)/);
});

test('fixed:N pins the pool at N and a bound given with it is refused naming fixed:N', async () => {
  const refused = await cli('scale', 'work', '--policy', 'fixed:4', '--max', '12', ...base());
  assert.equal(refused.code, 1);
  assert.match(refused.err, /400 InvalidInput: body\.max: got 12 with policy fixed:4: fixed:N pins the pool at N workers, so a bound other than 4 is refused/);
  const pinned = JSON.parse((await cli('scale', 'work', '--policy', 'fixed:4', '--json', ...base())).out);
  assert.deepEqual([pinned.policy, pinned.min, pinned.max], ['fixed:4', 4, 4]);
  const bound = await cli('scale', 'work', '--max', '6', ...base());
  assert.equal(bound.code, 1);
  assert.match(bound.err, /body\.max: got 6 with policy fixed:4: fixed:N pins/);
  const back = JSON.parse((await cli('scale', 'work', '--policy', 'queue-latency', '--min', '1', '--max', '5', '--json', ...base())).out);
  assert.deepEqual([back.policy, back.min, back.max], ['queue-latency', 1, 5]);
});

test('global options work before the command, and --help lists every command', async () => {
  const env = { ...process.env, TIDEPOOL_URL: '', TIDEPOOL_KEY: '' };
  const { stdout } = await exec(NODE, [MAIN, '--url', running.url, '--key', 'ops-key-0001', '--json', 'pools'], { env });
  assert.ok(JSON.parse(stdout).pools.some((p: { name: string }) => p.name === 'work'));
  const help = (await exec(NODE, [MAIN, '--help'], { env })).stdout;
  for (const c of COMMANDS) assert.match(help, new RegExp(`\\n  ${c.name}\\b`), `--help lists ${c.name}`);
  for (const c of ['start', 'submit', 'status', 'tasks', 'cancel', 'retry', 'pools', 'scale', 'events', 'top', 'load-test', 'simulate', 'trace']) {
    assert.ok(COMMANDS.some((x) => x.name === c), c);
  }
  const bad = await exec(NODE, [MAIN, '--colour', 'red', 'pools'], { env }).catch((e: { code: number; stderr: string }) => e);
  assert.equal((bad as { code: number }).code, 2);
  assert.match((bad as { stderr: string }).stderr, /option "--colour" is not a global option \(--url, --key, --json\)/);
  const startHelp = (await exec(NODE, [MAIN, 'start', '--help'], { env })).stdout;
  assert.match(startHelp, /\n  --autoscale true\|false +Run the control loop/, '--autoscale shows that it takes a value');
});
