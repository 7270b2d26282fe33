// `clairvoyant`: an offline schedule that knows the whole trace, the floor every online
// policy is measured against. It is no policy (it needs the future), so it lives here in
// the simulator and not in the policy registry; the live autoscaler and the config refuse
// the name.
//
// A schedule is a set of chains: a chain is one worker slot running tasks back to back.
// Within a chain, a gap no longer than the start-up is kept (the worker idles through it);
// a longer gap ends the worker and a new one starts a start-up before the next task. A
// worker needed within the first start-up is there at 0, as every online policy's
// initial workers are.
//
// How it schedules (all of it with foresight):
//   1. packing: tasks in arrival order; a task takes the chain that frees up first within
//      its wait budget (arrival .. arrival + SLO), so it waits for a worker about to free
//      up rather than keeping another worker busy; only when none frees in time does it
//      take an idle chain (the one idle the shortest) or start a new one;
//   2. late tasks: the share of tasks allowed past the SLO (5% at attainment 0.95) is
//      spent where it saves most: whole worker lifetimes (segments) whose start-up and
//      idle time per task is highest are given up, their tasks made late, and the
//      packing is redone; repeated while it pays;
//   3. late tasks go where they cost least: into an idle stretch of a chain (which can
//      only shrink its idle time) or after a chain's last task.
// Pure: arrays in, a SimRun out.
import type { SimRun } from './engine.ts';
import type { Workload } from './trace.ts';

export interface ClairvoyantOptions {
  sloMs: number;
  startupMs: number;
  /** Share of tasks that must start within sloMs (default 0.95). */
  attainment?: number;
}

/** The name `simulate --policy` and `--compare` use. */
export const CLAIRVOYANT = 'clairvoyant';

interface Schedule {
  startMs: Float64Array;
  /** Tasks of each chain in start order. */
  chains: number[][];
}

/** Gaps looked at per late task (the first ones that can hold it, by end). */
const GAP_LOOK = 256;

/** Idle cost of a gap inside a chain: kept through when no longer than the start-up, else a fresh start. */
function gapCost(gapMs: number, startupMs: number): number {
  return gapMs <= startupMs ? gapMs : startupMs;
}

/** First index of sorted `keys` whose value is >= x. */
function lowerBound(keys: number[], x: number): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (keys[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Packs the on-time tasks (late[i] = 0) into chains, in arrival order. */
function pack(w: Workload, late: Uint8Array, sloMs: number): Schedule {
  const n = w.count;
  const arr = w.arrivalMs;
  const svc = w.serviceMs;
  const startMs = new Float64Array(n).fill(-1);
  const chains: number[][] = [];
  // Chains by the instant they free up (sorted), so each choice is a binary search.
  const freeAt: number[] = [];
  const chainAt: number[] = [];
  for (let i = 0; i < n; i++) {
    if (late[i]) continue;
    const a = arr[i];
    // The chain freeing first within [a, a + SLO]; else the one idle the shortest before a.
    const k = lowerBound(freeAt, a);
    let c: number;
    let s: number;
    if (k < freeAt.length && freeAt[k] <= a + sloMs) {
      c = chainAt[k];
      s = freeAt[k];
      freeAt.splice(k, 1);
      chainAt.splice(k, 1);
    } else if (k > 0) {
      c = chainAt[k - 1];
      s = a;
      freeAt.splice(k - 1, 1);
      chainAt.splice(k - 1, 1);
    } else {
      c = chains.length;
      chains.push([]);
      s = a;
    }
    chains[c].push(i);
    startMs[i] = s;
    const f = s + svc[i];
    const at = lowerBound(freeAt, f);
    freeAt.splice(at, 0, f);
    chainAt.splice(at, 0, c);
  }
  return { startMs, chains };
}

interface Segment {
  tasks: number[];
  /** Start-up (or warm time from 0) plus idle gaps kept inside it, ms. */
  overheadMs: number;
}

/** Splits chains into worker lifetimes (a gap longer than the start-up ends one). */
function segmentsOf(w: Workload, s: Schedule, startupMs: number): Segment[] {
  const out: Segment[] = [];
  for (const chain of s.chains) {
    let seg: Segment | null = null;
    let prevEnd = 0;
    for (const i of chain) {
      const st = s.startMs[i];
      if (seg === null || st - prevEnd > startupMs) {
        if (seg) out.push(seg);
        seg = { tasks: [], overheadMs: Math.min(startupMs, st) };
      } else seg.overheadMs += st - prevEnd;
      seg.tasks.push(i);
      prevEnd = st + w.serviceMs[i];
    }
    if (seg) out.push(seg);
  }
  return out;
}

/**
 * Puts each late task where it adds the least idle time: into a stretch where a chain's
 * worker is gone (a gap longer than the start-up, which it can only shorten), else after a
 * chain's last task (no idle time when that chain is still busy at its arrival), else on a
 * new chain.
 */
function placeLate(w: Workload, s: Schedule, late: Uint8Array, startupMs: number): void {
  const arr = w.arrivalMs;
  const svc = w.serviceMs;
  // Long gaps of the packed chains, by start; each shrinks as late tasks fill it.
  const gapChain: number[] = [];
  const gapFrom: number[] = [];
  const gapTo: number[] = [];
  const chainEnd: number[] = [];
  for (let c = 0; c < s.chains.length; c++) {
    const chain = s.chains[c];
    let prevEnd = -1;
    for (const i of chain) {
      const st = s.startMs[i];
      if (prevEnd >= 0 && st - prevEnd > startupMs) {
        gapChain.push(c);
        gapFrom.push(prevEnd);
        gapTo.push(st);
      }
      prevEnd = st + svc[i];
    }
    chainEnd.push(prevEnd);
  }
  // By end: only a gap ending after arrival + service can take the task; a bounded look at
  // the first such gaps keeps this linear in the trace.
  const order = gapFrom.map((_, k) => k).sort((x, y) => gapTo[x] - gapTo[y]);
  const ends = order.map((k) => gapTo[k]);
  for (let j = 0; j < w.count; j++) {
    if (!late[j]) continue;
    const a = arr[j];
    const d = svc[j];
    let best = startupMs; // a new chain: one start-up
    let bestGap = -1;
    let bestChain = -1;
    let bestStart = a;
    let lo = 0;
    let hi = ends.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (ends[mid] < a + d) lo = mid + 1;
      else hi = mid;
    }
    for (let m = lo; m < order.length && m < lo + GAP_LOOK; m++) {
      const k = order[m];
      const from = gapFrom[k];
      const to = gapTo[k];
      const begin = Math.max(from, a);
      if (begin + d > to) continue;
      const delta = gapCost(begin - from, startupMs) + gapCost(to - begin - d, startupMs) - gapCost(to - from, startupMs);
      if (delta < best) {
        best = delta;
        bestGap = k;
        bestStart = begin;
        if (delta <= -startupMs + 1e-9) break;
      }
    }
    if (bestGap < 0) {
      for (let c = 0; c < chainEnd.length; c++) {
        const begin = Math.max(chainEnd[c], a);
        const delta = gapCost(begin - chainEnd[c], startupMs);
        if (delta < best || (delta === best && bestChain >= 0 && chainEnd[c] < chainEnd[bestChain])) {
          best = delta;
          bestChain = c;
          bestStart = begin;
        }
      }
    }
    s.startMs[j] = bestStart;
    if (bestGap >= 0) {
      const c = gapChain[bestGap];
      s.chains[c].push(j);
      // The rest of the gap after the task stays a candidate; a stretch before it is dropped.
      gapFrom[bestGap] = bestStart + d;
    } else if (bestChain >= 0) {
      s.chains[bestChain].push(j);
      chainEnd[bestChain] = bestStart + d;
    } else {
      s.chains.push([j]);
      chainEnd.push(bestStart + d);
    }
  }
  for (const chain of s.chains) chain.sort((x, y) => s.startMs[x] - s.startMs[y]);
}

function costOf(w: Workload, s: Schedule, startupMs: number): number {
  let total = 0;
  for (const seg of segmentsOf(w, s, startupMs)) total += seg.overheadMs;
  return total;
}

/** The offline schedule as a run: start times, the pool log and its worker-time. */
export function clairvoyant(w: Workload, opts: ClairvoyantOptions): SimRun {
  const n = w.count;
  const S = opts.startupMs;
  const attainment = opts.attainment ?? 0.95;
  const budget = Math.max(0, n - Math.ceil(attainment * n - 1e-9));
  let late = new Uint8Array(n);
  let lateCount = 0;
  let schedule = pack(w, late, opts.sloMs);
  placeLate(w, schedule, late, S);
  let bestCost = costOf(w, schedule, S);
  let best = { schedule, late };
  // Spend the late budget on the worker lifetimes with the most overhead per task.
  for (let round = 0; round < 8 && lateCount < budget; round++) {
    const segs = segmentsOf(w, best.schedule, S)
      .filter((g) => g.tasks.some((i) => !best.late[i]))
      .map((g) => ({ g, onTime: g.tasks.filter((i) => !best.late[i]).length }))
      .sort((x, y) => y.g.overheadMs / y.onTime - x.g.overheadMs / x.onTime);
    const nextLate = best.late.slice();
    let count = lateCount;
    // Spend about half of what is left per round, so the repacking can show what else pays.
    const roundBudget = round < 7 ? Math.max(1, Math.ceil((budget - lateCount) / 2)) : budget - lateCount;
    let spent = 0;
    for (const { g, onTime } of segs) {
      if (spent + onTime > roundBudget || g.overheadMs / onTime < 1e-9) continue;
      for (const i of g.tasks) nextLate[i] = 1;
      spent += onTime;
      count += onTime;
    }
    if (spent === 0) break;
    const s2 = pack(w, nextLate, opts.sloMs);
    placeLate(w, s2, nextLate, S);
    const c2 = costOf(w, s2, S);
    if (c2 >= bestCost) break;
    bestCost = c2;
    best = { schedule: s2, late: nextLate };
    late = nextLate;
    lateCount = count;
  }
  schedule = best.schedule;
  return toRun(w, schedule, S);
}

/** Turns chains into the pool log (workers and ready over time) and the run's figures. */
function toRun(w: Workload, s: Schedule, S: number): SimRun {
  const events: { t: number; dw: number; dr: number }[] = [];
  let starts = 0;
  let endMs = 0;
  for (let i = 0; i < w.count; i++) endMs = Math.max(endMs, s.startMs[i] + w.serviceMs[i]);
  for (const chain of s.chains) {
    let segStart = -1;
    let prevEnd = 0;
    const close = () => {
      const add = segStart - S;
      if (add < 0) events.push({ t: 0, dw: 1, dr: 1 });
      else {
        starts++;
        events.push({ t: add, dw: 1, dr: 0 });
        events.push({ t: segStart, dw: 0, dr: 1 });
      }
      events.push({ t: prevEnd, dw: -1, dr: -1 });
    };
    for (const i of chain) {
      const st = s.startMs[i];
      if (segStart < 0) segStart = st;
      else if (st - prevEnd > S) {
        close();
        segStart = st;
      }
      prevEnd = st + w.serviceMs[i];
    }
    if (segStart >= 0) close();
  }
  events.sort((x, y) => x.t - y.t);
  const pool = { tMs: [0], workers: [0], ready: [0] };
  let workers = 0;
  let ready = 0;
  let maxWorkers = 0;
  let workerMs = 0;
  let lastT = 0;
  let changes = 0;
  for (let k = 0; k < events.length; ) {
    const t = events[k].t;
    workerMs += workers * (Math.min(t, endMs) - lastT);
    lastT = Math.min(t, endMs);
    const before = workers;
    while (k < events.length && events[k].t === t) {
      workers += events[k].dw;
      ready += events[k].dr;
      k++;
    }
    if (workers !== before) changes++;
    maxWorkers = Math.max(maxWorkers, workers);
    const last = pool.tMs.length - 1;
    if (pool.tMs[last] === t) {
      pool.workers[last] = workers;
      pool.ready[last] = ready;
    } else {
      pool.tMs.push(t);
      pool.workers.push(workers);
      pool.ready.push(ready);
    }
  }
  return {
    policy: 'clairvoyant',
    startMs: s.startMs,
    endMs: w.count > 0 ? endMs : 0,
    workerMs,
    scaleActions: changes,
    starts,
    maxWorkers,
    pool,
    timeline: { tMs: [], ready: [], starting: [], queueDepth: [], p95WaitMs: [], target: [] },
    decisions: [],
  };
}
