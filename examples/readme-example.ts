// The README's short example, kept compiling by `npm run typecheck`.
import { createTidepool } from '../src/index.ts';

async function callModel(prompt: string, _options: { signal: AbortSignal }): Promise<string> {
  return `echo: ${prompt}`;
}

export async function main(): Promise<void> {
  const tp = await createTidepool(
    { store: 'memory', pools: [{ name: 'llm', types: ['chat'], maxWorkers: 40, policy: 'adaptive' }] },
    { chat: async (payload, ctx) => callModel(payload.prompt, { signal: ctx.signal }) },
  );
  const { task } = await tp.submit({ type: 'chat', payload: { prompt: 'hi' }, idempotencyKey: 'req-42' });
  console.log(task.id, tp.stats());
  await tp.close(30_000);
}

if (import.meta.main) await main();
