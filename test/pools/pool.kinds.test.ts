// The pool contract run against each worker kind this build has.
import { fileURLToPath } from 'node:url';
import { systemClock } from '../../src/core/index.ts';
import { runPoolContract } from './pool.contract.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const sleep = (ms: number, signal: AbortSignal) => systemClock.sleep(ms, signal);

runPoolContract({
  kind: 'inline',
  capabilities: [],
  pool: {},
  handlers: { echo: async (p: unknown) => p, sleep: async (p: { ms: number }, ctx) => (await sleep(p.ms, ctx.signal), { slept: p.ms }) },
});

// A small program per task: the type arrives as an argument, the payload on stdin.
const COMMAND = `import json, sys, time
p = json.load(sys.stdin)
if sys.argv[1] == "sleep":
    time.sleep(p["ms"] / 1000.0)
    p = {"slept": p["ms"]}
json.dump(p, sys.stdout)`;

runPoolContract({ kind: 'thread', capabilities: [], pool: { kind: 'thread', module: `${root}test/pools/fixtures/kinds-handlers.ts` }, handlers: {} });

runPoolContract({ kind: 'command', capabilities: [], pool: { kind: 'command', command: ['python3', '-c', COMMAND, '{type}'] }, handlers: {} });

runPoolContract({ kind: 'process', capabilities: ['killable'], pool: { kind: 'process', command: ['python3', `${root}examples/workers/worker.py`] }, handlers: {} });
