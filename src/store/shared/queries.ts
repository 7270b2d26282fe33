// Helpers for the read side shared by adapters: list filter checks, status sets, zeroed
// counts, and time-range filtering of scaling events and metric samples.
import { InvalidInputError, TASK_STATUSES } from '../../core/index.ts';
import type { StatusCounts, TaskFilter, TaskStatus, TimeRange } from '../../core/index.ts';
import { DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT } from './options.ts';

/** Default and largest number of events/samples one range query returns. */
export const DEFAULT_RANGE_LIMIT = 1_000;
export const MAX_RANGE_LIMIT = 100_000;

export function zeroCounts(): StatusCounts {
  return { queued: 0, running: 0, retrying: 0, succeeded: 0, dead: 0, cancelled: 0 };
}

export function statusSet(status: TaskFilter['status']): Set<TaskStatus> | null {
  if (status === undefined) return null;
  const list = typeof status === 'string' ? [status] : [...status];
  for (const s of list) {
    if (!(TASK_STATUSES as readonly string[]).includes(s)) {
      throw new InvalidInputError(`status: got ${JSON.stringify(s)}; expected one of ${TASK_STATUSES.join(', ')}`);
    }
  }
  return new Set(list);
}

export function checkListFilter(filter: TaskFilter, decode: (cursor: string) => number): { limit: number; afterSeq: number } {
  const limit = filter.limit ?? DEFAULT_LIST_LIMIT;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
    throw new InvalidInputError(`limit: got ${String(limit)}; expected an integer in [1, ${MAX_LIST_LIMIT}]`);
  }
  const afterSeq = filter.cursor === undefined || filter.cursor === null ? 0 : decode(filter.cursor);
  return { limit, afterSeq };
}

export function rangeLimit(range: TimeRange): number {
  const limit = range.limit ?? DEFAULT_RANGE_LIMIT;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_RANGE_LIMIT) {
    throw new InvalidInputError(`limit: got ${String(limit)}; expected an integer in [1, ${MAX_RANGE_LIMIT}]`);
  }
  return limit;
}

/**
 * Items (sorted by atMs) within [fromMs, toMs] of the pool, oldest first; when more than
 * `limit` match, the most recent `limit` of them.
 */
export function filterRange<T extends { atMs: number; pool: string }>(items: readonly T[], range: TimeRange): T[] {
  const limit = rangeLimit(range);
  const fromMs = range.fromMs ?? -Infinity;
  const toMs = range.toMs ?? Infinity;
  const matched = items.filter((i) => i.atMs >= fromMs && i.atMs <= toMs && (range.pool === undefined || i.pool === range.pool));
  return matched.length > limit ? matched.slice(matched.length - limit) : matched;
}
