// The in-memory webhook sender of alerts: posts a JSON body signed (signature.ts), retried
// with exponential backoff until a limit, in the background. Nothing of it survives a
// restart; completion callbacks, which must, keep their attempts in the store instead
// (src/callbacks/).
import type { Clock } from '../core/index.ts';
import { backoffMs, postSigned } from './post.ts';
import type { WebhookTarget } from './post.ts';

export interface DeliveryOutcome {
  url: string;
  ok: boolean;
  attempts: number;
  status?: number;
  error?: string;
}

export interface WebhookSenderOptions {
  clock: Clock;
  /** Attempts per delivery, the first included (default 6). */
  maxAttempts?: number;
  /** First retry after this long, doubling, capped at maxBackoffMs (defaults 1 s, 60 s). */
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  /** One attempt's time limit (default 10 s). */
  timeoutMs?: number;
}

/** Posts JSON bodies to webhook targets, signed, with retries; never throws. */
export class WebhookSender {
  private readonly o: Required<WebhookSenderOptions>;
  private readonly inFlight = new Set<Promise<DeliveryOutcome>>();
  private closed = false;
  private readonly stop = new AbortController();

  constructor(options: WebhookSenderOptions) {
    this.o = { maxAttempts: 6, baseBackoffMs: 1000, maxBackoffMs: 60_000, timeoutMs: 10_000, ...options };
  }

  /** Delivers in the background; the promise settles with the outcome (after the retries). */
  send(target: WebhookTarget, payload: unknown, headers: Record<string, string> = {}): Promise<DeliveryOutcome> {
    const body = JSON.stringify(payload);
    const p = this.deliver(target, body, headers).finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
    return p;
  }

  private async deliver(target: WebhookTarget, body: string, headers: Record<string, string>): Promise<DeliveryOutcome> {
    let last: DeliveryOutcome = { url: target.url, ok: false, attempts: 0 };
    for (let attempt = 1; attempt <= this.o.maxAttempts && !this.closed; attempt++) {
      const outcome = await postSigned(target, body, { atMs: this.o.clock.now(), timeoutMs: this.o.timeoutMs, headers, signal: this.stop.signal });
      last = { url: target.url, ok: outcome.ok, attempts: attempt, ...(outcome.status !== undefined ? { status: outcome.status } : {}), ...(outcome.error !== undefined ? { error: outcome.error } : {}) };
      if (outcome.ok || !outcome.isRetryable) return last;
      if (attempt < this.o.maxAttempts && !this.closed) {
        await this.o.clock.sleep(backoffMs(attempt, this.o.baseBackoffMs, this.o.maxBackoffMs), this.stop.signal).catch(() => undefined);
      }
    }
    return last;
  }

  /** Waits for deliveries in flight up to ms, then abandons the rest. */
  async close(ms = 5000): Promise<void> {
    const all = Promise.allSettled([...this.inFlight]);
    let timer: { cancel(): void } | undefined;
    await Promise.race([all, new Promise<void>((r) => (timer = this.o.clock.setTimer(r, ms)))]);
    timer?.cancel();
    this.closed = true;
    this.stop.abort();
    await all;
  }
}
