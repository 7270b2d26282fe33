// Reads a trace CSV (header `arrival_ms,service_ms`, optional `tenant`, `priority`,
// `type` columns) from text into column arrays. No I/O: the CLI reads the file.
// A malformed row is rejected with its 1-based line number, the column, the value
// and what is allowed.
import { InvalidInputError } from '../core/index.ts';

/** A workload in column form: row i is task i (0-based, in trace order). */
export interface Workload {
  /** Number of tasks. */
  count: number;
  /** Arrival of each task, ms since the trace's start, non-decreasing. */
  arrivalMs: Float64Array;
  /** Service (run) time of each task, ms. */
  serviceMs: Float64Array;
  /** Priority of each task (higher first) or null when the trace has none (all equal). */
  priority: Int32Array | null;
  /** Optional string columns, kept for export and filters. */
  tenant: string[] | null;
  type: string[] | null;
}

const REQUIRED = ['arrival_ms', 'service_ms'] as const;

function isNonNegativeInteger(s: string): boolean {
  if (s.length === 0 || s.length > 15) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/**
 * Parses trace CSV text. `source` names the file in error messages.
 * Throws InvalidInputError: `trace.csv line 418: arrival_ms "12a" is not a non-negative integer`.
 */
export function parseTrace(text: string, source = 'trace'): Workload {
  const lines = (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text).split('\n');
  const header = (lines[0] ?? '').replace(/\r$/, '').trim();
  const cols = header.split(',').map((c) => c.trim());
  for (const name of REQUIRED) {
    if (!cols.includes(name)) {
      throw new InvalidInputError(
        `${source} line 1: header ${JSON.stringify(header)} lacks column ${name}; expected a header starting arrival_ms,service_ms`,
      );
    }
  }
  const iArrival = cols.indexOf('arrival_ms');
  const iService = cols.indexOf('service_ms');
  const iPriority = cols.indexOf('priority');
  const iTenant = cols.indexOf('tenant');
  const iType = cols.indexOf('type');
  let last = lines.length;
  while (last > 1 && lines[last - 1].trim() === '') last--;
  const n = last - 1;
  const arrivalMs = new Float64Array(n);
  const serviceMs = new Float64Array(n);
  const priority = iPriority >= 0 ? new Int32Array(n) : null;
  const tenant = iTenant >= 0 ? new Array<string>(n) : null;
  const type = iType >= 0 ? new Array<string>(n) : null;
  let prev = 0;
  for (let r = 0; r < n; r++) {
    const lineNo = r + 2;
    const line = lines[r + 1].replace(/\r$/, '');
    const f = line.split(',');
    if (f.length < cols.length) {
      throw new InvalidInputError(
        `${source} line ${lineNo}: ${f.length} fields, expected ${cols.length} (${cols.join(',')})`,
      );
    }
    const a = f[iArrival].trim();
    const s = f[iService].trim();
    if (!isNonNegativeInteger(a)) {
      throw new InvalidInputError(`${source} line ${lineNo}: arrival_ms ${JSON.stringify(a)} is not a non-negative integer`);
    }
    if (!isNonNegativeInteger(s)) {
      throw new InvalidInputError(`${source} line ${lineNo}: service_ms ${JSON.stringify(s)} is not a non-negative integer`);
    }
    const av = Number(a);
    if (av < prev) {
      throw new InvalidInputError(
        `${source} line ${lineNo}: arrival_ms ${av} is before the previous row's ${prev}; arrivals must be non-decreasing`,
      );
    }
    prev = av;
    arrivalMs[r] = av;
    serviceMs[r] = Number(s);
    if (priority) {
      const p = f[iPriority].trim();
      if (p !== '' && !/^-?\d{1,9}$/.test(p)) {
        throw new InvalidInputError(`${source} line ${lineNo}: priority ${JSON.stringify(p)} is not an integer`);
      }
      priority[r] = p === '' ? 0 : Number(p);
    }
    if (tenant) tenant[r] = f[iTenant].trim();
    if (type) type[r] = f[iType].trim();
  }
  return { count: n, arrivalMs, serviceMs, priority: hasVaryingPriority(priority) ? priority : null, tenant, type };
}

function hasVaryingPriority(p: Int32Array | null): boolean {
  if (!p || p.length === 0) return false;
  for (let i = 1; i < p.length; i++) if (p[i] !== p[0]) return true;
  return false;
}

/** Formats a workload as trace CSV text (used by generators' export and by trace export). */
export function formatTrace(w: Workload): string {
  const extra: string[] = [];
  if (w.tenant) extra.push('tenant');
  if (w.priority) extra.push('priority');
  if (w.type) extra.push('type');
  const out: string[] = [['arrival_ms', 'service_ms', ...extra].join(',')];
  for (let i = 0; i < w.count; i++) {
    let line = `${w.arrivalMs[i]},${w.serviceMs[i]}`;
    if (w.tenant) line += ',' + w.tenant[i];
    if (w.priority) line += ',' + w.priority[i];
    if (w.type) line += ',' + w.type[i];
    out.push(line);
  }
  return out.join('\n') + '\n';
}
