// Runs every benchmark case in bench/*.bench.ts and prints one JSON line per result.
// Usage: npm run bench [-- FILTER...] [--check]
//   FILTER  runs only cases whose name contains one of the words (e.g. `pickup`, `sqlite`).
//   --check exits non-zero when a result has `ok: false` (a ratio below its target).
// Human notes go to stderr; stdout carries only JSON lines.
import { readdirSync } from 'node:fs';
import { execSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

export interface BenchCase {
  /** kebab-case, filterable, e.g. `drain-sqlite`. */
  name: string;
  /** Returns one or more result objects (name, unit, runs, median, ... ratio, ok). */
  run(): Promise<Record<string, unknown>[]>;
}

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const check = args.includes('--check');
const filters = args.filter((a) => !a.startsWith('--'));

function commit(): string {
  try {
    return execSync('git rev-parse --short HEAD', { cwd: here, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return 'unknown';
  }
}

const files = readdirSync(here).filter((f) => f.endsWith('.bench.ts')).sort();
let failed = false;
const meta = { node: process.versions.node, commit: commit() };
for (const file of files) {
  const mod = (await import(pathToFileURL(join(here, file)).href)) as { cases: BenchCase[] };
  for (const c of mod.cases) {
    if (filters.length && !filters.some((f) => c.name.includes(f))) continue;
    process.stderr.write(`bench: ${c.name} ...\n`);
    const results = await c.run();
    for (const r of results) {
      process.stdout.write(JSON.stringify({ ...r, ...meta }) + '\n');
      if (r.ok === false) failed = true;
    }
  }
}
if (check && failed) process.exitCode = 1;
