// /v1/nodes: the processes sharing this store as one cluster, their pools and which leads.
// The pools' cluster figures (GET /v1/pools `cluster`, the desired count) come from the same records (clusterFigures in ../pool-view.ts).
import { hostname } from 'node:os';
import { createRequire } from 'node:module';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { systemClock } from '../../core/index.ts';
import { ErrorSchema, NodeListSchema } from '../schemas.ts';
import type { ServerContext } from '../context.ts';

const VERSION = (createRequire(import.meta.url)('../../../package.json') as { version: string }).version;
const STARTED_AT_MS = systemClock.now() - Math.round(process.uptime() * 1000);

const errors = { 401: ErrorSchema, 429: ErrorSchema, 503: ErrorSchema };

export function registerNodeRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get(
    '/v1/nodes',
    { schema: { summary: 'Nodes sharing this store: their pools, and which one leads', tags: ['cluster'], response: { 200: NodeListSchema, ...errors } } },
    async () => {
      const cluster = ctx.runtime.cluster;
      if (!cluster) {
        // A process alone (memory store, or cluster.enabled off): it is the one node and leads.
        const nowMs = await ctx.runtime.store.now();
        const pools = ctx.runtime.pools().map((p) => {
          const s = p.stats();
          return {
            name: s.name, kind: s.kind, types: s.types, min: s.minWorkers, max: s.maxWorkers, cap: s.maxWorkers, target: s.target,
            current: s.starting + s.idle + s.busy + s.draining, busy: s.busy, idle: s.idle, starting: s.starting, draining: s.draining,
            share: null, leaderBounds: null,
          };
        });
        return {
          nodes: [{ id: `${hostname()}-${process.pid}`, host: hostname(), pid: process.pid, version: VERSION, region: null, leader: true, self: true, startedAtMs: STARTED_AT_MS, lastSeenMs: nowMs, pools }],
          leader: null,
        };
      }
      const { nodes: list, lease } = await cluster.nodes();
      // The node that answers is live even when its record lapsed a moment ago (a slow store).
      if (!list.some((n) => n.self)) list.push({ ...cluster.record(), leader: lease?.holder === cluster.id, self: true, lastSeenMs: await ctx.runtime.store.now() });
      list.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      return {
        nodes: list.map((n) => ({
          ...n,
          pools: n.pools.map((p) => {
            const d = cluster.desired(p.name);
            return { ...p, share: d ? (d.shares[n.id] ?? 0) : null, leaderBounds: d ? { min: d.min, max: d.max } : null };
          }),
        })),
        leader: lease ? { id: lease.holder, token: lease.token, expiresAtMs: lease.expiresAtMs } : null,
      };
    },
  );
}
