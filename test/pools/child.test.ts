// The child-process pieces under the `command` and `process` kinds, against real processes:
// the line reader's caps, the protocol parser, one command per task (results, exit codes,
// stderr, a hanging program with children of its own), and a protocol worker (the example
// workers in TypeScript and Python, a crash, a flood, a kill).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { systemClock, TidepoolError } from '../../src/core/index.ts';
import { LineReader } from '../../src/pools/child/line-reader.ts';
import { parseLine } from '../../src/pools/child/protocol.ts';
import { childEnv, livingGroupMembers } from '../../src/pools/child/child.ts';
import { NO_RETRY_EXIT_CODE, commandTemplateProblems, fillCommand, runCommand, type CommandTask } from '../../src/pools/child/command-run.ts';
import { ProtocolWorker } from '../../src/pools/child/protocol-worker.ts';

const clock = systemClock;
const root = fileURLToPath(new URL('../../', import.meta.url));
const task = (payload: unknown = null): CommandTask => ({ id: 't1', type: 'x', attempt: 1, tenant: 'default', payload: payload as never });
const never = () => new AbortController().signal;

test('the line reader splits lines, keeps the start of an over-cap line and marks it', () => {
  const lines: { text: string; isOverflow: boolean; bytes: number }[] = [];
  const r = new LineReader(5, (l) => lines.push(l));
  r.push('ab\ncdefghij');
  r.push('kl\r\nmn');
  r.end();
  assert.deepEqual(lines, [
    { text: 'ab', isOverflow: false, bytes: 2 },
    { text: 'cdefg', isOverflow: true, bytes: 11 },
    { text: 'mn', isOverflow: false, bytes: 2 },
  ]);
});

test('a stdout line that is not a protocol message is text; a known type with a bad shape is named', () => {
  assert.deepEqual(parseLine('hello'), { kind: 'text', text: 'hello' });
  assert.deepEqual(parseLine('{"level":"info"}'), { kind: 'text', text: '{"level":"info"}' });
  assert.equal(parseLine('{"type":"result","id":"a","value":3}').kind, 'message');
  assert.deepEqual(parseLine('{"type":"error","id":"a"}'), { kind: 'invalid', problem: '"error" message: message: got undefined; expected a string' });
});

test('the argv template fills payload fields and names unknown placeholders', () => {
  assert.deepEqual(fillCommand(['run', '{payload.prompt}', '--n={payload.n}', '{id}/{attempt}', '{{x}}'], task({ prompt: 'hi there', n: 3 })), ['run', 'hi there', '--n=3', 't1/1', '{x}']);
  assert.deepEqual(commandTemplateProblems(['a', '{paylod}']), ['command[1]: placeholder {paylod} is unknown; known: {payload}, {payload.FIELD}, {id}, {type}, {attempt}, {tenant}']);
  assert.throws(() => fillCommand(['{payload.missing}'], task({})), /command\[0\] "\{payload.missing\}": the payload has no field missing/);
});

test('the child environment holds PATH, HOME, LANG, TZ and the pool env, never the server secrets', () => {
  const env = childEnv({ MODEL: 'm1' }, { PATH: '/bin', HOME: '/h', TIDEPOOL_API_KEYS: 'a=secretsecret', TIDEPOOL_STORE: 'postgres://x', LANG: 'C' });
  assert.deepEqual(env, { PATH: '/bin', HOME: '/h', LANG: 'C', MODEL: 'm1' });
});

test('a command reads its payload on stdin; JSON stdout is the result, stderr goes to the log', async () => {
  const logs: string[] = [];
  const out = await runCommand(task({ a: [1, 2] }), {
    command: ['sh', '-c', 'echo working >&2; cat; echo " " ; echo "$TIDEPOOL_API_KEYS" >&2'],
    clock,
    signal: never(),
    onLog: (_s, t) => logs.push(t),
  });
  assert.deepEqual(out, { kind: 'ok', value: { a: [1, 2] } });
  assert.deepEqual(logs, ['working', '']);
});

test('a command whose stdout is not JSON returns it as a string', async () => {
  const out = await runCommand(task({ prompt: 'hello' }), { command: ['echo', 'said: {payload.prompt}'], clock, signal: never() });
  assert.deepEqual(out, { kind: 'ok', value: 'said: hello' });
});

test('exit codes: 0 succeeds, the no-retry code fails for good, others fail the attempt', async () => {
  const fail = await runCommand(task(), { command: ['sh', '-c', 'echo boom >&2; exit 3'], clock, signal: never() });
  assert.deepEqual(fail, { kind: 'error', code: 'CommandFailed', message: 'command exited with 3; last stderr line: boom', retryable: true });
  const final = await runCommand(task(), { command: ['sh', '-c', `exit ${NO_RETRY_EXIT_CODE}`], clock, signal: never() });
  assert.equal(final.kind === 'error' && final.retryable, false);
  const missing = await runCommand(task(), { command: ['/nonexistent/agent-cli'], clock, signal: never() });
  assert.equal(missing.kind === 'error' && missing.code, 'CommandFailed');
});

test('a command flooding stdout past the result cap is stopped and fails', async () => {
  const out = await runCommand(task(), { command: ['sh', '-c', 'yes tidepool'], clock, signal: never(), maxResultBytes: 64 * 1024 });
  assert.equal(out.kind, 'error');
  assert.equal(out.kind === 'error' && out.code, 'ResultTooLarge');
});

test('an aborted command that hangs with children of its own (ignoring SIGTERM) leaves no process behind', async () => {
  const controller = new AbortController();
  let pgid = -1;
  const started = new Promise<void>((resolve) => setImmediate(resolve));
  const run = runCommand(task(), {
    command: ['sh', '-c', "trap '' TERM; sleep 60 & sleep 60 & echo started >&2; wait"],
    clock,
    signal: controller.signal,
    killGraceMs: 200,
    onSpawn: (pid) => (pgid = pid),
    onLog: () => controller.abort(new TidepoolError('Timeout', 'task t1 passed its timeout')),
  });
  await started;
  await assert.rejects(run, /passed its timeout/);
  assert.ok(pgid > 0);
  assert.deepEqual(livingGroupMembers(pgid), []);
});

for (const [name, command] of [
  ['Python', ['python3', 'examples/workers/worker.py']],
  ['TypeScript', [process.execPath, 'examples/workers/worker.ts']],
] as const) {
  test(`the ${name} example worker serves echo and sleep, logs, and drains on shutdown`, async () => {
    const w = new ProtocolWorker({ command, cwd: root, clock });
    await w.start();
    const logs: string[] = [];
    const hooks = { signal: never(), onLog: (_s: string, t: string) => logs.push(t) };
    assert.deepEqual(await w.run({ id: 'a', type: 'echo', attempt: 1, tenant: 'default', payload: { x: 'ü' }, timeoutMs: 1000 }, hooks), { kind: 'ok', value: { x: 'ü' } });
    let progressed = 0;
    assert.deepEqual(await w.run({ id: 'b', type: 'sleep', attempt: 2, tenant: 'default', payload: { ms: 20 }, timeoutMs: 1000 }, { ...hooks, onProgress: () => progressed++ }), { kind: 'ok', value: { slept: 20 } });
    assert.ok(progressed >= 1);
    const bad = await w.run({ id: 'c', type: 'nope', attempt: 1, tenant: 'default', payload: null, timeoutMs: 1000 }, hooks);
    assert.equal(bad.kind === 'error' && bad.retryable, false);
    assert.deepEqual(logs, ['echo attempt 1', 'sleep attempt 2']);
    const pid = w.pid;
    await w.stop('drain');
    assert.equal(w.hasCrashed, false);
    assert.deepEqual(livingGroupMembers(pid), []);
  });
}

const script = (body: string) => [process.execPath, '-e', `const send = (m) => process.stdout.write(JSON.stringify(m) + '\\n'); send({ type: 'ready', protocol: 1 }); ${body}`];

test('non-protocol stdout becomes log lines; a worker exiting mid-task fails it as Crashed', async () => {
  const w = new ProtocolWorker({ command: script(`process.stdin.once('data', () => { console.log('plain text'); process.exit(7); });`), clock });
  await w.start();
  const logs: string[] = [];
  const out = await w.run({ id: 'a', type: 'x', attempt: 1, tenant: 'default', payload: null, timeoutMs: 1000 }, { signal: never(), onLog: (s, t) => logs.push(`${s}: ${t}`) });
  assert.equal(out.kind, 'error');
  assert.match(out.kind === 'error' ? out.message : '', /exited with 7 while running task a/);
  assert.deepEqual(logs, ['stdout: plain text']);
  assert.equal(w.hasCrashed, true);
});

test('a protocol line over the line cap fails the task and stops the worker', async () => {
  const w = new ProtocolWorker({ command: script(`process.stdin.once('data', () => process.stdout.write('x'.repeat(300000) + '\\n'));`), clock, maxLineBytes: 100_000 });
  await w.start();
  const out = await w.run({ id: 'a', type: 'x', attempt: 1, tenant: 'default', payload: null, timeoutMs: 1000 }, { signal: never() });
  assert.equal(out.kind === 'error' && out.code, 'ProtocolError');
  await w.exited;
});

test('a worker that never says ready, or speaks another protocol version, fails to start', async () => {
  await assert.rejects(new ProtocolWorker({ command: [process.execPath, '-e', 'setInterval(() => {}, 1000)'], clock, startTimeoutMs: 300 }).start(), /sent no "ready" line within 300 ms/);
  await assert.rejects(new ProtocolWorker({ command: [process.execPath, '-e', `console.log(JSON.stringify({ type: 'ready', protocol: 9 })); setInterval(() => {}, 1000)`], clock }).start(), /speaks protocol 9; this Tidepool speaks 1/);
  await assert.rejects(new ProtocolWorker({ command: [process.execPath, '-e', 'process.exit(3)'], clock }).start(), /exited with 3 before it was ready/);
});

test('aborting a task ends the worker process group', async () => {
  const w = new ProtocolWorker({ command: script(`require('child_process').spawn('sleep', ['60']); setInterval(() => {}, 1000);`), clock, killGraceMs: 200 });
  await w.start();
  const controller = new AbortController();
  const run = w.run({ id: 'a', type: 'x', attempt: 1, tenant: 'default', payload: null, timeoutMs: 1000 }, { signal: controller.signal });
  controller.abort(new TidepoolError('Timeout', 'stalled'));
  await assert.rejects(run, /stalled/);
  assert.deepEqual(livingGroupMembers(w.pid), []);
});
