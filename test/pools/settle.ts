// Test helpers for virtual time with stores that yield to the real event loop now and then
// (the memory store paces busy loops with setImmediate): let microtasks AND a few event-loop
// turns run, and advance a VirtualClock in small steps with such a settle between them.
import { flushMicrotasks, type VirtualClock } from '../../src/core/index.ts';

export async function settle(turns = 4): Promise<void> {
  for (let i = 0; i < turns; i++) {
    await flushMicrotasks(50);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  await flushMicrotasks(50);
}

export async function advance(clock: VirtualClock, ms: number, stepMs = 10): Promise<void> {
  let left = ms;
  await settle(2);
  while (left > 0) {
    const step = Math.min(stepMs, left);
    await clock.advance(step);
    await settle(2);
    left -= step;
  }
}
