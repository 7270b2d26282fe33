// Schedules live in the store's coordination state, so every node sees the same ones and
// any node may serve /v1/schedules:
//   schedule/<name>       the definition (ScheduleRecord): written by the config sync at
//                         start and by the API; never by the scheduler.
//   schedule-tick/<name>  the progress (TickRecord): the last tick handled and its task;
//                         written only by the scheduler lease's holder, fenced by its token.
// Keeping them apart means a tick being recorded can never bring back a schedule the API
// just deleted or replaced. Each definition has an `id` drawn at creation: a tick record
// whose id differs belongs to an earlier schedule of the same name and is not its progress.
// Neither key has a time to live, so which ticks were submitted is kept however soon the
// tasks themselves are purged (server.retentionMs).
import { InvalidInputError, newToken, resolveSchedule, ScheduleConflictError, scheduleInputSchema } from '../core/index.ts';
import type { Json, ScheduleInput, ScheduleSpec } from '../core/index.ts';
import type { StateEntry, Store } from '../store/index.ts';
import { nextTickMs } from './ticks.ts';

export const SCHEDULE_PREFIX = 'schedule/';
export const TICK_PREFIX = 'schedule-tick/';
/** The lease whose holder submits due ticks (one node at a time). */
export const SCHEDULER_LEASE = 'scheduler';

/** Where a schedule came from: the config file (synced at every start) or the API/CLI. */
export type ScheduleSource = 'config' | 'api';

export interface ScheduleRecord extends ScheduleSpec {
  id: string;
  source: ScheduleSource;
  createdAtMs: number;
}

export interface TickRecord {
  /** The id of the definition this progress belongs to. */
  id: string;
  /** The last tick handled (submitted, or skipped by the catch-up rule), epoch ms. */
  lastTickMs: number;
  /** The task the last submitted tick made (null when the last tick handled was skipped). */
  lastTaskId: string | null;
  updatedAtMs: number;
}

/** A schedule as the API, the CLI and the dashboard show it. */
export interface ScheduleView extends ScheduleSpec {
  source: ScheduleSource;
  createdAtMs: number;
  /** The last tick handled, or null before the first. */
  lastTickMs: number | null;
  lastTaskId: string | null;
  /** The next tick after now (or after the last tick handled, if later), or null when the cron never fires again. */
  nextRunMs: number | null;
}

/** Validates a schedule from a caller that skipped the HTTP schema (library use); throws naming the field. */
export function parseScheduleInput(value: unknown, where = 'schedule'): ScheduleSpec {
  const r = scheduleInputSchema.safeParse(value);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${[where, ...i.path.map(String)].join('.')}: ${i.message}`);
    throw new InvalidInputError(issues.join('; '));
  }
  return resolveSchedule(r.data as ScheduleInput);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A stored definition, or null when the entry is not one (written by hand, or by a newer version). */
export function toRecord(entry: StateEntry): ScheduleRecord | null {
  const v = entry.value;
  if (!isObject(v) || typeof v.id !== 'string' || typeof v.createdAtMs !== 'number' || (v.source !== 'config' && v.source !== 'api')) return null;
  const { id, source, createdAtMs, ...spec } = v;
  const r = scheduleInputSchema.safeParse(spec);
  if (!r.success) return null;
  return { ...resolveSchedule(r.data as ScheduleInput), id, source, createdAtMs };
}

export function toTickRecord(entry: StateEntry | null | undefined): TickRecord | null {
  const v = entry?.value;
  if (!isObject(v) || typeof v.id !== 'string' || typeof v.lastTickMs !== 'number') return null;
  return { id: v.id, lastTickMs: v.lastTickMs, lastTaskId: typeof v.lastTaskId === 'string' ? v.lastTaskId : null, updatedAtMs: typeof v.updatedAtMs === 'number' ? v.updatedAtMs : 0 };
}

/** The schedule's progress: its last tick handled, or its creation when it has none (ticks before it are never due). */
export function progressOf(record: ScheduleRecord, tick: TickRecord | null): number {
  return tick && tick.id === record.id ? tick.lastTickMs : record.createdAtMs;
}

export function toView(record: ScheduleRecord, tick: TickRecord | null, nowMs: number): ScheduleView {
  const own = tick && tick.id === record.id ? tick : null;
  const { id: _id, ...rest } = record;
  return {
    ...rest,
    lastTickMs: own?.lastTickMs ?? null,
    lastTaskId: own?.lastTaskId ?? null,
    nextRunMs: nextTickMs(record.cron, record.timezone, Math.max(nowMs, progressOf(record, tick))),
  };
}

function sameDefinition(a: ScheduleSpec, b: ScheduleSpec): boolean {
  const keys: (keyof ScheduleSpec)[] = ['name', 'cron', 'timezone', 'type', 'priority', 'tenant', 'catchUp'];
  return keys.every((k) => a[k] === b[k]) && JSON.stringify(a.payload) === JSON.stringify(b.payload);
}

function recordValue(r: ScheduleRecord): Json {
  return { ...r } as unknown as Json;
}

async function readOne(store: Store, name: string): Promise<{ record: ScheduleRecord | null; tick: TickRecord | null }> {
  const [def, tick] = await Promise.all([store.getState(SCHEDULE_PREFIX + name), store.getState(TICK_PREFIX + name)]);
  return { record: def ? toRecord(def) : null, tick: toTickRecord(tick) };
}

/**
 * Creates a schedule. The same definition again is not an error (created: false, so
 * `tidepool schedules add` can be re-run); another definition under the name is a
 * ScheduleConflictError (delete it first). It starts with the first tick after nowMs.
 */
export async function createSchedule(store: Store, input: ScheduleInput, options: { source?: ScheduleSource; nowMs?: number } = {}): Promise<{ schedule: ScheduleView; created: boolean }> {
  const spec = parseScheduleInput(input);
  const nowMs = options.nowMs ?? (await store.now());
  const existing = await readOne(store, spec.name);
  if (existing.record) {
    if (sameDefinition(existing.record, spec)) return { schedule: toView(existing.record, existing.tick, nowMs), created: false };
    throw new ScheduleConflictError(`schedule ${JSON.stringify(spec.name)} exists with another definition (cron ${JSON.stringify(existing.record.cron)}, type ${JSON.stringify(existing.record.type)}, tenant ${JSON.stringify(existing.record.tenant)}); delete it first to replace it`);
  }
  const record: ScheduleRecord = { ...spec, id: newToken(), source: options.source ?? 'api', createdAtMs: nowMs };
  await store.putState(SCHEDULE_PREFIX + spec.name, recordValue(record));
  return { schedule: toView(record, null, nowMs), created: true };
}

/** Every schedule (of one tenant when given), by name. */
export async function listSchedules(store: Store, options: { tenant?: string; nowMs?: number } = {}): Promise<ScheduleView[]> {
  const [defs, ticks, nowMs] = await Promise.all([store.listState(SCHEDULE_PREFIX), store.listState(TICK_PREFIX), options.nowMs ?? store.now()]);
  const tickByName = new Map(ticks.map((t) => [t.key.slice(TICK_PREFIX.length), toTickRecord(t)]));
  const out: ScheduleView[] = [];
  for (const def of defs) {
    const record = toRecord(def);
    if (!record || (options.tenant !== undefined && record.tenant !== options.tenant)) continue;
    out.push(toView(record, tickByName.get(record.name) ?? null, nowMs));
  }
  return out;
}

export async function getSchedule(store: Store, name: string, options: { nowMs?: number } = {}): Promise<ScheduleView | null> {
  const [{ record, tick }, nowMs] = await Promise.all([readOne(store, name), options.nowMs ?? store.now()]);
  return record ? toView(record, tick, nowMs) : null;
}

/** Deletes a schedule and its progress; false when there was none. Its tasks already submitted stay. */
export async function deleteSchedule(store: Store, name: string): Promise<boolean> {
  const existed = await store.deleteState(SCHEDULE_PREFIX + name);
  await store.deleteState(TICK_PREFIX + name);
  return existed;
}

export interface ConfigSyncReport {
  added: string[];
  replaced: string[];
  removed: string[];
}

/**
 * Makes the store's config schedules those of this config (run at start): adds new ones,
 * replaces changed ones (a replaced schedule starts afresh from now), and removes the
 * config schedules this config no longer lists. Schedules created by the API are left
 * alone unless the config names them (the config wins).
 */
export async function syncConfigSchedules(store: Store, inputs: readonly ScheduleInput[], options: { nowMs?: number } = {}): Promise<ConfigSyncReport> {
  const nowMs = options.nowMs ?? (await store.now());
  const specs = inputs.map((s, i) => parseScheduleInput(s, `schedules[${i}]`));
  const report: ConfigSyncReport = { added: [], replaced: [], removed: [] };
  const stored = new Map<string, ScheduleRecord>();
  for (const def of await store.listState(SCHEDULE_PREFIX)) {
    const r = toRecord(def);
    if (r) stored.set(r.name, r);
  }
  for (const spec of specs) {
    const old = stored.get(spec.name);
    if (old && sameDefinition(old, spec)) {
      if (old.source !== 'config') await store.putState(SCHEDULE_PREFIX + spec.name, recordValue({ ...old, source: 'config' }));
      continue;
    }
    await store.putState(SCHEDULE_PREFIX + spec.name, recordValue({ ...spec, id: newToken(), source: 'config', createdAtMs: nowMs }));
    (old ? report.replaced : report.added).push(spec.name);
  }
  const named = new Set(specs.map((s) => s.name));
  for (const r of stored.values()) {
    if (r.source !== 'config' || named.has(r.name)) continue;
    await deleteSchedule(store, r.name);
    report.removed.push(r.name);
  }
  return report;
}
