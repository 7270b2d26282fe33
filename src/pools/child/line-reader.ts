// Splits a byte stream (a child's stdout or stderr) into lines with a cap per line. A line
// past the cap is not buffered: its first `maxLineBytes` bytes are kept, the rest is
// dropped until the next newline, and the line is reported as `isOverflow` so the caller
// can fail the attempt (protocol) or mark the log line truncated (stderr). Memory stays
// bounded whatever the child writes.
import { StringDecoder } from 'node:string_decoder';

export interface Line {
  text: string;
  /** The line was longer than maxLineBytes; `text` holds its start only. */
  isOverflow: boolean;
  /** Its full length in bytes (counted even past the cap). */
  bytes: number;
}

export class LineReader {
  private readonly maxLineBytes: number;
  private readonly onLine: (line: Line) => void;
  private parts: Buffer[] = [];
  private kept = 0;
  private seen = 0;

  constructor(maxLineBytes: number, onLine: (line: Line) => void) {
    if (!Number.isInteger(maxLineBytes) || maxLineBytes < 1) throw new RangeError(`maxLineBytes: got ${maxLineBytes}; expected an integer >= 1`);
    this.maxLineBytes = maxLineBytes;
    this.onLine = onLine;
  }

  /** Feeds a chunk; complete lines are reported at once, a partial line waits for its newline. */
  push(chunk: Buffer | string): void {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    let start = 0;
    while (start < buf.length) {
      const nl = buf.indexOf(10, start);
      const end = nl < 0 ? buf.length : nl;
      this.keep(buf.subarray(start, end));
      if (nl < 0) return;
      this.emit();
      start = nl + 1;
    }
  }

  /** The stream ended: a last line without a newline is still a line. */
  end(): void {
    if (this.seen > 0) this.emit();
  }

  private keep(piece: Buffer): void {
    this.seen += piece.length;
    const room = this.maxLineBytes - this.kept;
    if (room <= 0 || piece.length === 0) return;
    const taken = piece.length <= room ? piece : piece.subarray(0, room);
    // Copy: the caller's chunk buffer may be reused by the stream.
    this.parts.push(Buffer.from(taken));
    this.kept += taken.length;
  }

  private emit(): void {
    const decoder = new StringDecoder('utf8');
    let text = '';
    for (const p of this.parts) text += decoder.write(p);
    text += decoder.end();
    if (text.endsWith('\r')) text = text.slice(0, -1);
    const line: Line = { text, isOverflow: this.seen > this.maxLineBytes, bytes: this.seen };
    this.parts = [];
    this.kept = 0;
    this.seen = 0;
    this.onLine(line);
  }
}
