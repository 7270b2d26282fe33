// The documented range of every number and name a task submit carries, in one table.
// The HTTP schemas (src/server/schemas.ts) and the store's own edge (src/store/shared/
// submit.ts) both check against these constants, and docs/http-api.md lists them, so a
// value the API accepts is always one the store can keep and read back.

/** Most workers one pool may have: the range of the config's pools[i].minWorkers/maxWorkers (config.ts reads it). Runtime changes (PATCH, scale) are capped here too. */
export const MAX_POOL_WORKERS = 100_000;

/** Largest delay a timer can arm (setTimeout clamps anything larger to 1 ms): 2^31 - 1. */
export const MAX_TIMER_MS = 2_147_483_647;

/** 365-day year in ms, for the far bounds below. */
const YEAR_MS = 365 * 86_400_000;

export const TASK_LIMITS = {
  /** priority: an integer in [-MAX_PRIORITY, MAX_PRIORITY] (2^53 - 1, what a double holds exactly). */
  maxPriority: Number.MAX_SAFE_INTEGER,
  /** delayMs: 0 .. 10 years. */
  maxDelayMs: 10 * YEAR_MS,
  /** runAt / runAtMs: epoch ms from 0 (1970) up to 2100-01-01T00:00:00Z. */
  maxRunAtMs: Date.UTC(2100, 0, 1),
  /** maxAttempts: 1 .. 1000 (the config's retry.maxAttempts range). */
  maxAttempts: 1000,
  /** timeoutMs: 1 .. 2^31 - 1 ms (about 24.8 days), the longest a timer can wait. */
  maxTimeoutMs: MAX_TIMER_MS,
  /** Longest task type or tenant name, in characters. */
  maxNameChars: 200,
  /** Longest idempotency key, in characters. */
  maxIdempotencyKeyChars: 500,
  /** Longest callbackUrl, in characters. */
  maxCallbackUrlChars: 2048,
  /**
   * Deepest nesting of a payload (and of a handler's result): 64 levels of arrays/objects.
   * `{"a":[1]}` nests 2 levels; a scalar nests 0.
   */
  maxPayloadDepth: 64,
} as const;

/**
 * How deep a JSON value nests (0 for a scalar), counting at most up to `limit + 1` so a
 * hostile value costs no more than the limit. Iterative: a deep value cannot overflow
 * the stack here.
 */
export function jsonDepth(value: unknown, limit: number = TASK_LIMITS.maxPayloadDepth): number {
  let deepest = 0;
  const stack: Array<{ v: unknown; d: number }> = [{ v: value, d: 0 }];
  while (stack.length > 0) {
    const { v, d } = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    const depth = d + 1;
    if (depth > deepest) deepest = depth;
    if (deepest > limit) return deepest;
    for (const child of Array.isArray(v) ? v : Object.values(v)) if (child !== null && typeof child === 'object') stack.push({ v: child, d: depth });
  }
  return deepest;
}

/**
 * Names of the Object.prototype members (`__proto__`, `constructor`, `toString`, ...).
 * Outside names (types, tenants, pools, keys) may be any of them: every map keyed by one
 * is a Map or a null-prototype object, and tests submit each of these.
 */
export const OBJECT_PROTOTYPE_NAMES: readonly string[] = [...Object.getOwnPropertyNames(Object.prototype)];

/** A null-prototype record: `rec['__proto__'] = x` stores an own key, never the prototype. */
export function nullRecord<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

/** False when the string holds a lone UTF-16 surrogate (no UTF-8 form: stored, it would become U+FFFD). */
export function isWellFormedText(s: string): boolean {
  return (s as unknown as { isWellFormed(): boolean }).isWellFormed();
}
