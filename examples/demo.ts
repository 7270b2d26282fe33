// `npm start`: the Tidepool server on SQLite with the demo handlers and a small
// demo load, so a new user sees tasks flowing and the pools scaling. Open the
// printed address for the dashboard. Ctrl-C drains and stops.
//
// It is `tidepool start` with other defaults (the store ./tidepool-demo.db, a 1 s
// autoscaler tick, an llm and a cpu pool): the same flags, environment variables,
// config file and messages, e.g.
//   npm start -- --port 8080          or  TIDEPOOL_PORT=8080 npm start   (0 = any free port)
//   npm start -- --store memory       or  TIDEPOOL_STORE=sqlite:./other.db npm start
//   DEMO_LOAD=0 npm start             the server only, no demo load
import { runStart } from '../src/cli/start.ts';
import { reportFatal } from '../src/cli/commands.ts';
import { systemClock } from '../src/core/index.ts';
import handlers from './handlers.ts';

/** The demo's settings, under the config file, the environment and the flags. */
export const DEMO_DEFAULTS = {
  store: 'sqlite:./tidepool-demo.db',
  'autoscaler.intervalMs': 1000,
  // The LLM pool scales 1..16 on queue depth and wait; the CPU pool 1..4. A 15 s stats
  // window (instead of 60 s) lets the demo show scale-downs within its pauses.
  pools: [
    { name: 'llm', types: ['llm'], minWorkers: 1, maxWorkers: 16, policy: 'queue-latency', windowMs: 15_000, policyOptions: { targetQueueDepth: 10, targetP95Ms: 1500, decisionIntervalMs: 2000 } },
    { name: 'cpu', types: ['cpu'], minWorkers: 1, maxWorkers: 4, policy: 'threshold', windowMs: 15_000, policyOptions: {} },
  ],
};

/** Waves of load: a burst of LLM calls, a pause, some CPU tasks, a pause; until the server stops. */
async function demoLoad(url: string, isStopping: () => boolean): Promise<void> {
  const post = (tasks: unknown[]) =>
    fetch(`${url}/v1/tasks/batch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ tasks }) }).catch(() => undefined);
  for (let wave = 1; !isStopping(); wave++) {
    const size = 40 + ((wave * 37) % 80);
    process.stderr.write(`demo load: wave ${wave}: ${size} llm tasks over ~10 s, then 10 cpu tasks, then a 35 s pause\n`);
    for (let i = 0; i < 10 && !isStopping(); i++) {
      await post(Array.from({ length: Math.ceil(size / 10) }, (_, j) => ({ type: 'llm', payload: { prompt: `wave ${wave} question ${i * 10 + j}`, meanMs: 900 } })));
      await systemClock.sleep(1000);
    }
    if (isStopping()) break;
    await post(Array.from({ length: 10 }, (_, j) => ({ type: 'cpu', payload: { text: `block ${wave}.${j}`, rounds: 30_000 } })));
    for (let s = 0; s < 35 && !isStopping(); s++) await systemClock.sleep(1000);
  }
}

runStart(process.argv.slice(2), {
  defaults: DEMO_DEFAULTS,
  handlers,
  title: 'Tidepool demo (the server with demo handlers and waves of demo load; Ctrl-C drains and stops)',
  afterStart: (running, isStopping) => {
    process.stdout.write(`tidepool: try  npx tidepool pools --url ${running.url}\n`);
    if (process.env.DEMO_LOAD !== '0') void demoLoad(running.url, isStopping);
  },
}).then(
  (code) => process.exit(code),
  (err: unknown) => process.exit(reportFatal(err)),
);
