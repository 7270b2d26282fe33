// The house rules on imports (STYLE.md §1): rooms import each other only through their
// door (index.ts), imports flow one way toward core, the graph has no cycles, and the
// pure rooms (policies, sim) do no I/O and read no clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const src = join(root, 'src');

/** Which rooms each room may import (besides itself). */
const ALLOWED: Record<string, string[]> = {
  core: [],
  policies: ['core'],
  sim: ['core', 'policies'],
  store: ['core'],
  pools: ['core', 'store'],
  autoscaler: ['core', 'policies', 'store', 'pools'],
  webhooks: ['core'],
  alerts: ['core', 'store', 'pools', 'webhooks'],
  callbacks: ['core', 'store', 'webhooks'],
  cluster: ['core', 'policies', 'store', 'pools', 'autoscaler'],
  schedules: ['core', 'store'],
  mcp: [],
  server: ['core', 'autoscaler', 'store', 'policies', 'pools', 'mcp', 'cluster', 'schedules'],
  cli: ['core', 'policies', 'sim', 'store', 'pools', 'autoscaler', 'server', 'alerts', 'webhooks', 'callbacks', 'mcp', 'cluster', 'schedules', '(root)'],
  '(root)': ['core', 'policies', 'sim', 'store', 'pools', 'autoscaler', 'server', 'cluster', 'schedules'],
};

function listTs(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...listTs(p));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

function roomOf(file: string): string {
  const rel = relative(src, file).split(sep);
  return rel.length === 1 ? '(root)' : rel[0];
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs: string[] = [];
  const re = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
  for (let m; (m = re.exec(text)); ) specs.push(m[1] ?? m[2]);
  return specs;
}

const files = listTs(src);
const graph = new Map<string, string[]>();
for (const f of files) {
  graph.set(
    f,
    importsOf(f)
      .filter((s) => s.startsWith('.'))
      .map((s) => resolve(dirname(f), s)),
  );
}

test('rooms import only the rooms the house style allows, and only through their door', () => {
  const problems: string[] = [];
  for (const [file, deps] of graph) {
    const from = roomOf(file);
    for (const dep of deps) {
      const to = roomOf(dep);
      if (to === from) continue;
      if (!(ALLOWED[from] ?? []).includes(to)) problems.push(`${relative(root, file)} imports ${to} (${relative(root, dep)})`);
      const rel = relative(join(src, to), dep);
      if (to !== '(root)' && rel !== 'index.ts') problems.push(`${relative(root, file)} bypasses ${to}'s door: ${relative(root, dep)}`);
    }
  }
  assert.deepEqual(problems, []);
});

test('the source import graph has no cycles', () => {
  const state = new Map<string, 'visiting' | 'done'>();
  const cycles: string[] = [];
  const visit = (f: string, path: string[]) => {
    if (state.get(f) === 'done') return;
    if (state.get(f) === 'visiting') {
      cycles.push([...path.slice(path.indexOf(f)), f].map((p) => relative(root, p)).join(' -> '));
      return;
    }
    state.set(f, 'visiting');
    for (const d of graph.get(f) ?? []) if (graph.has(d)) visit(d, [...path, f]);
    state.set(f, 'done');
  };
  for (const f of graph.keys()) visit(f, []);
  // Type-only imports cannot cycle at run time, but a cycle still tangles the rooms.
  assert.deepEqual(cycles, []);
});

test('policies and the simulator do no I/O and read no clock', () => {
  const problems: string[] = [];
  const banned = [/from\s+['"]node:/, /\bDate\.now\(/, /\bnew Date\(/, /\bsetTimeout\(/, /\bsetInterval\(/, /\bperformance\.now\(/, /\bprocess\./, /\bMath\.random\(/];
  for (const f of files) {
    const room = roomOf(f);
    if (room !== 'policies' && room !== 'sim') continue;
    const text = readFileSync(f, 'utf8').replace(/\/\/.*$/gm, '').replace(/\/\*[\s\S]*?\*\//g, '');
    for (const re of banned) if (re.test(text)) problems.push(`${relative(root, f)} uses ${re.source}`);
  }
  assert.deepEqual(problems, []);
});

test('only core/clock reads the wall clock or arms timers', () => {
  const problems: string[] = [];
  const banned = [/\bDate\.now\(/, /\bsetTimeout\(/, /\bsetInterval\(/];
  for (const f of files) {
    if (relative(src, f) === join('core', 'clock.ts')) continue;
    const text = readFileSync(f, 'utf8').replace(/\/\/.*$/gm, '').replace(/\/\*[\s\S]*?\*\//g, '');
    for (const re of banned) if (re.test(text)) problems.push(`${relative(root, f)} uses ${re.source}`);
  }
  assert.deepEqual(problems, []);
});
