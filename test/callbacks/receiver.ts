// A real HTTP receiver for callback tests: records each request (headers, raw body, JSON),
// answers with the status `answer(n)` gives the n-th request, and lets a test await the
// n-th request (an event, not a sleep).
import { createServer } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  json: any;
  status: number;
}

export interface Receiver {
  url: string;
  got: Received[];
  /** Resolves once at least n requests arrived (rejects after ms). */
  waitFor(n: number, ms?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startReceiver(answer: (n: number, json: any) => number = () => 200, path = '/hook'): Promise<Receiver> {
  const got: Received[] = [];
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      let json: any = null;
      try {
        json = JSON.parse(body);
      } catch {
        json = null;
      }
      const status = answer(got.length + 1, json);
      got.push({ headers: req.headers, body, json, status });
      res.writeHead(status).end();
      for (const w of waiters.filter((w) => got.length >= w.n)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}${path}`,
    got,
    waitFor(n, ms = 15_000) {
      if (got.length >= n) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the receiver got ${got.length} requests, not ${n}, within ${ms} ms`)), ms);
        waiters.push({ n, resolve: () => (clearTimeout(timer), resolve()) });
      });
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
