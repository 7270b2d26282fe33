// Task logs, the parts every adapter shares: checking lines at the store's edge, their
// size in bytes, and a bounded in-memory log (the memory store keeps one per task).
// The bound (TASK_LOG_MAX_BYTES of UTF-8 text per task, all attempts together) drops the
// oldest lines first; once a line was dropped the log reads `truncated: true`.
import {
  InvalidInputError,
  LOG_STREAMS,
  TASK_LOG_MAX_BYTES,
  TASK_LOG_MAX_LINE_CHARS,
  type StoredTaskLogLine,
  type TaskLogLine,
  type TaskLogPage,
} from '../../core/index.ts';

const STREAMS = new Set<string>(LOG_STREAMS);

export function logLineBytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** Refuses a malformed line naming its index and field; cuts an over-long text. */
export function checkLogLines(lines: readonly TaskLogLine[]): TaskLogLine[] {
  if (!Array.isArray(lines)) throw new InvalidInputError(`lines: got ${typeof lines}; expected a list of log lines`);
  return lines.map((l, i) => {
    if (!l || typeof l !== 'object') throw new InvalidInputError(`lines[${i}]: got ${JSON.stringify(l)}; expected {attempt, atMs, stream, text}`);
    if (!Number.isInteger(l.attempt) || l.attempt < 0) throw new InvalidInputError(`lines[${i}].attempt: got ${JSON.stringify(l.attempt)}; expected an integer >= 0`);
    if (!Number.isSafeInteger(l.atMs) || l.atMs < 0) throw new InvalidInputError(`lines[${i}].atMs: got ${JSON.stringify(l.atMs)}; expected epoch milliseconds`);
    if (!STREAMS.has(l.stream)) throw new InvalidInputError(`lines[${i}].stream: got ${JSON.stringify(l.stream)}; expected one of ${LOG_STREAMS.join(', ')}`);
    if (typeof l.text !== 'string') throw new InvalidInputError(`lines[${i}].text: got ${typeof l.text}; expected a string`);
    const text = l.text.length > TASK_LOG_MAX_LINE_CHARS ? `${l.text.slice(0, TASK_LOG_MAX_LINE_CHARS)}… (${l.text.length - TASK_LOG_MAX_LINE_CHARS} chars cut)` : l.text;
    return { attempt: l.attempt, atMs: l.atMs, stream: l.stream, text };
  });
}

export function checkAfterSeq(afterSeq: unknown): number {
  if (afterSeq === undefined) return 0;
  if (!Number.isSafeInteger(afterSeq) || (afterSeq as number) < 0) throw new InvalidInputError(`afterSeq: got ${JSON.stringify(afterSeq)}; expected an integer >= 0`);
  return afterSeq as number;
}

/** One task's log in memory, bounded by TASK_LOG_MAX_BYTES. */
export class BoundedTaskLog {
  private lines: (StoredTaskLogLine & { bytes: number })[] = [];
  private head = 0;
  private bytes = 0;
  private isTruncated = false;

  append(lines: readonly TaskLogLine[], nextSeq: () => number, maxBytes = TASK_LOG_MAX_BYTES): void {
    for (const l of lines) {
      const bytes = logLineBytes(l.text);
      this.lines.push({ ...l, seq: nextSeq(), bytes });
      this.bytes += bytes;
    }
    while (this.bytes > maxBytes && this.head < this.lines.length) {
      this.bytes -= this.lines[this.head]!.bytes;
      this.head++;
      this.isTruncated = true;
    }
    if (this.head > 1024 && this.head * 2 > this.lines.length) {
      this.lines = this.lines.slice(this.head);
      this.head = 0;
    }
  }

  read(afterSeq: number): TaskLogPage {
    const out: StoredTaskLogLine[] = [];
    for (let i = this.head; i < this.lines.length; i++) {
      const { bytes: _bytes, ...line } = this.lines[i]!;
      if (line.seq > afterSeq) out.push(line);
    }
    return { lines: out, truncated: this.isTruncated };
  }
}
