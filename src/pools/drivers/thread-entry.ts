// The code each `thread` worker runs (worker_threads): loads the pool's handler module
// (its default export maps task types to handlers, as --handlers takes), says `ready`
// with the types it found, then runs one task at a time as the pool's ThreadDriver asks.
// Messages (parent -> thread): run {task}, abort {reason}, stop. (thread -> parent):
// ready {types}, progress, log {text}, result {ok, value | error}. A handler that throws
// or leaves an error unhandled ends the thread: the parent sees it exit, the task is
// retried on a fresh thread.
import { parentPort, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { format } from 'node:util';

interface RunMessage {
  type: 'run';
  task: { id: string; attempts: number; type: string; tenant: string; payload: unknown };
  workerId: string;
}
type ParentMessage = RunMessage | { type: 'abort'; reason: string } | { type: 'stop' };

if (!parentPort) throw new Error('thread-entry.ts runs inside a worker thread only');
const port = parentPort;
const { module } = workerData as { module: string };

const imported = (await import(pathToFileURL(module).href)) as { default?: unknown };
const handlers = (imported.default ?? imported) as Record<string, unknown>;
if (!handlers || typeof handlers !== 'object') throw new Error(`${module}: its default export is not an object of handlers`);
const types = Object.keys(handlers).filter((k) => typeof handlers[k] === 'function');

let current: AbortController | null = null;

port.on('message', (msg: ParentMessage) => {
  switch (msg.type) {
    case 'run':
      void run(msg);
      break;
    case 'abort':
      current?.abort(new Error(msg.reason));
      break;
    case 'stop':
      port.close();
      break;
    default: {
      const never: never = msg;
      throw new Error(`unknown message ${JSON.stringify(never)}`);
    }
  }
});

async function run(msg: RunMessage): Promise<void> {
  const { task } = msg;
  const controller = new AbortController();
  current = controller;
  const ctx = {
    id: task.id,
    attempt: task.attempts,
    signal: controller.signal,
    type: task.type,
    tenant: task.tenant,
    workerId: msg.workerId,
    progress: () => port.postMessage({ type: 'progress' }),
    log: (...args: unknown[]) => port.postMessage({ type: 'log', text: format(...args) }),
  };
  try {
    const handler = handlers[task.type] as (payload: unknown, ctx: unknown) => unknown;
    if (typeof handler !== 'function') throw Object.assign(new Error(`${module} has no handler for type ${JSON.stringify(task.type)}`), { retryable: false });
    const value = await handler(task.payload, ctx);
    port.postMessage({ type: 'result', ok: true, value: value === undefined ? null : JSON.parse(JSON.stringify(value)) });
  } catch (err) {
    const e = err as { message?: unknown; code?: unknown; retryable?: unknown };
    port.postMessage({
      type: 'result',
      ok: false,
      error: { message: typeof e?.message === 'string' ? e.message : String(err), code: typeof e?.code === 'string' ? e.code : undefined, retryable: e?.retryable === false ? false : undefined },
    });
  } finally {
    if (current === controller) current = null;
  }
}

port.postMessage({ type: 'ready', types });
