// Where a pool's task log lines go: the store (appendTaskLog), batched per task. Lines
// printed in the same turn of the event loop are written together, so a chatty handler
// costs one store write per turn, not one per line. Logs are best effort: a line still
// buffered when the process dies is lost, and a store error is reported, never thrown.
import type { TaskLogLine } from '../core/index.ts';
import type { Store } from '../store/index.ts';

export class TaskLogSink {
  private readonly store: Store;
  private readonly onError: (err: unknown, doing: string) => void;
  private pending = new Map<string, TaskLogLine[]>();
  private isScheduled = false;
  private writing: Promise<void> = Promise.resolve();

  constructor(store: Store, onError: (err: unknown, doing: string) => void) {
    this.store = store;
    this.onError = onError;
  }

  add(taskId: string, line: TaskLogLine): void {
    let lines = this.pending.get(taskId);
    if (!lines) this.pending.set(taskId, (lines = []));
    lines.push(line);
    if (this.isScheduled) return;
    this.isScheduled = true;
    queueMicrotask(() => void this.flush());
  }

  /** Writes what is buffered; settles once every write so far has landed (or failed and been reported). */
  flush(): Promise<void> {
    this.isScheduled = false;
    const batch = this.pending;
    this.pending = new Map();
    const writes = [...batch].map(([taskId, lines]) =>
      this.store.appendTaskLog(taskId, lines).catch((err) => this.onError(err, `keeping ${lines.length} log line(s) of task ${taskId}`)),
    );
    this.writing = Promise.all([this.writing, ...writes]).then(() => undefined);
    return this.writing;
  }
}
