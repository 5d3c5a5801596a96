import { createHash, hash as nodeHash } from 'node:crypto';

/** A 32-byte digest as 64 lowercase hex characters. */
export type Hash = string;

export const ZERO_HASH: Hash = '0'.repeat(64);

const fastHash = typeof nodeHash === 'function';

/** SHA-256 of bytes. */
export function sha256(data: Uint8Array): Buffer {
  // crypto.hash is one native call and ~1.5x faster than createHash for small inputs.
  if (fastHash) return nodeHash('sha256', data, 'buffer') as unknown as Buffer;
  return createHash('sha256').update(data).digest();
}

/** Double SHA-256, as used for block header hashes. */
export function sha256d(data: Uint8Array): Buffer {
  return sha256(sha256(data));
}

const tagCache = new Map<string, Buffer>();

/**
 * SHA-256 of a domain tag followed by data. Every hashed object has its own
 * tag ("peerchain:tx:v1", ...) so that bytes meant for one purpose can never be
 * replayed as another.
 */
export function taggedHash(tag: string, ...parts: Uint8Array[]): Buffer {
  let prefix = tagCache.get(tag);
  if (prefix === undefined) {
    prefix = Buffer.from(tag + '\0', 'utf8');
    tagCache.set(tag, prefix);
  }
  if (parts.length === 1) return sha256(Buffer.concat([prefix, parts[0] as Uint8Array]));
  return sha256(Buffer.concat([prefix, ...parts]));
}

/** Domain tags of every hashed object; docs/protocol.md lists the same. */
export const TAG = {
  tx: 'peerchain:tx:v1',
  address: 'peerchain:address:v1',
  genesis: 'peerchain:genesis:v1',
  merkleLeaf: 'peerchain:merkle:leaf',
  merkleNode: 'peerchain:merkle:node',
  stateKey: 'peerchain:state:key',
  stateValue: 'peerchain:state:value',
  stateLeaf: 'peerchain:state:leaf',
  stateNode: 'peerchain:state:node',
  recordHistory: 'peerchain:record:history',
} as const;
