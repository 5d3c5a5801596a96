/**
 * Proof-of-Work targets. A target is a 256-bit number; a header satisfies it
 * when its hash, read as a big-endian number, is at most the target. Headers
 * carry it in Bitcoin's compact "bits" form: one exponent byte and a 3-byte
 * mantissa, target = mantissa * 256^(exponent - 3).
 */

/** The target a compact value encodes, or undefined if negative, zero or over 256 bits. */
export function decodeBits(bits: number): bigint | undefined {
  if (!Number.isInteger(bits) || bits < 0 || bits > 0xffffffff) return undefined;
  const exponent = bits >>> 24;
  const mantissa = bits & 0x007fffff;
  if ((bits & 0x00800000) !== 0) return undefined; // sign bit: negative targets are invalid
  const target = exponent <= 3 ? BigInt(mantissa >>> (8 * (3 - exponent))) : BigInt(mantissa) << BigInt(8 * (exponent - 3));
  if (target === 0n || target >= 1n << 256n) return undefined;
  return target;
}

/** The compact form of a target (rounding the target down to 3 significant bytes). */
export function encodeBits(target: bigint): number {
  if (target <= 0n) throw new RangeError('target must be positive');
  let size = Math.ceil(target.toString(16).length / 2);
  let mantissa = size <= 3 ? Number(target << BigInt(8 * (3 - size))) : Number(target >> BigInt(8 * (size - 3)));
  // The mantissa's top bit is a sign bit; move up a byte to keep it clear.
  if (mantissa & 0x00800000) {
    mantissa >>>= 8;
    size += 1;
  }
  return ((size << 24) | mantissa) >>> 0;
}

/** The expected number of hashes to meet a target: 2^256 / (target + 1). */
export function workForTarget(target: bigint): bigint {
  return (1n << 256n) / (target + 1n);
}

/** True if a 32-byte hash, as a big-endian number, is at most the target. */
export function meetsTarget(hash: Uint8Array, target: bigint): boolean {
  return BigInt('0x' + Buffer.from(hash).toString('hex')) <= target;
}

/** A compact target from a count of leading zero bits (handy for tests and init). */
export function bitsForLeadingZeroBits(zeroBits: number): number {
  if (!Number.isInteger(zeroBits) || zeroBits < 1 || zeroBits > 240) throw new RangeError('zero bits must be 1..240');
  return encodeBits((1n << BigInt(256 - zeroBits)) - 1n);
}
