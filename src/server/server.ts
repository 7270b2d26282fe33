// A running Tidepool server: the fastify app plus its lifecycle (listen with the
// loopback rule, retention purge, drain on SIGTERM, close).
import type { FastifyInstance } from 'fastify';
import { ConfigInvalidError } from '../core/index.ts';
import type { TimerHandle } from '../core/index.ts';
import { buildApp } from './app.ts';
import { isLoopbackHost } from './auth.ts';
import type { ServerContext } from './context.ts';
import { SERVER_DEFAULTS } from './types.ts';
import type { ServerOptions } from './types.ts';

/** Retention purge runs this often at most (and at least every retention/10). */
const PURGE_EVERY_MS = 60_000;

export interface ListenOptions {
  port?: number;
  host?: string;
}

export class TidepoolServer {
  readonly app: FastifyInstance;
  private readonly ctx: ServerContext;
  private readonly options: ServerOptions;
  private purgeTimer: TimerHandle | null = null;
  private isClosed = false;
  /** The address after listen(), e.g. http://127.0.0.1:7700 */
  url = '';

  private constructor(app: FastifyInstance, ctx: ServerContext, options: ServerOptions) {
    this.app = app;
    this.ctx = ctx;
    this.options = options;
  }

  static async create(options: ServerOptions): Promise<TidepoolServer> {
    const { app, ctx } = await buildApp(options);
    await app.ready();
    return new TidepoolServer(app, ctx, options);
  }

  get isDraining(): boolean {
    return this.ctx.isDraining;
  }

  /** Starts listening; without API keys only a loopback host is allowed. */
  async listen(options: ListenOptions = {}): Promise<string> {
    const host = options.host ?? SERVER_DEFAULTS.host;
    const port = options.port ?? SERVER_DEFAULTS.port;
    if (!this.ctx.isMultiTenant && !isLoopbackHost(host)) {
      throw new ConfigInvalidError([
        `server.host: got ${JSON.stringify(host)}; without API keys the server listens on loopback only (127.0.0.1, ::1, localhost). Configure keys (TIDEPOOL_API_KEYS=tenant=key or server.apiKeysFile) to listen on other addresses`,
      ]);
    }
    await this.ctx.feed.start();
    this.ctx.faults.startLoopProbe();
    await this.app.listen({ port, host });
    const addr = this.app.server.address();
    const actualPort = typeof addr === 'object' && addr ? addr.port : port;
    this.url = `http://${host.includes(':') ? `[${host}]` : host}:${actualPort}`;
    this.schedulePurge();
    return this.url;
  }

  private schedulePurge(): void {
    const retentionMs = this.options.retentionMs ?? SERVER_DEFAULTS.retentionMs;
    if (retentionMs <= 0) return;
    const everyMs = Math.max(1000, Math.min(PURGE_EVERY_MS, Math.floor(retentionMs / 10)));
    this.purgeTimer = this.ctx.clock.setTimer(async () => {
      try {
        await this.purgeNow();
      } catch (err) {
        this.ctx.metrics.onBackgroundError('purge');
        this.app.log.warn({ err }, 'retention purge failed');
      }
      if (!this.isClosed) this.schedulePurge();
    }, everyMs);
  }

  /** Deletes ended tasks older than the retention; returns how many. */
  async purgeNow(): Promise<number> {
    const retentionMs = this.options.retentionMs ?? SERVER_DEFAULTS.retentionMs;
    if (retentionMs <= 0) return 0;
    return this.ctx.runtime.store.purgeFinished(this.ctx.clock.now() - retentionMs);
  }

  /**
   * Graceful stop: /health answers 503 and submits are refused at once, running
   * tasks get up to timeoutMs to finish, then the HTTP server closes.
   */
  async drain(timeoutMs: number = SERVER_DEFAULTS.drainTimeoutMs): Promise<void> {
    this.ctx.isDraining = true;
    await this.ctx.runtime.drain?.(timeoutMs);
    await this.close();
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    this.purgeTimer?.cancel();
    this.ctx.faults.stopLoopProbe();
    await this.app.close();
  }
}
