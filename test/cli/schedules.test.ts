// `tidepool schedules add | list | rm` against a real running server (SQLite store, its
// scheduler ticking): human output and --json, --url/--key and TIDEPOOL_URL/TIDEPOOL_KEY,
// exit codes 0/1/2 with messages naming the problem.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { resolveStartConfig, startTidepool } from '../../src/cli/start.ts';
import type { RunningTidepool } from '../../src/cli/start.ts';
import { run } from '../../src/cli/schedules.ts';
import { scratchDir } from '../scratch-dir.ts';

const exec = promisify(execFile);
const MAIN = join(import.meta.dirname, '../../src/cli/main.ts');

let running: RunningTidepool;

before(async () => {
  const dir = scratchDir('tidepool-cli-schedules-');
  const config = resolveStartConfig({ store: `sqlite:${join(dir, 'cli.db')}`, port: '0' }, {});
  running = await startTidepool({ config, apiKeysEnv: 'ops=ops-key-0001,other=other-key-0002', handlers: { echo: async (p: unknown) => p } });
});

after(async () => {
  await running.stop(1000);
});

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await run(argv, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

const base = () => ['--url', running.url, '--key', 'ops-key-0001'];

test('schedules add creates a schedule, add again says it is there, list shows it with its next run, rm removes it', async () => {
  const added = await cli('add', 'weekday-report', '--cron', '0 9 * * 1-5', '--timezone', 'America/New_York', '--type', 'echo', '--payload', '{"team":"ops"}', '--priority', '-2', '--catch-up', 'none', ...base());
  assert.equal(added.code, 0, added.err);
  assert.match(added.out, /^created: weekday-report: "0 9 \* \* 1-5" in America\/New_York submits echo \(tenant ops, catch-up none\); next run \d{4}-\d\d-\d\dT1[34]:00:00\.000Z\n$/);
  const again = await cli('add', 'weekday-report', '--cron', '0 9 * * 1-5', '--timezone', 'America/New_York', '--type', 'echo', '--payload', '{"team":"ops"}', '--priority', '-2', '--catch-up', 'none', ...base());
  assert.equal(again.code, 0);
  assert.match(again.out, /^already there \(same definition\): weekday-report/);
  const table = await cli('list', ...base());
  assert.equal(table.code, 0);
  assert.match(table.out, /^NAME\s+CRON\s+TIMEZONE\s+TYPE\s+NEXT RUN\s+LAST TICK\s+CATCH-UP\s+TENANT\s+SOURCE\nweekday-report\s+0 9 \* \* 1-5\s+America\/New_York\s+echo\s+\S+\s+-\s+none\s+ops\s+api\n/);
  assert.match(table.out, /\nscheduler: ticks on \S+:\d+:[0-9a-f]+\n$/, 'the running server holds the scheduler lease');
  const json = JSON.parse((await cli('list', '--json', ...base())).out);
  assert.deepEqual(json.schedules.map((s: any) => [s.name, s.priority, s.payload]), [['weekday-report', -2, { team: 'ops' }]]);
  assert.equal(typeof json.schedules[0].nextRunMs, 'number');
  assert.deepEqual((JSON.parse((await cli('list', '--json', '--url', running.url, '--key', 'other-key-0002')).out)).schedules, [], "another tenant's list is empty");
  const removed = await cli('rm', 'weekday-report', ...base());
  assert.equal(removed.code, 0);
  assert.equal(removed.out, 'removed schedule weekday-report (its tasks already submitted stay)\n');
  const missing = await cli('rm', 'weekday-report', ...base());
  assert.equal(missing.code, 1);
  assert.equal(missing.err, 'tidepool schedules rm: 404 ScheduleNotFound: schedule "weekday-report" not found\n');
});

test('schedules add refuses bad input: 2 for usage, 1 with the server naming the field', async () => {
  const noCron = await cli('add', 'x', '--type', 'echo', ...base());
  assert.equal(noCron.code, 2);
  assert.match(noCron.err, /^tidepool schedules add: --cron is required/);
  const badRule = await cli('add', 'x', '--cron', '* * * * *', '--type', 'echo', '--catch-up', 'sometimes', ...base());
  assert.equal(badRule.code, 2);
  assert.match(badRule.err, /--catch-up \(flag\): got "sometimes"; expected one of latest, all, none/);
  const badCron = await cli('add', 'x', '--cron', '* * 32 * *', '--type', 'echo', ...base());
  assert.equal(badCron.code, 1);
  assert.match(badCron.err, /^tidepool schedules add: 400 InvalidInput: body\.cron: expected a cron expression/);
  const unknown = await cli('pause', 'x', ...base());
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /unknown subcommand "pause"; known: add, list, rm/);
});

test('tidepool schedules reads TIDEPOOL_URL and TIDEPOOL_KEY, and global options may come first', async () => {
  const { stdout } = await exec(process.execPath, [MAIN, '--json', 'schedules', 'list'], { env: { ...process.env, TIDEPOOL_URL: running.url, TIDEPOOL_KEY: 'ops-key-0001' } });
  assert.deepEqual(Object.keys(JSON.parse(stdout)), ['schedules', 'scheduler']);
});
