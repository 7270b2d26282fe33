// Builds the echarts option for `tidepool simulate --plot`: a Pareto view of every
// policy (p95 wait against cost) and, for one policy, workers (ready and starting),
// queue depth and the window p95 wait over time. Pure: the CLI renders it to SVG.
import type { Timeline } from './engine.ts';
import type { CompareRow } from './compare.ts';
import { nearestPointOf, placeLabels, type PlacedLabel } from './plot-labels.ts';

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
  // Fixed axis ranges make every dot's pixel position known here, so each dot gets its
  // own label, placed where it covers no other label or dot (plot-labels.ts).
  const scale = paretoScale(points.map((p) => p.value), sloMs / 1000);
  const labels = placeLabels(
    points.map((p) => ({ ...scale.toPx(p.value), text: `${p.name} (${(p.attainment * 100).toFixed(1)}%)` })),
    { x: PARETO_GRID.left, y: PARETO_GRID.top - 8, w: PLOT_WIDTH_PX - PARETO_GRID.left - 8, h: PARETO_GRID.height + 16 },
  );
  const series: Record<string, unknown>[] = points.map((p) => ({
    name: p.name,
    type: 'scatter',
    xAxisIndex: 0,
    yAxisIndex: 0,
    symbolSize: 14,
    data: [p.value],
    label: { show: false },
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
      { left: PARETO_GRID.left, right: PARETO_GRID.right, top: PARETO_GRID.top, height: PARETO_GRID.height },
      { left: 80, right: 40, top: 425, height: 135 },
      { left: 80, right: 40, top: 645, height: 135 },
      { left: 80, right: 40, top: 865, height: 135 },
    ],
    xAxis: [
      { gridIndex: 0, type: 'value', min: scale.xMin, max: scale.xMax, ...axisName('cost ratio (worker-seconds / busy-seconds; 1.0 = no idle time)') },
      { gridIndex: 1, type: 'value', ...axisName('time (minutes)'), min: 0 },
      { gridIndex: 2, type: 'value', ...axisName('time (minutes)'), min: 0 },
      { gridIndex: 3, type: 'value', ...axisName('time (minutes)'), min: 0 },
    ],
    yAxis: [
      { gridIndex: 0, type: 'log', logBase: 10, min: scale.yMin, max: scale.yMax, name: 'p95 wait (s, log scale; 0 drawn at 0.01)', nameLocation: 'middle', nameGap: 50 },
      { gridIndex: 1, type: 'value', name: 'workers', nameLocation: 'middle', nameGap: 50 },
      { gridIndex: 2, type: 'value', name: 'tasks queued', nameLocation: 'middle', nameGap: 50 },
      { gridIndex: 3, type: 'value', name: 'wait (s)', nameLocation: 'middle', nameGap: 50 },
    ],
    series,
    graphic: { elements: labels.flatMap(labelElements) },
  };
}

/** Where the Pareto view sits (px): the labels are placed in it and the margin to its right. */
export const PARETO_GRID = { left: 80, right: 220, top: 45, height: 290 } as const;

/** Axis ranges of the Pareto view and the pixel position of a [cost, p95 s] point in it. */
export function paretoScale(values: readonly (readonly number[])[], targetS: number) {
  const xs = values.map((v) => v[0]!);
  const ys = [...values.map((v) => v[1]!), targetS];
  const lo = xs.length ? Math.min(...xs) : 1;
  const hi = xs.length ? Math.max(...xs) : 2;
  const pad = Math.max(0.05, (hi - lo) * 0.06);
  const xMin = Math.floor((lo - pad) * 10) / 10;
  const xMax = Math.ceil((hi + pad) * 10) / 10;
  const yMin = 10 ** Math.floor(Math.log10(Math.min(...ys)));
  let yMax = 10 ** Math.ceil(Math.log10(Math.max(...ys)));
  if (yMax <= yMin) yMax = yMin * 10;
  const width = PLOT_WIDTH_PX - PARETO_GRID.left - PARETO_GRID.right;
  const toPx = (v: readonly number[]) => ({
    x: PARETO_GRID.left + ((v[0]! - xMin) / (xMax - xMin)) * width,
    y: PARETO_GRID.top + PARETO_GRID.height * (1 - (Math.log10(v[1]!) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))),
  });
  return { xMin, xMax, yMin, yMax, toPx };
}

/** A placed label as echarts graphic elements: its text, and a leader line when it sits away from its dot. */
function labelElements(l: PlacedLabel): Record<string, unknown>[] {
  const text = { type: 'text', x: l.box.x + 2, y: l.box.y + 1, silent: true, style: { text: l.text, fontSize: 11, fill: '#333', align: 'left', verticalAlign: 'top' } };
  if (!l.hasLeader) return [text];
  const end = nearestPointOf(l.box, l.dot);
  return [{ type: 'line', silent: true, shape: { x1: l.dot.x, y1: l.dot.y, x2: end.x, y2: end.y }, style: { stroke: '#999', lineWidth: 1 } }, text];
}
