// `adaptive`: Tidepool's own policy. It holds a p95 wait target at the least cost.
//
// Each evaluation it
//   1. learns the arrival rate (arrivals over a short and a longer window) and the
//      service time (mean and spread of recent run times, smoothed);
//   2. forecasts the load a worker started now meets (tasks in the system relaxing towards
//      rate x service over the reaction time) and sizes the pool for it with Erlang C
//      corrected for the service-time spread (Allen-Cunneen): the fewest workers for which
//      P(wait > target) stays under `tailProbability`;
//   3. adds workers to drain the present backlog within the target;
//   4. when a worker takes longer to start than the target allows (blind window
//      = interval + startup - target > 0), keeps the fewest spare workers with which the
//      bursts of the recent history would have left at most `burstLateShare` of its
//      arrivals late (a fluid FIFO model of each burst), and starts workers at once for a
//      surge that has lasted two intervals;
//   5. scales down only to the highest recommendation over a hold of one start-up (plus the
//      price of a start): a worker released in a shorter lull costs more to get back.
// Pure: no I/O, no timers, no Date; all history lives in the returned state.
import type { BaseConfig, Decision, Observation, PolicyDefinition } from './types.ts';
import { boundsKnobs, checkBounds, defaultsOf, validateKnobs, type KnobTable } from './knobs.ts';

export interface AdaptiveConfig extends BaseConfig {
  targetP95WaitMs: number;
  startupMs: number;
  intervalMs: number;
  tailProbability: number;
  rateWindowMs: number;
  longRateWindowMs: number;
  burstHistoryMs: number;
  burstQuantile: number;
  burstLateShare: number;
  scaleDownStabilizationMs: number;
  stabilizationServiceMultiple: number;
  serviceWindowMs: number;
  serviceSmoothing: number;
  feedbackSetpoint: number;
  feedbackGainUp: number;
  feedbackGainDown: number;
  startCostMs: number;
}

/** Each knob's unit, default and range, written once: the validator and the docs read it. */
export const ADAPTIVE_KNOBS: KnobTable<AdaptiveConfig> = {
  ...boundsKnobs({ minWorkers: 1, maxWorkers: 1000 }),
  targetP95WaitMs: { kind: 'number', unit: 'ms', default: 2000, min: 1, max: 86_400_000, doc: 'The p95 queue wait to hold (the simulator sets it from --slo-ms).' },
  startupMs: { kind: 'number', unit: 'ms', default: 1000, min: 0, max: 3_600_000, doc: 'How long a new worker takes to become ready (the simulator sets it from --startup-ms).' },
  intervalMs: { kind: 'number', unit: 'ms', default: 1000, min: 1, max: 3_600_000, doc: 'Time between evaluations (the simulator sets it from --interval-ms).' },
  tailProbability: { kind: 'number', unit: 'probability', default: 0.2, min: 0.001, max: 0.5, doc: 'Probability of a wait above the target that the queueing model allows.' },
  rateWindowMs: { kind: 'number', unit: 'ms', default: 180_000, min: 1000, max: 3_600_000, doc: 'Short window of the arrival rate.' },
  longRateWindowMs: { kind: 'number', unit: 'ms', default: 180_000, min: 1000, max: 3_600_000, doc: 'Longer window of the arrival rate; the larger of the two rates is used.' },
  burstHistoryMs: { kind: 'number', unit: 'ms', default: 3_600_000, min: 60_000, max: 86_400_000, doc: 'History over which bursts per blind window (and the arrivals they are weighed against) are remembered.' },
  burstQuantile: { kind: 'number', unit: 'quantile', default: 0.999, min: 0.5, max: 1, doc: 'Quantile of the Poisson noise at the learned rate that is not counted as a burst or a surge (the queueing model covers it).' },
  burstLateShare: { kind: 'number', unit: 'fraction', default: 0.02, min: 0, max: 0.5, doc: 'Share of arrivals the burst headroom may leave waiting past the target: the fewest spare workers with which the bursts of the burst history would have made at most this share of its arrivals late.' },
  scaleDownStabilizationMs: { kind: 'number', unit: 'ms', default: 5000, min: 0, max: 3_600_000, doc: 'Shortest scale-down stabilization window: the pool shrinks only to the highest sizing seen over it.' },
  stabilizationServiceMultiple: { kind: 'number', unit: 'mean service times', default: 0, min: 0, max: 100, doc: 'Scale-down hold in mean service times (capped at 10 minutes), when longer than one start-up plus startCostMs and scaleDownStabilizationMs.' },
  serviceWindowMs: { kind: 'number', unit: 'ms', default: 600_000, min: 10_000, max: 86_400_000, doc: 'Window of the mean service time, measured as busy worker-time per task started (Little), which long tasks cannot escape.' },
  serviceSmoothing: { kind: 'number', unit: 'weight', default: 0.2, min: 0.01, max: 1, doc: 'Weight of each new sample of the service-time spread in its moving average.' },
  feedbackSetpoint: { kind: 'number', unit: 'fraction', default: 1, min: 0.1, max: 1, doc: 'Observed window p95 wait the margin feedback steers to, as a fraction of targetP95WaitMs.' },
  feedbackGainUp: { kind: 'number', unit: 'per evaluation', default: 0.05, min: 0, max: 1, doc: 'How fast the safety margin grows while waits run above the setpoint.' },
  feedbackGainDown: { kind: 'number', unit: 'per evaluation', default: 0.01, min: 0, max: 1, doc: 'How fast the safety margin shrinks while waits run below the setpoint.' },
  startCostMs: { kind: 'number', unit: 'ms', default: 0, min: 0, max: 86_400_000, doc: 'The price of one worker start in worker-time (pricePerStart / pricePerWorkerHour x 3,600,000; the simulator sets it from its prices): an idle worker is kept through a lull at least this long beyond its start-up, since releasing it and starting another costs that much.' },
};

export const ADAPTIVE_DEFAULTS: AdaptiveConfig = defaultsOf(ADAPTIVE_KNOBS);

export interface AdaptiveState {
  lastNowMs: number | null;
  lastArrivalsTotal: number;
  /** Arrival history: evaluation instants and cumulative arrivals at each (oldest first). */
  historyAtMs: number[];
  historyArrivals: number[];
  /** Cumulative tasks started and busy worker-time (ms) at each of those instants. */
  historyStarts: number[];
  historyBusyMs: number[];
  busyMs: number;
  lastRunning: number;
  /** Smoothed mean service time and squared coefficient of variation (null until seen). */
  serviceMeanMs: number | null;
  serviceScv: number;
  /** Recent recommendations for scale-down stabilization. */
  recentAtMs: number[];
  recentTarget: number[];
  /** Arrivals per blind window beyond what the rate explains, one sample per evaluation, and the same values sorted. */
  burstAtMs: number[];
  burstCount: number[];
  burstSorted: number[];
  /** Cumulative arrivals at each burst sample (how many arrivals the burst history holds). */
  burstCum: number[];
  /** How long each burst sample's arrivals took (its excess over its busiest interval's), ms. */
  burstSpanMs: number[];
  /** Learned multiplier of the model's safety margin (feedback on the observed p95 wait). */
  marginScale: number;
}

/**
 * Fewest workers c for which P(wait > tMs) <= eps under an M/G/c approximation:
 * P(W > t) ~= C(c, a) * exp(-(c - a) * t / S * 2 / (ca2 + cs2)).
 */
export function workersForTail(a: number, serviceMs: number, scv: number, tMs: number, eps: number, cap: number): number {
  if (a <= 0) return 0;
  const shape = 2 / (1 + scv);
  let b = 1;
  let c = 0;
  // Erlang B recursion up to floor(a), then test each c above it.
  for (let k = 1; k <= Math.floor(a); k++) b = (a * b) / (k + a * b);
  c = Math.floor(a);
  while (c < cap) {
    c++;
    b = (a * b) / (c + a * b);
    const rho = a / c;
    const pWait = b / (1 - rho * (1 - b));
    const tail = pWait * Math.exp((-(c - a) * tMs * shape) / serviceMs);
    if (tail <= eps) return c;
  }
  return cap;
}

/** Standard normal quantile (Abramowitz-Stegun 26.2.23, error < 4.5e-4) for q in [0.5, 1). */
function normalQuantile(q: number): number {
  const p = Math.min(1 - 1e-9, Math.max(0.5, q));
  const t = Math.sqrt(-2 * Math.log(1 - p));
  return t - (2.515517 + 0.802853 * t + 0.010328 * t * t) / (1 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t * t * t);
}

function lowerBound(sorted: number[], v: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Arrivals since nowMs - windowMs, from the cumulative history (oldest first). */
function arrivalsSince(atMs: number[], cum: number[], nowMs: number, total: number, windowMs: number): { count: number; spanMs: number } {
  if (atMs.length === 0) return { count: 0, spanMs: 0 };
  const from = nowMs - windowMs;
  let i = lowerBound(atMs, from);
  if (i >= atMs.length) i = atMs.length - 1;
  return { count: total - cum[i], spanMs: nowMs - atMs[i] };
}

function decide(obs: Observation, knobs: AdaptiveConfig, state: AdaptiveState, nowMs: number): Decision<AdaptiveState> {
  // What the loop measured (the workers' start-up, its own interval) wins over the knobs'
  // guesses, so a live pool sizes with the same facts the simulator is given.
  const isStartupMeasured = obs.startupMs !== undefined && obs.startupMs > 0;
  const config: AdaptiveConfig = {
    ...knobs,
    ...(isStartupMeasured ? { startupMs: obs.startupMs! } : {}),
    ...(obs.intervalMs !== undefined && obs.intervalMs > 0 ? { intervalMs: obs.intervalMs } : {}),
  };
  const slo = config.targetP95WaitMs;
  const blindMs = config.intervalMs + config.startupMs - slo;
  // Cumulative arrivals at each evaluation, kept as long as the longest window needs.
  const keepMs = Math.max(config.longRateWindowMs, config.rateWindowMs, config.serviceWindowMs, blindMs) + config.intervalMs;
  const atMs = state.historyAtMs.slice();
  const cum = state.historyArrivals.slice();
  const starts = state.historyStarts.slice();
  const busyHist = state.historyBusyMs.slice();
  // A clock that stepped backwards leaves entries "from the future": forget them.
  while (atMs.length > 0 && atMs[atMs.length - 1] > nowMs) {
    atMs.pop();
    cum.pop();
    starts.pop();
    busyHist.pop();
  }
  let cut = 0;
  while (cut < atMs.length && atMs[cut] < nowMs - keepMs) cut++;
  if (cut > 0) {
    atMs.splice(0, cut);
    cum.splice(0, cut);
    starts.splice(0, cut);
    busyHist.splice(0, cut);
  }
  const running = obs.workers.busy + obs.workers.draining;
  const busyMs = state.busyMs + (state.lastNowMs === null ? 0 : Math.max(0, nowMs - state.lastNowMs) * state.lastRunning);
  const startsTotal = obs.completionsTotal + running;
  atMs.push(nowMs);
  cum.push(obs.arrivalsTotal);
  starts.push(startsTotal);
  busyHist.push(busyMs);
  const next: AdaptiveState = {
    ...state,
    lastNowMs: nowMs,
    lastArrivalsTotal: obs.arrivalsTotal,
    historyAtMs: atMs,
    historyArrivals: cum,
    historyStarts: starts,
    historyBusyMs: busyHist,
    busyMs,
    lastRunning: running,
  };

  // 1. Service time. The mean is busy worker-time per task started over the service
  // window (Little's law): unlike the mean of recent completions, a long task counts
  // while it runs. The spread comes from recent run times (mean vs median).
  if (obs.runMs.count > 0 && obs.runMs.mean > 0) {
    const w = config.serviceSmoothing;
    const scvNow = obs.runMs.p50 > 0 ? Math.min(4, Math.max(0.1, (obs.runMs.mean / obs.runMs.p50) ** 2 - 1)) : 1;
    next.serviceScv = state.serviceMeanMs === null ? scvNow : state.serviceScv + w * (scvNow - state.serviceScv);
    next.serviceMeanMs = obs.runMs.mean;
  }
  const i0 = Math.min(atMs.length - 1, lowerBound(atMs, nowMs - config.serviceWindowMs));
  const startedInWindow = startsTotal - starts[i0];
  const busyInWindow = busyMs - busyHist[i0];
  let serviceMs: number;
  if (startedInWindow >= 5 && busyInWindow > 0) serviceMs = busyInWindow / startedInWindow;
  else serviceMs = Math.max(next.serviceMeanMs ?? 0, slo, 1000);
  const scv = next.serviceScv;

  // 2. Arrival rate: the larger of a short and a longer window's.
  const short = arrivalsSince(atMs, cum, nowMs, obs.arrivalsTotal, config.rateWindowMs);
  const long = arrivalsSince(atMs, cum, nowMs, obs.arrivalsTotal, config.longRateWindowMs);
  const rateShort = short.spanMs > 0 ? short.count / short.spanMs : 0;
  const rateLong = long.spanMs > 0 ? long.count / long.spanMs : 0;
  const ratePerMs = Math.max(rateShort, rateLong);
  // The load a worker started now meets: tasks in the system relax towards rate x service
  // with the mean service time as time constant (M/G/inf, exponential approximation), over
  // the reaction time (interval + start-up). Short tasks: the steady load; long tasks: the
  // tasks running now, which the arrival rate says little about.
  const steady = ratePerMs * serviceMs;
  const inSystem = running + obs.queueDepth;
  const relax = Math.exp(-(config.intervalMs + config.startupMs) / serviceMs);
  const load = steady + (inSystem - steady) * relax;
  const modelWorkers = workersForTail(load, serviceMs, scv, slo, config.tailProbability, config.maxWorkers);
  // Feedback: the queueing model is only a model. Scale its safety margin (workers
  // above the load) by how the observed window p95 wait compares with the setpoint.
  let marginScale = state.marginScale;
  if (obs.waitMs.count >= 10) {
    const r = Math.min(2, obs.waitMs.p95 / slo) - config.feedbackSetpoint;
    marginScale *= Math.exp(r > 0 ? config.feedbackGainUp * r : config.feedbackGainDown * r);
    marginScale = Math.min(3, Math.max(0.05, marginScale));
  }
  next.marginScale = marginScale;
  const base = Math.ceil(load + marginScale * Math.max(0, modelWorkers - load) - 1e-9);

  // 3. Backlog: workers for the queued tasks that no running task frees up in time.
  // Running tasks that end within the oldest waiting task's remaining budget serve
  // part of the queue (it goes first); workers already starting serve more.
  const budgetMs = Math.max(0, slo - obs.oldestWaitMs);
  const freedSoon = running * Math.min(1, budgetMs / serviceMs);
  const backlog = obs.queueDepth > 0 ? Math.max(obs.workers.starting, Math.ceil(obs.queueDepth - freedSoon - 1e-9)) : 0;

  // 4. Burst headroom over the blind window: a quantile of the arrivals seen in
  // windows of that length over the burst history, beyond what the rate explains.
  let headroom = 0;
  let burst = 0;
  if (blindMs > 0) {
    const sAt = state.burstAtMs.slice();
    const sCount = state.burstCount.slice();
    const sorted = state.burstSorted.slice();
    const sCum = state.burstCum.slice();
    const sSpan = state.burstSpanMs.slice();
    while (sAt.length > 0 && sAt[sAt.length - 1] > nowMs) {
      sorted.splice(lowerBound(sorted, sCount[sCount.length - 1]), 1);
      sAt.pop();
      sCount.pop();
      sCum.pop();
      sSpan.pop();
    }
    const sampleMs = blindMs;
    if (atMs.length > 0 && nowMs - atMs[0] >= sampleMs) {
      // Poisson arrivals at the learned rate vary this much anyway, and the queueing
      // model covers that. A burst is what lies beyond: arrivals the rate does not explain.
      const seen = arrivalsSince(atMs, cum, nowMs, obs.arrivalsTotal, sampleMs).count;
      const expected = ratePerMs * sampleMs;
      const excess = Math.max(0, Math.round(seen - expected - normalQuantile(config.burstQuantile) * Math.sqrt(expected)));
      sAt.push(nowMs);
      sCount.push(excess);
      sCum.push(obs.arrivalsTotal);
      // A burst as fast as its busiest interval: 60 tasks in 3 s queue faster than 60 in 6 s.
      let peak = 0;
      for (let k = Math.max(1, lowerBound(atMs, nowMs - sampleMs) + 1); k < atMs.length; k++) {
        const dt = atMs[k] - atMs[k - 1];
        if (dt > 0) peak = Math.max(peak, (cum[k] - cum[k - 1] - ratePerMs * dt) / dt);
      }
      sSpan.push(peak > 0 ? Math.min(sampleMs, Math.max(config.intervalMs, excess / peak)) : sampleMs);
      sorted.splice(lowerBound(sorted, excess), 0, excess);
    }
    let drop = 0;
    while (drop < sAt.length && sAt[drop] < nowMs - config.burstHistoryMs) {
      sorted.splice(lowerBound(sorted, sCount[drop]), 1);
      drop++;
    }
    if (drop > 0) {
      sAt.splice(0, drop);
      sCount.splice(0, drop);
      sCum.splice(0, drop);
      sSpan.splice(0, drop);
    }
    next.burstCum = sCum;
    next.burstSpanMs = sSpan;
    next.burstAtMs = sAt;
    next.burstCount = sCount;
    next.burstSorted = sorted;
    if (sorted.length > 0) {
      const overlap = Math.max(1, sampleMs / config.intervalMs);
      const histArrivals = Math.max(1, obs.arrivalsTotal - (sCum[0] ?? obs.arrivalsTotal));
      const allowed = config.burstLateShare * histArrivals * overlap;
      let v = 0;
      let spares = 0;
      const top = sorted.length - 1;
      if (top >= 0 && sorted[top] > 0) {
        // Late tasks of a sample of x burst tasks arriving over d ms with s spare workers
        // (fluid, FIFO): the spares serve mu = s / service time tasks per ms; all are in time
        // when mu x (d + target) >= x, else the queue of the burst waits past the target from
        // x* = target x mu / (r - mu) on (r = x / d) and every later task of the window is
        // late, as it queues behind. A spare serves at least one task.
        const xs: number[] = [];
        const ds: number[] = [];
        for (let j = 0; j < sCount.length; j++) {
          if (sCount[j] > 0) {
            xs.push(sCount[j]);
            ds.push(sSpan[j]);
          }
        }
        const lateTotal = (sp: number) => {
          const mu = sp / serviceMs;
          let sum = 0;
          for (let j = 0; j < xs.length; j++) {
            const x = xs[j];
            const d = ds[j];
            if (mu * (d + slo) >= x) continue;
            const r = x / d;
            const onTime = Math.max(sp, mu >= r ? x : (r * slo * mu) / (r - mu));
            sum += Math.max(0, x - onTime);
          }
          return sum;
        };
        let lo = 0;
        let hi = Math.max(1, Math.ceil(sorted[top]));
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (lateTotal(mid) <= allowed) hi = mid;
          else lo = mid + 1;
        }
        spares = lo;
        v = sorted[top];
      }
      burst = Math.ceil(v);
      headroom = spares;
    }
  }

  // The sizing for the learned load is stabilized; the backlog term is not held, since
  // once the queue is drained those workers have nothing left to do. Without a blind
  // window a worker started now is ready within the target, so the queue itself is the
  // signal and provisioning for the variance of the load only costs: size to the running
  // tasks plus the backlog they cannot serve in time, and keep an idle worker only while
  // keeping it costs less than starting a fresh one (its start-up plus startCostMs).
  const isReactive = blindMs <= 0;
  // 4b. Surge: arrivals above the learned rate in each of the last two intervals are taken
  // to go on for surgeHorizonMs; workers for them are started now, since the queue shows
  // them only once they wait. A burst submitted at one instant is no surge (it is queued).
  let surge = 0;
  // A worker started now is ready at now + start-up: in time for a task arriving from
  // now + start-up - target on, so the surge is forecast over start-up - target.
  const surgeHorizonMs = config.startupMs - slo;
  if (!isReactive && surgeHorizonMs > 0 && atMs.length >= 3) {
    const n = atMs.length;
    const dLast = Math.max(1, nowMs - atMs[n - 2]);
    const dPrev = Math.max(1, atMs[n - 2] - atMs[n - 3]);
    // Beyond Poisson noise at the learned rate in each interval (as for bursts).
    const z = normalQuantile(config.burstQuantile);
    const excess = (k: number, d: number) => Math.max(0, k - ratePerMs * d - z * Math.sqrt(ratePerMs * d)) / d;
    const r = Math.min(excess(obs.arrivalsTotal - cum[n - 2], dLast), excess(cum[n - 2] - cum[n - 3], dPrev));
    surge = Math.ceil(Math.min(r * serviceMs, r * surgeHorizonMs) - 1e-9);
  }
  const sized = isReactive ? running + backlog : base + headroom + surge;

  // 5. Scale-down stabilization: the highest recommendation over the window.
  const rAt = state.recentAtMs.slice();
  const rT = state.recentTarget.slice();
  while (rAt.length > 0 && rAt[rAt.length - 1] > nowMs) {
    rAt.pop();
    rT.pop();
  }
  rAt.push(nowMs);
  rT.push(sized);
  let k = 0;
  // A released worker costs a cold start to get back: keeping an idle one through a lull
  // shorter than its start-up (plus the price of a start) is cheaper (rent or buy). Holding
  // longer, for a few service times, cost 0.3 to 0.4 in cost ratio on the Alibaba trace
  // with slow starts (tasks of minutes) and gained no attainment anywhere.
  const holdMs = isReactive
    ? config.startupMs + config.startCostMs
    : Math.min(600_000, Math.max(config.scaleDownStabilizationMs, config.stabilizationServiceMultiple * serviceMs, config.startupMs + config.startCostMs));
  while (k < rAt.length && rAt[k] <= nowMs - holdMs) k++;
  if (k > 0) {
    rAt.splice(0, k);
    rT.splice(0, k);
  }
  next.recentAtMs = rAt;
  next.recentTarget = rT;
  let stabilized = sized;
  for (const v of rT) if (v > stabilized) stabilized = v;
  const floor = running > 0 || obs.queueDepth > 0 ? 1 : 0;
  // The present queue needs workers beyond the running ones only when the sizing lacks them.
  const recommended = Math.max(sized, running + backlog, floor);

  const current = obs.currentTarget;
  const target = Math.max(stabilized, running + backlog, floor);
  const startup = `start-up ${Math.round(config.startupMs)} ms${isStartupMeasured ? ' (measured)' : ''}, every ${Math.round(config.intervalMs)} ms`;
  const facts = isReactive
    ? `${startup}; no blind window (a new worker is ready within the ${slo} ms target): running ${running} + backlog ${obs.queueDepth} -> +${backlog} (rate ${(ratePerMs * 1000).toFixed(2)}/s x service ${Math.round(serviceMs)} ms = load ${load.toFixed(1)})`
    : `${startup}; rate ${(ratePerMs * 1000).toFixed(2)}/s x service ${Math.round(serviceMs)} ms = load ${load.toFixed(1)} -> ${base} for p95 wait ${slo} ms; backlog ${obs.queueDepth} -> +${backlog}; burst ${burst} beyond the rate per ${blindMs} ms -> +${headroom}`;
  if (target > current) {
    return { action: 'scale_up', target, code: 'scale_up_model', reason: `${facts}: ${current} -> ${target}`, state: next };
  }
  if (target < current) {
    return { action: 'scale_down', target, code: 'scale_down_model', reason: `${facts}; highest over ${Math.round(holdMs)} ms is ${target}: ${current} -> ${target}`, state: next };
  }
  if (recommended < current) {
    return { action: 'none', target, code: 'stabilizing', reason: `${facts}; holding ${current}, the highest recommendation over ${Math.round(holdMs)} ms`, state: next };
  }
  return { action: 'none', target, code: 'steady', reason: `${facts}: holding ${current}`, state: next };
}

export const adaptive: PolicyDefinition<AdaptiveConfig, AdaptiveState> = {
  name: 'adaptive',
  summary: 'holds a p95 wait target at least cost: learned rate and service time, Erlang C sizing, backlog drain, burst headroom over the start-up blind window, stabilized scale-down',
  source: 'Tidepool (queueing theory: Erlang C with the Allen-Cunneen correction)',
  defaults: ADAPTIVE_DEFAULTS,
  defaultPreset: 'balanced',
  presets: {
    'low-latency': { tailProbability: 0.02, feedbackSetpoint: 0.5, stabilizationServiceMultiple: 3 },
    balanced: {},
    'cost-optimized': { tailProbability: 0.1, feedbackSetpoint: 0.9 },
  },
  knobs: ADAPTIVE_KNOBS,
  validate: (config) => validateKnobs(ADAPTIVE_KNOBS, config, 'adaptive'),
  crossCheck: (c, path) => checkBounds(c, path),
  initialState: () => ({
    lastNowMs: null,
    lastArrivalsTotal: 0,
    historyAtMs: [],
    historyArrivals: [],
    historyStarts: [],
    historyBusyMs: [],
    busyMs: 0,
    lastRunning: 0,
    serviceMeanMs: null,
    serviceScv: 1,
    recentAtMs: [],
    recentTarget: [],
    burstAtMs: [],
    burstCount: [],
    burstSorted: [],
    burstCum: [],
    burstSpanMs: [],
    marginScale: 1,
  }),
  decide,
};
