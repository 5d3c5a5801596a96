import { TAG, taggedHash } from '../crypto/index.ts';

/**
 * A persistent (immutable, path-copying) sparse Merkle trie over 32-byte keys.
 *
 * A subtree holding one leaf is that leaf itself and an empty subtree is the
 * zero hash, so the shape, and with it the root, depends only on the set of
 * entries, never on insertion order. An update copies one path of about
 * log2(n) nodes and hashes are computed lazily, only for new nodes: the cost of
 * a new root grows with what changed, not with the size of the state. Old
 * roots stay valid, which makes snapshots and undo free.
 */

const EMPTY_HASH = Buffer.alloc(32);

export interface TrieLeaf<V> {
  readonly kind: 0;
  readonly key: Buffer;
  readonly value: V;
  readonly valueHash: Buffer;
  h?: Buffer;
}

export interface TrieBranch<V> {
  readonly kind: 1;
  readonly left: TrieNode<V> | null;
  readonly right: TrieNode<V> | null;
  readonly size: number;
  h?: Buffer;
}

export type TrieNode<V> = TrieLeaf<V> | TrieBranch<V>;

/** One step of an inclusion proof: the sibling hash at a depth, from the leaf upward. */
export interface TrieProof {
  readonly siblings: string[];
  /** The leaf found on the key's path (another key's leaf proves absence). */
  readonly leaf: { key: string; valueHash: string } | null;
}

function bit(key: Buffer, depth: number): number {
  return ((key[depth >> 3] as number) >> (7 - (depth & 7))) & 1;
}

function sizeOf<V>(n: TrieNode<V> | null): number {
  return n === null ? 0 : n.kind === 0 ? 1 : n.size;
}

function branch<V>(left: TrieNode<V> | null, right: TrieNode<V> | null): TrieBranch<V> {
  return { kind: 1, left, right, size: sizeOf(left) + sizeOf(right) };
}

function split<V>(a: TrieLeaf<V>, b: TrieLeaf<V>, depth: number): TrieBranch<V> {
  if (depth >= 256) throw new Error('trie: two distinct leaves share all 256 key bits');
  const ba = bit(a.key, depth);
  const bb = bit(b.key, depth);
  if (ba === bb) {
    const child = split(a, b, depth + 1);
    return ba === 0 ? branch(child, null) : branch(null, child);
  }
  return ba === 0 ? branch(a, b) : branch(b, a);
}

function insertAt<V>(node: TrieNode<V> | null, leaf: TrieLeaf<V>, depth: number): TrieNode<V> {
  if (node === null) return leaf;
  if (node.kind === 0) return node.key.equals(leaf.key) ? leaf : split(node, leaf, depth);
  return bit(leaf.key, depth) === 0
    ? branch(insertAt(node.left, leaf, depth + 1), node.right)
    : branch(node.left, insertAt(node.right, leaf, depth + 1));
}

function removeAt<V>(node: TrieNode<V> | null, key: Buffer, depth: number): TrieNode<V> | null {
  if (node === null) return null;
  if (node.kind === 0) return node.key.equals(key) ? null : node;
  const goLeft = bit(key, depth) === 0;
  const child = goLeft ? node.left : node.right;
  const next = removeAt(child, key, depth + 1);
  if (next === child) return node;
  const left = goLeft ? next : node.left;
  const right = goLeft ? node.right : next;
  // Keep the canonical shape: a branch always holds at least two leaves.
  if (left === null && right === null) return null;
  if (left === null && right !== null && right.kind === 0) return right;
  if (right === null && left !== null && left.kind === 0) return left;
  return branch(left, right);
}

/** The hash of a node (memoised on the node). */
export function nodeHash<V>(node: TrieNode<V> | null): Buffer {
  if (node === null) return EMPTY_HASH;
  if (node.h !== undefined) return node.h;
  node.h = node.kind === 0 ? leafHash(node.key, node.valueHash) : taggedHash(TAG.stateNode, nodeHash(node.left), nodeHash(node.right));
  return node.h;
}

/** The hash of a leaf with this key and value hash. */
export function leafHash(key: Uint8Array, valueHash: Uint8Array): Buffer {
  return taggedHash(TAG.stateLeaf, key, valueHash);
}

/** An immutable trie; every update returns a new Trie sharing unchanged nodes. */
export class Trie<V> {
  private constructor(readonly root: TrieNode<V> | null) {}

  /** The empty trie. */
  static empty<V>(): Trie<V> {
    return new Trie<V>(null);
  }

  /** Number of entries. */
  get size(): number {
    return sizeOf(this.root);
  }

  /** The root hash (zero hash when empty). */
  rootHash(): Buffer {
    return nodeHash(this.root);
  }

  /** The value stored under key, if any. */
  get(key: Buffer): V | undefined {
    let node = this.root;
    let depth = 0;
    while (node !== null) {
      if (node.kind === 0) return node.key.equals(key) ? node.value : undefined;
      node = bit(key, depth++) === 0 ? node.left : node.right;
    }
    return undefined;
  }

  /** A trie with key set to value (valueHash commits to the value). */
  set(key: Buffer, value: V, valueHash: Buffer): Trie<V> {
    if (key.length !== 32) throw new Error('trie keys are 32 bytes');
    return new Trie(insertAt(this.root, { kind: 0, key, value, valueHash }, 0));
  }

  /** A trie without key. */
  delete(key: Buffer): Trie<V> {
    const next = removeAt(this.root, key, 0);
    return next === this.root ? this : new Trie(next);
  }

  /** Every entry, in key order. */
  *entries(): Generator<TrieLeaf<V>> {
    const stack: (TrieNode<V> | null)[] = [this.root];
    while (stack.length > 0) {
      const n = stack.pop();
      if (n === null || n === undefined) continue;
      if (n.kind === 0) yield n;
      else stack.push(n.right, n.left);
    }
  }

  /** A proof that key holds its value, or that it is absent. */
  prove(key: Buffer): TrieProof {
    const siblings: Buffer[] = [];
    let node = this.root;
    let depth = 0;
    while (node !== null && node.kind === 1) {
      const b = bit(key, depth++);
      siblings.push(nodeHash(b === 0 ? node.right : node.left));
      node = b === 0 ? node.left : node.right;
    }
    return {
      siblings: siblings.reverse().map((s) => s.toString('hex')),
      leaf: node === null ? null : { key: node.key.toString('hex'), valueHash: node.valueHash.toString('hex') },
    };
  }
}

/**
 * Checks a proof against a root: that key holds a value with valueHash, or,
 * when valueHash is null, that key is absent.
 */
export function verifyTrieProof(root: Uint8Array, key: Buffer, valueHash: Buffer | null, proof: TrieProof): boolean {
  const depth = proof.siblings.length;
  if (depth > 256) return false;
  let h: Buffer;
  if (proof.leaf === null) {
    if (valueHash !== null) return false;
    h = EMPTY_HASH;
  } else {
    const leafKey = Buffer.from(proof.leaf.key, 'hex');
    const leafValue = Buffer.from(proof.leaf.valueHash, 'hex');
    if (leafKey.length !== 32 || leafValue.length !== 32) return false;
    // The leaf must lie on key's path down to this depth.
    for (let d = 0; d < depth; d++) if (bit(leafKey, d) !== bit(key, d)) return false;
    if (valueHash === null) {
      if (leafKey.equals(key)) return false;
    } else if (!leafKey.equals(key) || !leafValue.equals(valueHash)) {
      return false;
    }
    h = leafHash(leafKey, leafValue);
  }
  for (let i = 0; i < depth; i++) {
    const d = depth - 1 - i;
    const sib = Buffer.from(proof.siblings[i] as string, 'hex');
    if (sib.length !== 32) return false;
    h = bit(key, d) === 0 ? taggedHash(TAG.stateNode, h, sib) : taggedHash(TAG.stateNode, sib, h);
  }
  return h.equals(root);
}
