// In-process store event listeners. A listener that throws does not break the store or
// other listeners; its error is reported as a process warning (never swallowed).
import type { StoreEvent } from '../types.ts';

export class Listeners {
  private readonly listeners = new Set<(event: StoreEvent) => void>();

  subscribe(listener: (event: StoreEvent) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  emit(event: StoreEvent): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch (err) {
        process.emitWarning(new Error(`store event listener failed on ${event.kind}`, { cause: err }));
      }
    }
  }

  get size(): number {
    return this.listeners.size;
  }

  clear(): void {
    this.listeners.clear();
  }
}
