/**
 * The hand-written encodings on the sync and block paths (header bytes, header
 * canonical JSON, block size, coinbase and account canonical forms, header
 * equality) against the general encoders they stand in for.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  BLOCK_VERSION,
  blockHash,
  blockSize,
  blockToJson,
  canonicalBytes,
  canonicalJson,
  encodeHeader,
  headerCanon,
  sameHeader,
  stateEntryHash,
  stateEntryJson,
  txId,
  txSize,
  txToJson,
  type BlockHeader,
  type CoinbaseTx,
  type StateEntry,
} from '../../src/core/index.ts';
import { addressFromPublicKey, keyPairFromSeed, sha256d, TAG, taggedHash, toHex } from '../../src/crypto/index.ts';

const hex32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => toHex(b));
const u53 = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const chainId = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,31}$/);
const headerArb: fc.Arbitrary<BlockHeader> = fc.record({
  version: u32,
  chainId,
  height: u53,
  prevHash: hex32,
  timestamp: u53,
  txRoot: hex32,
  stateRoot: hex32,
  bits: u32,
  nonce: u53,
  proposer: hex32,
});
const address = fc.integer({ min: 1, max: 255 }).map((i) => addressFromPublicKey(keyPairFromSeed(Buffer.alloc(32, i)).publicKey));
const amount = fc.bigInt(0n, (1n << 64n) - 1n);

// The header layout as documented in docs/protocol.md, written the slow and obvious way.
function referenceHeaderBytes(h: BlockHeader): Buffer {
  const u32be = (n: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  };
  const u64be = (n: number): Buffer => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt(n));
    return b;
  };
  const id = Buffer.from(h.chainId, 'ascii');
  return Buffer.concat([u32be(h.version), Buffer.from([id.length]), id, u64be(h.height), Buffer.from(h.prevHash, 'hex'), u64be(h.timestamp), Buffer.from(h.txRoot, 'hex'), Buffer.from(h.stateRoot, 'hex'), Buffer.from(h.proposer, 'hex'), u32be(h.bits), u64be(h.nonce)]);
}

describe('header fast paths', () => {
  test('encodeHeader gives the documented layout for any header', () => {
    fc.assert(fc.property(headerArb, (h) => assert.deepEqual(encodeHeader(h), referenceHeaderBytes(h))), { numRuns: 300 });
  });

  test('encodeHeader refuses what the layout cannot hold', () => {
    const h: BlockHeader = { version: BLOCK_VERSION, chainId: 'c', height: 1, prevHash: '11'.repeat(32), timestamp: 2, txRoot: '22'.repeat(32), stateRoot: '33'.repeat(32), bits: 3, nonce: 4, proposer: '44'.repeat(32) };
    assert.throws(() => encodeHeader({ ...h, height: -1 }), RangeError);
    assert.throws(() => encodeHeader({ ...h, nonce: 1.5 }), RangeError);
    assert.throws(() => encodeHeader({ ...h, prevHash: 'zz'.repeat(32) }), RangeError);
    assert.throws(() => encodeHeader({ ...h, txRoot: '22'.repeat(31) }), RangeError);
  });

  test('the block hash is double SHA-256 of those bytes', () => {
    fc.assert(fc.property(headerArb, (h) => assert.equal(blockHash(h), toHex(sha256d(referenceHeaderBytes(h))))), { numRuns: 100 });
  });

  test('headerCanon is canonical JSON of the header', () => {
    fc.assert(fc.property(headerArb, (h) => assert.equal(headerCanon(h), canonicalJson(h))), { numRuns: 300 });
  });

  test('blockSize is the byte length of the canonical block, with and without a commit', () => {
    const to = addressFromPublicKey(keyPairFromSeed(Buffer.alloc(32, 9)).publicKey);
    fc.assert(
      fc.property(headerArb, fc.option(fc.jsonValue({ maxDepth: 2 }), { nil: undefined }), fc.nat(3), (header, commit, n) => {
        const txs: CoinbaseTx[] = Array.from({ length: n }, (_, i) => ({ kind: 'coinbase', chainId: header.chainId, height: header.height + i, to, amount: BigInt(i) }));
        const block = commit === undefined ? { header, txs } : { header, txs, commit: commit as never };
        assert.equal(blockSize(block), Buffer.byteLength(canonicalJson(blockToJson(block)), 'utf8'));
      }),
      { numRuns: 200 },
    );
  });

  test('sameHeader holds exactly when every field is equal', () => {
    fc.assert(
      fc.property(headerArb, headerArb, fc.constantFrom<keyof BlockHeader>('version', 'chainId', 'height', 'prevHash', 'timestamp', 'txRoot', 'stateRoot', 'bits', 'nonce', 'proposer'), (a, b, field) => {
        assert.equal(sameHeader(a, { ...a }), true);
        const mixed = { ...a, [field]: b[field] } as BlockHeader;
        assert.equal(sameHeader(a, mixed), a[field] === b[field]);
        assert.equal(sameHeader(a, mixed), blockHash(a) === blockHash(mixed));
      }),
      { numRuns: 200 },
    );
  });
});

describe('transaction and state fast paths', () => {
  test("a coinbase's id and size come from its canonical JSON", () => {
    fc.assert(
      fc.property(chainId, u53, address, amount, (cid, height, to, amt) => {
        const cb: CoinbaseTx = { kind: 'coinbase', chainId: cid, height, to, amount: amt };
        const canon = canonicalJson(txToJson(cb));
        assert.equal(txId(cb), toHex(taggedHash(TAG.tx, Buffer.from(canon, 'utf8'))));
        assert.equal(txSize(cb), Buffer.byteLength(canon, 'utf8'));
      }),
      { numRuns: 200 },
    );
  });

  test("an account entry's value hash commits to its canonical JSON", () => {
    fc.assert(
      fc.property(address, amount, u53, fc.option(fc.string({ minLength: 1, maxLength: 20 }), { nil: undefined }), (addr, balance, nonce, org) => {
        const e: StateEntry = { t: 'account', address: addr, account: org === undefined ? { balance, nonce } : { balance, nonce, org } };
        assert.equal(toHex(stateEntryHash(e)), toHex(taggedHash(TAG.stateValue, canonicalBytes(stateEntryJson(e)))));
      }),
      { numRuns: 200 },
    );
  });
});
