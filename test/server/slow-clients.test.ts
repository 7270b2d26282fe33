// Slow and stalled clients (issue 8, item 12): headers that never finish, bodies that
// never finish (even after a refusal) and idle keep-alive connections are timed out
// and their sockets closed, with a 408 in the API's error shape, while an answer the
// server holds on purpose (?wait) is not cut. The tests await the server closing each
// socket (an event), with short timeouts configured; nothing sleeps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { parseApiKeys } from '../../src/server/index.ts';
import { startServer } from './helpers.ts';

const KEY = 'slow-client-key-0001';

/** Opens a socket, writes `text`, and resolves with all it read once the server closes it. */
function openStalled(url: string, text: string): { socket: Socket; closed: Promise<string> } {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  let data = '';
  const closed = new Promise<string>((resolve) => {
    socket.on('data', (c) => (data += c.toString('latin1')));
    socket.on('close', () => resolve(data));
    socket.on('error', () => undefined);
  });
  socket.write(text);
  return { socket, closed };
}

function statusAndBody(raw: string): { status: number; body: any } {
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0);
  const text = raw.slice(raw.indexOf('\r\n\r\n') + 4);
  try {
    return { status, body: JSON.parse(text) };
  } catch {
    return { status, body: text };
  }
}

test('headers that never finish and bodies that never finish get a 408 in the error shape and their sockets closed; a held ?wait answer is not cut', async () => {
  const s = await startServer({ apiKeys: parseApiKeys(`a=${KEY}`, 'test'), headersTimeoutMs: 1000, requestTimeoutMs: 2000, idleTimeoutMs: 60_000 });
  try {
    const task = await s.call('POST', '/v1/tasks', { key: KEY, body: { type: 'held' } });
    assert.equal(task.status, 201);
    const held = s.call('GET', `/v1/tasks/${task.body.id}?wait=60000`, { key: KEY });

    const stalled = [
      ...Array.from({ length: 50 }, () => openStalled(s.url, 'POST /v1/tasks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ' + KEY + '\r\n')),
      ...Array.from({ length: 50 }, () => openStalled(s.url, `POST /v1/tasks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${KEY}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"type":"slow",`)),
      ...Array.from({ length: 20 }, () => openStalled(s.url, '')),
    ];
    const answers = await Promise.all(stalled.map((x) => x.closed));
    for (const raw of answers) {
      const { status, body } = statusAndBody(raw);
      assert.equal(status, 408, raw.slice(0, 200));
      assert.equal(body.error.code, 'RequestTimeout');
      assert.equal(typeof body.error.message, 'string');
    }
    // Every stalled socket was closed by the server, yet the held answer is still coming.
    await s.call('POST', `/v1/tasks/${task.body.id}/cancel`, { key: KEY });
    const answer = await held;
    assert.equal(answer.status, 200);
    assert.equal(answer.body.status, 'cancelled');
    assert.equal((await s.store.counts()).byType.slow, undefined, 'no half-sent task was stored');
    assert.equal((await s.call('GET', '/health')).status, 200);
  } finally {
    await s.close();
  }
});

test('a refusal sent before the body arrived (401, 413) closes the socket at once instead of waiting for a body that may never come', async () => {
  // A long request timeout: only the refusal itself can close these sockets before the test's own timeout.
  const s = await startServer({ apiKeys: parseApiKeys(`a=${KEY}`, 'test'), requestTimeoutMs: 600_000, headersTimeoutMs: 600_000, bodyLimitBytes: 2048 });
  try {
    const refusals = [
      ...Array.from({ length: 30 }, () => openStalled(s.url, 'POST /v1/tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"type":')),
      ...Array.from({ length: 10 }, () => openStalled(s.url, 'POST /v1/tasks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong-key-123456789\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{')),
      ...Array.from({ length: 10 }, () => openStalled(s.url, `POST /v1/tasks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${KEY}\r\nContent-Type: application/json\r\nContent-Length: 999999999\r\n\r\n{`)),
    ];
    const answers = await Promise.all(refusals.map((x) => x.closed));
    const statuses = answers.map((raw) => statusAndBody(raw).status);
    assert.deepEqual([...new Set(statuses)].sort(), [401, 413]);
    for (const raw of answers) assert.match(raw, /\r\nconnection: close\r\n/i);
  } finally {
    await s.close();
  }
});

test('an idle keep-alive connection is closed after server.idleTimeoutMs', async () => {
  const s = await startServer({ idleTimeoutMs: 200 });
  try {
    const { closed } = openStalled(s.url, 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
    const raw = await closed;
    assert.equal(statusAndBody(raw).status, 200, 'the request was answered, then the idle connection closed');
    assert.doesNotMatch(raw, /connection: close/i, 'closed by the idle timeout, not by the answer');
  } finally {
    await s.close();
  }
});
