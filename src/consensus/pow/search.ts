import { hash as nodeHash } from 'node:crypto';

/** The 32-byte big-endian form of a target, for a fast byte comparison with a hash. */
export function targetBytes(target: bigint): Buffer {
  return Buffer.from(target.toString(16).padStart(64, '0'), 'hex');
}

/** The outcome of one search slice. */
export interface SearchResult {
  /** The winning nonce, if one was found. */
  readonly nonce?: number;
  /** Hashes tried in this slice. */
  readonly hashes: number;
}

/**
 * Tries nonces first, first + step, ... (count of them) in the last 8 bytes
 * of the header bytes and returns the first whose double SHA-256 is at most
 * the target. The buffer is modified in place: one allocation-free loop is
 * what lets a miner approach the raw hashing rate.
 */
export function searchNonce(header: Buffer, target: Buffer, first: number, count: number, step = 1): SearchResult {
  const at = header.length - 8;
  const top = target[0]!;
  let nonce = first;
  let hi = -1;
  for (let i = 0; i < count; i++, nonce += step) {
    if (nonce > Number.MAX_SAFE_INTEGER) return { hashes: i };
    // The nonce is a u64 big-endian: its high 32 bits change once in 2^32 tries.
    const h32 = Math.floor(nonce / 0x100000000);
    if (h32 !== hi) {
      header.writeUInt32BE(h32, at);
      hi = h32;
    }
    header.writeUInt32BE(nonce >>> 0, at + 4);
    const h = nodeHash('sha256', nodeHash('sha256', header, 'buffer') as unknown as Buffer, 'buffer') as unknown as Buffer;
    // Almost every hash loses on its first byte; the full comparison is a native call.
    if (h[0]! > top) continue;
    if (h.compare(target) <= 0) return { nonce, hashes: i + 1 };
  }
  return { hashes: count };
}
