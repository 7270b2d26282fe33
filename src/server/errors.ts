// One place that turns any error into an HTTP answer `{error: {code, message}}`.
// Our errors map through HTTP_STATUS_BY_CODE; validation errors name the field;
// anything unexpected is a 500 with a generic message (logged, never echoed:
// no stack trace or internal path reaches a client).
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { HTTP_STATUS_BY_CODE, isTidepoolError, QueueFullError, RateLimitedError, StoreUnavailableError } from '../core/index.ts';

/** Retry-After (seconds) of a 503 while the store is unreachable. */
const STORE_RETRY_AFTER_S = 1;

export interface ErrorBody {
  error: { code: string; message: string };
}

/** Fastify's own 4xx errors, by their code, to our stable codes. */
const FASTIFY_CODES: Record<number, string> = {
  400: 'InvalidInput',
  401: 'Unauthorized',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  406: 'NotAcceptable',
  408: 'RequestTimeout',
  413: 'PayloadTooLarge',
  414: 'UriTooLong',
  415: 'UnsupportedMediaType',
  431: 'HeadersTooLarge',
};

const MAX_MESSAGE_CHARS = 2000;
/** Retry-After of a 503 StoreUnavailable, seconds. */
export const STORE_UNAVAILABLE_RETRY_AFTER_S = 1;

export function errorBody(code: string, message: string): ErrorBody {
  return { error: { code, message: message.length > MAX_MESSAGE_CHARS ? message.slice(0, MAX_MESSAGE_CHARS) + '...' : message } };
}

/** `body.tasks[3].priority: Invalid input: expected int, received string; ...` */
export function describeValidation(err: FastifyError): string {
  const context = (err as { validationContext?: string }).validationContext ?? 'request';
  const where = context === 'querystring' ? 'query' : context;
  const issues = (err.validation ?? []) as unknown as Array<{ instancePath?: string; message?: string }>;
  const parts = issues.slice(0, 10).map((i) => {
    const path = (i.instancePath ?? '')
      .split('/')
      .filter(Boolean)
      .map((seg) => (/^\d+$/.test(seg) ? Number(seg) : seg));
    return `${formatPath(where, path)}: ${i.message ?? 'invalid'}`;
  });
  if (issues.length > 10) parts.push(`... and ${issues.length - 10} more`);
  return parts.join('; ') || `${where}: invalid`;
}

function formatPath(root: string, path: readonly PropertyKey[]): string {
  let s = root;
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : /^[A-Za-z_$][\w$]*$/.test(String(p)) ? `.${String(p)}` : `[${JSON.stringify(String(p))}]`;
  return s;
}

/** Bodies up to this size are read to the end after a refusal, so the connection stays usable; larger ones close it. */
const MAX_DRAIN_BYTES = 64 * 1024 * 1024;

/**
 * Fastify closes the connection when a body cannot be parsed (too large, bad JSON),
 * as the client may still be sending. Reading the rest of a body of known, bounded
 * size first lets the keep-alive connection serve the next request.
 */
async function keepConnectionAfterBodyError(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const raw = request.raw;
  if (raw.complete) {
    reply.removeHeader('connection');
    return;
  }
  const length = Number(raw.headers['content-length']);
  if (!Number.isFinite(length) || length > MAX_DRAIN_BYTES) return;
  await new Promise<void>((resolve) => {
    raw.once('end', resolve);
    raw.once('error', resolve);
    raw.once('close', resolve);
    raw.resume();
  });
  if (raw.complete) reply.removeHeader('connection');
}

export async function sendError(err: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const fe = err as FastifyError;
  if (typeof fe.code === 'string' && fe.code.startsWith('FST_ERR_CTP_')) await keepConnectionAfterBodyError(request, reply);
  if (hasZodFastifySchemaValidationErrors(err) || (fe.validation && fe.statusCode === 400)) {
    return reply.code(400).send(errorBody('InvalidInput', describeValidation(fe)));
  }
  if (isTidepoolError(err)) {
    if (err instanceof RateLimitedError || err instanceof QueueFullError) {
      reply.header('retry-after', String(Math.max(1, Math.ceil(err.retryAfterMs / 1000))));
    } else if (err.code === 'StoreUnavailable') {
      // Shared stores reconnect in the background (Redis: within a second); try again soon.
      reply.header('retry-after', String(STORE_UNAVAILABLE_RETRY_AFTER_S));
    }
    // A store that is down or unreachable: the client retries once it may be back.
    if (err instanceof StoreUnavailableError) reply.header('retry-after', String(STORE_RETRY_AFTER_S));
    const status = HTTP_STATUS_BY_CODE[err.code] ?? 500;
    if (status >= 500) {
      // The log keeps the whole message; the client's copy names no file or URL of the server.
      request.log.warn({ err }, 'request failed');
      return reply.code(status).send(errorBody(err.code, redactServerDetails(err.message)));
    }
    return reply.code(status).send(errorBody(err.code, err.message));
  }
  const status = typeof fe.statusCode === 'number' ? fe.statusCode : 500;
  if (status >= 400 && status < 500) {
    return reply.code(status).send(errorBody(FASTIFY_CODES[status] ?? 'BadRequest', safeFastifyMessage(fe)));
  }
  request.log.error({ err, method: request.method, url: request.url.slice(0, 200) }, 'unexpected error (500)');
  return reply.code(500).send(errorBody('Internal', 'internal error; the server log has the details'));
}

/** Fastify's 4xx messages, without anything that could point inside the server. */
function safeFastifyMessage(err: FastifyError): string {
  const msg = String(err.message ?? '').replace(/\(?\/[^\s)]*\.(?:ts|js)[^\s)]*\)?/g, '');
  return msg || 'bad request';
}

/**
 * A server-side message as a client may see it: file paths and URLs (a store's file,
 * a database URL with its password) become `[path]` / `[url]`.
 */
export function redactServerDetails(message: string): string {
  return message
    .replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s'"]+/gi, '[url]')
    .replace(/(?:[A-Za-z]:)?(?:\.{1,2})?[\\/]?(?:[^\s\\/'"():]+[\\/])+[^\s\\/'"():]*/g, '[path]');
}

/** Node's parser errors (clientError) to the HTTP status answered, by error code. */
const CLIENT_ERRORS: Record<string, { status: number; code: string; message: string }> = {
  HPE_HEADER_OVERFLOW: { status: 431, code: 'HeadersTooLarge', message: 'the request headers are larger than the server allows (16 KiB)' },
  HPE_INVALID_METHOD: { status: 405, code: 'MethodNotAllowed', message: 'unknown HTTP method; the API uses GET, POST and PATCH' },
  TIDEPOOL_CONNECT: { status: 405, code: 'MethodNotAllowed', message: 'CONNECT is not supported; the API uses GET, POST and PATCH' },
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, code: 'RequestTimeout', message: 'the request (headers and body) did not arrive in time' },
  HPE_HEADERS_TIMEOUT: { status: 408, code: 'RequestTimeout', message: 'the request headers did not arrive in time' },
};
const REASONS: Record<number, string> = { 400: 'Bad Request', 405: 'Method Not Allowed', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' };

/**
 * Answers a request node's HTTP parser refused before any route ran, in the API's
 * `{error: {code, message}}` shape, then closes the socket (the stream is out of sync).
 */
export function answerClientError(err: Error & { code?: string }, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const known = CLIENT_ERRORS[err.code ?? ''] ?? { status: 400, code: 'BadRequest', message: `the request is not valid HTTP/1.1 (${err.code ?? 'parse error'})` };
  const body = JSON.stringify(errorBody(known.code, known.message));
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(`HTTP/1.1 ${known.status} ${REASONS[known.status] ?? 'Error'}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`, () => socket.destroy());
}
