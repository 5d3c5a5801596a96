/** core/merkle.ts: RFC 6962 Merkle tree, checked against the Certificate Transparency reference vectors. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { merkleLeaf, merkleNode, merkleProof, merkleRoot, merkleRootHex, verifyMerkleProof, type MerkleProof } from '../../src/core/index.ts';
import { sha256 } from '../../src/crypto/index.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const unhex = (s: string): Buffer => Buffer.from(s, 'hex');

// The eight test leaves of RFC 6962 / Certificate Transparency (merkle_tree_test.cc,
// transparency-dev/merkle testonly) and the root of the tree over the first n of them.
const CT_LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(unhex);
const CT_EMPTY_ROOT = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const CT_ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
// CT reference audit paths (merkle_tree_test.cc).
const CT_PATHS: { index: number; size: number; path: string[] }[] = [
  { index: 0, size: 8, path: ['96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4'] },
  { index: 5, size: 8, path: ['bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b', 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7'] },
  { index: 2, size: 3, path: ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125'] },
  { index: 1, size: 5, path: ['6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b'] },
];

describe('Merkle tree: RFC 6962 known answers', () => {
  test('the empty tree root is SHA-256 of the empty string', () => {
    assert.equal(hex(merkleRoot([])), CT_EMPTY_ROOT);
    assert.equal(hex(sha256(Buffer.alloc(0))), CT_EMPTY_ROOT);
    assert.equal(merkleRootHex([]), CT_EMPTY_ROOT);
  });

  for (let n = 1; n <= 8; n++) {
    test(`CT reference root over the first ${n} leaves`, () => {
      assert.equal(hex(merkleRoot(CT_LEAVES.slice(0, n))), CT_ROOTS[n - 1]);
    });
  }

  test('leaf = SHA-256(0x00 || data), node = SHA-256(0x01 || left || right)', () => {
    assert.equal(hex(merkleLeaf(Buffer.alloc(0))), CT_ROOTS[0]);
    assert.equal(hex(merkleLeaf(unhex('00'))), hex(sha256(unhex('0000'))));
    const l = merkleLeaf(CT_LEAVES[0]!);
    const r = merkleLeaf(CT_LEAVES[1]!);
    assert.equal(hex(merkleNode(l, r)), CT_ROOTS[1]);
    assert.equal(hex(merkleNode(l, r)), hex(sha256(Buffer.concat([unhex('01'), l, r]))));
  });

  test('merkleRootHex hashes hex ids as raw bytes', () => {
    assert.equal(merkleRootHex(CT_LEAVES.map(hex)), CT_ROOTS[7]);
  });

  for (const v of CT_PATHS) {
    test(`CT reference audit path: leaf ${v.index} of ${v.size}`, () => {
      const items = CT_LEAVES.slice(0, v.size);
      const proof = merkleProof(items, v.index);
      assert.deepEqual(proof, { index: v.index, size: v.size, path: v.path });
      assert.equal(verifyMerkleProof(unhex(CT_ROOTS[v.size - 1]!), items[v.index]!, proof), true);
    });
  }

  test('a last odd node is not duplicated (unlike Bitcoin): [a, b, c] and [a, b, c, c] differ', () => {
    const [a, b, c] = CT_LEAVES;
    assert.notEqual(hex(merkleRoot([a!, b!, c!])), hex(merkleRoot([a!, b!, c!, c!])));
  });

  test('a leaf cannot pose as an interior node (second-preimage protection)', () => {
    const items = CT_LEAVES.slice(0, 2);
    const inner = Buffer.concat([merkleLeaf(items[0]!), merkleLeaf(items[1]!)]);
    // A one-leaf tree whose single item is the concatenation of the two children.
    assert.notEqual(hex(merkleRoot([inner])), hex(merkleRoot(items)));
  });

  test('merkleProof rejects an index out of range', () => {
    assert.throws(() => merkleProof(CT_LEAVES, -1), RangeError);
    assert.throws(() => merkleProof(CT_LEAVES, 8), RangeError);
    assert.throws(() => merkleProof(CT_LEAVES, 1.5), RangeError);
    assert.throws(() => merkleProof([], 0), RangeError);
  });
});

describe('Merkle tree: inclusion proofs (properties)', () => {
  const item = fc.uint8Array({ minLength: 0, maxLength: 40 });
  // Distinct items, so that "the wrong item" is never another copy of the right one.
  const items = fc.uniqueArray(item, { minLength: 1, maxLength: 40, selector: (u) => hex(u) });
  const listAndIndex = items.chain((xs) => fc.tuple(fc.constant(xs), fc.nat({ max: xs.length - 1 })));

  test('every inclusion proof verifies, in every tree size', () => {
    // Exhaustive for small sizes: every leaf of every tree up to 33 items.
    const xs = Array.from({ length: 33 }, (_, i) => Buffer.from([i, i * 7]));
    for (let n = 1; n <= xs.length; n++) {
      const list = xs.slice(0, n);
      const root = merkleRoot(list);
      for (let i = 0; i < n; i++) {
        const p = merkleProof(list, i);
        assert.ok(p.path.length <= Math.ceil(Math.log2(n)));
        assert.equal(verifyMerkleProof(root, list[i]!, p), true, `leaf ${i} of ${n}`);
      }
    }
  });

  test('every inclusion proof verifies for random lists', () => {
    fc.assert(
      fc.property(items, (xs) => {
        const root = merkleRoot(xs);
        for (let i = 0; i < xs.length; i++) assert.equal(verifyMerkleProof(root, xs[i]!, merkleProof(xs, i)), true);
      }),
      { numRuns: 100 },
    );
  });

  test('a proof fails for a wrong item', () => {
    fc.assert(
      fc.property(listAndIndex, item, ([xs, i], other) => {
        fc.pre(hex(other) !== hex(xs[i]!));
        const root = merkleRoot(xs);
        const p = merkleProof(xs, i);
        assert.equal(verifyMerkleProof(root, other, p), false);
        // Another item of the same list fails too.
        for (let j = 0; j < xs.length; j++) if (j !== i) assert.equal(verifyMerkleProof(root, xs[j]!, p), false);
      }),
      { numRuns: 150 },
    );
  });

  test('a proof fails for a wrong index', () => {
    fc.assert(
      fc.property(listAndIndex, fc.integer({ min: -3, max: 45 }), ([xs, i], j) => {
        fc.pre(j !== i);
        const root = merkleRoot(xs);
        const p = merkleProof(xs, i);
        assert.equal(verifyMerkleProof(root, xs[i]!, { ...p, index: j }), false);
      }),
      { numRuns: 150 },
    );
  });

  test('a proof fails with a tampered path: a flipped bit, a dropped, added, swapped or malformed hash', () => {
    fc.assert(
      fc.property(listAndIndex, fc.nat(), fc.nat({ max: 255 }), ([xs, i], which, bit) => {
        const root = merkleRoot(xs);
        const p = merkleProof(xs, i);
        const check = (path: string[], what: string): void => assert.equal(verifyMerkleProof(root, xs[i]!, { ...p, path }), false, what);
        if (p.path.length > 0) {
          const k = which % p.path.length;
          const flipped = unhex(p.path[k]!);
          flipped[bit >> 3]! ^= 1 << (bit & 7);
          check(p.path.map((h, n) => (n === k ? hex(flipped) : h)), 'flipped bit');
          check(p.path.filter((_, n) => n !== k), 'dropped hash');
          check(p.path.map((h, n) => (n === k ? h.slice(2) : h)), 'short hash');
          check(p.path.map((h, n) => (n === k ? 'zz'.repeat(32) : h)), 'non-hex hash');
          if (p.path.length > 1) check([...p.path].reverse(), 'reversed path');
        }
        check([...p.path, hex(root)], 'extra hash at the end');
        check([hex(merkleLeaf(xs[i]!)), ...p.path], 'extra hash at the start');
      }),
      { numRuns: 150 },
    );
  });

  test('a proof fails against another root, and for a nonsense size or index', () => {
    fc.assert(
      fc.property(listAndIndex, item, ([xs, i], extra) => {
        const p = merkleProof(xs, i);
        assert.equal(verifyMerkleProof(merkleRoot([...xs, extra]), xs[i]!, p), false);
        const root = merkleRoot(xs);
        const bad: MerkleProof[] = [
          { ...p, size: 0 },
          { ...p, size: i },
          { ...p, index: -1 },
          { ...p, index: 0.5 },
          { ...p, size: Number.NaN },
        ];
        for (const q of bad) assert.equal(verifyMerkleProof(root, xs[i]!, q), false, JSON.stringify(q));
      }),
      { numRuns: 100 },
    );
  });
});
