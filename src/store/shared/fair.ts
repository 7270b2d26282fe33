// Fair claim order across tenants. Among the runnable tasks, the next one to start is:
//   1. the highest priority,
//   2. then the task of the tenant with the fewest running tasks (counting the ones this
//      claim already took), so one tenant's flood cannot starve another,
//   3. then the oldest (lowest insertion sequence).
// A tenant at its concurrency limit gets nothing; its tasks wait.

export interface FairCandidate {
  priority: number;
  seq: number;
  tenant: string;
}

/** One tenant's runnable tasks of one type, best first. */
export interface FairSource<T extends FairCandidate> {
  tenant: string;
  peek(): T | undefined;
  take(): T;
}

/**
 * Picks up to `limit` tasks from the sources in fair order. `running` maps each tenant
 * to its running tasks and is updated as tasks are picked; `limitOf` gives a tenant's
 * limit (0 = none).
 */
export function pickFair<T extends FairCandidate>(
  sources: FairSource<T>[],
  running: Map<string, number>,
  limitOf: (tenant: string) => number,
  limit: number,
): T[] {
  const picked: T[] = [];
  let live = sources.slice();
  while (picked.length < limit && live.length > 0) {
    let best: FairSource<T> | undefined;
    let bestTask: T | undefined;
    let bestRunning = 0;
    const next: FairSource<T>[] = [];
    for (const source of live) {
      const task = source.peek();
      if (!task) continue;
      const runningNow = running.get(source.tenant) ?? 0;
      const cap = limitOf(source.tenant);
      if (cap > 0 && runningNow >= cap) continue;
      next.push(source);
      if (
        !bestTask ||
        task.priority > bestTask.priority ||
        (task.priority === bestTask.priority &&
          (runningNow < bestRunning || (runningNow === bestRunning && task.seq < bestTask.seq)))
      ) {
        best = source;
        bestTask = task;
        bestRunning = runningNow;
      }
    }
    if (!best) break;
    picked.push(best.take());
    running.set(best.tenant, bestRunning + 1);
    live = next;
  }
  return picked;
}

/** A FairSource over an array already sorted best first. */
export function arraySource<T extends FairCandidate>(tenant: string, items: T[]): FairSource<T> {
  let i = 0;
  return { tenant, peek: () => items[i], take: () => items[i++] };
}
