// The signature every webhook Tidepool sends carries (alerts, completion callbacks):
// `Tidepool-Signature: t=<ms>,v1=<hex HMAC-SHA256(secret, t + "." + body)>`. A receiver
// checks it with `verifySignature` (or the same few lines in its own language) and rejects
// old timestamps, so a captured request cannot be replayed later.
import { createHmac, timingSafeEqual } from 'node:crypto';

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
