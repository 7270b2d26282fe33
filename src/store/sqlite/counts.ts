// Changes to task_counts (tasks per type and status). Each operation collects its own;
// the write queue merges those of operations that succeeded and writes them once, just
// before COMMIT, so a busy group transaction updates a handful of count rows, not four
// per operation.
import type { Statements } from './sql.ts';

export class CountDeltas {
  private readonly deltas = new Map<string, number>();

  add(type: string, status: string, n: number): void {
    const key = `${status}\u0000${type}`;
    this.deltas.set(key, (this.deltas.get(key) ?? 0) + n);
  }

  move(type: string, from: string, to: string): void {
    this.add(type, from, -1);
    this.add(type, to, +1);
  }

  mergeInto(other: CountDeltas): void {
    for (const [key, n] of this.deltas) other.deltas.set(key, (other.deltas.get(key) ?? 0) + n);
  }

  /** Net change of pending tasks (queued + retrying) not yet written. */
  pending(): number {
    let n = 0;
    for (const [key, d] of this.deltas) if (key.startsWith('queued\u0000') || key.startsWith('retrying\u0000')) n += d;
    return n;
  }

  apply(s: Statements): void {
    for (const [key, n] of this.deltas) {
      if (n === 0) continue;
      const sep = key.indexOf('\u0000');
      s.addCount.run(key.slice(sep + 1), key.slice(0, sep), n);
    }
    this.deltas.clear();
  }
}
