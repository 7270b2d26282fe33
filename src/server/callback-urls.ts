// The submit routes' part in completion callbacks: every callbackUrl of a request is
// checked before anything is stored (a 400 naming the field, all or none for a batch),
// and each task's record is written after the submit, before the answer goes out, so an
// acknowledged submit always has its callback on record (src/callbacks/records.ts).
import { InvalidInputError } from '../core/index.ts';
import type { ServerRuntime } from './types.ts';

export interface CallbackAsk {
  /** Where the URL is in the request, for the message: `body.callbackUrl`, `body.tasks[3].callbackUrl`. */
  field: string;
  url: string;
}

/** Throws InvalidInputError naming the field of the first URL that may not be used. */
export async function checkCallbackUrls(runtime: ServerRuntime, asks: readonly CallbackAsk[]): Promise<void> {
  if (asks.length === 0) return;
  const intake = runtime.callbacks;
  if (!intake) throw new InvalidInputError(`${asks[0]!.field}: this server sends no completion callbacks (callbacks.secret is not set)`);
  const problems = new Map<string, Promise<string | null>>();
  for (const a of asks) if (!problems.has(a.url)) problems.set(a.url, intake.urlProblem(a.url));
  for (const a of asks) {
    const problem = await problems.get(a.url)!;
    if (problem) throw new InvalidInputError(`${a.field}: ${problem}`);
  }
}

/** Writes the callback records of submitted tasks (after checkCallbackUrls passed). */
export async function registerCallbacks(runtime: ServerRuntime, entries: ReadonlyArray<{ task: { id: string; tenant: string }; url: string | undefined; isNew: boolean }>): Promise<void> {
  const intake = runtime.callbacks;
  if (!intake) return;
  await Promise.all(entries.flatMap((e) => (e.url === undefined ? [] : [intake.register(e.task, e.url, e.isNew)])));
}
