// A binary min-heap whose items know their position, so an item whose key changed moves
// in O(log n) (`update`) and any item leaves in O(log n) (`remove`). The memory store keeps
// one per type over its tenants' queues, so a claim's cost does not grow with the tenants.
export interface Positioned {
  /** Index in the heap, -1 when not in it (the heap maintains it). */
  heapIndex: number;
}

export class IndexedHeap<T extends Positioned> {
  private readonly items: T[] = [];
  private readonly before: (a: T, b: T) => number;

  constructor(before: (a: T, b: T) => number) {
    this.before = before;
  }

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  has(item: T): boolean {
    return item.heapIndex >= 0 && this.items[item.heapIndex] === item;
  }

  push(item: T): void {
    item.heapIndex = this.items.length;
    this.items.push(item);
    this.up(item.heapIndex);
  }

  /** Restores the order after `item`'s key changed (pushes it when absent). */
  update(item: T): void {
    if (!this.has(item)) return this.push(item);
    this.down(this.up(item.heapIndex));
  }

  remove(item: T): void {
    if (!this.has(item)) return;
    const i = item.heapIndex;
    const last = this.items.pop()!;
    item.heapIndex = -1;
    if (i < this.items.length) {
      this.items[i] = last;
      last.heapIndex = i;
      this.down(this.up(i));
    }
  }

  private up(i: number): number {
    const items = this.items;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.before(items[i], items[parent]) >= 0) break;
      this.swap(i, parent);
      i = parent;
    }
    return i;
  }

  private down(i: number): void {
    const items = this.items;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < items.length && this.before(items[l], items[m]) < 0) m = l;
      if (r < items.length && this.before(items[r], items[m]) < 0) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }

  private swap(a: number, b: number): void {
    const items = this.items;
    const t = items[a];
    items[a] = items[b];
    items[b] = t;
    items[a].heapIndex = a;
    items[b].heapIndex = b;
  }
}
