// Where a callback may go: private, loopback, link-local, unique-local and other
// special-purpose addresses are refused (as literals and as what a name resolves to, at
// submit and again inside the delivery's own connection), unless allowPrivateHosts
// allows the host, the address or its range.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CallbackGuard, allowListProblems } from '../../src/callbacks/index.ts';
import type { Resolve } from '../../src/callbacks/index.ts';
import { postSigned } from '../../src/webhooks/index.ts';
import { startReceiver } from './receiver.ts';

const ADDRESSES: Array<{ name: string; address: string; isRefused: boolean }> = [
  { name: 'loopback v4', address: '127.0.0.1', isRefused: true },
  { name: 'loopback v4, elsewhere in 127/8', address: '127.8.9.10', isRefused: true },
  { name: 'private 10/8', address: '10.1.2.3', isRefused: true },
  { name: 'private 172.16/12', address: '172.31.255.1', isRefused: true },
  { name: 'just outside 172.16/12', address: '172.32.0.1', isRefused: false },
  { name: 'private 192.168/16', address: '192.168.1.1', isRefused: true },
  { name: 'link-local (cloud metadata)', address: '169.254.169.254', isRefused: true },
  { name: 'carrier-grade NAT', address: '100.64.0.1', isRefused: true },
  { name: 'unspecified v4', address: '0.0.0.0', isRefused: true },
  { name: 'multicast v4', address: '224.0.0.1', isRefused: true },
  { name: 'broadcast', address: '255.255.255.255', isRefused: true },
  { name: 'public v4', address: '93.184.215.14', isRefused: false },
  { name: 'loopback v6', address: '::1', isRefused: true },
  { name: 'unspecified v6', address: '::', isRefused: true },
  { name: 'unique-local v6', address: 'fd12:3456::1', isRefused: true },
  { name: 'link-local v6', address: 'fe80::1', isRefused: true },
  { name: 'IPv4-mapped loopback', address: '::ffff:127.0.0.1', isRefused: true },
  { name: 'IPv4-mapped private, hex form', address: '::ffff:a00:1', isRefused: true },
  { name: 'public v6', address: '2606:4700::1111', isRefused: false },
];

for (const row of ADDRESSES) {
  test(`address ${row.address} (${row.name}) is ${row.isRefused ? 'refused' : 'allowed'}`, () => {
    const problem = new CallbackGuard().addressProblem(row.address);
    if (row.isRefused) assert.match(problem ?? '', /private, loopback, link-local or otherwise special-purpose address \(allow it with callbacks.allowPrivateHosts\)/);
    else assert.equal(problem, null);
  });
}

/** A resolver that answers from a table (the guard's DNS seam; the names are made up). */
const table = (answers: Record<string, string[]>): Resolve => async (host) => {
  const list = answers[host];
  if (!list) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
  return list.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
};

test('a URL is refused for its scheme, its literal host, or any address its name resolves to', async () => {
  const guard = new CallbackGuard({ resolve: table({ 'hooks.example': ['93.184.215.14'], 'mixed.example': ['93.184.215.14', '10.0.0.5'] }) });
  assert.equal(await guard.urlProblem('https://hooks.example/done'), null);
  assert.equal(await guard.urlProblem('http://93.184.215.14:8080/x'), null);
  assert.equal(await guard.urlProblem('ftp://hooks.example/'), 'scheme "ftp" is not allowed; expected an http(s) URL');
  assert.match((await guard.urlProblem('http://127.0.0.1:9/x'))!, /^host 127\.0\.0\.1: 127\.0\.0\.1 is a private, loopback/);
  assert.match((await guard.urlProblem('http://[::1]/x'))!, /^host ::1: ::1 is a private, loopback/);
  assert.match((await guard.urlProblem('http://mixed.example/x'))!, /^host mixed\.example resolves to 10\.0\.0\.5 is a private/);
  assert.equal(await guard.urlProblem('http://nowhere.example/x'), 'host nowhere.example does not resolve (ENOTFOUND)');
  assert.match((await guard.urlProblem('not a url'))!, /is not a URL; expected an absolute http\(s\) URL/);
});

test('localhost is refused through the real resolver', async () => {
  assert.match((await new CallbackGuard().urlProblem('http://localhost:7700/hook'))!, /^host localhost resolves to (127\.0\.0\.1|::1) is a private, loopback/);
});

test('allowPrivateHosts allows a host name as written, an address, or a CIDR range, and nothing else', async () => {
  const guard = new CallbackGuard({ allowPrivateHosts: ['localhost', '10.0.0.0/8', 'fd00::/8', '192.168.1.7'], resolve: table({ 'build.internal': ['10.4.5.6'], 'db.internal': ['172.20.0.3'] }) });
  assert.equal(await guard.urlProblem('http://LOCALHOST:7700/x'), null);
  assert.equal(await guard.urlProblem('http://build.internal/x'), null);
  assert.equal(await guard.urlProblem('http://10.255.0.1/x'), null);
  assert.equal(await guard.urlProblem('http://[fd00::7]/x'), null);
  assert.equal(await guard.urlProblem('http://192.168.1.7/x'), null);
  assert.match((await guard.urlProblem('http://192.168.1.8/x'))!, /private/);
  assert.match((await guard.urlProblem('http://db.internal/x'))!, /^host db\.internal resolves to 172\.20\.0\.3/);
  assert.match((await guard.urlProblem('http://127.0.0.1/x'))!, /private/);
});

test('a bad allowPrivateHosts entry is named', () => {
  assert.deepEqual(allowListProblems(['10.0.0.0/33', 'exa mple', 'ok.example', '::1']), [
    '"10.0.0.0/33" is not a CIDR range (e.g. 10.0.0.0/8 or fd00::/8)',
    '"exa mple" is neither a host name, an IP address nor a CIDR range',
  ]);
  assert.throws(() => new CallbackGuard({ allowPrivateHosts: ['1.2.3.4/99'] }), /callbacks\.allowPrivateHosts: "1\.2\.3\.4\/99" is not a CIDR range/);
});

test('the connection lookup refuses a name that resolves to a private address at delivery time (DNS rebinding), without retrying', async () => {
  const r = await startReceiver();
  try {
    let answer = '93.184.215.14';
    const guard = new CallbackGuard({ resolve: async () => [{ address: answer, family: 4 }] });
    const port = new URL(r.url).port;
    assert.equal(await guard.urlProblem(`http://rebind.example:${port}/hook`), null, 'at submit the name looked public');
    answer = '127.0.0.1'; // the receiver's real address: a post would reach it
    const outcome = await postSigned({ url: `http://rebind.example:${port}/hook`, secret: 'x'.repeat(16) }, '{}', { atMs: 1, timeoutMs: 5000, lookup: guard.lookup });
    assert.equal(outcome.ok, false);
    assert.equal(outcome.isRetryable, false);
    assert.match(outcome.error ?? '', /^refused: host rebind\.example resolves to 127\.0\.0\.1 is a private/);
    assert.equal(r.got.length, 0, 'nothing reached the private address');
    // The same lookup lets an allowed host through to the same receiver.
    const allowing = new CallbackGuard({ allowPrivateHosts: ['rebind.example'], resolve: async () => [{ address: '127.0.0.1', family: 4 }] });
    const ok = await postSigned({ url: `http://rebind.example:${port}/hook`, secret: 'x'.repeat(16) }, '{}', { atMs: 1, timeoutMs: 5000, lookup: allowing.lookup });
    assert.equal(ok.ok, true);
    assert.equal(r.got.length, 1);
  } finally {
    await r.close();
  }
});
