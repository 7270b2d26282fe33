// A binary min-heap of integer ids ordered by an external Float64Array of keys, ties
// broken by the smaller id so that the order is deterministic. No per-push allocation
// once the backing array has grown.

export class IdHeap {
  private items: Int32Array;
  private size = 0;
  private keys: Float64Array;

  constructor(keys: Float64Array, capacity = 64) {
    this.keys = keys;
    this.items = new Int32Array(capacity);
  }

  /** Points the heap at a grown key array (the same ids keep their keys). */
  setKeys(keys: Float64Array): void {
    this.keys = keys;
  }

  get length(): number {
    return this.size;
  }

  /** The smallest id's key, or Infinity when empty. */
  peekKey(): number {
    return this.size === 0 ? Infinity : this.keys[this.items[0]];
  }

  peek(): number {
    return this.items[0];
  }

  private less(a: number, b: number): boolean {
    const ka = this.keys[a];
    const kb = this.keys[b];
    return ka < kb || (ka === kb && a < b);
  }

  push(id: number): void {
    if (this.size === this.items.length) {
      const grown = new Int32Array(this.items.length * 2);
      grown.set(this.items);
      this.items = grown;
    }
    const items = this.items;
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(id, items[parent])) break;
      items[i] = items[parent];
      i = parent;
    }
    items[i] = id;
  }

  pop(): number {
    const items = this.items;
    const top = items[0];
    const last = items[--this.size];
    const n = this.size;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && this.less(items[r], items[l]) ? r : l;
      if (!this.less(items[c], last)) break;
      items[i] = items[c];
      i = c;
    }
    if (n > 0) items[i] = last;
    return top;
  }
}
