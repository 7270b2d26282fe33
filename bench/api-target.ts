// A server for bench/api.bench.ts to load, run in its own process so the load
// generator does not share its event loop:
//   node bench/api-target.ts tidepool STORE_URL   the Tidepool HTTP API (no workers: submits only)
//   node bench/api-target.ts bare                 a bare fastify server: parse JSON, answer 201
// Prints the URL on stdout once listening.
import Fastify from 'fastify';
import { systemClock } from '../src/core/index.ts';
import { openStore } from '../src/store/index.ts';
import { TidepoolServer } from '../src/server/index.ts';

const [kind, storeUrl] = process.argv.slice(2);
// Exit cleanly on SIGINT so --cpu-prof can write its profile.
process.on('SIGINT', () => process.exit(0));
if (kind === 'bare') {
  const app = Fastify({ logger: false, bodyLimit: 1_048_576 });
  let n = 0;
  app.post('/v1/tasks', async (req, reply) => reply.code(201).send({ id: String(++n), type: (req.body as { type?: string }).type, status: 'queued' }));
  app.post('/v1/tasks/batch', async (req, reply) => reply.code(201).send({ tasks: (req.body as { tasks: unknown[] }).tasks.map(() => ({ id: String(++n) })) }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address() as { port: number };
  process.stdout.write(`http://127.0.0.1:${addr.port}\n`);
} else {
  const store = await openStore(storeUrl ?? 'memory', { clock: systemClock });
  const server = await TidepoolServer.create({ runtime: { store, pools: () => [] }, clock: systemClock });
  process.stdout.write(`${await server.listen({ port: 0 })}\n`);
}
