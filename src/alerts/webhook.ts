// Signed webhook delivery, for alerts (and completion callbacks): the body is JSON, signed
// with `Tidepool-Signature: t=<ms>,v1=<hex HMAC-SHA256(secret, t + "." + body)>`, and
// retried with exponential backoff until a limit. A receiver checks the signature with
// `verifySignature` (or the same few lines in its own language) and rejects old
// timestamps, so a captured request cannot be replayed later.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../core/index.ts';

export const SIGNATURE_HEADER = 'Tidepool-Signature';
/** Receivers should reject signatures older than this (5 minutes). */
export const SIGNATURE_TOLERANCE_MS = 300_000;

export function signBody(secret: string, body: string, atMs: number): string {
  const mac = createHmac('sha256', secret).update(`${atMs}.${body}`).digest('hex');
  return `t=${atMs},v1=${mac}`;
}

/** True when `header` signs `body` with `secret` and is at most toleranceMs old (or ahead). */
export function verifySignature(secret: string, header: string | null | undefined, body: string, nowMs: number, toleranceMs = SIGNATURE_TOLERANCE_MS): boolean {
  if (!header) return false;
  const parts = Object.fromEntries(header.split(',').map((p) => p.trim().split('=', 2) as [string, string]));
  const t = Number(parts.t);
  if (!Number.isSafeInteger(t) || Math.abs(nowMs - t) > toleranceMs || !parts.v1) return false;
  const want = Buffer.from(createHmac('sha256', secret).update(`${t}.${body}`).digest('hex'));
  const got = Buffer.from(parts.v1);
  return want.length === got.length && timingSafeEqual(want, got);
}

export interface WebhookTarget {
  url: string;
  secret: string;
}

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
  fetch?: typeof fetch;
}

/** Posts JSON bodies to webhook targets, signed, with retries; never throws. */
export class WebhookSender {
  private readonly o: Required<Omit<WebhookSenderOptions, 'fetch'>> & { fetch: typeof fetch };
  private readonly inFlight = new Set<Promise<DeliveryOutcome>>();
  private closed = false;
  private readonly stop = new AbortController();

  constructor(options: WebhookSenderOptions) {
    this.o = { maxAttempts: 6, baseBackoffMs: 1000, maxBackoffMs: 60_000, timeoutMs: 10_000, fetch: globalThis.fetch, ...options };
  }

  /** Delivers in the background; the promise settles with the outcome (after the retries). */
  send(target: WebhookTarget, payload: unknown, headers: Record<string, string> = {}): Promise<DeliveryOutcome> {
    const body = JSON.stringify(payload);
    const p = this.deliver(target, body, headers).finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
    return p;
  }

  private async deliver(target: WebhookTarget, body: string, extra: Record<string, string>): Promise<DeliveryOutcome> {
    let last: DeliveryOutcome = { url: target.url, ok: false, attempts: 0 };
    for (let attempt = 1; attempt <= this.o.maxAttempts && !this.closed; attempt++) {
      const signal = AbortSignal.any([this.stop.signal, AbortSignal.timeout(this.o.timeoutMs)]);
      try {
        const res = await this.o.fetch(target.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'user-agent': 'tidepool-webhook', ...extra, [SIGNATURE_HEADER]: signBody(target.secret, body, this.o.clock.now()) },
          body,
          signal,
          redirect: 'manual',
        });
        await res.arrayBuffer().catch(() => undefined);
        last = { url: target.url, ok: res.ok, attempts: attempt, status: res.status };
        // 2xx delivered; 4xx other than 408/429 will not get better by retrying.
        if (res.ok || (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429)) return last;
      } catch (err) {
        last = { url: target.url, ok: false, attempts: attempt, error: (err as Error).message };
      }
      if (attempt < this.o.maxAttempts && !this.closed) {
        const backoff = Math.min(this.o.maxBackoffMs, this.o.baseBackoffMs * 2 ** (attempt - 1));
        await this.o.clock.sleep(backoff, this.stop.signal).catch(() => undefined);
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
