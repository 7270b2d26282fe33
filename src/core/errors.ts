// The error classes every room throws. Each carries a stable `code`; one table maps
// codes to HTTP statuses so a caller sees the same error whatever the store is.

export type ErrorCode =
  | 'ConfigInvalid'
  | 'InvalidInput'
  | 'TaskNotFound'
  | 'TaskConflict'
  | 'LeaseLost'
  | 'QueueFull'
  | 'RateLimited'
  | 'Unauthorized'
  | 'Forbidden'
  | 'PoolNotFound'
  | 'WorkerNotFound'
  | 'StoreUnavailable'
  | 'Timeout'
  | 'WorkerCrashed'
  | 'ShuttingDown'
  | 'Fenced'
  | 'ScheduleNotFound'
  | 'ScheduleConflict';

export class TidepoolError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = code;
  }
}

/** A configuration problem; `problems` lists every one found, each naming its source. */
export class ConfigInvalidError extends TidepoolError {
  readonly problems: string[];
  constructor(problems: string[]) {
    super('ConfigInvalid', `invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.problems = problems;
  }
}

export class InvalidInputError extends TidepoolError {
  constructor(message: string, options?: ErrorOptions) {
    super('InvalidInput', message, options);
  }
}

export class TaskNotFoundError extends TidepoolError {
  readonly taskId: string;
  constructor(taskId: string) {
    super('TaskNotFound', `task ${JSON.stringify(taskId)} not found`);
    this.taskId = taskId;
  }
}

/** The operation does not fit the task's status (cancel a finished task, retry a live one). */
export class TaskConflictError extends TidepoolError {
  constructor(message: string) {
    super('TaskConflict', message);
  }
}

/** The lease presented is no longer the task's lease: it expired and was taken over, or the task was cancelled. */
export class LeaseLostError extends TidepoolError {
  readonly taskId: string;
  constructor(taskId: string, detail = 'the lease expired or was taken over') {
    super('LeaseLost', `task ${taskId}: ${detail}`);
    this.taskId = taskId;
  }
}

/** Backpressure: the queue is at its maximum depth. */
export class QueueFullError extends TidepoolError {
  readonly retryAfterMs: number;
  readonly depth: number;
  readonly maxDepth: number;
  constructor(depth: number, maxDepth: number, retryAfterMs: number) {
    super('QueueFull', `queue depth ${depth} is at its maximum ${maxDepth}; retry after ${retryAfterMs} ms`);
    this.retryAfterMs = retryAfterMs;
    this.depth = depth;
    this.maxDepth = maxDepth;
  }
}

export class RateLimitedError extends TidepoolError {
  readonly retryAfterMs: number;
  constructor(retryAfterMs: number, detail = 'rate limit exceeded') {
    super('RateLimited', `${detail}; retry after ${retryAfterMs} ms`);
    this.retryAfterMs = retryAfterMs;
  }
}

export class StoreUnavailableError extends TidepoolError {
  constructor(message: string, options?: ErrorOptions) {
    super('StoreUnavailable', message, options);
  }
}

export const HTTP_STATUS_BY_CODE: Record<ErrorCode, number> = {
  ConfigInvalid: 400,
  InvalidInput: 400,
  TaskNotFound: 404,
  PoolNotFound: 404,
  WorkerNotFound: 404,
  TaskConflict: 409,
  LeaseLost: 409,
  QueueFull: 429,
  RateLimited: 429,
  Unauthorized: 401,
  Forbidden: 403,
  StoreUnavailable: 503,
  ShuttingDown: 503,
  Fenced: 409,
  ScheduleNotFound: 404,
  ScheduleConflict: 409,
  Timeout: 504,
  WorkerCrashed: 502,
};

export function isTidepoolError(err: unknown): err is TidepoolError {
  return err instanceof TidepoolError;
}

/**
 * A write carried a fencing token that is no longer current: the lease it names changed
 * hands (or lapsed) since the writer acquired it. A paused old leader's writes end here.
 */
export class FencedError extends TidepoolError {
  readonly lease: string;
  readonly token: number;
  constructor(lease: string, token: number, detail: string) {
    super('Fenced', `lease ${JSON.stringify(lease)}: fencing token ${token} is no longer current (${detail}); the write was refused`);
    this.lease = lease;
    this.token = token;
  }
}

export class ScheduleNotFoundError extends TidepoolError {
  readonly schedule: string;
  constructor(name: string) {
    super('ScheduleNotFound', `schedule ${JSON.stringify(name)} not found`);
    this.schedule = name;
  }
}

/** A schedule of that name exists with another definition (delete it first to replace it). */
export class ScheduleConflictError extends TidepoolError {
  constructor(message: string) {
    super('ScheduleConflict', message);
  }
}
