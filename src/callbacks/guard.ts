// Where completion callbacks may go. A callback URL is chosen by whoever submits a task,
// so the server must not become their way into its own network (SSRF): a URL is refused
// when its host is, or resolves to, a private, loopback, link-local, unique-local,
// multicast or otherwise special-purpose address, unless `callbacks.allowPrivateHosts`
// allows it (a host name as written in the URL, an address, or a CIDR range).
//
// The check runs at submit (a clear 400 naming callbackUrl) and again at every delivery,
// inside the connection's own DNS lookup (`lookup`), so the address checked is the one
// connected to: a name that resolves somewhere public at submit and to 127.0.0.1 later
// (DNS rebinding) is refused then too.
import { BlockList, isIP } from 'node:net';
import type { LookupFunction } from 'node:net';
import { lookup as dnsLookup } from 'node:dns/promises';
import { TASK_LIMITS } from '../core/index.ts';
import { RefusedAddressError } from '../webhooks/index.ts';

/** The longest callback URL taken, characters. */
export const MAX_CALLBACK_URL_CHARS = TASK_LIMITS.maxCallbackUrlChars;

// IANA special-purpose ranges a callback has no business reaching (RFC 6890 and successors).
const SPECIAL_V4: ReadonlyArray<[string, number]> = [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local (cloud metadata at 169.254.169.254)
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation
  ['203.0.113.0', 24], // documentation
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, and 255.255.255.255
];
const SPECIAL_V6: ReadonlyArray<[string, number]> = [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['64:ff9b:1::', 48], // local-use NAT64
  ['100::', 64], // discard
  ['2001:db8::', 32], // documentation
  ['fc00::', 7], // unique-local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
];

function specialRanges(): BlockList {
  const list = new BlockList();
  for (const [net, bits] of SPECIAL_V4) list.addSubnet(net, bits, 'ipv4');
  for (const [net, bits] of SPECIAL_V6) list.addSubnet(net, bits, 'ipv6');
  return list;
}

const SPECIAL = specialRanges();

/** `[::1]` -> `::1`; host names lower-cased, without a trailing dot. */
function bareHost(hostname: string): string {
  const h = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  return h.toLowerCase().replace(/\.$/, '');
}

function family(address: string): 'ipv4' | 'ipv6' | null {
  const v = isIP(address);
  return v === 4 ? 'ipv4' : v === 6 ? 'ipv6' : null;
}

/** Parses one allowPrivateHosts entry; a message saying what is wrong with it, or the rule. */
function parseAllowEntry(entry: string): { kind: 'host'; host: string } | { kind: 'net'; net: string; bits: number; type: 'ipv4' | 'ipv6' } | { problem: string } {
  const text = entry.trim();
  const slash = text.indexOf('/');
  if (slash >= 0) {
    const net = bareHost(text.slice(0, slash));
    const type = family(net);
    const bitsText = text.slice(slash + 1);
    const bits = Number(bitsText);
    const maxBits = type === 'ipv4' ? 32 : 128;
    if (!type || !/^\d+$/.test(bitsText) || bits > maxBits) return { problem: `${JSON.stringify(entry)} is not a CIDR range (e.g. 10.0.0.0/8 or fd00::/8)` };
    return { kind: 'net', net, bits, type };
  }
  const host = bareHost(text);
  const type = family(host);
  if (type) return { kind: 'net', net: host, bits: type === 'ipv4' ? 32 : 128, type };
  if (!/^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/.test(host)) return { problem: `${JSON.stringify(entry)} is neither a host name, an IP address nor a CIDR range` };
  return { kind: 'host', host };
}

/** The problems of an allowPrivateHosts list (for config validation), empty when it is fine. */
export function allowListProblems(entries: readonly string[]): string[] {
  return entries.flatMap((e) => {
    const r = parseAllowEntry(e);
    return 'problem' in r ? [r.problem] : [];
  });
}

export type Resolve = (host: string) => Promise<Array<{ address: string; family: number }>>;

export interface CallbackGuardOptions {
  /** Hosts, addresses and CIDR ranges allowed although private (callbacks.allowPrivateHosts). */
  allowPrivateHosts?: readonly string[];
  /** Resolves a host name to every address (default: node:dns lookup with all: true). */
  resolve?: Resolve;
}

export class CallbackGuard {
  private readonly hosts = new Set<string>();
  private readonly allowed = new BlockList();
  private readonly resolve: Resolve;

  constructor(o: CallbackGuardOptions = {}) {
    for (const entry of o.allowPrivateHosts ?? []) {
      const rule = parseAllowEntry(entry);
      if ('problem' in rule) throw new Error(`callbacks.allowPrivateHosts: ${rule.problem}`);
      if (rule.kind === 'host') this.hosts.add(rule.host);
      else this.allowed.addSubnet(rule.net, rule.bits, rule.type);
    }
    this.resolve = o.resolve ?? ((host) => dnsLookup(host, { all: true, verbatim: true }));
  }

  /** Why this address may not be reached, or null when it may. */
  addressProblem(address: string): string | null {
    const type = family(address);
    if (!type) return `${address} is not an IP address`;
    if (!SPECIAL.check(address, type) || this.allowed.check(address, type)) return null;
    return `${address} is a private, loopback, link-local or otherwise special-purpose address (allow it with callbacks.allowPrivateHosts)`;
  }

  /**
   * Why a callback may not go to this URL (syntax, scheme, or an address it resolves to),
   * or null when it may. Resolves the host: every address it has must be allowed.
   */
  async urlProblem(url: string): Promise<string | null> {
    if (url.length > MAX_CALLBACK_URL_CHARS) return `a URL of ${url.length} characters; at most ${MAX_CALLBACK_URL_CHARS}`;
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return `${JSON.stringify(url.slice(0, 200))} is not a URL; expected an absolute http(s) URL`;
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return `scheme ${JSON.stringify(parsed.protocol.slice(0, -1))} is not allowed; expected an http(s) URL`;
    const host = bareHost(parsed.hostname);
    if (this.hosts.has(host)) return null;
    if (family(host)) return this.addressProblem(host) && `host ${host}: ${this.addressProblem(host)}`;
    let addresses: Array<{ address: string }>;
    try {
      addresses = await this.resolve(host);
    } catch (err) {
      return `host ${host} does not resolve (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
    }
    if (addresses.length === 0) return `host ${host} does not resolve`;
    for (const a of addresses) {
      const problem = this.addressProblem(a.address);
      if (problem) return `host ${host} resolves to ${problem}`;
    }
    return null;
  }

  /**
   * At delivery: why the URL's host, when it is an IP address, may not be reached (null when
   * it may, or when it is a name: names are checked by `lookup` as the connection resolves
   * them; node does not call a lookup for an address).
   */
  literalProblem(url: string): string | null {
    let host: string;
    try {
      host = bareHost(new URL(url).hostname);
    } catch {
      return 'not a valid URL';
    }
    if (!family(host) || this.hosts.has(host)) return null;
    const problem = this.addressProblem(host);
    return problem && `host ${host}: ${problem}`;
  }

  /**
   * A connection lookup for node:http(s) that resolves the host itself and refuses (with
   * RefusedAddressError) when any address is not allowed; an allowed host name skips the check.
   */
  readonly lookup: LookupFunction = (hostname, options, callback) => {
    const host = bareHost(hostname);
    const all = (options as { all?: boolean }).all === true;
    const answer = (addresses: Array<{ address: string; family: number }>) => {
      if (all) (callback as unknown as (err: null, list: Array<{ address: string; family: number }>) => void)(null, addresses);
      else callback(null, addresses[0]!.address, addresses[0]!.family);
    };
    const literal = family(host);
    if (literal) {
      const problem = this.hosts.has(host) ? null : this.addressProblem(host);
      if (problem) callback(new RefusedAddressError(`refused: ${problem}`), '', 0);
      else answer([{ address: host, family: literal === 'ipv4' ? 4 : 6 }]);
      return;
    }
    this.resolve(host).then(
      (addresses) => {
        if (addresses.length === 0) return callback(Object.assign(new Error(`host ${host} does not resolve`), { code: 'ENOTFOUND' }), '', 0);
        if (!this.hosts.has(host)) {
          for (const a of addresses) {
            const problem = this.addressProblem(a.address);
            if (problem) return callback(new RefusedAddressError(`refused: host ${host} resolves to ${problem}`), '', 0);
          }
        }
        answer(addresses);
      },
      (err: Error) => callback(err as NodeJS.ErrnoException, '', 0),
    );
  };
}
