// Human output of the client commands: task details, tables of tasks and pools, the
// scaling event list and the `top` screen (in the spirit of seed 004's statistics print).

export function describeTask(t: any): string {
  return `${t.id} (${t.type}) status ${t.status}, attempt ${t.attempts}/${t.maxAttempts}`;
}

/** What a `submit --wait` waited for: the result or the error, or that it has not ended yet. */
export function outcomeLines(t: any): string {
  if (t.status === 'succeeded') return `\nresult    ${JSON.stringify(t.result ?? null)}`;
  if (t.status === 'dead') return `\nerror     ${t.error?.code ? `${t.error.code}: ` : ''}${t.error?.message ?? '(none recorded)'}`;
  if (t.status === 'cancelled') return '';
  return `\nnot finished within the wait; follow it with: tidepool status ${t.id} --wait MS`;
}

/** `unserved: 3 tasks of types no pool serves: "x" (3)`, or '' when there are none. */
export function unservedLine(u: { tasks: number; types: Record<string, number> } | undefined): string {
  if (!u || u.tasks === 0) return '';
  return `\nunserved: ${u.tasks} task${u.tasks === 1 ? '' : 's'} of types no pool serves: ${Object.entries(u.types).map(([t, n]) => `${JSON.stringify(t)} (${n})`).join(', ')}`;
}

function iso(ms: number | null): string {
  return ms === null || ms === undefined ? '-' : new Date(ms).toISOString();
}

export function taskDetail(t: any): string {
  const lines = [
    `task      ${t.id}`,
    `type      ${t.type}`,
    `status    ${t.status}`,
    `tenant    ${t.tenant}`,
    `attempts  ${t.attempts}/${t.maxAttempts}`,
    `priority  ${t.priority}`,
    `created   ${iso(t.createdAtMs)}`,
    `runAt     ${iso(t.runAtMs)}`,
    `started   ${iso(t.startedAtMs)}`,
    `finished  ${iso(t.finishedAtMs)}`,
  ];
  if (t.result !== null) lines.push(`result    ${JSON.stringify(t.result)}`);
  if (t.error) lines.push(`error     ${t.error.code ? `${t.error.code}: ` : ''}${t.error.message}`);
  return lines.join('\n');
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export function taskTable(tasks: any[]): string {
  if (tasks.length === 0) return '(no tasks)';
  return table(
    ['ID', 'TYPE', 'STATUS', 'ATTEMPTS', 'PRIORITY', 'CREATED'],
    tasks.map((t) => [t.id, t.type, t.status, `${t.attempts}/${t.maxAttempts}`, String(t.priority), iso(t.createdAtMs)]),
  );
}

export function policyLabel(p: any): string {
  return p.preset ? `${p.policy}/${p.preset}` : p.policy;
}

export function poolTable(pools: any[]): string {
  if (pools.length === 0) return '(no pools)';
  return table(
    ['POOL', 'STATUS', 'CURRENT', 'TARGET', 'MIN..MAX', 'BUSY', 'IDLE', 'QUEUE', 'P95 WAIT', 'POLICY'],
    pools.map((p) => [p.name, p.status, String(p.current), String(p.target), `${p.min}..${p.max}`, String(p.busy), String(p.idle), String(p.queueDepth), `${Math.round(p.waitMs.p95)} ms`, policyLabel(p)]),
  );
}

export function nodeTable(nodes: any[]): string {
  if (nodes.length === 0) return '(no nodes)';
  const rows: string[][] = [];
  for (const n of nodes) {
    const pools = n.pools.map((p: any) => `${p.name} ${p.current}${p.share === null ? '' : `/${p.share}`}`).join(', ') || '-';
    rows.push([`${n.id}${n.self ? ' (this)' : ''}`, n.leader ? 'leader' : 'follower', n.host, n.region ?? '-', n.version, iso(n.startedAtMs), `${iso(n.lastSeenMs)}`, pools]);
  }
  return table(['NODE', 'ROLE', 'HOST', 'REGION', 'VERSION', 'STARTED', 'LAST SEEN', 'POOLS (current/share)'], rows);
}

export function eventList(events: any[]): string {
  if (events.length === 0) return '(no scaling events in the range)';
  return events.map((e) => `${iso(e.atMs)}  ${e.pool}  ${e.action.padEnd(10)} ${e.from} -> ${e.to}  [${e.code}] ${e.reason}  (${e.policy})`).join('\n');
}

/** The live view, in the spirit of seed 004's statistics print. */
export function topScreen(view: { pools: any[]; health: any; recentEvents: any[] }, url: string, nowMs: number): string {
  const bar = '='.repeat(60);
  const out = [bar, `Tidepool ${url}   health ${view.health.status}   ${iso(nowMs)}`, bar, ''];
  for (const p of view.pools) {
    out.push(`Pool ${p.name} [${p.status}]  workers ${p.current} -> target ${p.target} (${p.min}..${p.max})  policy ${policyLabel(p)}`);
    out.push(`  queue ${p.queueDepth}   busy ${p.busy}  idle ${p.idle}  starting ${p.starting}  draining ${p.draining}   utilization ${(p.utilization * 100).toFixed(0)}%`);
    out.push(`  wait p50 ${Math.round(p.waitMs.p50)} ms  p95 ${Math.round(p.waitMs.p95)} ms   run p95 ${Math.round(p.runMs.p95)} ms   ${p.throughputPerMin.toFixed(0)}/min   success ${(p.successRate * 100).toFixed(1)}%`);
    for (const w of p.workers.slice(0, 12)) out.push(`    • ${w.id}: ${w.status.padEnd(8)} | ${w.tasksDone} done${w.taskId ? ` | on ${w.taskId}` : ''}`);
    if (p.workers.length > 12) out.push(`    ... and ${p.workers.length - 12} more workers`);
    out.push('');
  }
  if (view.pools.length === 0) out.push('(no pools)', '');
  if (view.health.reasons?.length) out.push(`Health: ${view.health.reasons.join('; ')}`, '');
  out.push('Recent scaling events:');
  if (view.recentEvents.length === 0) out.push('  (none in the last hour)');
  for (const e of view.recentEvents) out.push(`  ${iso(e.atMs)} ${e.pool} ${e.from} -> ${e.to} [${e.code}] ${e.reason}`);
  out.push(bar);
  return out.join('\n');
}

/** One schedule on a line (`tidepool schedules add`). */
export function scheduleLine(s: any): string {
  return `${s.name}: ${JSON.stringify(s.cron)} in ${s.timezone} submits ${s.type} (tenant ${s.tenant}, catch-up ${s.catchUp}); next run ${s.nextRunMs === null ? 'never' : iso(s.nextRunMs)}`;
}

export function scheduleTable(schedules: any[]): string {
  if (schedules.length === 0) return '(no schedules)';
  return table(
    ['NAME', 'CRON', 'TIMEZONE', 'TYPE', 'NEXT RUN', 'LAST TICK', 'CATCH-UP', 'TENANT', 'SOURCE'],
    schedules.map((s) => [s.name, s.cron, s.timezone, s.type, s.nextRunMs === null ? 'never' : iso(s.nextRunMs), s.lastTickMs === null ? '-' : iso(s.lastTickMs), s.catchUp, s.tenant, s.source]),
  );
}
