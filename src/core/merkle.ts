import { sha256 } from '../crypto/index.ts';

/**
 * The Merkle tree over a block's transaction ids, as in RFC 6962 (Certificate
 * Transparency): leaf = SHA-256(0x00 || id), node = SHA-256(0x01 || left || right),
 * split at the largest power of two below n. Unlike Bitcoin's tree it never
 * duplicates a last odd node, so two different lists cannot share a root.
 */

const LEAF = Buffer.from([0]);
const NODE = Buffer.from([1]);

/** RFC 6962 leaf hash. */
export function merkleLeaf(data: Uint8Array): Buffer {
  return sha256(Buffer.concat([LEAF, data]));
}

/** RFC 6962 interior node hash. */
export function merkleNode(left: Uint8Array, right: Uint8Array): Buffer {
  return sha256(Buffer.concat([NODE, left, right]));
}

function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function rootOf(leaves: Buffer[], lo: number, hi: number): Buffer {
  const n = hi - lo;
  if (n === 1) return leaves[lo] as Buffer;
  const k = largestPowerOfTwoBelow(n);
  return merkleNode(rootOf(leaves, lo, lo + k), rootOf(leaves, lo + k, hi));
}

/** The Merkle root of a list of items (tx ids as raw bytes); SHA-256("") when empty. */
export function merkleRoot(items: Uint8Array[]): Buffer {
  if (items.length === 0) return sha256(Buffer.alloc(0));
  return rootOf(items.map(merkleLeaf), 0, items.length);
}

/** The Merkle root of hex ids, as hex. */
export function merkleRootHex(ids: string[]): string {
  return merkleRoot(ids.map((id) => Buffer.from(id, 'hex'))).toString('hex');
}

/** An inclusion proof: the audit path from leaf to root (RFC 6962 section 2.1.1). */
export interface MerkleProof {
  readonly index: number;
  readonly size: number;
  readonly path: string[];
}

function pathOf(leaves: Buffer[], m: number, lo: number, hi: number, out: Buffer[]): void {
  const n = hi - lo;
  if (n === 1) return;
  const k = largestPowerOfTwoBelow(n);
  if (m < k) {
    pathOf(leaves, m, lo, lo + k, out);
    out.push(rootOf(leaves, lo + k, hi));
  } else {
    pathOf(leaves, m - k, lo + k, hi, out);
    out.push(rootOf(leaves, lo, lo + k));
  }
}

/** The inclusion proof of items[index]. */
export function merkleProof(items: Uint8Array[], index: number): MerkleProof {
  if (!Number.isInteger(index) || index < 0 || index >= items.length) throw new RangeError(`index ${index} out of range`);
  const out: Buffer[] = [];
  pathOf(items.map(merkleLeaf), index, 0, items.length, out);
  return { index, size: items.length, path: out.map((b) => b.toString('hex')) };
}

/** True if proof shows that item sits at proof.index in a tree with this root. */
export function verifyMerkleProof(root: Uint8Array, item: Uint8Array, proof: MerkleProof): boolean {
  const { index, size, path } = proof;
  if (!Number.isInteger(index) || !Number.isInteger(size) || index < 0 || index >= size) return false;
  // RFC 9162 section 2.1.3.2: walk up using the binary forms of index and size - 1.
  let fn = index;
  let sn = size - 1;
  let r = merkleLeaf(item);
  for (const hex of path) {
    const p = Buffer.from(hex, 'hex');
    if (p.length !== 32 || sn === 0) return false;
    if ((fn & 1) === 1 || fn === sn) {
      r = merkleNode(p, r);
      if ((fn & 1) === 0) {
        while ((fn & 1) === 0 && fn !== 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = merkleNode(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn === 0 && r.equals(root);
}
