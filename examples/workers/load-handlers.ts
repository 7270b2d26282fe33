// The handler module `tidepool load-test --kind thread` runs in its worker threads: the
// load test's one task type, a sleep of the drawn service time that fails the first
// `failAttempts` attempts (drawn at submit time, as for the out-of-process kinds).
import type { TaskContext } from '../../src/pools/index.ts';

export const LOAD_TEST_THREAD_TYPE = 'load-test:sleep';

export default {
  [LOAD_TEST_THREAD_TYPE]: async (payload: { ms: number; failAttempts?: number }, ctx: TaskContext) => {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, payload.ms);
      ctx.signal.addEventListener('abort', () => (clearTimeout(timer), reject(ctx.signal.reason)), { once: true });
    });
    if (ctx.attempt <= (payload.failAttempts ?? 0)) throw new Error(`simulated failure of attempt ${ctx.attempt}`);
    return null;
  },
};
