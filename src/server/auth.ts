// API keys -> tenants. Keys come from a key file or TIDEPOOL_API_KEYS
// (`tenant=key,tenant=key`); requests send `Authorization: Bearer KEY`.
// With no keys configured every request is the `default` tenant.
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { ConfigInvalidError } from '../core/index.ts';

export const DEFAULT_TENANT = 'default';
const TENANT_RE = /^[A-Za-z0-9_.-]{1,100}$/;
/** Shortest key accepted, in characters. */
export const MIN_KEY_CHARS = 8;

/** Maps a key's SHA-256 to its tenant: lookups hash the presented key, so timing reveals nothing about stored keys. */
export class ApiKeys {
  private readonly byHash = new Map<string, string>();

  constructor(pairs: ReadonlyArray<{ tenant: string; key: string }>) {
    for (const { tenant, key } of pairs) this.byHash.set(hashKey(key), tenant);
  }

  get size(): number {
    return this.byHash.size;
  }

  /** The tenant a key belongs to, or null. */
  tenantOf(key: string): string | null {
    return this.byHash.get(hashKey(key)) ?? null;
  }
}

function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/**
 * Parses `tenant=key` pairs separated by commas or newlines (`#` starts a comment).
 * Every problem is collected and named with its source (e.g. `TIDEPOOL_API_KEYS (environment)`).
 */
export function parseApiKeys(text: string, source: string): Array<{ tenant: string; key: string }> {
  const problems: string[] = [];
  const pairs: Array<{ tenant: string; key: string }> = [];
  const seenKeys = new Set<string>();
  const entries = text
    .split(/[\n,]/)
    .map((e) => e.replace(/#.*$/, '').trim())
    .filter((e) => e.length > 0);
  entries.forEach((entry, i) => {
    const eq = entry.indexOf('=');
    if (eq < 0) {
      problems.push(`${source} entry ${i + 1}: got ${JSON.stringify(redact(entry))} (${entry.length} characters); expected tenant=key`);
      return;
    }
    const tenant = entry.slice(0, eq).trim();
    const key = entry.slice(eq + 1).trim();
    if (!TENANT_RE.test(tenant)) problems.push(`${source} entry ${i + 1}: tenant ${JSON.stringify(tenant)} is not 1-100 letters, digits, _ . -`);
    if (key.length < MIN_KEY_CHARS) problems.push(`${source} entry ${i + 1} (tenant ${tenant}): key has ${key.length} characters; expected at least ${MIN_KEY_CHARS}`);
    else if (seenKeys.has(key)) problems.push(`${source} entry ${i + 1} (tenant ${tenant}): the same key is given twice`);
    seenKeys.add(key);
    pairs.push({ tenant, key });
  });
  if (problems.length) throw new ConfigInvalidError(problems);
  return pairs;
}

/** Reads a key file (same format as TIDEPOOL_API_KEYS, one pair a line or comma separated). */
export function loadKeyFile(path: string): Array<{ tenant: string; key: string }> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigInvalidError([`server.apiKeysFile (${path}): cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`]);
  }
  return parseApiKeys(text, `server.apiKeysFile (${path})`);
}

/** An entry without `=` may be a bare key: show only its first characters. */
function redact(entry: string): string {
  return entry.slice(0, 3) + '...';
}

/** Extracts the key from `Authorization: Bearer KEY`, or null. */
export function bearerKey(header: string | undefined): string | null {
  if (!header) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1] : null;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost', '::ffff:127.0.0.1']);

/** True when the host only accepts connections from this machine. */
export function isLoopbackHost(host: string): boolean {
  return LOOPBACK.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);
}
