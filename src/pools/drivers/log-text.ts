// Turns ctx.log(...args) into one log line, the way console.log formats its arguments
// (util.format: strings as is, objects inspected), cut to MAX_LOG_LINE_CHARS.
import { format } from 'node:util';
import { TASK_LOG_MAX_LINE_CHARS } from '../../core/index.ts';

/** Longest log line kept, in characters; a longer one is cut and ends with "… (N chars cut)". */
export const MAX_LOG_LINE_CHARS = TASK_LOG_MAX_LINE_CHARS;

export function formatLogArgs(args: readonly unknown[]): string {
  let text: string;
  try {
    text = format(...args);
  } catch (err) {
    text = `(log arguments could not be formatted: ${(err as Error).message})`;
  }
  return capLogLine(text);
}

export function capLogLine(text: string): string {
  if (text.length <= MAX_LOG_LINE_CHARS) return text;
  return `${text.slice(0, MAX_LOG_LINE_CHARS)}… (${text.length - MAX_LOG_LINE_CHARS} chars cut)`;
}
