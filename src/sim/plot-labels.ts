// Places one label per dot of the `--plot` Pareto view so that no label covers another
// label or another dot: each label is tried beside its dot (right, left, above, below),
// then further out on rings of growing distance, and the first free spot wins. A label
// set away from its dot gets a leader line back to it. Pure: positions in pixels.

export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface Dot {
  x: number;
  y: number;
  text: string;
}

export interface PlacedLabel {
  text: string;
  /** The dot the label belongs to. */
  dot: { x: number; y: number };
  box: Box;
  /** True when the label sits away from its dot and a line joins them. */
  hasLeader: boolean;
}

export interface LabelStyle {
  /** Width of one character, an upper estimate for the font (px). */
  charWidthPx: number;
  lineHeightPx: number;
  dotRadiusPx: number;
}

export const LABEL_STYLE: LabelStyle = { charWidthPx: 6.4, lineHeightPx: 14, dotRadiusPx: 7 };

function overlaps(a: Box, b: Box, marginPx = 1): boolean {
  return a.x < b.x + b.w + marginPx && b.x < a.x + a.w + marginPx && a.y < b.y + b.h + marginPx && b.y < a.y + a.h + marginPx;
}

function inside(a: Box, area: Box): boolean {
  return a.x >= area.x && a.y >= area.y && a.x + a.w <= area.x + area.w && a.y + a.h <= area.y + area.h;
}

/** Candidate boxes around a dot, nearest first. */
function candidates(d: Dot, w: number, h: number, r: number): { box: Box; isNear: boolean }[] {
  const gap = r + 5;
  const out: { box: Box; isNear: boolean }[] = [
    { box: { x: d.x + gap, y: d.y - h / 2, w, h }, isNear: true },
    { box: { x: d.x - gap - w, y: d.y - h / 2, w, h }, isNear: true },
    { box: { x: d.x - w / 2, y: d.y - gap - h, w, h }, isNear: true },
    { box: { x: d.x - w / 2, y: d.y + gap, w, h }, isNear: true },
  ];
  for (let ring = 1; ring <= 12; ring++) {
    const dy = ring * (h + 2);
    const dx = gap + ring * 14;
    for (const [x, y] of [
      [d.x + gap, d.y - h / 2 - dy],
      [d.x + gap, d.y - h / 2 + dy],
      [d.x + dx, d.y - h / 2],
      [d.x - gap - w, d.y - h / 2 - dy],
      [d.x - gap - w, d.y - h / 2 + dy],
      [d.x - dx - w, d.y - h / 2],
      [d.x + dx, d.y - h / 2 - dy],
      [d.x + dx, d.y - h / 2 + dy],
    ] as const) {
      out.push({ box: { x, y, w, h }, isNear: false });
    }
  }
  return out;
}

/** One label per dot, none overlapping another label or dot, all inside `area` when there is room. */
export function placeLabels(dots: readonly Dot[], area: Box, style: LabelStyle = LABEL_STYLE): PlacedLabel[] {
  const r = style.dotRadiusPx;
  const dotBoxes = dots.map((d) => ({ x: d.x - r, y: d.y - r, w: 2 * r, h: 2 * r }));
  const placed: PlacedLabel[] = new Array(dots.length);
  // Top to bottom, then left to right: the same input always gives the same picture.
  const order = dots.map((_, i) => i).sort((a, b) => dots[a]!.y - dots[b]!.y || dots[a]!.x - dots[b]!.x || a - b);
  const taken: Box[] = [];
  for (const i of order) {
    const d = dots[i]!;
    const w = Math.ceil(d.text.length * style.charWidthPx) + 4;
    const h = style.lineHeightPx;
    const options = candidates(d, w, h, r);
    const isFree = (b: Box) => inside(b, area) && !taken.some((t) => overlaps(t, b)) && !dotBoxes.some((o) => overlaps(o, b));
    // With no free spot at all (a very crowded plot), take the one overlapping least.
    const choice =
      options.find((c) => isFree(c.box)) ??
      options
        .filter((c) => inside(c.box, area))
        .map((c) => ({ c, hits: taken.filter((t) => overlaps(t, c.box)).length + dotBoxes.filter((o) => overlaps(o, c.box)).length }))
        .sort((a, b) => a.hits - b.hits)[0]?.c ??
      options[0]!;
    taken.push(choice.box);
    placed[i] = { text: d.text, dot: { x: d.x, y: d.y }, box: choice.box, hasLeader: !choice.isNear };
  }
  return placed;
}

/** The point of a box nearest to p (where a leader line meets the label). */
export function nearestPointOf(box: Box, p: { x: number; y: number }): { x: number; y: number } {
  return { x: Math.min(box.x + box.w, Math.max(box.x, p.x)), y: Math.min(box.y + box.h, Math.max(box.y, p.y)) };
}
