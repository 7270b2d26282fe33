// Builds the echarts option for `tidepool simulate --plot`: a Pareto view of every
// policy (p95 wait against cost) and, for one policy, workers (ready and starting),
// queue depth and the window p95 wait over time. Pure: the CLI renders it to SVG.
import type { Timeline } from './engine.ts';
import type { CompareRow } from './compare.ts';

export const PLOT_WIDTH_PX = 1200;
export const PLOT_HEIGHT_PX = 1060;

/** Keeps at most `points` samples, taking the maximum inside each bucket so peaks stay visible. */
function downsample(t: number[], v: number[], points: number): [number, number][] {
  const n = t.length;
  const step = Math.max(1, Math.ceil(n / points));
  const out: [number, number][] = [];
  for (let i = 0; i < n; i += step) {
    let m = v[i];
    for (let j = i + 1; j < Math.min(n, i + step); j++) if (v[j] > m) m = v[j];
    out.push([t[i] / 60_000, m]);
  }
  return out;
}

export function plotOption(args: { rows: CompareRow[]; timeline: Timeline; timelinePolicy: string; sloMs: number; workloadName: string }): Record<string, unknown> {
  const { rows, timeline, sloMs } = args;
  const points = rows.filter((r) => r.figures).map((r) => ({
    name: r.policy,
    value: [r.figures!.costRatio, Math.max(0.01, r.figures!.p95WaitMs / 1000)],
    attainment: r.figures!.sloAttainment,
  }));
  // Policies that land on almost the same spot (the seeds' at their bounds) would print
  // their labels over each other: the first of a cluster carries one line per policy in it.
  const xs = points.map((p) => p.value[0]);
  const xSpan = Math.max(1e-9, Math.max(...xs) - Math.min(...xs));
  const leaders: { x: number; y: number; lines: string[] }[] = [];
  const leaderOf = points.map((p) => {
    const x = p.value[0] / xSpan;
    const y = Math.log10(p.value[1]);
    const line = `${p.name} (${(p.attainment * 100).toFixed(1)}%)`;
    const near = leaders.find((l) => Math.abs(l.x - x) < 0.1 && Math.abs(l.y - y) < 1);
    if (near) {
      near.lines.push(line);
      return null;
    }
    const leader = { x, y, lines: [line] };
    leaders.push(leader);
    return leader;
  });
  const series: Record<string, unknown>[] = points.map((p, i) => ({
    name: p.name,
    type: 'scatter',
    xAxisIndex: 0,
    yAxisIndex: 0,
    symbolSize: 14,
    data: [p.value],
    label: { show: leaderOf[i] !== null, position: 'right', formatter: leaderOf[i]?.lines.join('\n') ?? '', fontSize: 11 },
  }));
  series.push({
    name: `p95 wait target ${sloMs / 1000} s`,
    type: 'line',
    xAxisIndex: 0,
    yAxisIndex: 0,
    data: [],
    markLine: { silent: true, symbol: 'none', lineStyle: { type: 'dashed', color: '#c23531' }, data: [{ yAxis: sloMs / 1000 }], label: { formatter: `target ${sloMs / 1000} s` } },
  });
  const maxPts = 1500;
  series.push(
    { name: 'ready workers', type: 'line', xAxisIndex: 1, yAxisIndex: 1, showSymbol: false, step: 'end', stack: 'w', areaStyle: { opacity: 0.5 }, data: downsample(timeline.tMs, timeline.ready, maxPts) },
    { name: 'starting workers', type: 'line', xAxisIndex: 1, yAxisIndex: 1, showSymbol: false, step: 'end', stack: 'w', areaStyle: { opacity: 0.5 }, data: downsample(timeline.tMs, timeline.starting, maxPts) },
    { name: 'queue depth', type: 'line', xAxisIndex: 2, yAxisIndex: 2, showSymbol: false, data: downsample(timeline.tMs, timeline.queueDepth, maxPts) },
    {
      name: 'p95 wait (60 s window)',
      type: 'line',
      xAxisIndex: 3,
      yAxisIndex: 3,
      showSymbol: false,
      data: downsample(timeline.tMs, timeline.p95WaitMs.map((x) => x / 1000), maxPts),
      markLine: { silent: true, symbol: 'none', lineStyle: { type: 'dashed', color: '#c23531' }, data: [{ yAxis: sloMs / 1000 }], label: { formatter: 'target', position: 'insideEndTop' } },
    },
  );
  const tl = args.timelinePolicy;
  const axisName = (name: string) => ({ name, nameLocation: 'middle', nameGap: 26 });
  return {
    animation: false,
    backgroundColor: '#ffffff',
    title: [
      { text: `Policies on ${args.workloadName}: p95 wait vs cost (lower left is better)`, left: 'center', top: 5, textStyle: { fontSize: 15 } },
      { text: `${tl}: workers over time`, left: 'center', top: 392, textStyle: { fontSize: 13 } },
      { text: `${tl}: queue depth (tasks waiting)`, left: 'center', top: 612, textStyle: { fontSize: 13 } },
      { text: `${tl}: p95 wait of tasks started in the last 60 s`, left: 'center', top: 832, textStyle: { fontSize: 13 } },
    ],
    legend: [{ top: 392, right: 40, itemGap: 24, data: ['ready workers', 'starting workers'] }],
    tooltip: {},
    grid: [
      { left: 80, right: 220, top: 45, height: 290 },
      { left: 80, right: 40, top: 425, height: 135 },
      { left: 80, right: 40, top: 645, height: 135 },
      { left: 80, right: 40, top: 865, height: 135 },
    ],
    xAxis: [
      { gridIndex: 0, type: 'value', scale: true, ...axisName('cost ratio (worker-seconds / busy-seconds; 1.0 = no idle time)') },
      { gridIndex: 1, type: 'value', ...axisName('time (minutes)'), min: 0 },
      { gridIndex: 2, type: 'value', ...axisName('time (minutes)'), min: 0 },
      { gridIndex: 3, type: 'value', ...axisName('time (minutes)'), min: 0 },
    ],
    yAxis: [
      { gridIndex: 0, type: 'log', logBase: 10, name: 'p95 wait (s, log scale; 0 drawn at 0.01)', nameLocation: 'middle', nameGap: 50 },
      { gridIndex: 1, type: 'value', name: 'workers', nameLocation: 'middle', nameGap: 50 },
      { gridIndex: 2, type: 'value', name: 'tasks queued', nameLocation: 'middle', nameGap: 50 },
      { gridIndex: 3, type: 'value', name: 'wait (s)', nameLocation: 'middle', nameGap: 50 },
    ],
    series,
  };
}
