// Translates `pg` driver errors into Tidepool's error classes, in one place, keeping the
// driver's error as the cause. Tidepool errors thrown inside an operation pass through.
// Messages name the store by its redacted URL: a password never appears in them.
import { StoreUnavailableError, TidepoolError } from '../../core/index.ts';

interface PgDriverError extends Error {
  code?: string;
}

/** Errors that mean the server is unreachable or went away (retry later), not a bad request. */
export function isConnectionError(err: unknown): boolean {
  const code = (err as PgDriverError)?.code ?? '';
  const message = (err as Error)?.message ?? '';
  return (
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'EAI_AGAIN'].includes(code) ||
    code.startsWith('08') || // connection exception
    code === '57P01' || code === '57P02' || code === '57P03' || // admin shutdown, crash shutdown, cannot connect now
    code === '53300' || // too many connections
    /Connection terminated|connection timeout|Client has encountered a connection error|not queryable/i.test(message)
  );
}

export function translatePgError(err: unknown, label: string, during: string): Error {
  if (err instanceof TidepoolError) return err;
  const e = err as PgDriverError;
  const what = `${label}: ${during} failed`;
  if (isConnectionError(err)) {
    return new StoreUnavailableError(`${what}: PostgreSQL is unreachable (${e?.code ?? ''} ${e?.message ?? String(err)})`.replace(/\(\s+/, '('), { cause: err });
  }
  switch (e?.code) {
    case '28P01':
    case '28000':
      return new StoreUnavailableError(`${what}: authentication failed (${e.message})`, { cause: err });
    case '3D000':
      return new StoreUnavailableError(`${what}: the database does not exist (${e.message})`, { cause: err });
    case '53100':
      return new StoreUnavailableError(`${what}: the disk is full (${e.message})`, { cause: err });
    default:
      return new StoreUnavailableError(`${what}: ${e?.message ?? String(err)}${e?.code ? ` (SQLSTATE ${e.code})` : ''}`, { cause: err });
  }
}
