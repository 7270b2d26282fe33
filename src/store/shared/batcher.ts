// Group commit: operations that arrive while earlier ones are being committed wait and go
// together in the next statement. At most `maxInFlight` batches run at once; a batch starts
// as soon as one may (no timer), so a lone caller pays one round trip and many concurrent
// callers share them. Each caller's promise settles when its batch committed (or failed).
import type { ClaimRequest } from '../../core/index.ts';

/**
 * What a group commit's one claim can serve: `next` requests with the same key ask for the
 * same tasks (types, lease, tenants and regions), so their limits add up into one claim.
 */
export function claimShapeKey(r: ClaimRequest): string {
  return `${r.leaseMs}\u0001${[...new Set(r.types)].sort().join('\u0000')}\u0001${r.tenants === undefined ? '*' : [...new Set(r.tenants)].sort().join('\u0000')}` +
    `\u0001${r.regions === undefined ? '*' : [...new Set(r.regions)].sort().join('\u0000')}`;
}

export class Batcher<I, O> {
  private queue: { item: I; resolve: (o: O) => void; reject: (e: unknown) => void }[] = [];
  private inFlight = 0;
  private scheduled = false;
  private readonly idle: (() => void)[] = [];

  private readonly maxInFlight: number;
  private readonly maxBatch: number;
  /** Runs one batch; returns one outcome per item, in order (an Error value rejects that item). */
  private readonly run: (items: I[]) => Promise<(O | Error)[]>;

  constructor(maxInFlight: number, maxBatch: number, run: (items: I[]) => Promise<(O | Error)[]>) {
    this.maxInFlight = maxInFlight;
    this.maxBatch = maxBatch;
    this.run = run;
  }

  push(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  /** Resolves once nothing is queued or running. */
  drained(): Promise<void> {
    if (this.inFlight === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.maxInFlight) return;
    this.scheduled = true;
    // Gathers the callers of this turn of the event loop (a pool's workers finishing together).
    queueMicrotask(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    while (this.queue.length > 0 && this.inFlight < this.maxInFlight) {
      const batch = this.queue.splice(0, this.maxBatch);
      this.inFlight++;
      this.run(batch.map((b) => b.item)).then(
        (outcomes) => batch.forEach((b, i) => (outcomes[i] instanceof Error ? b.reject(outcomes[i]) : b.resolve(outcomes[i] as O))),
        (err) => batch.forEach((b) => b.reject(err)),
      ).finally(() => {
        this.inFlight--;
        if (this.queue.length > 0) this.flush();
        else if (this.inFlight === 0) for (const done of this.idle.splice(0)) done();
      });
    }
  }
}
