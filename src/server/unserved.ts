// Tasks of a type no pool serves: accepted (a pool serving it may start later, or
// another node may serve it), but never run here. The submit answer carries a
// `warning` (and the server logs it), and GET /v1/pools and /health report an
// `unserved` figure: how many such tasks wait, by type.
import type { TaskCounts } from '../core/index.ts';
import type { ServerRuntime } from './types.ts';

/** Unserved tasks: queued or retrying tasks of types that no pool of this server serves. */
export interface UnservedFigure {
  tasks: number;
  /** Waiting tasks by type. */
  types: Record<string, number>;
}

/** The task types this server's pools serve. */
export function servedTypes(runtime: ServerRuntime): Set<string> {
  const served = new Set<string>();
  for (const p of runtime.pools()) for (const t of p.stats().types) served.add(t);
  for (const p of runtime.remotePools?.() ?? []) for (const t of p.types) served.add(t);
  return served;
}

/** The warning for a submit of a type no pool serves, or undefined when one does. */
export function unservedWarning(type: string, served: ReadonlySet<string>): string | undefined {
  if (served.has(type)) return undefined;
  const known = [...served].sort();
  return `no pool serves type ${JSON.stringify(type)}, so the task waits until one does; pools serve: ${known.length ? known.join(', ') : '(none)'}`;
}

/** Waiting tasks of types no pool serves, from the store's counts. */
export function unservedFigure(counts: TaskCounts, served: ReadonlySet<string>): UnservedFigure {
  const types: Record<string, number> = Object.create(null);
  let tasks = 0;
  for (const [type, c] of Object.entries(counts.byType)) {
    if (served.has(type)) continue;
    const waiting = (c.queued ?? 0) + (c.retrying ?? 0);
    if (waiting === 0) continue;
    types[type] = waiting;
    tasks += waiting;
  }
  return { tasks, types: { ...types } };
}
