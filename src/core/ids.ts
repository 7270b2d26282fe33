// Identifiers: time-ordered task ids (so ids sort roughly by creation) and random tokens.
import { randomBytes, randomUUID } from 'node:crypto';

let lastMs = 0;
let counter = 0;

/** A 26-char id: 12 hex chars of epoch ms, 4 of a per-ms counter, 10 random. Sorts by creation time within a process. */
export function newTaskId(nowMs: number): string {
  if (nowMs === lastMs) counter++;
  else {
    lastMs = nowMs;
    counter = 0;
  }
  return (
    Math.max(0, Math.floor(nowMs)).toString(16).padStart(12, '0') +
    (counter & 0xffff).toString(16).padStart(4, '0') +
    randomBytes(5).toString('hex')
  );
}

export function newToken(): string {
  return randomUUID();
}

export function newWorkerId(pool: string, n: number): string {
  return `${pool}-${n}-${randomBytes(3).toString('hex')}`;
}
