// Task rows of the SQLite store: the shared SQL row mapping and id scheme
// (shared/task-rows.ts), with the id SQLite keeps in its own column.
import type { ClaimedTask, Task } from '../../core/index.ts';
import { claimedFromColumns, taskFromColumns } from '../shared/task-rows.ts';
import type { TaskRow } from './sql.ts';

export { formatId, idKey, newIdTail } from '../shared/task-rows.ts';

export function toTask(row: TaskRow): Task {
  return taskFromColumns(row, row.id);
}

export function toClaimed(row: TaskRow): ClaimedTask {
  return claimedFromColumns(row, row.id);
}
