// Flag parsing shared by every command: util.parseArgs, plus the two things it does
// not do on its own. A negative number is the value of the string flag before it
// (`--priority -3`, `--min -1` is then refused by the range check, not as an
// "ambiguous argument"), and an instant flag takes epoch ms, an ISO date-time or a
// date alone (`--from 2026-12-03` is that day's midnight UTC).
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;

const NEGATIVE_NUMBER = /^-\d+(?:\.\d+)?$/;

/**
 * Rewrites `--flag -3` as `--flag=-3` for string flags, so parseArgs reads -3 as the
 * value; every other argument passes through unchanged.
 */
export function joinNegativeValues(args: readonly string[], options: Options): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const next = args[i + 1];
    const m = /^--([^=]+)$/.exec(a);
    if (m && options[m[1]!]?.type === 'string' && next !== undefined && NEGATIVE_NUMBER.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/** util.parseArgs (strict) after joinNegativeValues. */
export function parseFlags<O extends Options>(args: readonly string[], options: O, allowPositionals = false) {
  return parseArgs({ args: joinNegativeValues(args, options), options, allowPositionals, strict: true });
}

/**
 * An instant as epoch milliseconds: digits are epoch ms, anything else must be an ISO 8601
 * date-time (with a zone or `Z`) or a date alone (`2026-12-03`, midnight UTC). Returns
 * a problem sentence when it is neither.
 */
export function parseInstant(text: string): number | { problem: string } {
  const t = text.trim();
  if (/^\d+$/.test(t)) return Number(t);
  const isIso = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i.test(t);
  const ms = isIso ? Date.parse(t) : NaN;
  if (Number.isNaN(ms)) return { problem: 'expected epoch milliseconds, an ISO 8601 date-time (2026-12-03T20:00:00Z) or a date (2026-12-03)' };
  return ms;
}

/** util.parseArgs with joinNegativeValues applied to config.args (same signature). */
export const parseArgsWithNegatives: typeof parseArgs = (config) =>
  parseArgs({ ...config, args: joinNegativeValues(config?.args ?? [], config?.options ?? {}) } as unknown as typeof config) as never;
