// One redaction helper for secrets in connection URLs. A store URL may carry a password
// (`postgres://app:s3cret@db/tidepool`, `redis://:s3cret@cache:6379/5`, `?password=`);
// every place that prints, logs, serializes or throws a store URL passes it through here,
// so the password never reaches output, logs, errors or JSON.

/** What a redacted secret reads as. */
export const REDACTED = '***';

// scheme://user:password@  or  scheme://:password@  (password up to the last @ before the host).
const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/?#@"'`]*?):([^\s/?#"'`]*)@(?=[^\s@]*(?:[\s"'`]|$))/gi;
// ?password=…, &password=…, also sslpassword / pass / auth / token style keys.
const QUERY_SECRET = /([?&;](?:password|passwd|pass|sslpassword|sslkey_password|auth|token|secret)=)([^&\s"'`#]*)/gi;

/** A URL (or any text holding URLs) with every password replaced by `***`. */
export function redactSecrets(text: string): string {
  if (typeof text !== 'string' || text.length === 0) return text;
  return text
    .replace(USERINFO, (_m, scheme: string, user: string, pass: string) => (pass === '' ? `${scheme}${user}:@` : `${scheme}${user}:${REDACTED}@`))
    .replace(QUERY_SECRET, (_m, key: string, value: string) => (value === '' ? key : `${key}${REDACTED}`));
}

/** The store URL as it may be shown: the same URL with its password replaced by `***`. */
export function redactStoreUrl(url: string): string {
  return redactSecrets(url);
}

/**
 * An error safe to print: its message (and its causes', recursively) redacted. Returns the
 * same error when nothing needed redacting; otherwise a copy of the same class and code.
 */
export function redactError<E>(err: E): E {
  if (!(err instanceof Error)) return (typeof err === 'string' ? redactSecrets(err) : err) as E;
  const message = redactSecrets(err.message);
  const cause = (err as { cause?: unknown }).cause;
  const safeCause = cause === undefined ? undefined : redactError(cause);
  const stack = err.stack === undefined ? undefined : redactSecrets(err.stack);
  if (message === err.message && safeCause === cause && stack === err.stack) return err;
  try {
    err.message = message;
    if (stack !== undefined) err.stack = stack;
    if (safeCause !== cause) Object.defineProperty(err, 'cause', { value: safeCause, configurable: true, writable: true });
  } catch {
    // A frozen error: fall back to a plain one carrying the redacted text.
    return Object.assign(new Error(message), { name: err.name }) as E;
  }
  return err;
}
