// Store options: each option's unit, default and allowed range, written once, and the
// validator that turns StoreOptions into the resolved form every adapter uses.
import { ConfigInvalidError, nullRecord, systemClock } from '../../core/index.ts';
import type { Clock } from '../../core/index.ts';
import type { RetryOptions, StoreOptions } from '../types.ts';

/** Attempts a task gets unless it sets maxAttempts (>= 1). */
export const DEFAULT_MAX_ATTEMPTS = 3;
/** First retry backoff in ms (>= 0); attempt n waits up to baseMs * 2^(n-1). */
export const DEFAULT_RETRY_BASE_MS = 1_000;
/** Longest retry backoff in ms (>= baseMs). */
export const DEFAULT_RETRY_MAX_MS = 300_000;
/** Full jitter fraction in [0, 1]: 1 draws the backoff uniformly in [0, cap]. */
export const DEFAULT_RETRY_JITTER = 1;
/** Per-attempt time limit for tasks that do not set timeoutMs, in ms (> 0). */
export const DEFAULT_TASK_TIMEOUT_MS = 300_000;
/** Pending tasks (queued + retrying) at which submits are refused; 0 = no limit. */
export const DEFAULT_MAX_QUEUE_DEPTH = 0;
/** Running tasks per tenant, at most; 0 = no limit. */
export const DEFAULT_TENANT_CONCURRENCY = 0;
/** Tenant of tasks submitted without one. */
export const DEFAULT_TENANT = 'default';
/** Largest page `list` returns. */
export const MAX_LIST_LIMIT = 1_000;
export const DEFAULT_LIST_LIMIT = 100;
/** Largest number of tasks one claim may take. */
export const MAX_CLAIM_LIMIT = 1_000;

export interface ResolvedStoreOptions {
  clock: Clock;
  retry: RetryOptions;
  maxQueueDepth: number;
  tenantConcurrency: number;
  tenantLimits: Record<string, number>;
  defaultTimeoutMs: number;
  /** Timeouts by task type (a Map: type names come from outside). */
  timeoutMsByType: ReadonlyMap<string, number>;
  random: () => number;
}

function isInt(v: unknown, min: number): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= min;
}

/** Validates store options, collecting every problem; throws ConfigInvalidError listing them all. */
export function resolveStoreOptions(options: StoreOptions = {}): ResolvedStoreOptions {
  const problems: string[] = [];
  const got = (v: unknown) => (typeof v === 'string' ? JSON.stringify(v) : String(v));
  const checkInt = (path: string, v: unknown, min: number, fallback: number): number => {
    if (v === undefined) return fallback;
    if (!isInt(v, min)) {
      problems.push(`store option ${path}: got ${got(v)}; expected an integer >= ${min}`);
      return fallback;
    }
    return v;
  };
  const known = new Set(['clock', 'retry', 'maxQueueDepth', 'tenantConcurrency', 'tenantLimits', 'defaultTimeoutMs', 'timeoutMsByType', 'random']);
  for (const key of Object.keys(options)) {
    if (known.has(key)) continue;
    if (key === 'durability' || key === 'busyTimeoutMs') {
      problems.push(`store option ${key}: an SQLite option, given in the store URL now (sqlite:PATH?${key}=…)`);
    } else problems.push(`store option ${key}: unknown; known options: ${[...known].join(', ')}`);
  }
  const r = options.retry ?? {};
  const maxAttempts = checkInt('retry.maxAttempts', r.maxAttempts, 1, DEFAULT_MAX_ATTEMPTS);
  const baseMs = checkInt('retry.baseMs', r.baseMs, 0, DEFAULT_RETRY_BASE_MS);
  let maxMs = checkInt('retry.maxMs', r.maxMs, 0, Math.max(DEFAULT_RETRY_MAX_MS, baseMs));
  if (maxMs < baseMs) {
    problems.push(`store option retry.maxMs: got ${maxMs}; expected an integer >= retry.baseMs (${baseMs})`);
    maxMs = baseMs;
  }
  let jitter = DEFAULT_RETRY_JITTER;
  if (r.jitter !== undefined) {
    if (typeof r.jitter !== 'number' || !(r.jitter >= 0 && r.jitter <= 1)) {
      problems.push(`store option retry.jitter: got ${got(r.jitter)}; expected a number in [0, 1]`);
    } else jitter = r.jitter;
  }
  const maxQueueDepth = checkInt('maxQueueDepth', options.maxQueueDepth, 0, DEFAULT_MAX_QUEUE_DEPTH);
  const tenantConcurrency = checkInt('tenantConcurrency', options.tenantConcurrency, 0, DEFAULT_TENANT_CONCURRENCY);
  const tenantLimits = nullRecord<number>();
  for (const [tenant, limit] of Object.entries(options.tenantLimits ?? {})) {
    tenantLimits[tenant] = checkInt(`tenantLimits.${tenant}`, limit, 0, tenantConcurrency);
  }
  const defaultTimeoutMs = checkInt('defaultTimeoutMs', options.defaultTimeoutMs, 1, DEFAULT_TASK_TIMEOUT_MS);
  const timeoutMsByType = new Map<string, number>();
  for (const [type, ms] of Object.entries(options.timeoutMsByType ?? {})) {
    timeoutMsByType.set(type, checkInt(`timeoutMsByType.${type}`, ms, 1, defaultTimeoutMs));
  }
  if (options.random !== undefined && typeof options.random !== 'function') {
    problems.push(`store option random: got ${typeof options.random}; expected a function returning a number in [0, 1)`);
  }
  if (problems.length) throw new ConfigInvalidError(problems);
  return {
    clock: options.clock ?? systemClock,
    retry: { maxAttempts, baseMs, maxMs, jitter },
    maxQueueDepth,
    tenantConcurrency,
    tenantLimits,
    defaultTimeoutMs,
    timeoutMsByType,
    random: options.random ?? Math.random,
  };
}

/** The running-task limit of a tenant; 0 = no limit. */
export function tenantLimitOf(options: ResolvedStoreOptions, tenant: string): number {
  return Object.hasOwn(options.tenantLimits, tenant) ? options.tenantLimits[tenant] : options.tenantConcurrency;
}
