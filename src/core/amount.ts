/**
 * Amounts are non-negative integers: bigint in code, decimal strings in JSON.
 * No float ever touches a value.
 */

/** The largest amount any balance, fee or transfer may hold (2^64 - 1). */
export const MAX_AMOUNT = (1n << 64n) - 1n;

const DECIMAL_RE = /^(0|[1-9][0-9]{0,19})$/;

/** Parses a decimal string into an amount; undefined when malformed or out of range. */
export function parseAmount(s: unknown): bigint | undefined {
  if (typeof s !== 'string' || !DECIMAL_RE.test(s)) return undefined;
  const v = BigInt(s);
  return v <= MAX_AMOUNT ? v : undefined;
}

/** The canonical decimal string of an amount. */
export function formatAmount(v: bigint): string {
  if (v < 0n) throw new RangeError(`amounts are never negative (got ${v})`);
  return v.toString(10);
}

/** True if v is an integer amount within [0, MAX_AMOUNT]. */
export function isAmount(v: unknown): v is bigint {
  return typeof v === 'bigint' && v >= 0n && v <= MAX_AMOUNT;
}

/** a + b, or undefined if the sum leaves the amount range. */
export function addAmounts(a: bigint, b: bigint): bigint | undefined {
  if (a < 0n || b < 0n) return undefined;
  const s = a + b;
  return s <= MAX_AMOUNT ? s : undefined;
}

/** a - b, or undefined if the result would be negative. */
export function subAmounts(a: bigint, b: bigint): bigint | undefined {
  if (a < 0n || b < 0n) return undefined;
  return a >= b ? a - b : undefined;
}
