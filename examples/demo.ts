// `npm start`: the Tidepool server on SQLite with the demo handlers and a small
// demo load, so a new user sees tasks flowing and the pools scaling. Open the
// printed address for the dashboard. Ctrl-C drains and stops.
//
//   npm start                 store ./tidepool-demo.db, port 7700
//   PORT=0 npm start          any free port
//   DEMO_LOAD=0 npm start     the server only, no demo load
import { resolveStartConfig, startTidepool } from '../src/cli/start.ts';
import { redactStoreUrl, systemClock } from '../src/core/index.ts';
import handlers from './handlers.ts';

const config = resolveStartConfig(
  {
    store: process.env.TIDEPOOL_STORE ?? 'sqlite:./tidepool-demo.db',
    port: process.env.PORT ?? '7700',
    'interval-ms': '1000',
  },
  process.env,
);
// The LLM pool scales 1..16 on queue depth and wait; the CPU pool 1..4. A 15 s stats
// window (instead of 60 s) lets the demo show scale-downs within its pauses.
config.pools = [
  { name: 'llm', types: ['llm'], minWorkers: 1, maxWorkers: 16, policy: 'queue-latency', windowMs: 15_000, policyOptions: { targetQueueDepth: 10, targetP95Ms: 1500, decisionIntervalMs: 2000 } },
  { name: 'cpu', types: ['cpu'], minWorkers: 1, maxWorkers: 4, policy: 'threshold', windowMs: 15_000, policyOptions: {} },
] as typeof config.pools;

const running = await startTidepool({ config, handlers, log: (l) => process.stderr.write(`tidepool: ${l}\n`) });
process.stdout.write(`\nTidepool demo running on ${redactStoreUrl(config.store)}\n`);
process.stdout.write(`  dashboard  ${running.url}/\n  API        ${running.url}/v1   (try: npx tidepool pools --url ${running.url})\n  metrics    ${running.url}/metrics\n\n`);

let isStopping = false;
const stop = async () => {
  if (isStopping) process.exit(1);
  isStopping = true;
  process.stderr.write('tidepool demo: draining...\n');
  await running.stop(5000);
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

/** Waves of load: a burst of LLM calls, a pause, some CPU tasks, a pause; forever. */
async function demoLoad(): Promise<void> {
  const post = (tasks: unknown[]) =>
    fetch(`${running.url}/v1/tasks/batch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ tasks }) }).catch(() => undefined);
  for (let wave = 1; !isStopping; wave++) {
    const size = 40 + ((wave * 37) % 80);
    process.stderr.write(`demo load: wave ${wave}: ${size} llm tasks over ~10 s, then 10 cpu tasks, then a 35 s pause\n`);
    for (let i = 0; i < 10 && !isStopping; i++) {
      await post(Array.from({ length: Math.ceil(size / 10) }, (_, j) => ({ type: 'llm', payload: { prompt: `wave ${wave} question ${i * 10 + j}`, meanMs: 900 } })));
      await systemClock.sleep(1000);
    }
    await post(Array.from({ length: 10 }, (_, j) => ({ type: 'cpu', payload: { text: `block ${wave}.${j}`, rounds: 30_000 } })));
    await systemClock.sleep(35_000);
  }
}
if (process.env.DEMO_LOAD !== '0') void demoLoad();
