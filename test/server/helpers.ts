// Starts a real server on an ephemeral port over a real store, and a tiny fetch
// wrapper. Used by the test/server files.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { join } from 'node:path';
import { systemClock } from '../../src/core/index.ts';
import type { Clock } from '../../src/core/index.ts';
import { openStore } from '../../src/store/index.ts';
import type { Store, StoreOptions } from '../../src/store/index.ts';
import { TidepoolServer } from '../../src/server/index.ts';
import type { PoolControl, ServerOptions } from '../../src/server/index.ts';

export interface TestServer {
  url: string;
  server: TidepoolServer;
  store: Store;
  /** The server's log lines (JSON), captured instead of printed. */
  logs: string[];
  call(method: string, path: string, options?: { body?: unknown; key?: string; raw?: string; headers?: Record<string, string> }): Promise<{ status: number; body: any; headers: Headers }>;
  close(): Promise<void>;
}

export interface StartOptions extends Partial<Omit<ServerOptions, 'runtime' | 'clock'>> {
  clock?: Clock;
  storeUrl?: string;
  storeOptions?: StoreOptions;
  pools?: () => PoolControl[];
  drain?: (timeoutMs: number) => Promise<void>;
}

export async function startServer(options: StartOptions = {}): Promise<TestServer> {
  const clock = options.clock ?? systemClock;
  const store = await openStore(options.storeUrl ?? 'memory', { clock, ...options.storeOptions });
  const logs: string[] = [];
  const server = await TidepoolServer.create({
    logStream: { write: (line: string) => void logs.push(line) },
    // A loaded test machine may run a timer late; only the stall test asks for the real limit.
    stallMs: 10_000,
    ...options,
    clock,
    runtime: { store, pools: options.pools ?? (() => []), ...(options.drain ? { drain: options.drain } : {}) },
  });
  const url = await server.listen({ port: 0, host: '127.0.0.1' });
  return {
    url,
    server,
    store,
    logs,
    call: (method, path, o = {}) => request(url, method, path, o),
    async close() {
      await server.close();
      await store.close();
    },
  };
}

/** One HTTP call to a test server; the body is parsed as JSON when it is JSON. */
export async function request(
  url: string,
  method: string,
  path: string,
  o: { body?: unknown; key?: string; raw?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: any; headers: Headers }> {
  const headers: Record<string, string> = { ...o.headers };
  if (o.key) headers.authorization = `Bearer ${o.key}`;
  let body: string | undefined;
  if (o.raw !== undefined) body = o.raw;
  else if (o.body !== undefined) body = JSON.stringify(o.body);
  if (body !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
  const res = await fetch(url + path, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not JSON (metrics text, HTML): keep the text.
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

export function tempDir(prefix = 'tidepool-server-'): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** One raw HTTP exchange: writes `text`, reads until the server closes or answers one response. */
export function rawHttp(url: string, text: string | Buffer): Promise<{ status: number; body: any; raw: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let data = '';
    const finish = () => {
      const m = /^HTTP\/1\.1 (\d{3})/.exec(data);
      const bodyText = data.slice(data.indexOf('\r\n\r\n') + 4);
      let body: unknown = bodyText;
      try {
        body = JSON.parse(bodyText);
      } catch {
        // Keep the text.
      }
      resolve({ status: m ? Number(m[1]) : 0, body, raw: data });
    };
    socket.on('data', (chunk) => {
      data += chunk.toString('latin1');
      const head = data.indexOf('\r\n\r\n');
      const length = /content-length: (\d+)/i.exec(data.slice(0, head))?.[1];
      if (head >= 0 && length !== undefined && data.length - head - 4 >= Number(length)) {
        socket.destroy();
        finish();
      }
    });
    socket.on('close', finish);
    socket.on('error', reject);
    socket.write(text);
  });
}


/** A `tidepool start` child process listening on an ephemeral port. */
export interface StartedProcess {
  proc: import('node:child_process').ChildProcess;
  url: string;
  pid: number;
  /** Set once the process has exited. */
  exited: boolean;
  /** What it wrote to stderr so far. */
  stderr(): string;
}

const MAIN_CLI = join(import.meta.dirname, '../../src/cli/main.ts');

/**
 * Spawns `tidepool start --port 0 ARGS` with the pinned Node, resolves once it says where it
 * listens (rejects with its stderr if it exits first). `TIDEPOOL_API_KEYS` is cleared.
 */
export async function spawnStart(args: readonly string[], env: Record<string, string> = {}): Promise<StartedProcess> {
  const { spawn } = await import('node:child_process');
  const proc = spawn(process.execPath, [MAIN_CLI, 'start', '--port', '0', ...args], { env: { ...process.env, TIDEPOOL_API_KEYS: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const started: StartedProcess = { proc, url: '', pid: proc.pid!, exited: false, stderr: () => err };
  proc.once('exit', () => (started.exited = true));
  proc.stderr!.on('data', (c) => (err += c));
  started.url = await new Promise<string>((resolve, reject) => {
    proc.stdout!.on('data', (c) => {
      out += c;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    proc.once('exit', (code) => reject(new Error(`tidepool start exited (${code}) before listening: ${err}${out}`)));
  });
  return started;
}
