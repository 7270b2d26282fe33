// The worker protocol, version 1 (docs/worker-protocol.md is its specification): JSON
// lines over a worker process's stdin (Tidepool -> worker) and stdout (worker -> Tidepool).
// This file holds the message shapes, the caps and the parser; the process driver holds
// the conversation. A stdout line that is not a protocol message is a log line, never an
// error: workers print, and libraries they load print more.
import type { Json } from '../../core/index.ts';

export const PROTOCOL_VERSION = 1;

/** Largest line a worker may write on stdout, in bytes; a longer protocol line fails its task's attempt. */
export const MAX_LINE_BYTES = 4 * 1024 * 1024;
/** Largest result a task may return (its JSON, in bytes); past it the attempt fails with ResultTooLarge. */
export const MAX_RESULT_BYTES = 1024 * 1024;
/** Largest log line kept; longer ones are cut and marked. */
export const MAX_LOG_LINE_BYTES = 16 * 1024;

/** Tidepool -> worker. */
export type ToWorker =
  | { type: 'task'; id: string; taskType: string; attempt: number; payload: Json; timeoutMs: number; tenant: string }
  | { type: 'cancel'; id: string; reason: string }
  | { type: 'shutdown' };

/** Worker -> Tidepool. */
export type FromWorker =
  | { type: 'ready'; protocol: number; types?: string[]; pid?: number }
  | { type: 'heartbeat'; id?: string }
  | { type: 'progress'; id?: string; note?: string }
  | { type: 'log'; id?: string; text: string; stream?: string }
  | { type: 'result'; id: string; value: Json }
  | { type: 'error'; id: string; message: string; code?: string; retryable?: boolean };

export type ParsedLine =
  | { kind: 'message'; message: FromWorker }
  /** Not a protocol message (plain text, or JSON without a known `type`): log it. */
  | { kind: 'text'; text: string }
  /** A JSON object with a known `type` but a wrong shape: a protocol error, named. */
  | { kind: 'invalid'; problem: string };

export function encodeMessage(message: ToWorker): string {
  return JSON.stringify(message) + '\n';
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isOptString = (v: unknown) => v === undefined || typeof v === 'string';

/** Reads one stdout line. Only a JSON object whose `type` is a protocol type is a message. */
export function parseLine(text: string): ParsedLine {
  const trimmed = text.trim();
  if (!trimmed.startsWith('{')) return { kind: 'text', text };
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch {
    return { kind: 'text', text };
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) return { kind: 'text', text };
  const m = value as Record<string, unknown>;
  const bad = (problem: string): ParsedLine => ({ kind: 'invalid', problem: `${JSON.stringify(m.type)} message: ${problem}` });
  switch (m.type) {
    case 'ready':
      if (typeof m.protocol !== 'number') return bad(`protocol: got ${JSON.stringify(m.protocol)}; expected the number ${PROTOCOL_VERSION}`);
      if (m.types !== undefined && !(Array.isArray(m.types) && m.types.every(isString))) return bad('types: expected a list of strings');
      return { kind: 'message', message: m as FromWorker };
    case 'heartbeat':
    case 'progress':
      if (!isOptString(m.id)) return bad('id: expected a string');
      return { kind: 'message', message: m as FromWorker };
    case 'log':
      if (!isString(m.text)) return bad(`text: got ${JSON.stringify(m.text)}; expected a string`);
      if (!isOptString(m.id) || !isOptString(m.stream)) return bad('id and stream: expected strings');
      return { kind: 'message', message: m as FromWorker };
    case 'result':
      if (!isString(m.id)) return bad(`id: got ${JSON.stringify(m.id)}; expected the task's id`);
      return { kind: 'message', message: { type: 'result', id: m.id, value: (m.value ?? null) as Json } };
    case 'error':
      if (!isString(m.id)) return bad(`id: got ${JSON.stringify(m.id)}; expected the task's id`);
      if (!isString(m.message)) return bad(`message: got ${JSON.stringify(m.message)}; expected a string`);
      if (!isOptString(m.code)) return bad('code: expected a string');
      if (m.retryable !== undefined && typeof m.retryable !== 'boolean') return bad('retryable: expected true or false');
      return { kind: 'message', message: m as FromWorker };
    default:
      return { kind: 'text', text };
  }
}

/** Bytes of a value's JSON (what the result cap counts). */
export function jsonBytes(value: Json): number {
  return Buffer.byteLength(JSON.stringify(value) ?? 'null');
}
