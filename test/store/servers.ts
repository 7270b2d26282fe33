// Tests that need a server (PostgreSQL, Redis) ask here whether it answers. Not reachable:
// the tests skip with a message saying what is missing; under CI=true a test named after
// the server FAILS instead, so a CI run never passes with those suites skipped.
import { test } from 'node:test';

/** True when running under CI (CI=true or CI=1): a missing server is a failure, not a skip. */
export const isCi = process.env.CI === 'true' || process.env.CI === '1';

/** Marks skip messages so a CI script can count them in the test output. */
export const SERVER_SKIP_MARK = 'server unavailable:';

/**
 * Probes a server once per test file. Returns false when it answers (run the tests), or
 * the skip message when it does not; under CI it also registers one failing test.
 * `probe` resolves when the server answers and rejects (with the reason) otherwise.
 */
export async function serverSkip(what: string, probe: () => Promise<void>, timeoutMs = 10_000): Promise<string | false> {
  let reason: string | null = null;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      probe(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } catch (err) {
    reason = (err as Error)?.message ?? String(err);
  } finally {
    clearTimeout(timer);
  }
  if (reason === null) return false;
  const message = `${SERVER_SKIP_MARK} ${what} is not reachable (${reason})`;
  if (isCi) {
    test(`${what} is reachable (CI=true requires it)`, () => {
      throw new Error(`${message}; CI runs every store suite: start the server (.ci/run starts installed ones)`);
    });
  } else {
    process.stderr.write(`# ${message}; its tests are skipped\n`);
  }
  return message;
}
