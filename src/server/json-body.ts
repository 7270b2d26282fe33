// The API's JSON body parser (replaces fastify's). Every refusal is a 400 InvalidInput
// that says what was wrong and where:
//   - bytes that are not UTF-8 (they would be turned into U+FFFD and, e.g., make two
//     different idempotency keys equal);
//   - text that is not JSON, or an empty body;
//   - nesting deeper than MAX_BODY_DEPTH (a payload may nest TASK_LIMITS.maxPayloadDepth
//     levels; the body's own wrapping takes up to 3 more, plus one), checked without recursion so a
//     hostile body cannot overflow the stack;
//   - a key `__proto__`, or `constructor` holding `prototype`, anywhere: the field is named.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { InvalidInputError, TASK_LIMITS } from '../core/index.ts';

/** `{"tasks":[{"payload": ...}]}`: a payload sits 3 levels inside a batch body; one more level lets a payload just over its limit get the precise message naming it. */
export const MAX_BODY_DEPTH = TASK_LIMITS.maxPayloadDepth + 4;

const utf8 = new TextDecoder('utf-8', { fatal: true });

interface Frame {
  value: unknown;
  depth: number;
  parent: Frame | null;
  key: string | number | null;
}

function pathOf(frame: Frame, lastKey: string): string {
  const keys: Array<string | number> = [lastKey];
  for (let f: Frame | null = frame; f && f.key !== null; f = f.parent) keys.push(f.key);
  let s = 'body';
  for (const k of keys.reverse()) s += typeof k === 'number' ? `[${k}]` : /^[A-Za-z_$][\w$]*$/.test(k) ? `.${k}` : `[${JSON.stringify(k.length > 40 ? k.slice(0, 40) + '…' : k)}]`;
  return s;
}

/** Depth and prototype-key checks over a parsed body; throws InvalidInputError naming the field. */
export function checkBodyShape(body: unknown): void {
  const stack: Frame[] = [{ value: body, depth: 0, parent: null, key: null }];
  while (stack.length > 0) {
    const frame = stack.pop()!;
    const v = frame.value;
    if (v === null || typeof v !== 'object') continue;
    const depth = frame.depth + 1;
    if (depth > MAX_BODY_DEPTH) {
      throw new InvalidInputError(
        `body: nests more than ${MAX_BODY_DEPTH} levels of arrays/objects; a payload may nest at most ${TASK_LIMITS.maxPayloadDepth} levels (docs/http-api.md, "Limits")`,
      );
    }
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) if (v[i] !== null && typeof v[i] === 'object') stack.push({ value: v[i], depth, parent: frame, key: i });
      continue;
    }
    for (const key of Object.keys(v)) {
      const child = (v as Record<string, unknown>)[key];
      if (key === '__proto__') throw new InvalidInputError(`${pathOf(frame, key)}: a key named "__proto__" is refused (it could change an object's prototype); rename the field`);
      if (key === 'constructor' && child !== null && typeof child === 'object' && Object.hasOwn(child, 'prototype')) {
        throw new InvalidInputError(`${pathOf(frame, key)}: a "constructor" object holding "prototype" is refused (it could change an object's prototype); rename the field`);
      }
      if (child !== null && typeof child === 'object') stack.push({ value: child, depth, parent: frame, key });
    }
  }
}

/** Decodes, parses and checks one JSON body. */
export function parseJsonBody(raw: Buffer): unknown {
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch (err) {
    throw new InvalidInputError('body: is not valid UTF-8; send JSON encoded as UTF-8', { cause: err });
  }
  if (text.trim() === '') throw new InvalidInputError("body: is empty but content-type is application/json; send a JSON object");
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw new InvalidInputError(`body: is not valid JSON (${(err as Error).message})`, { cause: err });
  }
  checkBodyShape(body);
  return body;
}

/** Installs parseJsonBody for application/json (any parameters, e.g. charset). */
export function useJsonBodyParser(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req: FastifyRequest, raw: Buffer, done: (err: Error | null, body?: unknown) => void) => {
    try {
      done(null, parseJsonBody(raw));
    } catch (err) {
      done(err as Error);
    }
  });
}
