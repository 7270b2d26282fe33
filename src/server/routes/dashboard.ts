// The dashboard: static files from src/server/dashboard/ and echarts from the
// installed package (no CDN, no build step). Files are read once, at start.
import { readFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';

interface Asset {
  body: Buffer;
  type: string;
}

const FILES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'schedules.js': 'text/javascript; charset=utf-8',
  'alerts.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
  'favicon.svg': 'image/svg+xml',
};

/** Finds the dashboard folder beside this file (src/) or in the package's src/ (when run from dist/). */
export function dashboardDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, '..', 'dashboard'), resolve(here, '..', '..', '..', 'src', 'server', 'dashboard')];
  for (const c of candidates) if (existsSync(join(c, 'index.html'))) return c;
  throw new Error(`dashboard files not found; looked in ${candidates.join(', ')}`);
}

function echartsPath(): string {
  const require = createRequire(import.meta.url);
  // The package's main is dist/echarts.js; the minified build sits beside it.
  return join(dirname(require.resolve('echarts')), 'echarts.min.js');
}

export function registerDashboardRoutes(app: FastifyInstance): void {
  const dir = dashboardDir();
  const assets = new Map<string, Asset>();
  for (const [name, type] of Object.entries(FILES)) assets.set(name, { body: readFileSync(join(dir, name)), type });
  assets.set('echarts.min.js', { body: readFileSync(echartsPath()), type: 'text/javascript; charset=utf-8' });

  const serve = (name: string) => async (_req: unknown, reply: import('fastify').FastifyReply) => {
    const a = assets.get(name)!;
    return reply.header('content-type', a.type).header('cache-control', 'no-cache').send(a.body);
  };
  app.get('/', { schema: { hide: true } }, serve('index.html'));
  // Browsers ask for /favicon.ico on their own: answer with the logo rather than a 404.
  app.get('/favicon.ico', { schema: { hide: true } }, serve('favicon.svg'));
  for (const name of assets.keys()) app.get(`/dashboard/${name}`, { schema: { hide: true } }, serve(name));
}
