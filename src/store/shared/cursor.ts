// Opaque list cursors: the insertion sequence of the last task on a page, base64url-encoded.
import { InvalidInputError } from '../../core/index.ts';

export function encodeCursor(seq: number): string {
  return Buffer.from(JSON.stringify({ s: seq })).toString('base64url');
}

export function decodeCursor(cursor: string): number {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { s?: unknown };
    if (typeof parsed.s === 'number' && Number.isSafeInteger(parsed.s) && parsed.s >= 0) return parsed.s;
  } catch {
    // fall through to the error below
  }
  throw new InvalidInputError(`cursor: got ${JSON.stringify(cursor.slice(0, 64))}; expected a nextCursor from a previous page`);
}
