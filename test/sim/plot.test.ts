// `tidepool simulate --plot`: every dot of the Pareto view gets its own label, none
// covering another label or dot (policies within a decade of wait used to share one
// label drawn beside the wrong dot), and `--plot x.png` writes a real PNG or is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate, placeLabels, plotOption, runPolicy, paretoScale, type LabelBox as Box } from '../../src/sim/index.ts';
import type { CompareRow } from '../../src/sim/index.ts';

const MAIN = join(import.meta.dirname, '../../src/cli/main.ts');
const overlap = (a: Box, b: Box) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;

test('every dot gets its own label, and no label covers another label or another dot', () => {
  // A crowd: four policies on almost one spot (the seeds' at their bounds), two within a decade.
  const dots = [
    { x: 300, y: 100, text: 'threshold (0.0%)' },
    { x: 302, y: 104, text: 'queue-latency (0.0%)' },
    { x: 298, y: 98, text: 'ratio (0.0%)' },
    { x: 305, y: 101, text: 'percent (0.0%)' },
    { x: 500, y: 200, text: 'hpa (99.1%)' },
    { x: 506, y: 214, text: 'fixed:9 (100.0%)' },
  ];
  const area = { x: 80, y: 40, w: 1100, h: 300 };
  const labels = placeLabels(dots, area);
  assert.equal(labels.length, dots.length);
  labels.forEach((l, i) => {
    assert.equal(l.text, dots[i]!.text, 'label i names dot i');
    assert.deepEqual(l.dot, { x: dots[i]!.x, y: dots[i]!.y });
    for (let j = 0; j < labels.length; j++) if (j !== i) assert.ok(!overlap(l.box, labels[j]!.box), `${l.text} overlaps ${labels[j]!.text}`);
    for (const d of dots) assert.ok(!overlap(l.box, { x: d.x - 7, y: d.y - 7, w: 14, h: 14 }), `${l.text} covers the dot of ${d.text}`);
    const far = Math.hypot(l.box.x + l.box.w / 2 - l.dot.x, l.box.y + l.box.h / 2 - l.dot.y) > l.box.w / 2 + 20;
    if (far) assert.ok(l.hasLeader, `${l.text} sits away from its dot and has a leader line`);
  });
});

test('the Pareto view draws one label per policy at the pixel position of its own dot', () => {
  const workload = generate('spike', { seed: 2 });
  const rows: CompareRow[] = ['fixed:9', 'fixed:10', 'hpa', 'keda', 'adaptive'].map((policy) => {
    const r = runPolicy(workload, { name: policy, sloMs: 2000, startupMs: 1000, intervalMs: 1000 });
    return { policy, figures: r.figures, error: null, run: r.run };
  });
  const tl = rows.find((r) => r.policy === 'adaptive')!.run!;
  const option = plotOption({ rows, timeline: tl.timeline, timelinePolicy: 'adaptive', sloMs: 2000, workloadName: 'spike' }) as {
    graphic: { elements: { type: string; x?: number; y?: number; style: { text?: string } }[] };
  };
  const texts = option.graphic.elements.filter((e) => e.type === 'text');
  assert.equal(texts.length, rows.length);
  const scale = paretoScale(rows.map((r) => [r.figures!.costRatio, Math.max(0.01, r.figures!.p95WaitMs / 1000)]), 2);
  for (const r of rows) {
    const t = texts.find((e) => e.style.text!.startsWith(`${r.policy} (`));
    assert.ok(t, `a label names ${r.policy}`);
    const at = scale.toPx([r.figures!.costRatio, Math.max(0.01, r.figures!.p95WaitMs / 1000)]);
    assert.ok(Math.hypot(t!.x! - at.x, t!.y! - at.y) < 400, `${r.policy}'s label is near its own dot`);
  }
});

const hasRsvg = spawnSync('rsvg-convert', ['--version']).status === 0;

test('--plot x.png writes a real PNG, and an extension it cannot write is refused', { skip: hasRsvg ? false : 'rsvg-convert (librsvg2-bin) is not installed' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'tidepool-plot-'));
  try {
    const png = join(dir, 'x.png');
    const r = spawnSync(process.execPath, [MAIN, 'simulate', '--scenario', 'spike', '--seed', '2', '--compare', '--plot', png], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const head = readFileSync(png).subarray(0, 8);
    assert.deepEqual([...head], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature, not SVG text');
    const jpg = spawnSync(process.execPath, [MAIN, 'simulate', '--scenario', 'spike', '--compare', '--plot', join(dir, 'x.jpg')], { encoding: 'utf8' });
    assert.equal(jpg.status, 2);
    assert.match(jpg.stderr, /--plot: got ".*x\.jpg"; expected a file ending in \.svg, or \.png \(drawn with rsvg-convert\)/);
    assert.equal(existsSync(join(dir, 'x.jpg')), false);
    const noRsvg = spawnSync(process.execPath, [MAIN, 'simulate', '--scenario', 'spike', '--compare', '--plot', join(dir, 'y.png')], { encoding: 'utf8', env: { ...process.env, PATH: '/nonexistent' } });
    assert.equal(noRsvg.status, 2);
    assert.match(noRsvg.stderr, /a PNG needs rsvg-convert \(Debian\/Ubuntu: apt-get install librsvg2-bin\), which is not on PATH; write an SVG instead/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
