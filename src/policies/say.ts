// Number formatting for reason sentences, so every policy prints its figures alike.

/** Up to 2 decimals, no trailing zeros: 2.3333 -> "2.33", 4 -> "4". */
export function num(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  return String(Math.round(x * 100) / 100);
}

/** A fraction as a percentage: 0.853 -> "85.3%". */
export function pct(fraction: number): string {
  if (!Number.isFinite(fraction)) return String(fraction);
  return `${Math.round(fraction * 1000) / 10}%`;
}

/** A duration: 120000 -> "120 s", 1500 -> "1.5 s", 250 -> "250 ms". */
export function dur(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  if (Math.abs(ms) < 1000) return `${Math.round(ms)} ms`;
  return `${Math.round(ms / 100) / 10} s`;
}

/** "1 check" / "3 checks" */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
