// The LISTEN side of the PostgreSQL store: one dedicated connection subscribed to the
// store's channel, so an idle worker in any process hears a commit within milliseconds
// without polling. When the connection drops (server restart, pg_terminate_backend,
// network), it reconnects with capped exponential backoff and LISTENs again, then calls
// `onReconnect` so the store can tell its pools to look again (a NOTIFY sent while
// nobody listened is lost, not queued).
//
// States: connecting -> listening (LISTEN done) -> waiting (dropped; reconnect timer)
//         -> connecting ...; any -> closed (close()).
import pg from 'pg';
import type { ClientConfig } from 'pg';
import { systemClock } from '../../core/index.ts';
import type { TimerHandle } from '../../core/index.ts';
import { quoteIdent } from './migrate.ts';

const FIRST_RETRY_MS = 50;
const MAX_RETRY_MS = 2_000;

type ListenerState = 'connecting' | 'listening' | 'waiting' | 'closed';

export class ChannelListener {
  private client: pg.Client | null = null;
  private state: ListenerState = 'connecting';
  private retryMs = FIRST_RETRY_MS;
  private timer: TimerHandle | null = null;
  private hasListened = false;

  private readonly config: ClientConfig;
  private readonly channel: string;
  private readonly onPayload: (payload: string) => void;
  private readonly onReconnect: () => void;
  private readonly onError: (err: Error) => void;

  constructor(
    config: ClientConfig,
    channel: string,
    onPayload: (payload: string) => void,
    onReconnect: () => void,
    onError: (err: Error) => void,
  ) {
    this.config = config;
    this.channel = channel;
    this.onPayload = onPayload;
    this.onReconnect = onReconnect;
    this.onError = onError;
    void this.connect();
  }

  get isListening(): boolean {
    return this.state === 'listening';
  }

  private async connect(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'connecting';
    const client = new pg.Client(this.config);
    this.client = client;
    client.on('error', (err) => this.dropped(client, err));
    client.on('end', () => this.dropped(client, new Error('connection ended')));
    client.on('notification', (msg) => {
      if (msg.channel === this.channel && msg.payload !== undefined) this.onPayload(msg.payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${quoteIdent(this.channel)}`);
    } catch (err) {
      this.dropped(client, err as Error);
      return;
    }
    if (this.client !== client || (this.state as ListenerState) === 'closed') return;
    this.state = 'listening';
    this.retryMs = FIRST_RETRY_MS;
    if (this.hasListened) this.onReconnect();
    this.hasListened = true;
  }

  private dropped(client: pg.Client, err: Error): void {
    if (this.client !== client || this.state === 'closed' || this.state === 'waiting') return;
    this.client = null;
    client.removeAllListeners('end');
    client.on('error', () => undefined);
    client.end().catch(() => undefined);
    if (this.hasListened) this.onError(err);
    this.state = 'waiting';
    this.timer = systemClock.setTimer(() => {
      this.timer = null;
      void this.connect();
    }, this.retryMs);
    this.retryMs = Math.min(MAX_RETRY_MS, this.retryMs * 2);
  }

  async close(): Promise<void> {
    this.state = 'closed';
    this.timer?.cancel();
    const client = this.client;
    this.client = null;
    if (client) {
      client.removeAllListeners('end');
      client.on('error', () => undefined);
      await client.end().catch(() => undefined);
    }
  }
}
