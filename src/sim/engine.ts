// The discrete-event simulator: replays a workload against a policy in virtual time.
//
// Worker states and transitions (the same names as the live pool):
//   starting -> idle (after startupMs), removed (scale-down)
//   idle     -> busy (takes a task), removed (scale-down)
//   busy     -> idle (task ends), draining (scale-down)
//   draining -> removed (its task ends), busy (a scale-up keeps it instead of adding one)
// Which worker a scale-down takes, which draining one a scale-up keeps and how the
// observation is derived are the live pool's own rules, imported from one place
// (core/scaling-choice.ts, policies/observation.ts buildObservation).
// At one instant: completions, then workers becoming ready, then arrivals, then
// dispatch, then the autoscaler (every intervalMs from 0). The autoscaler sees only
// what a live one could see at that instant (see observe()).
import { chooseKeepOn, chooseScaleDown, InvalidInputError, type WorkerFacts } from '../core/index.ts';
import { buildObservation, type Observation } from '../policies/index.ts';
import { IdHeap } from './heap.ts';
import type { Workload } from './trace.ts';

/** A policy as the simulator drives it: wired through the registry and the shared clamp. */
export interface SimPolicy {
  name: string;
  /** Workers ready at time 0 (the policy's minimum; N for fixed:N). */
  initialWorkers: number;
  /** Returns the clamped target total of workers. */
  decide(obs: Observation, nowMs: number): { target: number; code: string; reason: string };
}

export interface SimOptions {
  startupMs: number;
  intervalMs: number;
  /** Window of the wait and run percentiles in observations; default 60,000 ms. */
  windowMs?: number;
  /** Evaluations in a row at 0 workers with tasks queued before the run is declared stuck; default 10. */
  stuckEvaluations?: number;
}

/** Pool size over time: one entry at 0 and one at every instant where it changed. */
export interface PoolLog {
  tMs: number[];
  workers: number[];
  ready: number[];
}

/** One sample per autoscaler evaluation, for plots. */
export interface Timeline {
  tMs: number[];
  ready: number[];
  starting: number[];
  queueDepth: number[];
  /** p95 wait of tasks started in the observation window. */
  p95WaitMs: number[];
  target: number[];
}

export interface SimRun {
  policy: string;
  startMs: Float64Array;
  /** The instant the last task ended (0 for an empty workload). */
  endMs: number;
  /** Integral of workers (starting included) over [0, endMs], in ms. */
  workerMs: number;
  scaleActions: number;
  /** Workers started after time 0 (each one a cold start; the initial workers are not). */
  starts: number;
  maxWorkers: number;
  pool: PoolLog;
  timeline: Timeline;
  /** Decisions whose target differed from the pool's, with their reasons. */
  decisions: { tMs: number; from: number; to: number; code: string; reason: string }[];
}

interface SlotFacts extends WorkerFacts {
  slot: number;
}

export class SimulationStuckError extends InvalidInputError {}

const FREE = 0;
const STARTING = 1;
const IDLE = 2;
const BUSY = 3;
const DRAINING = 4;

/** Rearranges a[lo..hi] so that a[k] holds the value a full sort would put there (Hoare's selection). */
function select(a: Float64Array, lo: number, hi: number, k: number): number {
  while (hi > lo) {
    const pivot = a[(lo + hi) >> 1];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const x = a[i];
        a[i] = a[j];
        a[j] = x;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else break;
  }
  return a[k];
}

/** Nearest-rank index of percentile p among n values. */
function rankIndex(n: number, p: number): number {
  return Math.min(n - 1, Math.max(0, Math.ceil(p * n - 1e-9) - 1));
}

/** p50, p95 and p99 (nearest rank) of the first n values of a, which it reorders. */
function percentiles(a: Float64Array, n: number): { p50: number; p95: number; p99: number } {
  if (n === 0) return { p50: 0, p95: 0, p99: 0 };
  const k99 = rankIndex(n, 0.99);
  const k95 = rankIndex(n, 0.95);
  const k50 = rankIndex(n, 0.5);
  const p99 = select(a, 0, n - 1, k99);
  const p95 = select(a, 0, k99, k95);
  const p50 = select(a, 0, k95, k50);
  return { p50, p95, p99 };
}

export function simulate(w: Workload, policy: SimPolicy, options: SimOptions): SimRun {
  const n = w.count;
  const arr = w.arrivalMs;
  const svc = w.serviceMs;
  const startupMs = options.startupMs;
  const intervalMs = options.intervalMs;
  const windowMs = options.windowMs ?? 60_000;
  const stuckLimit = options.stuckEvaluations ?? 10;
  if (!(intervalMs > 0)) throw new InvalidInputError(`--interval-ms: got ${intervalMs}; expected a number > 0`);

  let t = 0;
  // Workers, by slot.
  let cap = 64;
  let state = new Uint8Array(cap);
  let idleSinceMs = new Float64Array(cap);
  let taskStartMs = new Float64Array(cap);
  let endKey = new Float64Array(cap);
  const freeSlots: number[] = [];
  let slotsUsed = 0;
  const completions = new IdHeap(endKey);
  let taskOfSlot = new Int32Array(cap);
  let seqOf = new Float64Array(cap);
  let addedAtMs = new Float64Array(cap);
  let nextSeq = 0;
  const idleStack: number[] = [];
  const startingSlots: number[] = []; // FIFO by add time; readyAt = addedAt + startupMs
  const startingReadyMs: number[] = [];
  let startingHead = 0;
  let nStarting = 0;
  let nBusy = 0;
  let nDraining = 0;

  function allocSlot(): number {
    const s = newSlot();
    seqOf[s] = nextSeq++;
    addedAtMs[s] = t;
    return s;
  }

  function newSlot(): number {
    if (freeSlots.length > 0) return freeSlots.pop()!;
    if (slotsUsed === cap) {
      cap *= 2;
      const s2 = new Uint8Array(cap);
      s2.set(state);
      state = s2;
      const i2 = new Float64Array(cap);
      i2.set(idleSinceMs);
      idleSinceMs = i2;
      const t2 = new Float64Array(cap);
      t2.set(taskStartMs);
      taskStartMs = t2;
      const e2 = new Float64Array(cap);
      e2.set(endKey);
      endKey = e2;
      completions.setKeys(endKey);
      const k2 = new Int32Array(cap);
      k2.set(taskOfSlot);
      taskOfSlot = k2;
      const q2 = new Float64Array(cap);
      q2.set(seqOf);
      seqOf = q2;
      const a2 = new Float64Array(cap);
      a2.set(addedAtMs);
      addedAtMs = a2;
    }
    return slotsUsed++;
  }

  // Tasks.
  const startMs = new Float64Array(n).fill(-1);
  const byPriority = w.priority !== null;
  let prioKeys: Float64Array | null = null;
  let prioHeap: IdHeap | null = null;
  if (byPriority) {
    prioKeys = new Float64Array(n);
    for (let i = 0; i < n; i++) prioKeys[i] = -w.priority![i];
    prioHeap = new IdHeap(prioKeys, 1024);
  }
  let fifoHead = 0; // FIFO mode: tasks [fifoHead, arrived) are queued
  let arrived = 0;
  let queued = 0;
  let oldestPtr = 0; // smallest row not yet started (priority mode)
  let completed = 0;

  // Observation windows: starts (wait) and completions (run), appended in time order.
  const waitAt = new Float64Array(n);
  const waitVal = new Float64Array(n);
  let waitLen = 0;
  let waitFrom = 0;
  const runAt = new Float64Array(n);
  const runVal = new Float64Array(n);
  let runLen = 0;
  let runFrom = 0;
  const scratch = new Float64Array(n);

  const pool: PoolLog = { tMs: [], workers: [], ready: [] };
  const timeline: Timeline = { tMs: [], ready: [], starting: [], queueDepth: [], p95WaitMs: [], target: [] };
  const decisions: SimRun['decisions'] = [];

  // Start with the policy's minimum, all ready.
  for (let i = 0; i < policy.initialWorkers; i++) {
    const s = allocSlot();
    state[s] = IDLE;
    idleSinceMs[s] = 0;
    idleStack.push(s);
  }
  let currentTarget = policy.initialWorkers;
  const totalWorkers = () => nStarting + idleStack.length + nBusy + nDraining;
  let lastW = totalWorkers();
  let lastR = idleStack.length;
  let maxWorkers = lastW;
  pool.tMs.push(0);
  pool.workers.push(lastW);
  pool.ready.push(lastR);

  let workerMs = 0;
  let lastT = 0;
  let nextTickMs = 0;
  let scaleActions = 0;
  let starts = 0;
  let stuck = 0;
  let noReady = 0;

  function dispatch(): void {
    while (queued > 0 && idleStack.length > 0) {
      let task: number;
      if (prioHeap) task = prioHeap.pop();
      else task = fifoHead++;
      queued--;
      const s = idleStack.pop()!;
      state[s] = BUSY;
      nBusy++;
      taskStartMs[s] = t;
      taskOfSlot[s] = task;
      startMs[task] = t;
      endKey[s] = t + svc[task];
      completions.push(s);
      waitAt[waitLen] = t;
      waitVal[waitLen++] = t - arr[task];
    }
  }

  function addStarting(): void {
    starts++;
    const s = allocSlot();
    if (startupMs <= 0) {
      state[s] = IDLE;
      idleSinceMs[s] = t;
      idleStack.push(s);
      return;
    }
    state[s] = STARTING;
    startingSlots.push(s);
    startingReadyMs.push(t + startupMs);
    nStarting++;
  }

  /** A slot as the shared scaling choices (core/scaling-choice.ts) see it. */
  function factsOf(s: number): SlotFacts {
    const st = state[s];
    return {
      slot: s,
      seq: seqOf[s],
      status: st === STARTING ? 'starting' : st === IDLE ? 'idle' : st === BUSY ? 'busy' : 'draining',
      addedAtMs: addedAtMs[s],
      idleSinceMs: st === IDLE ? idleSinceMs[s] : null,
      taskStartedAtMs: st === BUSY || st === DRAINING ? taskStartMs[s] : null,
    };
  }

  function apply(target: number): void {
    const effective = totalWorkers() - nDraining;
    if (target > effective) {
      let k = target - effective;
      if (nDraining > 0) {
        const draining: SlotFacts[] = [];
        for (let s = 0; s < slotsUsed; s++) if (state[s] === DRAINING) draining.push(factsOf(s));
        for (const f of chooseKeepOn(draining, k)) {
          state[f.slot] = BUSY;
          nDraining--;
          nBusy++;
          k--;
        }
      }
      while (k-- > 0) addStarting();
    } else if (target < effective) {
      const k = effective - target;
      // Only the ranks the choice can reach are gathered (starting, then idle, then busy).
      const live: SlotFacts[] = [];
      const reach = k <= nStarting ? STARTING : k <= nStarting + idleStack.length ? IDLE : BUSY;
      for (let s = 0; s < slotsUsed; s++) {
        const st = state[s];
        if (st !== FREE && st !== DRAINING && st <= reach) live.push(factsOf(s));
      }
      const choice = chooseScaleDown(live, k);
      let removedIdle = false;
      for (const f of choice.remove) {
        const s = f.slot;
        if (state[s] === STARTING) {
          // Starting workers leave the FIFO from its tail: the newest were added last.
          const at = startingSlots.lastIndexOf(s);
          startingSlots.splice(at, 1);
          startingReadyMs.splice(at, 1);
          nStarting--;
        } else removedIdle = true;
        state[s] = FREE;
        freeSlots.push(s);
      }
      if (removedIdle) {
        let j = 0;
        for (let i = 0; i < idleStack.length; i++) if (state[idleStack[i]] === IDLE) idleStack[j++] = idleStack[i];
        idleStack.length = j;
      }
      for (const f of choice.drain) {
        state[f.slot] = DRAINING;
        nBusy--;
        nDraining++;
      }
    }
    if (target !== effective) scaleActions++;
  }

  function observe(): Observation {
    // A sample is in the window while its instant is within windowMs of now (as in the live pool's window).
    while (waitFrom < waitLen && waitAt[waitFrom] < t - windowMs) waitFrom++;
    while (runFrom < runLen && runAt[runFrom] < t - windowMs) runFrom++;
    const wn = waitLen - waitFrom;
    scratch.set(waitVal.subarray(waitFrom, waitLen));
    const waitMs = { ...percentiles(scratch, wn), count: wn };
    const rn = runLen - runFrom;
    let sum = 0;
    for (let i = runFrom; i < runLen; i++) sum += runVal[i];
    scratch.set(runVal.subarray(runFrom, runLen));
    const runMs = { ...percentiles(scratch, rn), mean: rn ? sum / rn : 0, count: rn };
    const idle = idleStack.length;
    let oldestWaitMs = 0;
    if (queued > 0) {
      if (prioHeap) {
        while (startMs[oldestPtr] >= 0) oldestPtr++;
        oldestWaitMs = t - arr[oldestPtr];
      } else oldestWaitMs = t - arr[fifoHead];
    }
    // Longest idle: the bottom of the idle stack (pushed in time order, popped from the top:
    // the dispatch order of core/scaling-choice.ts).
    const maxIdleMs = idle > 0 ? t - idleSinceMs[idleStack[0]] : 0;
    return buildObservation({
      queueDepth: queued,
      workers: { starting: nStarting, idle, busy: nBusy, draining: nDraining },
      currentTarget,
      waitMs,
      runMs,
      windowMs,
      arrivalsTotal: arrived,
      completionsTotal: completed,
      failuresTotal: 0,
      maxIdleMs,
      oldestWaitMs,
    });
  }

  while (completed < n) {
    const tc = completions.peekKey();
    const tr = startingHead < startingSlots.length ? startingReadyMs[startingHead] : Infinity;
    const ta = arrived < n ? arr[arrived] : Infinity;
    t = Math.min(tc, tr, ta, nextTickMs);
    workerMs += (t - lastT) * lastW;
    lastT = t;

    // 1. completions
    while (completions.length > 0 && completions.peekKey() <= t) {
      const s = completions.pop();
      const task = taskOfSlot[s];
      runAt[runLen] = t;
      runVal[runLen++] = svc[task];
      completed++;
      if (state[s] === DRAINING) {
        state[s] = FREE;
        freeSlots.push(s);
        nDraining--;
      } else {
        state[s] = IDLE;
        nBusy--;
        idleSinceMs[s] = t;
        idleStack.push(s);
      }
    }
    if (completed === n) break;
    // 2. workers becoming ready (starting ones removed by a scale-down leave the FIFO from its tail)
    while (startingHead < startingSlots.length && startingReadyMs[startingHead] <= t) {
      const s = startingSlots[startingHead++];
      state[s] = IDLE;
      idleSinceMs[s] = t;
      idleStack.push(s);
      nStarting--;
    }
    if (startingHead > 1024 && startingHead * 2 > startingSlots.length) {
      startingSlots.splice(0, startingHead);
      startingReadyMs.splice(0, startingHead);
      startingHead = 0;
    }
    // 3. arrivals
    while (arrived < n && arr[arrived] <= t) {
      if (prioHeap) prioHeap.push(arrived);
      arrived++;
      queued++;
    }
    // 4. dispatch
    dispatch();
    // 5. autoscaler
    if (t >= nextTickMs) {
      const obs = observe();
      const d = policy.decide(obs, t);
      const before = totalWorkers() - nDraining;
      if (d.target !== before) decisions.push({ tMs: t, from: before, to: d.target, code: d.code, reason: d.reason });
      apply(d.target);
      currentTarget = d.target;
      dispatch();
      const total = totalWorkers();
      stuck = total === 0 && queued > 0 ? stuck + 1 : 0;
      noReady = queued > 0 && total - nStarting === 0 ? noReady + 1 : 0;
      if (stuck >= stuckLimit) {
        throw new SimulationStuckError(
          `policy ${JSON.stringify(policy.name)} kept 0 workers with ${queued} tasks queued for ${stuck} evaluations in a row (t=${t} ms); a policy must keep a worker while tasks wait`,
        );
      }
      if (noReady >= 100_000) {
        throw new SimulationStuckError(
          `policy ${JSON.stringify(policy.name)} had no ready worker with ${queued} tasks queued for ${noReady} evaluations in a row (t=${t} ms)`,
        );
      }
      timeline.tMs.push(t);
      timeline.ready.push(total - nStarting);
      timeline.starting.push(nStarting);
      timeline.queueDepth.push(queued);
      timeline.p95WaitMs.push(obs.waitMs.p95);
      timeline.target.push(d.target);
      nextTickMs += intervalMs;
    }
    const w2 = totalWorkers();
    const r2 = w2 - nStarting;
    if (w2 !== lastW || r2 !== lastR) {
      pool.tMs.push(t);
      pool.workers.push(w2);
      pool.ready.push(r2);
      lastW = w2;
      lastR = r2;
      if (w2 > maxWorkers) maxWorkers = w2;
    }
  }
  // The final instant's changes (drained workers leaving) end the run; record them too.
  const wEnd = totalWorkers();
  const rEnd = wEnd - nStarting;
  if (n > 0 && (wEnd !== lastW || rEnd !== lastR)) {
    pool.tMs.push(t);
    pool.workers.push(wEnd);
    pool.ready.push(rEnd);
  }
  return {
    policy: policy.name,
    startMs,
    endMs: n > 0 ? t : 0,
    workerMs,
    scaleActions,
    starts,
    maxWorkers,
    pool,
    timeline,
    decisions,
  };
}
