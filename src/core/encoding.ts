/**
 * Canonical encodings: the exact bytes that peerchain hashes and signs.
 *
 * Two encodings exist, both deterministic across machines:
 * - canonical JSON (RFC 8785 style: sorted keys, no whitespace, ECMAScript
 *   number formatting) for transactions, genesis documents and record values;
 * - a fixed binary layout for block headers (see block.ts), because the header
 *   is what a miner hashes millions of times.
 */

export { isHex, fromHex, toHex } from '../crypto/hex.ts';

/** A JSON value as it may appear in a record or a message. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Thrown when a value cannot be encoded canonically (NaN, a function, a cycle...). */
export class EncodingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EncodingError';
  }
}

/** Canonical JSON text of a JSON value: sorted keys, no whitespace, ES number form. */
export function canonicalJson(value: unknown): string {
  return encodeValue(value, 0);
}

const MAX_DEPTH = 64;

function encodeValue(value: unknown, depth: number): string {
  if (depth > MAX_DEPTH) throw new EncodingError(`value nested deeper than ${MAX_DEPTH} levels`);
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new EncodingError(`cannot encode non-finite number ${value}`);
      // ECMAScript Number::toString is specified exactly, so every engine agrees;
      // -0 must become 0 as in RFC 8785.
      return Object.is(value, -0) ? '0' : JSON.stringify(value);
    case 'bigint':
      // Amounts travel as decimal strings so no JSON parser rounds them.
      return JSON.stringify(value.toString(10));
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out += ',';
          out += encodeValue(value[i], depth + 1);
        }
        return out + ']';
      }
      if (value instanceof Uint8Array) throw new EncodingError('binary values must be hex-encoded before canonical JSON');
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) throw new EncodingError(`cannot encode a ${proto?.constructor?.name ?? 'non-plain'} object; only plain objects and arrays`);
      const obj = value as Record<string, unknown>;
      // Keys sort by UTF-16 code units, which is what Array.prototype.sort does by default.
      const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
      let out = '{';
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i] as string;
        if (i > 0) out += ',';
        out += JSON.stringify(k) + ':' + encodeValue(obj[k], depth + 1);
      }
      return out + '}';
    }
    default:
      throw new EncodingError(`cannot encode a value of type ${typeof value}`);
  }
}

/** UTF-8 bytes of the canonical JSON of a value. */
export function canonicalBytes(value: unknown): Buffer {
  return Buffer.from(canonicalJson(value), 'utf8');
}
