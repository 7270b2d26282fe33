// The SQLite store's in-process view of what a claim may take next: per type and region
// (a lane; region '' = tasks without one), each tenant's
// best due tasks (a short buffer in claim order: priority desc, then seq), and the tenants
// ordered by their best task in an indexed heap. A claim walks that heap instead of asking
// the database about every tenant and every type, so its cost no longer grows with the
// number of tenants or of types (issue 13, item 7); the database still has the last word
// (the claim UPDATE re-checks every row is pending).
//
// The view is only as good as what this process saw: it is filled from the database (one
// type at a time, when a claim first asks for it), kept up to date by this process's own
// writes (offer/remove, in the same transaction), and dropped whenever it may be wrong: when
// another connection committed (PRAGMA data_version moved), when tasks became due by time
// (promoteDue), or when an operation's writes were rolled back.
import { IndexedHeap } from '../shared/indexed-heap.ts';
import type { Positioned } from '../shared/indexed-heap.ts';

/** Due tasks buffered per tenant; a buffer that runs dry is refilled with this many. */
export const BUFFER_SIZE = 16;

export interface Candidate {
  seq: number;
  priority: number;
}

interface TenantHead extends Positioned {
  tenant: string;
  /** The tenant's best due tasks of the type, best first (never empty while in `order`). */
  buf: Candidate[];
  /** true: buf holds every due task of the tenant (no refill needed when it empties). */
  isComplete: boolean;
}

export interface TypeHeads {
  type: string;
  region: string;
  byTenant: Map<string, TenantHead>;
  order: IndexedHeap<TenantHead>;
}

export interface ReadySource {
  /** Regions ('' = none) with due tasks of the type. */
  regions(type: string): string[];
  /** Tenants with due tasks of the type and region. */
  tenants(type: string, region: string): string[];
  /** A tenant's best `limit` due tasks of the type and region, best first. */
  candidates(type: string, region: string, tenant: string, limit: number): Candidate[];
}

export interface Pick extends Candidate {
  type: string;
  tenant: string;
}

const better = (a: Candidate, b: Candidate) => b.priority - a.priority || a.seq - b.seq;
const byHead = (a: TenantHead, b: TenantHead) => better(a.buf[0], b.buf[0]);

export class ReadyCache {
  private readonly source: ReadySource;
  /** Type -> region -> its heads (only lanes a claim asked for). */
  private readonly types = new Map<string, Map<string, TypeHeads>>();
  /** Type -> the regions with due tasks of it (read when a claim of every region first asks). */
  private readonly regionsByType = new Map<string, Set<string>>();

  constructor(source: ReadySource) {
    this.source = source;
  }

  /** Forgets everything; the next claim of each type reads it again. */
  invalidate(): void {
    this.types.clear();
    this.regionsByType.clear();
  }

  /** A task of `tenant` became due (submitted, retried, reclaimed, re-queued). */
  offer(type: string, region: string, tenant: string, c: Candidate): void {
    this.regionsByType.get(type)?.add(region);
    const th = this.types.get(type)?.get(region);
    if (!th) return;
    let h = th.byTenant.get(tenant);
    if (!h) {
      // Not known, so it had no due task when the type was read, and every change since
      // went through here: this task is all it has.
      h = { tenant, buf: [c], isComplete: true, heapIndex: -1 };
      th.byTenant.set(tenant, h);
      th.order.push(h);
      return;
    }
    const last = h.buf[h.buf.length - 1];
    if (!h.isComplete && better(c, last) > 0) return; // beyond the buffer; a refill finds it
    let i = h.buf.length;
    while (i > 0 && better(c, h.buf[i - 1]) < 0) i--;
    h.buf.splice(i, 0, c);
    if (h.buf.length > BUFFER_SIZE) {
      h.buf.pop();
      h.isComplete = false;
    }
    th.order.update(h);
  }

  /** A due task left the queue other than by a claim (cancelled). */
  remove(type: string, region: string, tenant: string, seq: number): void {
    const th = this.types.get(type)?.get(region);
    const h = th?.byTenant.get(tenant);
    if (!th || !h) return;
    const i = h.buf.findIndex((c) => c.seq === seq);
    if (i < 0) return;
    h.buf.splice(i, 1);
    this.settle(th, h);
  }

  /**
   * The lanes a claim visits: of each type, every region's (`regions` undefined), or the one
   * without a region and those of `regions`. Reads the lanes not yet known.
   */
  lanes(types: readonly string[], regions: readonly string[] | undefined): TypeHeads[] {
    const out: TypeHeads[] = [];
    for (const type of types) {
      let known = regions === undefined ? this.regionsByType.get(type) : undefined;
      if (regions === undefined && !known) this.regionsByType.set(type, (known = new Set(this.source.regions(type))));
      for (const region of known ?? new Set(['', ...regions!])) {
        const th = this.ensure(type, region);
        if (th.byTenant.size > 0) out.push(th);
      }
    }
    return out;
  }

  /** How many tenants have due tasks in these lanes. */
  tenantCount(lanes: readonly TypeHeads[]): number {
    let n = 0;
    for (const th of lanes) n += th.byTenant.size;
    return n;
  }

  /**
   * Takes up to `limit` tasks in fair claim order (shared/fair.ts): highest priority, then
   * the tenant with the fewest running tasks (`running` is updated as tasks are taken), then
   * the oldest; never a tenant at its cap. `onlyTenants`: a claim limited to those tenants.
   */
  take(
    lanes: readonly TypeHeads[],
    limit: number,
    running: Map<string, number>,
    capOf: (tenant: string) => number,
    onlyTenants?: readonly string[],
  ): Pick[] {
    const picks: Pick[] = [];
    // Taken here but still pending in the database until the caller's UPDATE: a refill skips them.
    const taken = new Set<number>();
    const only = onlyTenants ? new Set(onlyTenants) : null;
    const runningOf = (tenant: string) => running.get(tenant) ?? 0;
    while (picks.length < limit) {
      let best: { th: TypeHeads; h: TenantHead; running: number } | undefined;
      for (const th of lanes) {
        const found = only ? this.bestOf(th, only, runningOf, capOf) : this.walk(th, runningOf, capOf);
        if (!found) continue;
        const r = runningOf(found.tenant);
        const f = found.buf[0];
        const b = best?.h.buf[0];
        if (!best || !b || f.priority > b.priority || (f.priority === b.priority && (r < best.running || (r === best.running && f.seq < b.seq)))) {
          best = { th, h: found, running: r };
        }
      }
      if (!best) break;
      const c = best.h.buf.shift()!;
      picks.push({ ...c, type: best.th.type, tenant: best.h.tenant });
      taken.add(c.seq);
      running.set(best.h.tenant, best.running + 1);
      this.settle(best.th, best.h, taken);
    }
    return picks;
  }

  /**
   * The tenant a claim of this type takes next: walks the heads in (priority, seq) order
   * within the top priority, skipping tenants at their cap, and stops at the first tenant
   * with nothing running (the fewest possible). Visits at most the running tenants plus one.
   */
  private walk(th: TypeHeads, runningOf: (t: string) => number, capOf: (t: string) => number): TenantHead | undefined {
    const top = th.order.peek();
    if (!top) return undefined;
    // The usual case: the best head's tenant has nothing running and room under its cap.
    if (runningOf(top.tenant) === 0) return top;
    const visited: TenantHead[] = [];
    let best: TenantHead | undefined;
    let bestRunning = Infinity;
    let topPriority: number | undefined;
    for (;;) {
      const h = th.order.peek();
      if (!h) break;
      if (topPriority !== undefined && h.buf[0].priority < topPriority) break;
      th.order.remove(h);
      visited.push(h);
      const r = runningOf(h.tenant);
      const cap = capOf(h.tenant);
      if (cap > 0 && r >= cap) continue;
      topPriority ??= h.buf[0].priority;
      if (r < bestRunning) {
        best = h;
        bestRunning = r;
      }
      if (r === 0) break;
    }
    for (const h of visited) th.order.push(h);
    return best;
  }

  private bestOf(th: TypeHeads, only: Set<string>, runningOf: (t: string) => number, capOf: (t: string) => number): TenantHead | undefined {
    let best: TenantHead | undefined;
    for (const tenant of only) {
      const h = th.byTenant.get(tenant);
      if (!h) continue;
      const cap = capOf(tenant);
      if (cap > 0 && runningOf(tenant) >= cap) continue;
      if (
        !best ||
        h.buf[0].priority > best.buf[0].priority ||
        (h.buf[0].priority === best.buf[0].priority &&
          (runningOf(tenant) < runningOf(best.tenant) || (runningOf(tenant) === runningOf(best.tenant) && h.buf[0].seq < best.buf[0].seq)))
      ) best = h;
    }
    return best;
  }

  /** After a head's buffer changed: refill an empty one, drop a tenant with nothing left, re-order. */
  private settle(th: TypeHeads, h: TenantHead, taken?: ReadonlySet<number>): void {
    if (h.buf.length === 0 && !h.isComplete) {
      const skip = taken?.size ?? 0;
      const rows = this.source.candidates(th.type, th.region, h.tenant, BUFFER_SIZE + skip);
      h.isComplete = rows.length < BUFFER_SIZE + skip;
      h.buf = skip ? rows.filter((c) => !taken!.has(c.seq)) : rows;
    }
    if (h.buf.length === 0) {
      th.order.remove(h);
      th.byTenant.delete(h.tenant);
    } else th.order.update(h);
  }

  private ensure(type: string, region: string): TypeHeads {
    let byRegion = this.types.get(type);
    if (!byRegion) this.types.set(type, (byRegion = new Map()));
    let th = byRegion.get(region);
    if (th) return th;
    th = { type, region, byTenant: new Map(), order: new IndexedHeap(byHead) };
    for (const tenant of this.source.tenants(type, region)) {
      const buf = this.source.candidates(type, region, tenant, BUFFER_SIZE);
      if (buf.length === 0) continue;
      const h: TenantHead = { tenant, buf, isComplete: buf.length < BUFFER_SIZE, heapIndex: -1 };
      th.byTenant.set(tenant, h);
      th.order.push(h);
    }
    byRegion.set(region, th);
    return th;
  }
}
