// Translates node:sqlite errors into Tidepool's error classes, in one place, keeping the
// driver's error as the cause. Tidepool errors thrown inside a transaction pass through.
import { StoreUnavailableError, TidepoolError } from '../../core/index.ts';

interface SqliteDriverError extends Error {
  code?: string;
  errcode?: number;
  errstr?: string;
}

// Primary result codes (the low byte of an extended code), https://sqlite.org/rescode.html
const SQLITE_BUSY = 5;
const SQLITE_LOCKED = 6;
const SQLITE_READONLY = 8;
const SQLITE_IOERR = 10;
const SQLITE_CORRUPT = 11;
const SQLITE_FULL = 13;
const SQLITE_CANTOPEN = 14;
const SQLITE_NOTADB = 26;

export function translateSqliteError(err: unknown, path: string, during: string): Error {
  if (err instanceof TidepoolError) return err;
  const e = err as SqliteDriverError;
  const primary = typeof e?.errcode === 'number' ? e.errcode & 0xff : -1;
  const what = `SQLite store ${path}: ${during} failed`;
  switch (primary) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return new StoreUnavailableError(`${what}: the database stayed locked by another connection longer than busyTimeoutMs`, { cause: err });
    case SQLITE_FULL:
      return new StoreUnavailableError(`${what}: the disk is full`, { cause: err });
    case SQLITE_READONLY:
      return new StoreUnavailableError(`${what}: the file is read-only`, { cause: err });
    case SQLITE_CANTOPEN:
      return new StoreUnavailableError(`${what}: cannot open the file (check the path and its directory's permissions)`, { cause: err });
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return new StoreUnavailableError(`${what}: the file is not a valid Tidepool SQLite database (${e.message})`, { cause: err });
    case SQLITE_IOERR:
      return new StoreUnavailableError(`${what}: disk I/O error (${e.message})`, { cause: err });
    default:
      return new StoreUnavailableError(`${what}: ${e?.message ?? String(err)}`, { cause: err });
  }
}
