// The alert loop of `tidepool start`: every alerts.intervalMs it hands each pool's stats
// to the rules, and sends each firing and resolution to the webhooks (signed, retried),
// into the event log (a scaling event with action `none` and code `alert_firing:<rule>`
// or `alert_resolved:<rule>`, so `GET /v1/events`, `tidepool events` and the dashboard
// show it) and to the log.
import type { Clock, TimerHandle } from '../core/index.ts';
import type { Pool } from '../pools/index.ts';
import type { Store } from '../store/index.ts';
import { AlertRules } from './rules.ts';
import type { AlertSettings, AlertTransition } from './rules.ts';
import { WebhookSender, redactWebhookUrl } from '../webhooks/index.ts';
import type { DeliveryOutcome, WebhookTarget } from '../webhooks/index.ts';

export interface AlertMonitorOptions {
  clock: Clock;
  store: Pick<Store, 'recordScalingEvent'>;
  pools: () => readonly Pool[];
  /** The pool's p95 wait target by pool name (pools without one: no slo_breach). */
  sloMs: (pool: string) => number | undefined;
  webhooks: readonly WebhookTarget[];
  intervalMs: number;
  settings?: Partial<AlertSettings>;
  log?: (line: string) => void;
  /** Tests: what each delivery ended with. */
  onDelivered?: (outcome: DeliveryOutcome, alert: AlertTransition) => void;
  sender?: WebhookSender;
  /** In a cluster: this node's id, sent with each alert (every node alerts on its own workers). */
  node?: string;
}

/** The JSON a webhook receives. */
export function alertPayload(a: AlertTransition, node?: string) {
  return { kind: 'alert', alert: a.rule, state: a.state, severity: a.severity, pool: a.pool, atMs: a.atMs, message: a.message, value: a.value, ...(node !== undefined ? { node } : {}) };
}

export class AlertMonitor {
  readonly rules: AlertRules;
  private readonly sender: WebhookSender;
  private timer: TimerHandle | null = null;
  private stopped = false;

  private readonly o: AlertMonitorOptions;

  constructor(o: AlertMonitorOptions) {
    this.o = o;
    this.rules = new AlertRules(o.settings);
    this.sender = o.sender ?? new WebhookSender({ clock: o.clock });
  }

  start(): void {
    const tick = () => {
      if (this.stopped) return;
      void this.evaluate().finally(() => {
        if (!this.stopped) this.timer = this.o.clock.setTimer(tick, this.o.intervalMs);
      });
    };
    this.timer = this.o.clock.setTimer(tick, this.o.intervalMs);
  }

  /** One evaluation (the loop calls it; tests may too). */
  async evaluate(): Promise<AlertTransition[]> {
    const now = this.o.clock.now();
    const inputs = this.o.pools().map((p) => {
      const stats = p.stats();
      const sloMs = this.o.sloMs(stats.name);
      return sloMs === undefined ? { stats } : { stats, sloMs };
    });
    const out = this.rules.evaluate(inputs, now);
    for (const a of out) {
      this.o.log?.(`alert ${a.state}: ${a.rule} (${a.severity}): ${a.message}`);
      await this.o.store
        .recordScalingEvent({ atMs: a.atMs, pool: a.pool, from: 0, to: 0, action: 'none', code: `alert_${a.state}:${a.rule}`, reason: this.o.node !== undefined ? `${a.message} (node ${this.o.node})` : a.message, policy: 'alerts' })
        .catch((err: Error) => this.o.log?.(`alerts: could not record the event: ${err.message}`));
      for (const target of this.o.webhooks) {
        void this.sender.send(target, alertPayload(a, this.o.node)).then((outcome) => {
          if (!outcome.ok) this.o.log?.(`alerts: webhook ${redactWebhookUrl(target.url)} failed after ${outcome.attempts} attempts (${outcome.status ?? outcome.error})`);
          this.o.onDelivered?.(outcome, a);
        });
      }
    }
    return out;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    await this.sender.close(2000);
  }
}
