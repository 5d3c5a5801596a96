/** Hex helpers: every hash, key and signature travels as lowercase hex. */

/** Thrown for malformed hex. */
export class HexError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HexError';
  }
}

const HEX_RE = /^(?:[0-9a-f]{2})*$/;

/** True if s is lowercase hex of exactly `bytes` bytes (any even length when omitted). */
export function isHex(s: unknown, bytes?: number): s is string {
  if (typeof s !== 'string') return false;
  if (bytes !== undefined && s.length !== bytes * 2) return false;
  return HEX_RE.test(s);
}

/** Decodes lowercase hex, throwing on anything else. */
export function fromHex(s: string, bytes?: number): Buffer {
  if (!isHex(s, bytes)) {
    throw new HexError(bytes === undefined ? 'expected lowercase hex' : `expected ${bytes} bytes of lowercase hex`);
  }
  return Buffer.from(s, 'hex');
}

/** Lowercase hex of bytes. */
export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

