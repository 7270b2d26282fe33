// The pool contract run against each worker kind this build has. Remote workers are
// `tidepool worker` processes pulling over real HTTP from a server on an ephemeral port.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { systemClock } from '../../src/core/index.ts';
import type { HandlerMap, RemotePool } from '../../src/pools/index.ts';
import { TidepoolServer } from '../../src/server/index.ts';
import { runPoolContract } from './pool.contract.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const sleep = (ms: number, signal: AbortSignal) => systemClock.sleep(ms, signal);
const handlers: HandlerMap = { echo: async (p: unknown) => p, sleep: async (p: { ms: number }, ctx) => (await sleep(p.ms, ctx.signal), { slept: p.ms }) };

runPoolContract({ kind: 'inline', capabilities: ['ownsWorkers'], pool: {}, handlers });

// A small program per task: the type arrives as an argument, the payload on stdin.
const COMMAND = `import json, sys, time
p = json.load(sys.stdin)
if sys.argv[1] == "sleep":
    time.sleep(p["ms"] / 1000.0)
    p = {"slept": p["ms"]}
json.dump(p, sys.stdout)`;

runPoolContract({ kind: 'thread', capabilities: ['ownsWorkers'], pool: { kind: 'thread', module: `${root}test/pools/fixtures/kinds-handlers.ts` }, handlers: {} });

runPoolContract({ kind: 'command', capabilities: ['ownsWorkers'], pool: { kind: 'command', command: ['python3', '-c', COMMAND, '{type}'] }, handlers: {} });

runPoolContract({ kind: 'process', capabilities: ['ownsWorkers', 'killable'], pool: { kind: 'process', command: ['python3', `${root}examples/workers/worker.py`] }, handlers: {} });

runPoolContract({
  kind: 'remote',
  capabilities: [],
  pool: { kind: 'remote' },
  handlers: {},
  // One `tidepool worker` process per worker (concurrency 1), registered before the case goes on.
  async workers(tp, count) {
    const remote = tp.pools.get('p') as RemotePool;
    const server = await TidepoolServer.create({ clock: systemClock, runtime: { store: tp.store, pools: () => [], remotePools: () => [remote] } });
    const url = await server.listen({ port: 0, host: '127.0.0.1' });
    const procs = Array.from({ length: count }, () =>
      spawn(process.execPath, [join(root, 'src/cli/main.ts'), 'worker', '--url', url, '--handlers', join(root, 'test/pools/fixtures/kinds-handlers.ts')], { stdio: 'ignore' }),
    );
    const exits = procs.map((p) => new Promise<void>((resolve) => p.once('exit', () => resolve())));
    while (remote.stats().total < count) await systemClock.sleep(20);
    return async () => {
      for (const p of procs) p.kill('SIGTERM');
      await Promise.all(exits);
      await server.close();
    };
  },
});
