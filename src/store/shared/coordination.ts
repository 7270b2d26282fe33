// Coordination state, the part of the store contract a cluster stands on: named leases
// with fencing tokens (the leader's, the scheduler's, ...) and a small key-value state
// (node records with a time to live, policy state, desired counts, schedules, callbacks).
//
// Leases. acquireLease(name, holder, ttlMs) grants the lease when it is free, lapsed, or
// live and already the holder's. A renewal (same holder, still live) keeps the token and
// moves expiresAtMs; any other grant is a new epoch with token = previous token + 1 (the
// first grant is token 1). The token never goes back, even after release or lapse, so a
// write fenced with an old epoch's token can always be told apart. Expiry is measured on
// the store's time of record (the database's clock on shared stores), so nodes with skewed
// clocks agree on it.
//
// Fenced writes. putState/deleteState with `fence: {lease, token}` commit only when, in the
// same atomic step, the lease is live with exactly that token; otherwise FencedError and
// nothing changes. A leader paused (SIGSTOP, a long GC) past its lease finds, when it
// resumes, that a new leader took token + 1: its writes are refused instead of
// overwriting the new leader's.
//
// State. Keys are non-empty strings of at most 512 characters; values are JSON of at most
// 256 KiB serialized. An entry with ttlMs lapses at updatedAtMs + ttlMs: reads skip it and
// maintain() deletes it. Writes replace the whole value (no merge).
//
// Each adapter persists these its own way (a map; rows in SQLite and PostgreSQL; hashes and
// a Lua script on Redis); the rules above live here once: validation, the lease transition
// and the fence check, in plain functions adapters call inside their atomic step.
import { FencedError, InvalidInputError } from '../../core/index.ts';
import type { Json } from '../../core/index.ts';

export interface Lease {
  name: string;
  holder: string;
  /** The epoch: grows by one each time the lease is granted anew; unchanged by a renewal. */
  token: number;
  /** When this epoch began (the grant that set the token), ms. */
  acquiredAtMs: number;
  expiresAtMs: number;
}

/** What a fenced write carries: the lease it depends on and the token its writer holds. */
export interface Fence {
  lease: string;
  token: number;
}

export interface StateEntry {
  key: string;
  value: Json;
  updatedAtMs: number;
  /** null: kept until deleted. */
  expiresAtMs: number | null;
}

export interface PutStateOptions {
  /** The entry lapses this long after the write, ms (>= 1). */
  ttlMs?: number;
  fence?: Fence;
}

export const MAX_STATE_KEY_LENGTH = 512;
export const MAX_STATE_VALUE_BYTES = 256 * 1024;
export const MAX_LEASE_TTL_MS = 86_400_000;

function checkName(what: string, v: unknown, max = MAX_STATE_KEY_LENGTH): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > max)
    throw new InvalidInputError(`${what}: got ${JSON.stringify(v)?.slice(0, 80)}; expected a non-empty string of at most ${max} characters`);
  return v;
}

function checkTtl(what: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1 || v > MAX_LEASE_TTL_MS)
    throw new InvalidInputError(`${what}: got ${String(v)}; expected an integer in [1, ${MAX_LEASE_TTL_MS}] (ms)`);
  return v;
}

export function validateLeaseArgs(name: unknown, holder: unknown, ttlMs?: unknown): void {
  checkName('lease name', name);
  checkName('lease holder', holder);
  if (ttlMs !== undefined) checkTtl('lease ttlMs', ttlMs);
}

export function validateFence(fence: unknown): Fence | undefined {
  if (fence === undefined) return undefined;
  const f = fence as Partial<Fence>;
  if (!f || typeof f !== 'object') throw new InvalidInputError('fence: expected {lease, token}');
  checkName('fence.lease', f.lease);
  if (typeof f.token !== 'number' || !Number.isSafeInteger(f.token) || f.token < 1)
    throw new InvalidInputError(`fence.token: got ${String(f.token)}; expected an integer >= 1`);
  return { lease: f.lease!, token: f.token };
}

/** Validates a putState call; returns the value serialized (adapters store the text). */
export function validatePutState(key: unknown, value: unknown, options: PutStateOptions = {}): string {
  checkName('state key', key);
  if (options.ttlMs !== undefined) checkTtl('state ttlMs', options.ttlMs);
  validateFence(options.fence);
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (err) {
    throw new InvalidInputError(`state value of ${JSON.stringify(key)}: expected a JSON value (${(err as Error).message})`);
  }
  if (text === undefined) throw new InvalidInputError(`state value of ${JSON.stringify(key)}: expected a JSON value, got ${typeof value}`);
  if (Buffer.byteLength(text) > MAX_STATE_VALUE_BYTES)
    throw new InvalidInputError(`state value of ${JSON.stringify(key)}: ${Buffer.byteLength(text)} bytes serialized; at most ${MAX_STATE_VALUE_BYTES}`);
  return text;
}

export function validateStateKey(key: unknown): string {
  return checkName('state key', key);
}

export function validateStatePrefix(prefix: unknown): string {
  if (typeof prefix !== 'string' || prefix.length > MAX_STATE_KEY_LENGTH)
    throw new InvalidInputError(`state prefix: got ${JSON.stringify(prefix)?.slice(0, 80)}; expected a string of at most ${MAX_STATE_KEY_LENGTH} characters`);
  return prefix;
}

/** A lease as stored, live or not (adapters keep the row after release: its token must not go back). */
export interface StoredLease {
  holder: string;
  token: number;
  acquiredAtMs: number;
  expiresAtMs: number;
}

export function isLive(lease: StoredLease | null | undefined, nowMs: number): boolean {
  return !!lease && lease.expiresAtMs > nowMs;
}

/**
 * The lease transition: what acquireLease stores given what is stored now, or null when
 * another holder's live lease stands. Pure; adapters run it inside their atomic step.
 */
export function nextLease(current: StoredLease | null | undefined, holder: string, ttlMs: number, nowMs: number): StoredLease | null {
  if (current && isLive(current, nowMs)) {
    if (current.holder !== holder) return null;
    return { ...current, expiresAtMs: nowMs + ttlMs }; // a renewal: same epoch
  }
  return { holder, token: (current?.token ?? 0) + 1, acquiredAtMs: nowMs, expiresAtMs: nowMs + ttlMs };
}

/** The fence check: throws FencedError unless `lease` is live with the fence's token. */
export function checkFence(fence: Fence, lease: StoredLease | null | undefined, nowMs: number): void {
  if (!lease) throw new FencedError(fence.lease, fence.token, 'the lease was never granted');
  if (lease.token !== fence.token) throw new FencedError(fence.lease, fence.token, `the lease is at token ${lease.token}, held by ${JSON.stringify(lease.holder)}`);
  if (!isLive(lease, nowMs)) throw new FencedError(fence.lease, fence.token, `the lease lapsed ${nowMs - lease.expiresAtMs} ms ago`);
}

export function toLease(name: string, stored: StoredLease): Lease {
  return { name, holder: stored.holder, token: stored.token, acquiredAtMs: stored.acquiredAtMs, expiresAtMs: stored.expiresAtMs };
}

export function isEntryLive(expiresAtMs: number | null, nowMs: number): boolean {
  return expiresAtMs === null || expiresAtMs > nowMs;
}

// --- rows of the SQL adapters (SQLite and PostgreSQL share the column layout) ----------

export interface LeaseRow {
  holder: string;
  token: number | string;
  acquired_at_ms: number | string;
  expires_at_ms: number | string;
}

export interface StateRow {
  key: string;
  value: string;
  updated_at_ms: number | string;
  expires_at_ms: number | string | null;
}

/** The stored lease of a row, or null for none or a never-granted placeholder (token 0). */
export function leaseFromRow(row: LeaseRow | undefined): StoredLease | null {
  return row && Number(row.token) > 0 ? { holder: row.holder, token: Number(row.token), acquiredAtMs: Number(row.acquired_at_ms), expiresAtMs: Number(row.expires_at_ms) } : null;
}

export function entryFromRow(r: StateRow): StateEntry {
  return { key: r.key, value: JSON.parse(r.value) as Json, updatedAtMs: Number(r.updated_at_ms), expiresAtMs: r.expires_at_ms === null ? null : Number(r.expires_at_ms) };
}
