// Validation of submits and claims (the store's own edge: callers may be libraries that
// skip the HTTP schema), and construction of a new task from a submit.
import { InvalidInputError, isWellFormedText, jsonDepth, newTaskId, TASK_LIMITS } from '../../core/index.ts';
import type { ClaimRequest, Json, SubmitInput, Task } from '../../core/index.ts';
import { DEFAULT_TENANT, MAX_CLAIM_LIMIT } from './options.ts';
import type { ResolvedStoreOptions } from './options.ts';

const MAX_NAME_LENGTH = TASK_LIMITS.maxNameChars;
const MAX_KEY_LENGTH = TASK_LIMITS.maxIdempotencyKeyChars;

function fieldName(index: number | undefined, field: string): string {
  return index === undefined ? field : `tasks[${index}].${field}`;
}

function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 64 ? v.slice(0, 64) + '…' : v);
  if (typeof v === 'object' && v !== null) return Array.isArray(v) ? 'an array' : 'an object';
  return String(v);
}

function checkName(v: unknown, field: string, maxLength: number): void {
  if (typeof v !== 'string' || v.length === 0 || v.length > maxLength) {
    throw new InvalidInputError(`${field}: got ${show(v)}; expected a non-empty string of at most ${maxLength} characters`);
  }
  // A lone surrogate has no UTF-8 form: stored, it would become U+FFFD and collide with other names.
  if (!isWellFormedText(v)) throw new InvalidInputError(`${field}: got ${show(v)}; contains a lone UTF-16 surrogate (not valid Unicode)`);
}

function showBound(n: number): string {
  return n >= Number.MAX_SAFE_INTEGER ? '2^53 - 1' : n <= Number.MIN_SAFE_INTEGER ? '-(2^53 - 1)' : String(n);
}

function checkInt(v: unknown, field: string, min: number, max: number = Number.MAX_SAFE_INTEGER): void {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    throw new InvalidInputError(`${field}: got ${show(v)}; expected an integer >= ${showBound(min)} and <= ${showBound(max)}`);
  }
}

/** Checks a submit; throws InvalidInputError naming the field (`tasks[i].field` inside a batch). */
export function validateSubmit(input: SubmitInput, index?: number): void {
  if (typeof input !== 'object' || input === null) {
    throw new InvalidInputError(`${index === undefined ? 'submit' : `tasks[${index}]`}: got ${show(input)}; expected an object with a type`);
  }
  checkName(input.type, fieldName(index, 'type'), MAX_NAME_LENGTH);
  if (input.priority !== undefined) checkInt(input.priority, fieldName(index, 'priority'), -TASK_LIMITS.maxPriority, TASK_LIMITS.maxPriority);
  if (input.runAtMs !== undefined) checkInt(input.runAtMs, fieldName(index, 'runAtMs'), 0, TASK_LIMITS.maxRunAtMs);
  if (input.delayMs !== undefined) checkInt(input.delayMs, fieldName(index, 'delayMs'), 0, TASK_LIMITS.maxDelayMs);
  if (input.maxAttempts !== undefined) checkInt(input.maxAttempts, fieldName(index, 'maxAttempts'), 1, TASK_LIMITS.maxAttempts);
  if (input.timeoutMs !== undefined) checkInt(input.timeoutMs, fieldName(index, 'timeoutMs'), 1, TASK_LIMITS.maxTimeoutMs);
  if (input.tenant !== undefined) checkName(input.tenant, fieldName(index, 'tenant'), MAX_NAME_LENGTH);
  if (input.region !== undefined) checkName(input.region, fieldName(index, 'region'), MAX_NAME_LENGTH);
  if (input.idempotencyKey !== undefined) checkName(input.idempotencyKey, fieldName(index, 'idempotencyKey'), MAX_KEY_LENGTH);
  if (input.payload !== undefined) checkJson(input.payload, fieldName(index, 'payload'));
}

function checkJson(v: unknown, field: string): void {
  const depth = jsonDepth(v);
  if (depth > TASK_LIMITS.maxPayloadDepth) throw new InvalidInputError(`${field}: nests more than ${TASK_LIMITS.maxPayloadDepth} levels of arrays/objects (the limit); flatten it`);
  try {
    if (JSON.stringify(v) === undefined) throw new Error('not representable');
  } catch (err) {
    throw new InvalidInputError(`${field}: expected a JSON value (${(err as Error).message})`, { cause: err });
  }
}

/**
 * A handler's result nests at most TASK_LIMITS.maxPayloadDepth levels, as a payload does:
 * a deeper one would be stored and then break every read of its task (complete refuses it).
 */
export function validateResult(result: unknown): void {
  if (jsonDepth(result) > TASK_LIMITS.maxPayloadDepth) {
    throw new InvalidInputError(`result: nests more than ${TASK_LIMITS.maxPayloadDepth} levels of arrays/objects (the limit); flatten it`);
  }
}

/** The tenant a submit belongs to. */
export function tenantOf(input: SubmitInput): string {
  return input.tenant ?? DEFAULT_TENANT;
}

/** A new queued task for a validated submit; `id` when the adapter makes its own ids. */
export function buildTask(input: SubmitInput, options: ResolvedStoreOptions, nowMs: number, id?: string): Task {
  const runAtMs = input.runAtMs ?? nowMs + (input.delayMs ?? 0);
  return {
    id: id ?? newTaskId(nowMs),
    type: input.type,
    payload: input.payload === undefined ? null : input.payload,
    priority: input.priority ?? 0,
    runAtMs,
    attempts: 0,
    maxAttempts: input.maxAttempts ?? options.retry.maxAttempts,
    // The task's own timeout, else its type's (taskTimeoutMsByType, or its pool's taskTimeoutMs), else the global one.
    timeoutMs: input.timeoutMs ?? options.timeoutMsByType.get(input.type) ?? options.defaultTimeoutMs,
    tenant: tenantOf(input),
    region: input.region ?? null,
    idempotencyKey: input.idempotencyKey ?? null,
    status: 'queued',
    result: null,
    error: null,
    createdAtMs: nowMs,
    updatedAtMs: nowMs,
    startedAtMs: null,
    finishedAtMs: null,
    workerId: null,
    leaseExpiresAtMs: null,
  };
}

/** Checks a claim request; returns false when it asks for nothing (limit 0 or no types). */
export function validateClaim(req: ClaimRequest, label = 'claim'): boolean {
  if (typeof req !== 'object' || req === null) throw new InvalidInputError(`${label}: got ${show(req)}; expected a claim request`);
  checkName(req.workerId, `${label}.workerId`, MAX_NAME_LENGTH);
  if (!Array.isArray(req.types)) throw new InvalidInputError(`${label}.types: got ${show(req.types)}; expected an array of task types`);
  req.types.forEach((t, i) => checkName(t, `${label}.types[${i}]`, MAX_NAME_LENGTH));
  if (typeof req.limit !== 'number' || !Number.isSafeInteger(req.limit) || req.limit < 0 || req.limit > MAX_CLAIM_LIMIT) {
    throw new InvalidInputError(`${label}.limit: got ${show(req.limit)}; expected an integer in [0, ${MAX_CLAIM_LIMIT}]`);
  }
  checkInt(req.leaseMs, `${label}.leaseMs`, 1);
  if (req.tenants !== undefined) {
    if (!Array.isArray(req.tenants)) throw new InvalidInputError(`${label}.tenants: got ${show(req.tenants)}; expected an array of tenant names`);
    req.tenants.forEach((t, i) => checkName(t, `${label}.tenants[${i}]`, MAX_NAME_LENGTH));
  }
  if (req.regions !== undefined) {
    if (!Array.isArray(req.regions)) throw new InvalidInputError(`${label}.regions: got ${show(req.regions)}; expected an array of region names`);
    req.regions.forEach((r, i) => checkName(r, `${label}.regions[${i}]`, MAX_NAME_LENGTH));
  }
  // An empty regions list still claims tasks without a region.
  return req.limit > 0 && req.types.length > 0 && (req.tenants === undefined || req.tenants.length > 0);
}

export function validateLeaseMs(leaseMs: number): void {
  checkInt(leaseMs, 'leaseMs', 1);
}
