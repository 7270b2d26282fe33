// A Tidepool `process` worker in TypeScript: speaks the worker protocol v1
// (docs/worker-protocol.md), JSON lines on stdin/stdout, with nothing but Node.
// Serves `echo` (returns its payload) and `sleep` ({"ms": N}: sleeps, sending progress
// every second, returns {"slept": N}; with "failAttempts": K it fails its first K attempts
// after the sleep, for load tests). A namespaced type ("load-7f3a:sleep") is served by the handler of its last part.
//
// Run it under a pool: {"name": "ts", "kind": "process", "types": ["echo", "sleep"],
//                       "command": ["node", "examples/workers/worker.ts"]}
import { createInterface } from 'node:readline';

const PROTOCOL = 1;

type Task = { type: 'task'; id: string; taskType: string; attempt: number; payload: unknown; timeoutMs: number };

function send(message: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(message) + '\n');
}

const handlers: Record<string, (task: Task) => Promise<unknown>> = {
  echo: async (task) => task.payload,
  sleep: async (task) => {
    const ms = (task.payload as { ms?: unknown } | null)?.ms ?? 0;
    if (typeof ms !== 'number' || !(ms >= 0)) throw new Error(`sleep: payload.ms must be a non-negative number, got ${JSON.stringify(ms)}`);
    const endMs = performance.now() + ms;
    for (let left = ms; left > 0; left = endMs - performance.now()) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(left, 1000)));
      send({ type: 'progress', id: task.id });
    }
    const failAttempts = (task.payload as { failAttempts?: unknown }).failAttempts;
    if (typeof failAttempts === 'number' && task.attempt <= failAttempts) throw new Error(`sleep: failing attempt ${task.attempt} as asked (payload.failAttempts)`);
    return { slept: ms };
  },
};

// What a handler logs goes to stderr (the task log), never into the protocol.
console.log = console.error;

send({ type: 'ready', protocol: PROTOCOL, types: Object.keys(handlers), pid: process.pid });

// One task at a time: the next line is read only once the current task is answered.
const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  if (!line.trim()) continue;
  let message: { type?: string };
  try {
    message = JSON.parse(line);
  } catch {
    console.error(`worker.ts: not JSON: ${line.slice(0, 200)}`);
    continue;
  }
  if (message.type === 'shutdown') break;
  if (message.type !== 'task') continue; // cancel and future messages
  const task = message as unknown as Task;
  const handler = handlers[task.taskType] ?? handlers[String(task.taskType).split(':').pop()!];
  if (!handler) {
    send({ type: 'error', id: task.id, message: `no handler for type ${JSON.stringify(task.taskType)}`, code: 'UnknownType', retryable: false });
    continue;
  }
  try {
    send({ type: 'log', id: task.id, text: `${task.taskType} attempt ${task.attempt}` });
    send({ type: 'result', id: task.id, value: (await handler(task)) ?? null });
  } catch (err) {
    send({ type: 'error', id: task.id, message: err instanceof Error ? err.message : String(err), code: 'HandlerError' });
  }
}
process.exit(0);
