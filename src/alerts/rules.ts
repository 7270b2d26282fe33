// Alert rules: pure evaluation of each pool's stats over time. `AlertRules.evaluate`
// takes one snapshot of every pool and the time, and returns what fired or resolved
// since the previous call; the state between calls lives in the instance. Names of
// rules are a contract (they go into webhook payloads and the event log):
//   pool_health        a pool's health changed (healthy / degraded / unhealthy)
//   slo_breach         window p95 wait above the pool's sloMs for N evaluations in a row
//   backlog_growing    the queue depth has not fallen for backlogGrowingMs and grew over it
//   dead_tasks         tasks ending dead faster than deadPerMinute
//   worker_crash_loop  workers die before (or soon after) ready: respawn backoff growing
import type { PoolStats } from '../core/index.ts';

export const ALERT_RULES = ['pool_health', 'slo_breach', 'backlog_growing', 'dead_tasks', 'worker_crash_loop'] as const;
export type AlertRule = (typeof ALERT_RULES)[number];

export interface AlertSettings {
  /** Consecutive evaluations with p95 wait above sloMs before slo_breach fires. */
  sloBreachEvaluations: number;
  /** How long the queue must keep growing before backlog_growing fires, ms. */
  backlogGrowingMs: number;
  /** Dead tasks per minute (over the last minute) above which dead_tasks fires. */
  deadPerMinute: number;
}

export const ALERT_DEFAULTS: AlertSettings = { sloBreachEvaluations: 3, backlogGrowingMs: 300_000, deadPerMinute: 10 };

export interface AlertTransition {
  rule: AlertRule;
  pool: string;
  state: 'firing' | 'resolved';
  severity: 'warning' | 'critical';
  atMs: number;
  /** One sentence with the numbers. */
  message: string;
  /** The figure the rule looked at (p95 ms, depth, dead/min, health level, backoff ms). */
  value: number;
}

interface PoolMemory {
  health: PoolStats['health'];
  sloAbove: number;
  /** Since when the depth has not fallen, and the depth then. */
  growSinceMs: number | null;
  growFromDepth: number;
  lastDepth: number;
  /** (atMs, dead count) samples over the last minute. */
  dead: Array<[number, number]>;
  firing: Map<AlertRule, AlertTransition>;
}

const HEALTH_LEVEL = { healthy: 0, degraded: 1, unhealthy: 2 } as const;

export interface PoolAlertInput {
  stats: PoolStats;
  /** The pool's p95 wait target; undefined: slo_breach is off for it. */
  sloMs?: number;
}

export class AlertRules {
  private readonly settings: AlertSettings;
  private readonly pools = new Map<string, PoolMemory>();

  constructor(settings: Partial<AlertSettings> = {}) {
    this.settings = { ...ALERT_DEFAULTS, ...settings };
  }

  /** Alerts firing now, per pool and rule. */
  firing(): AlertTransition[] {
    return [...this.pools.values()].flatMap((m) => [...m.firing.values()]);
  }

  evaluate(inputs: readonly PoolAlertInput[], nowMs: number): AlertTransition[] {
    const out: AlertTransition[] = [];
    for (const { stats, sloMs } of inputs) {
      let m = this.pools.get(stats.name);
      if (!m) {
        m = { health: 'healthy', sloAbove: 0, growSinceMs: null, growFromDepth: 0, lastDepth: stats.queueDepth, dead: [], firing: new Map() };
        this.pools.set(stats.name, m);
      }
      const set = (rule: AlertRule, isOn: boolean, fire: () => Omit<AlertTransition, 'rule' | 'pool' | 'state' | 'atMs'>, resolveMessage: string, resolveValue: number) => {
        const was = m!.firing.get(rule);
        if (isOn) {
          const t = { rule, pool: stats.name, state: 'firing' as const, atMs: nowMs, ...fire() };
          // A rule that stays on fires once; pool_health fires again when the level changes.
          if (!was || (rule === 'pool_health' && was.value !== t.value)) {
            m!.firing.set(rule, t);
            out.push(t);
          }
        } else if (was) {
          m!.firing.delete(rule);
          out.push({ rule, pool: stats.name, state: 'resolved', severity: was.severity, atMs: nowMs, message: resolveMessage, value: resolveValue });
        }
      };

      // pool_health
      const level = HEALTH_LEVEL[stats.health];
      set(
        'pool_health',
        level > 0,
        () => ({
          severity: stats.health === 'unhealthy' ? 'critical' : 'warning',
          value: level,
          message: `pool ${stats.name} is ${stats.health}${stats.healthReasons.length ? `: ${stats.healthReasons.join('; ')}` : ''}`,
        }),
        `pool ${stats.name} is healthy again`,
        0,
      );
      m.health = stats.health;

      // slo_breach
      const p95 = stats.waitMs.p95;
      if (sloMs !== undefined && stats.waitMs.count > 0 && p95 > sloMs) m.sloAbove += 1;
      else m.sloAbove = 0;
      const n = this.settings.sloBreachEvaluations;
      set(
        'slo_breach',
        sloMs !== undefined && m.sloAbove >= n,
        () => ({ severity: 'critical', value: p95, message: `pool ${stats.name}: p95 wait ${Math.round(p95)} ms above its SLO of ${sloMs} ms for ${m!.sloAbove} evaluations` }),
        `pool ${stats.name}: p95 wait ${Math.round(p95)} ms is within its SLO of ${sloMs} ms`,
        p95,
      );

      // backlog_growing: the depth never fell since growSinceMs and is higher than then.
      const depth = stats.queueDepth;
      const hasFallen = depth === 0 || depth < m.lastDepth;
      if (hasFallen) {
        m.growSinceMs = depth === 0 ? null : nowMs;
        m.growFromDepth = depth;
      } else if (m.growSinceMs === null) {
        m.growSinceMs = nowMs;
        m.growFromDepth = depth;
      }
      m.lastDepth = depth;
      const growingFor = m.growSinceMs === null ? 0 : nowMs - m.growSinceMs;
      const isGrowing = m.growSinceMs !== null && growingFor >= this.settings.backlogGrowingMs && depth > m.growFromDepth;
      set(
        'backlog_growing',
        // Once firing, it holds until the depth falls.
        isGrowing || (m.firing.has('backlog_growing') && !hasFallen),
        () => ({ severity: 'warning', value: depth, message: `pool ${stats.name}: queue depth grew from ${m!.growFromDepth} to ${depth} over ${Math.round(growingFor / 1000)} s without falling` }),
        `pool ${stats.name}: queue depth is falling (${depth})`,
        depth,
      );

      // dead_tasks: dead count over the last minute.
      m.dead.push([nowMs, stats.failed]);
      while (m.dead.length > 1 && nowMs - m.dead[1]![0] >= 60_000) m.dead.shift();
      const [firstAt, firstDead] = m.dead[0]!;
      const spanMs = Math.max(nowMs - firstAt, 1);
      const deadPerMin = ((stats.failed - firstDead) * 60_000) / Math.max(spanMs, 60_000);
      set(
        'dead_tasks',
        deadPerMin > this.settings.deadPerMinute,
        () => ({ severity: 'critical', value: deadPerMin, message: `pool ${stats.name}: ${deadPerMin.toFixed(1)} tasks/min ending dead (above ${this.settings.deadPerMinute}/min)` }),
        `pool ${stats.name}: dead tasks back to ${deadPerMin.toFixed(1)}/min`,
        deadPerMin,
      );

      // worker_crash_loop: the respawn backoff grows only while workers die before or soon after ready.
      const backoff = stats.respawnBackoffMs ?? 0;
      set(
        'worker_crash_loop',
        backoff > 0 && (stats.crashes + stats.startFailures) >= 3,
        () => ({ severity: 'critical', value: backoff, message: `pool ${stats.name}: workers keep dying before they are ready (${stats.crashes} crashes, ${stats.startFailures} failed starts; next respawn in ${backoff} ms)` }),
        `pool ${stats.name}: workers start and stay up again`,
        0,
      );
    }
    return out;
  }
}
