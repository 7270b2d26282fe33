// One signed POST of a JSON body, and the retry rules every webhook sender shares: which
// outcomes are worth another attempt, and the backoff before it. The in-memory sender of
// alerts (sender.ts) and the durable delivery of completion callbacks (src/callbacks/)
// both run their attempts through here.
//
// The request goes out with node:http(s), never following redirects (a 3xx is an answer,
// not an invitation to post elsewhere), on a fresh connection, and through the caller's
// `lookup` when given: completion callbacks pass one that refuses private addresses, so
// the address checked is the address connected to (no window for DNS rebinding).
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { SIGNATURE_HEADER, signBody } from './signature.ts';

export interface WebhookTarget {
  url: string;
  secret: string;
}

/** How one attempt ended. */
export interface AttemptOutcome {
  ok: boolean;
  status?: number;
  error?: string;
  /** false: another attempt will not do better (a 4xx other than 408/429, a refused address). */
  isRetryable: boolean;
}

export interface PostOptions {
  /** The signature's timestamp, epoch ms (the caller's clock). */
  atMs: number;
  /** This attempt's time limit, ms. */
  timeoutMs: number;
  headers?: Record<string, string>;
  /** Aborts the attempt (a sender closing). */
  signal?: AbortSignal;
  /** Resolves the host (e.g. one that refuses private addresses); default node's. */
  lookup?: LookupFunction;
}

/** An error a lookup may throw to say the address is refused for good (not worth retrying). */
export class RefusedAddressError extends Error {
  override readonly name = 'RefusedAddressError';
}

/** POSTs `body` to target.url, signed with target.secret; never throws. */
export function postSigned(target: WebhookTarget, body: string, o: PostOptions): Promise<AttemptOutcome> {
  return new Promise((resolve) => {
    let url: URL;
    try {
      url = new URL(target.url);
    } catch {
      resolve({ ok: false, error: 'not a valid URL', isRetryable: false });
      return;
    }
    const request = url.protocol === 'https:' ? httpsRequest : url.protocol === 'http:' ? httpRequest : null;
    if (!request) {
      resolve({ ok: false, error: `unsupported protocol ${url.protocol}`, isRetryable: false });
      return;
    }
    const signal = o.signal ? AbortSignal.any([o.signal, AbortSignal.timeout(o.timeoutMs)]) : AbortSignal.timeout(o.timeoutMs);
    let isSettled = false;
    const settle = (outcome: AttemptOutcome) => {
      if (isSettled) return;
      isSettled = true;
      resolve(outcome);
    };
    const req = request(
      url,
      {
        method: 'POST',
        agent: false,
        signal,
        headers: {
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
          'user-agent': 'tidepool-webhook',
          ...o.headers,
          [SIGNATURE_HEADER]: signBody(target.secret, body, o.atMs),
        },
        ...(o.lookup ? { lookup: o.lookup } : {}),
      },
      (res) => {
        const status = res.statusCode ?? 0;
        res.resume();
        const done = () => settle(outcomeOf(status));
        res.once('end', done);
        res.on('error', done);
        res.once('close', done);
      },
    );
    req.on('error', (err) => {
      const cause = (err as { cause?: unknown }).cause;
      const refused = err instanceof RefusedAddressError || cause instanceof RefusedAddressError;
      const message = signal.aborted && !refused ? `no answer within ${o.timeoutMs} ms` : err.message;
      settle({ ok: false, error: message, isRetryable: !refused });
    });
    req.end(body);
  });
}

/** 2xx delivered; a 4xx other than 408/429 will not get better by retrying; the rest may. */
function outcomeOf(status: number): AttemptOutcome {
  const ok = status >= 200 && status < 300;
  return { ok, status, isRetryable: !ok && !(status >= 400 && status < 500 && status !== 408 && status !== 429) };
}

/** The wait before attempt `attempt + 1` after `attempt` failed: base * 2^(attempt-1), capped. */
export function backoffMs(attempt: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
}

/** A webhook URL in a log line without its query string or credentials (they may carry tokens). */
export function redactWebhookUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(webhook)';
  }
}
