// How the leader splits a pool's total among the live nodes that run the pool. Pure.
//
// Each node gets an even part of the total (the remainder to the nodes that already run
// the most workers, so a split moves as few workers as it can), never above the node's own
// cap; what a capped node cannot take goes to the others. The shares sum to the total, or
// to the sum of the caps when the total is more than the nodes can run.

export interface ShareNode {
  id: string;
  /** Most workers of the pool this node runs (its maxWorkers, or maxWorkersPerNode). */
  cap: number;
  /** Workers it runs now (target or current, whichever is higher). */
  current: number;
}

export function splitTotal(total: number, nodes: readonly ShareNode[]): Record<string, number> {
  const shares: Record<string, number> = Object.create(null);
  for (const n of nodes) shares[n.id] = 0;
  let left = Math.max(0, Math.floor(total));
  // Nodes that can still take workers, the ones running the most first (ties by id: stable).
  let open = [...nodes].filter((n) => n.cap > 0).sort((a, b) => b.current - a.current || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  while (left > 0 && open.length > 0) {
    const even = Math.floor(left / open.length);
    let extra = left - even * open.length;
    let given = 0;
    for (const n of open) {
      const want = even + (extra > 0 ? 1 : 0);
      const room = n.cap - shares[n.id]!;
      const take = Math.min(want, room);
      if (want > even && take === want) extra--;
      shares[n.id]! += take;
      given += take;
    }
    left -= given;
    open = open.filter((n) => shares[n.id]! < n.cap);
    if (given === 0) break;
  }
  return { ...shares };
}
