// Which worker goes on a scale-down, which draining worker comes back on a scale-up,
// and which idle worker takes the next task: the choices the live pool and the
// simulator must make the same way, or the simulator stops predicting the pool.
// Both import these functions (src/pools and src/sim); neither keeps its own rule.
//
// The rules, in one place:
//   scale-down  1. starting workers, the newest first (the least start-up sunk into it);
//               2. idle workers, the longest idle first (the one least likely needed);
//               3. busy workers are drained (finish their task, then leave), the one
//                  whose task started first goes first (ties: lower seq first).
//   scale-up    draining workers are kept on before any new worker is added, in the
//               reverse of the drain order: the one whose task started last first.
//   dispatch    the most recently idle worker takes the next task, so the long-idle
//               ones stay idle and are the ones a scale-down removes.
// Pure: plain data in, plain data out; no clock, no I/O.

/** What a choice needs to know about one worker. */
export interface WorkerFacts {
  /** Order of creation in its pool (ties break on it, lower = older). */
  seq: number;
  status: 'starting' | 'idle' | 'busy' | 'draining';
  /** When the worker was added (epoch or virtual ms). */
  addedAtMs: number;
  /** Since when it is idle; null unless idle. */
  idleSinceMs: number | null;
  /** When its current task started; null unless busy or draining. */
  taskStartedAtMs: number | null;
}

export interface ScaleDownChoice<W extends WorkerFacts> {
  /** Starting and idle workers to remove at once. */
  remove: W[];
  /** Busy workers to drain. */
  drain: W[];
}

function rank(w: WorkerFacts): number {
  switch (w.status) {
    case 'starting':
      return 0;
    case 'idle':
      return 1;
    case 'busy':
      return 2;
    case 'draining':
      return 3;
    default: {
      const never: never = w.status;
      throw new Error(`unknown worker status ${JSON.stringify(never)}`);
    }
  }
}

/** Scale-down order: negative when a goes before b. */
export function compareForScaleDown(a: WorkerFacts, b: WorkerFacts): number {
  const r = rank(a) - rank(b);
  if (r !== 0) return r;
  switch (a.status) {
    case 'starting':
      return b.addedAtMs - a.addedAtMs || b.seq - a.seq;
    case 'idle':
      return (a.idleSinceMs ?? 0) - (b.idleSinceMs ?? 0) || a.seq - b.seq;
    case 'busy':
    case 'draining':
      return (a.taskStartedAtMs ?? Infinity) - (b.taskStartedAtMs ?? Infinity) || a.seq - b.seq;
    default: {
      const never: never = a.status;
      throw new Error(`unknown worker status ${JSON.stringify(never)}`);
    }
  }
}

/**
 * The `count` workers a scale-down takes among `workers` (draining ones are ignored:
 * they are already leaving). Starting and idle ones are removed, busy ones drained.
 */
export function chooseScaleDown<W extends WorkerFacts>(workers: readonly W[], count: number): ScaleDownChoice<W> {
  const out: ScaleDownChoice<W> = { remove: [], drain: [] };
  if (count <= 0) return out;
  const live = workers.filter((w) => w.status !== 'draining').sort(compareForScaleDown);
  for (let i = 0; i < live.length && i < count; i++) {
    const w = live[i]!;
    if (w.status === 'busy') out.drain.push(w);
    else out.remove.push(w);
  }
  return out;
}

/** The draining workers a scale-up of `count` keeps on (at most `count`), before new ones are added. */
export function chooseKeepOn<W extends WorkerFacts>(workers: readonly W[], count: number): W[] {
  if (count <= 0) return [];
  const draining = workers.filter((w) => w.status === 'draining').sort((a, b) => compareForScaleDown(b, a));
  return draining.slice(0, count);
}

/** Dispatch order of idle workers: negative when a should take a task before b (most recently idle first). */
export function compareForDispatch(a: WorkerFacts, b: WorkerFacts): number {
  return (b.idleSinceMs ?? 0) - (a.idleSinceMs ?? 0) || b.seq - a.seq;
}
