// Properties every registered policy keeps, checked on seeded random walks of observations
// (with clock jumps forward and backward): targets are whole and within the policy's
// bounds, the action agrees with the target, reasons have a code and a sentence, inputs are
// never mutated (everything handed in is deep-frozen), the same inputs give the same
// decision, and state survives a JSON round trip (so a live autoscaler can keep it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clampDecision, listPolicies, makeObservation, resolvePolicy, type Observation } from '../../src/policies/index.ts';

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function deepFreeze<T>(x: T): T {
  if (x && typeof x === 'object' && !Object.isFrozen(x)) {
    Object.freeze(x);
    for (const v of Object.values(x as object)) deepFreeze(v);
  }
  return x;
}

function randomObservation(rnd: () => number, current: number, arrivals: number): Observation {
  const starting = Math.floor(rnd() * Math.min(current, 5) * (rnd() < 0.3 ? 1 : 0));
  const ready = Math.max(0, current - starting);
  const busy = Math.floor(rnd() * (ready + 1));
  const draining = rnd() < 0.2 ? Math.floor(rnd() * 3) : 0;
  const burst = rnd() < 0.1 ? 500 : 40;
  return makeObservation({
    currentTarget: current,
    queueDepth: rnd() < 0.3 ? 0 : Math.floor(rnd() * burst),
    workers: { starting, idle: ready - busy, busy, draining },
    waitMs: { p50: rnd() * 500, p95: rnd() * 6000, p99: rnd() * 9000, count: Math.floor(rnd() * 100) },
    runMs: { p50: 500, p95: 2000, p99: 3000, mean: 800 + rnd() * 400, count: Math.floor(rnd() * 100) },
    arrivalsTotal: arrivals,
    completionsTotal: Math.floor(arrivals * 0.9),
    maxIdleMs: ready - busy > 0 ? rnd() * 600_000 : 0,
    oldestWaitMs: rnd() * 5000,
  });
}

const names = listPolicies()
  .map((p) => p.name)
  .map((n) => (n === 'fixed:N' ? 'fixed:7' : n));

for (const name of names) {
  test(`invariants: ${name} keeps its bounds, explains itself, mutates nothing and is deterministic`, () => {
    const { definition, config } = resolvePolicy({ name });
    const rnd = mulberry32(0xc0ffee ^ name.length);
    let state = deepFreeze(definition.initialState(config));
    let current = config.minWorkers;
    let nowMs = 1_000_000;
    let arrivals = 0;
    for (let i = 0; i < 1500; i++) {
      const r = rnd();
      // Mostly 1-30 s steps; sometimes a long gap; sometimes the clock steps back.
      nowMs += r < 0.03 ? -Math.floor(rnd() * 600_000) : r < 0.06 ? Math.floor(rnd() * 3_600_000) : 1000 + Math.floor(rnd() * 29_000);
      arrivals += Math.floor(rnd() * 50);
      const obs = deepFreeze(randomObservation(rnd, current, arrivals));
      const raw = definition.decide(obs, config, state, nowMs);
      const again = definition.decide(obs, config, state, nowMs);
      assert.deepEqual(again, raw, `step ${i}: same inputs, same decision`);
      // Callers (autoscaler, simulator) apply the shared clamp with the policy's bounds.
      const d = clampDecision(raw, current, config);
      // The seed and reference policies clamp themselves, so their state knows what really
      // happened (no cooldown starts at a bound); adaptive (src/policies/adaptive.ts) leaves it to the caller.
      if (name !== 'adaptive') assert.equal(raw.target, d.target, `step ${i}: ${name} returned an unclamped target`);
      assert.ok(Number.isInteger(d.target), `step ${i}: whole target, got ${d.target}`);
      assert.ok(d.target >= config.minWorkers && d.target <= config.maxWorkers, `step ${i}: ${d.target} within ${config.minWorkers}..${config.maxWorkers} (${d.code}: ${d.reason})`);
      const expected = d.target > current ? 'scale_up' : d.target < current ? 'scale_down' : 'none';
      assert.equal(d.action, expected, `step ${i}: action agrees with ${current} -> ${d.target}`);
      assert.match(d.code, /^[a-z][a-z0-9_]*$/, `step ${i}: a stable snake_case code`);
      assert.ok(typeof d.reason === 'string' && d.reason.length > 10, `step ${i}: a sentence, got ${JSON.stringify(d.reason)}`);
      assert.ok(!/NaN|undefined|\[object/.test(d.reason), `step ${i}: no broken numbers in ${JSON.stringify(d.reason)}`);
      assert.deepEqual(JSON.parse(JSON.stringify(d.state)), d.state, `step ${i}: state survives JSON`);
      state = deepFreeze(d.state);
      current = d.target;
    }
  });
}
