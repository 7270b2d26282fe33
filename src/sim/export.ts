// Turns a store's finished tasks into a trace (arrival = submit time relative to the
// first, service = run time of the last attempt, plus tenant, priority and type), so
// users replay their own load against every policy. Pure: the CLI reads the store.
import type { Task } from '../core/index.ts';
import type { Workload } from './trace.ts';

export interface ExportFilter {
  /** Only tasks submitted at or after this epoch ms. */
  fromMs?: number;
  /** Only tasks submitted before this epoch ms. */
  toMs?: number;
  type?: string;
}

/** Commas and line breaks would break the CSV: they become `_`. */
function cell(s: string): string {
  return s.replace(/[,\r\n]/g, '_');
}

/** Tasks that ran and finished, in submit order (ties by id), as a workload. */
export function tasksToWorkload(tasks: readonly Task[], filter: ExportFilter = {}): Workload {
  const kept = tasks.filter(
    (t) =>
      t.startedAtMs !== null &&
      t.finishedAtMs !== null &&
      (t.status === 'succeeded' || t.status === 'dead') &&
      (filter.fromMs === undefined || t.createdAtMs >= filter.fromMs) &&
      (filter.toMs === undefined || t.createdAtMs < filter.toMs) &&
      (filter.type === undefined || t.type === filter.type),
  );
  kept.sort((a, b) => a.createdAtMs - b.createdAtMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const n = kept.length;
  const first = n > 0 ? kept[0].createdAtMs : 0;
  const arrivalMs = new Float64Array(n);
  const serviceMs = new Float64Array(n);
  const priority = new Int32Array(n);
  const tenant: string[] = [];
  const type: string[] = [];
  for (let i = 0; i < n; i++) {
    const t = kept[i];
    arrivalMs[i] = Math.round(t.createdAtMs - first);
    serviceMs[i] = Math.max(0, Math.round(t.finishedAtMs! - t.startedAtMs!));
    priority[i] = t.priority;
    tenant.push(cell(t.tenant));
    type.push(cell(t.type));
  }
  return { count: n, arrivalMs, serviceMs, priority, tenant, type };
}
