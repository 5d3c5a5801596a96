/** core/block.ts, core/pow.ts and core/header-rules.ts: header encoding, compact targets, header rules. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  BLOCK_VERSION,
  bitsForLeadingZeroBits,
  blockFromJson,
  blockHash,
  blockSize,
  blockToJson,
  canonicalJson,
  checkHeader,
  checkProofOfWork,
  decodeBits,
  DEFAULT_PARAMS,
  encodeBits,
  encodeHeader,
  ERR,
  headerFromJson,
  headerHashBytes,
  meetsTarget,
  medianTimePast,
  NO_PROPOSER,
  signTx,
  txRootOf,
  workForTarget,
  type Block,
  type BlockHeader,
  type BftParams,
  type ErrorCode,
  type HeaderContext,
  type PowParams,
} from '../../src/core/index.ts';
import { addressFromPublicKey, fromHex, keyPairFromSeed, sha256d, toHex } from '../../src/crypto/index.ts';

const EASY_BITS = bitsForLeadingZeroBits(8);

const HEADER: BlockHeader = {
  version: BLOCK_VERSION,
  chainId: 'peerchain-test',
  height: 0x0102030405,
  prevHash: '11'.repeat(32),
  timestamp: 1_700_000_000_123,
  txRoot: '22'.repeat(32),
  stateRoot: '33'.repeat(32),
  bits: 0x1d00ffff,
  nonce: 0x0a0b0c0d0e,
  proposer: '44'.repeat(32),
};

function mine(h: BlockHeader): BlockHeader {
  for (let nonce = 0; ; nonce++) {
    const c = { ...h, nonce };
    if (checkProofOfWork(c).ok) return c;
  }
}

describe('header binary encoding', () => {
  test('length and field order, decoded by hand', () => {
    const b = encodeHeader(HEADER);
    const L = HEADER.chainId.length;
    assert.equal(b.length, 4 + 1 + L + 8 + 32 + 8 + 32 + 32 + 32 + 4 + 8);
    let o = 0;
    const take = (n: number): Buffer => {
      const s = b.subarray(o, o + n);
      o += n;
      return s;
    };
    assert.equal(take(4).readUInt32BE(0), HEADER.version);
    assert.equal(take(1)[0], L);
    assert.equal(take(L).toString('ascii'), HEADER.chainId);
    assert.equal(take(8).readBigUInt64BE(0), BigInt(HEADER.height));
    assert.equal(toHex(take(32)), HEADER.prevHash);
    assert.equal(take(8).readBigUInt64BE(0), BigInt(HEADER.timestamp));
    assert.equal(toHex(take(32)), HEADER.txRoot);
    assert.equal(toHex(take(32)), HEADER.stateRoot);
    assert.equal(toHex(take(32)), HEADER.proposer);
    assert.equal(take(4).readUInt32BE(0), HEADER.bits);
    assert.equal(take(8).readBigUInt64BE(0), BigInt(HEADER.nonce));
    assert.equal(o, b.length);
    // The nonce is last, so a miner can hash the unchanging prefix once.
    const other = encodeHeader({ ...HEADER, nonce: 1 });
    assert.equal(toHex(other.subarray(0, b.length - 8)), toHex(b.subarray(0, b.length - 8)));
  });

  test('the exact bytes of a small header', () => {
    const h: BlockHeader = { version: 1, chainId: 'a', height: 2, prevHash: '00'.repeat(32), timestamp: 3, txRoot: '00'.repeat(32), stateRoot: '00'.repeat(32), bits: 4, nonce: 5, proposer: '00'.repeat(32) };
    const z = '00'.repeat(32);
    assert.equal(
      toHex(encodeHeader(h)),
      '00000001' + '01' + '61' + '0000000000000002' + z + '0000000000000003' + z + z + z + '00000004' + '0000000000000005',
    );
  });

  test('blockHash is double SHA-256 of the encoding', () => {
    assert.equal(blockHash(HEADER), toHex(sha256d(encodeHeader(HEADER))));
    assert.equal(toHex(headerHashBytes(HEADER)), blockHash(HEADER));
  });

  test('blockHash changes when any header field changes', () => {
    const base = blockHash(HEADER);
    const changes: Partial<BlockHeader>[] = [
      { version: 2 },
      { chainId: 'peerchain-tesu' },
      { chainId: 'peerchain-test-' },
      { height: HEADER.height + 1 },
      { prevHash: '11'.repeat(31) + '10' },
      { timestamp: HEADER.timestamp + 1 },
      { txRoot: '22'.repeat(31) + '23' },
      { stateRoot: '32' + '33'.repeat(31) },
      { bits: HEADER.bits + 1 },
      { nonce: HEADER.nonce + 1 },
      { proposer: '45' + '44'.repeat(31) },
    ];
    const seen = new Set([base]);
    for (const c of changes) {
      const h = blockHash({ ...HEADER, ...c });
      assert.notEqual(h, base, JSON.stringify(c));
      seen.add(h);
    }
    assert.equal(seen.size, changes.length + 1);
  });

  test('swapping the values of two hash fields changes the hash (fields are positional)', () => {
    assert.notEqual(blockHash({ ...HEADER, txRoot: HEADER.stateRoot, stateRoot: HEADER.txRoot }), blockHash(HEADER));
    assert.notEqual(blockHash({ ...HEADER, prevHash: HEADER.proposer, proposer: HEADER.prevHash }), blockHash(HEADER));
  });
});

describe('block JSON', () => {
  const keys = keyPairFromSeed(Buffer.alloc(32, 1));
  const to = addressFromPublicKey(keyPairFromSeed(Buffer.alloc(32, 2)).publicKey);
  const tx = signTx({ kind: 'transfer', chainId: 'peerchain-test', from: keys.publicKey, nonce: 0, fee: 1n, to, amount: 10n }, keys);
  const block: Block = { header: { ...HEADER, txRoot: txRootOf([tx]) }, txs: [tx] };
  const limits = DEFAULT_PARAMS;

  test('round trip through JSON text; size is the canonical JSON length', () => {
    const json = JSON.parse(JSON.stringify(blockToJson(block)));
    const r = blockFromJson(json, limits);
    assert.ok(r.ok);
    assert.deepEqual(r.value, block);
    assert.equal(blockSize(block), Buffer.byteLength(canonicalJson(blockToJson(block))));
    const withCommit = blockFromJson({ ...json, commit: { sigs: [] } }, limits);
    assert.ok(withCommit.ok);
    assert.deepEqual(withCommit.value.commit, { sigs: [] });
  });

  test('blockFromJson rejects malformed headers and blocks, saying what is wrong', () => {
    const h = { ...HEADER } as Record<string, unknown>;
    const cases: [string, unknown, ErrorCode, RegExp][] = [
      ['header not an object', 'x', ERR.MALFORMED, /header must be a JSON object/],
      ['unknown header field', { ...h, extra: 1 }, ERR.MALFORMED, /unknown field "extra"/],
      ['missing nonce', { ...h, nonce: undefined }, ERR.MALFORMED, /./],
      ['version negative', { ...h, version: -1 }, ERR.MALFORMED, /version must be a u32/],
      ['version too big', { ...h, version: 2 ** 32 }, ERR.MALFORMED, /version/],
      ['version fractional', { ...h, version: 1.5 }, ERR.MALFORMED, /version/],
      ['version string', { ...h, version: '1' }, ERR.MALFORMED, /version/],
      ['chainId uppercase', { ...h, chainId: 'Peer' }, ERR.BAD_CHAIN_ID, /chainId/],
      ['chainId empty', { ...h, chainId: '' }, ERR.BAD_CHAIN_ID, /chainId/],
      ['height negative', { ...h, height: -1 }, ERR.MALFORMED, /height/],
      ['height unsafe', { ...h, height: 2 ** 53 }, ERR.MALFORMED, /height/],
      ['height string', { ...h, height: '5' }, ERR.MALFORMED, /height/],
      ['timestamp fractional', { ...h, timestamp: 1.5 }, ERR.MALFORMED, /timestamp/],
      ['prevHash short', { ...h, prevHash: '11'.repeat(31) }, ERR.MALFORMED, /prevHash, txRoot and stateRoot/],
      ['txRoot uppercase', { ...h, txRoot: 'AA'.repeat(32) }, ERR.MALFORMED, /txRoot/],
      ['stateRoot missing', { ...h, stateRoot: null }, ERR.MALFORMED, /stateRoot/],
      ['bits negative', { ...h, bits: -1 }, ERR.MALFORMED, /bits must be a u32/],
      ['bits too big', { ...h, bits: 2 ** 32 }, ERR.MALFORMED, /bits/],
      ['nonce negative', { ...h, nonce: -1 }, ERR.MALFORMED, /nonce/],
      ['nonce fractional', { ...h, nonce: 0.5 }, ERR.MALFORMED, /nonce/],
      ['proposer short', { ...h, proposer: '44' }, ERR.MALFORMED, /proposer/],
    ];
    for (const [what, header, code, message] of cases) {
      const rh = headerFromJson(header);
      assert.equal(rh.ok, false, `${what}: header accepted`);
      const r = blockFromJson({ header, txs: [] }, limits);
      assert.equal(r.ok, false, `${what}: block accepted`);
      if (!r.ok) {
        assert.equal(r.error.code, code, `${what}: ${r.error.message}`);
        assert.match(r.error.message, message, what);
      }
    }
    const j = blockToJson(block);
    const blockCases: [string, unknown, ErrorCode, RegExp][] = [
      ['not an object', [j], ERR.MALFORMED, /block must be a JSON object/],
      ['unknown block field', { ...j, extra: 1 }, ERR.MALFORMED, /unknown field "extra"/],
      ['missing header', { txs: [] }, ERR.MALFORMED, /header/],
      ['txs not an array', { ...j, txs: {} }, ERR.MALFORMED, /txs must be an array/],
      ['too many txs', { ...j, txs: [j.txs[0], j.txs[0]] }, ERR.TOO_MANY_TXS, /2 transactions, the limit is 1/],
      ['bad tx', { ...j, txs: [{ ...j.txs[0], amount: '-1' }] }, ERR.BAD_AMOUNT, /^tx 0: /],
    ];
    for (const [what, json, code, message] of blockCases) {
      const r = blockFromJson(json, what === 'too many txs' ? { ...limits, maxBlockTxs: 1 } : limits);
      assert.equal(r.ok, false, what);
      if (!r.ok) {
        assert.equal(r.error.code, code, `${what}: ${r.error.message}`);
        assert.match(r.error.message, message, what);
      }
    }
  });
});

describe('compact targets ("bits")', () => {
  const TWO256 = 1n << 256n;

  test('Bitcoin known vectors', () => {
    assert.equal(decodeBits(0x1d00ffff), 0x00000000ffff0000000000000000000000000000000000000000000000000000n);
    assert.equal(decodeBits(0x1b0404cb), 0x00000000000404cb000000000000000000000000000000000000000000000000n);
    assert.equal(decodeBits(0x01123456), 0x12n);
    assert.equal(decodeBits(0x02123456), 0x1234n);
    assert.equal(decodeBits(0x03123456), 0x123456n);
    assert.equal(decodeBits(0x04123456), 0x12345600n);
    assert.equal(decodeBits(0x05009234), 0x92340000n);
    assert.equal(decodeBits(0x20123456), 0x1234560000000000000000000000000000000000000000000000000000000000n);
    assert.equal(decodeBits(0x207fffff), 0x7fffff0000000000000000000000000000000000000000000000000000000000n);
  });

  test('invalid compact values: negative flag, zero, overflow, out of range', () => {
    for (const bits of [0x01fedcba, 0x04923456, 0x00923456, 0x01803456, 0x02800056, 0x03800000, 0x04800000]) {
      assert.equal(decodeBits(bits), undefined, `0x${bits.toString(16)} (negative flag)`);
    }
    for (const bits of [0x00000000, 0x00123456, 0x01003456, 0x02000056, 0x03000000, 0x04000000]) {
      assert.equal(decodeBits(bits), undefined, `0x${bits.toString(16)} (zero)`);
    }
    for (const bits of [0xff123456, 0x21010000, 0x22010000, 0x23000001]) assert.equal(decodeBits(bits), undefined, `0x${bits.toString(16)} (over 256 bits)`);
    assert.notEqual(decodeBits(0x21008000), undefined); // 0x8000 << 240 still fits
    assert.equal(decodeBits(0x22000001), 1n << 248n); // as in Bitcoin: small mantissa, large exponent, still in range
    for (const bits of [-1, 2 ** 32, 1.5, Number.NaN]) assert.equal(decodeBits(bits), undefined);
  });

  test('Bitcoin known encodings (GetCompact)', () => {
    assert.equal(encodeBits(0x00000000ffff0000000000000000000000000000000000000000000000000000n), 0x1d00ffff);
    assert.equal(encodeBits(0x12n), 0x01120000);
    assert.equal(encodeBits(0x80n), 0x02008000);
    assert.equal(encodeBits(0x1234n), 0x02123400);
    assert.equal(encodeBits(0x123456n), 0x03123456);
    assert.equal(encodeBits(0x12345600n), 0x04123456);
    assert.equal(encodeBits(0x92340000n), 0x05009234);
    assert.equal(encodeBits(0x1234560000000000000000000000000000000000000000000000000000000000n), 0x20123456);
    assert.throws(() => encodeBits(0n), RangeError);
    assert.throws(() => encodeBits(-1n), RangeError);
  });

  test('encode/decode round trip for every power of two below 2^256', () => {
    for (let k = 0n; k < 256n; k++) {
      const t = 1n << k;
      assert.equal(decodeBits(encodeBits(t)), t, `2^${k}`);
    }
  });

  test('encode rounds down to 3 significant bytes, never up (property)', () => {
    fc.assert(
      fc.property(fc.bigInt(1n, TWO256 - 1n), (t) => {
        const d = decodeBits(encodeBits(t));
        assert.ok(d !== undefined);
        assert.ok(d <= t);
        assert.ok(t - d <= t >> 15n, `${t} -> ${d}`);
        if (t < 0x800000n) assert.equal(d, t);
      }),
      { numRuns: 200 },
    );
  });

  test('decode(encode(decode(bits))) === decode(bits) for every valid compact value (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (bits) => {
        const t = decodeBits(bits);
        if (t === undefined) return;
        const again = encodeBits(t);
        assert.equal(decodeBits(again), t);
        assert.equal(encodeBits(decodeBits(again)!), again); // the canonical form is a fixed point
      }),
      { numRuns: 300 },
    );
  });

  test('bitsForLeadingZeroBits gives a target with exactly that many leading zero bits', () => {
    for (let z = 1; z <= 240; z++) {
      const t = decodeBits(bitsForLeadingZeroBits(z))!;
      assert.ok(t < 1n << BigInt(256 - z), `z=${z}`);
      assert.ok(t >= 1n << BigInt(255 - z), `z=${z}`);
    }
    for (const z of [0, 241, 1.5]) assert.throws(() => bitsForLeadingZeroBits(z), RangeError);
  });

  test('workForTarget', () => {
    assert.equal(workForTarget(TWO256 - 1n), 1n);
    assert.equal(workForTarget((1n << 255n) - 1n), 2n);
    assert.equal(workForTarget(decodeBits(0x1d00ffff)!), 0x100010001n); // Bitcoin's difficulty-1 work
  });

  test('meetsTarget: hash as a big-endian number at most the target', () => {
    const h = fromHex('00'.repeat(31) + '05');
    assert.equal(meetsTarget(h, 5n), true);
    assert.equal(meetsTarget(h, 4n), false);
    assert.equal(meetsTarget(Buffer.alloc(32, 0xff), TWO256 - 1n), true);
    assert.equal(meetsTarget(Buffer.alloc(32), 0n), true);
    // Bitcoin's genesis block (its hash byte-reversed, as Bitcoin reads it as a number).
    const genesis = fromHex('000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f');
    assert.equal(meetsTarget(genesis, decodeBits(0x1d00ffff)!), true);
    assert.equal(meetsTarget(genesis, decodeBits(0x1b0404cb)!), false);
  });

  test('checkProofOfWork with a mined header', () => {
    const mined = mine({ ...HEADER, bits: EASY_BITS, proposer: NO_PROPOSER });
    assert.ok(checkProofOfWork(mined).ok);
    assert.ok(meetsTarget(headerHashBytes(mined), decodeBits(EASY_BITS)!));
    assert.equal(blockHash(mined).slice(0, 2), '00');
    // Some nonce near it fails, with BAD_POW.
    let failing = mined.nonce + 1;
    while (checkProofOfWork({ ...mined, nonce: failing }).ok) failing++;
    const r = checkProofOfWork({ ...mined, nonce: failing });
    assert.ok(!r.ok && r.error.code === ERR.BAD_POW);
    const bad = checkProofOfWork({ ...mined, bits: 0x01fedcba });
    assert.ok(!bad.ok && bad.error.code === ERR.BAD_TARGET);
  });

  test('checkProofOfWork agrees with comparing the hash as a number, across targets', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.nat(), fc.integer({ min: 1, max: 255 }), (bits, nonce, zeros) => {
        // Arbitrary bits (mostly invalid) and valid ones near the hash's own size.
        for (const b of [bits, bitsForLeadingZeroBits(Math.min(240, zeros))]) {
          const h = { ...HEADER, bits: b, nonce };
          const target = decodeBits(b);
          const r = checkProofOfWork(h);
          if (target === undefined) assert.ok(!r.ok && r.error.code === ERR.BAD_TARGET);
          else assert.equal(r.ok, BigInt('0x' + blockHash(h)) <= target);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('medianTimePast', () => {
  test('median of the last 11, upper median for even counts, 0 for none', () => {
    assert.equal(medianTimePast([]), 0);
    assert.equal(medianTimePast([5]), 5);
    assert.equal(medianTimePast([3, 1, 2]), 2);
    assert.equal(medianTimePast([1, 2, 3, 4]), 3);
    assert.equal(medianTimePast([999, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110]), 60);
    const input = [50, 10, 40, 30, 20];
    medianTimePast(input);
    assert.deepEqual(input, [50, 10, 40, 30, 20]); // not sorted in place
  });

  test('agrees with sorting the last 11', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 2 ** 48 }), { maxLength: 30 }), (ts) => {
        const last = ts.slice(-11).sort((a, b) => a - b);
        assert.equal(medianTimePast(ts), last.length === 0 ? 0 : last[Math.floor(last.length / 2)]);
      }),
      { numRuns: 300 },
    );
  });
});

describe('checkHeader', () => {
  const pow: PowParams = { type: 'pow', targetBlockTimeMs: 1000, initialBits: EASY_BITS, powLimitBits: EASY_BITS, retargetInterval: 10, maxAdjustFactor: 4, reward: 50n, halvingInterval: 0 };
  const bft: BftParams = { type: 'bft', emptyBlockIntervalMs: 1000, timeoutProposeMs: 1000, timeoutVoteMs: 1000, governanceThreshold: { num: 2, den: 3 } };
  // Ten ancestors and the parent: timestamps 10..110 after an old outlier, so only the last 11 count.
  const recent = [999_999, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110];
  const now = 1_000_000;
  const ctxPow: HeaderContext = { chainId: 'c', consensus: pow, parentHash: 'aa'.repeat(32), parentHeight: 11, recentTimestamps: recent, now, maxFutureMs: 15_000, expectedBits: EASY_BITS };
  const ctxBft: HeaderContext = { ...ctxPow, consensus: bft, expectedBits: undefined };
  const base: BlockHeader = { version: BLOCK_VERSION, chainId: 'c', height: 12, prevHash: 'aa'.repeat(32), timestamp: 61, txRoot: '00'.repeat(32), stateRoot: '00'.repeat(32), bits: EASY_BITS, nonce: 0, proposer: NO_PROPOSER };
  const goodPow = mine(base);
  const goodBft: BlockHeader = { ...base, bits: 0, nonce: 0, proposer: '77'.repeat(32) };

  function expectFail(h: BlockHeader, ctx: HeaderContext, code: ErrorCode, message?: RegExp): void {
    const r = checkHeader(h, ctx);
    assert.equal(r.ok, false, `accepted, expected ${code}`);
    if (!r.ok) {
      assert.equal(r.error.code, code, r.error.message);
      if (message) assert.match(r.error.message, message);
    }
  }

  test('valid PoW and BFT headers pass', () => {
    assert.ok(checkHeader(goodPow, ctxPow).ok);
    assert.ok(checkHeader(goodBft, ctxBft).ok);
    // Without an expected target, any valid target the hash meets passes.
    assert.ok(checkHeader(goodPow, { ...ctxPow, expectedBits: undefined }).ok);
  });

  test('BAD_VERSION, BAD_CHAIN_ID, BAD_HEIGHT, BAD_PREV_HASH', () => {
    expectFail(mine({ ...base, version: 2 }), ctxPow, ERR.BAD_VERSION, /version 2/);
    expectFail(mine({ ...base, chainId: 'd' }), ctxPow, ERR.BAD_CHAIN_ID, /"d"/);
    expectFail(mine({ ...base, height: 13 }), ctxPow, ERR.BAD_HEIGHT, /height 13/);
    expectFail(mine({ ...base, height: 11 }), ctxPow, ERR.BAD_HEIGHT);
    expectFail(mine({ ...base, prevHash: 'ab'.repeat(32) }), ctxPow, ERR.BAD_PREV_HASH);
    expectFail({ ...goodBft, version: 0 }, ctxBft, ERR.BAD_VERSION);
    expectFail({ ...goodBft, prevHash: 'ab'.repeat(32) }, ctxBft, ERR.BAD_PREV_HASH);
  });

  test('TIMESTAMP_TOO_OLD: not after the median of the last 11 timestamps', () => {
    // Median of 10..110 is 60: 60 is too old, 61 is fine (the outlier 999999 is the 12th-last and ignored).
    expectFail(mine({ ...base, timestamp: 60 }), ctxPow, ERR.TIMESTAMP_TOO_OLD, /median of recent blocks 60/);
    expectFail(mine({ ...base, timestamp: 1 }), ctxPow, ERR.TIMESTAMP_TOO_OLD);
    assert.ok(checkHeader(mine({ ...base, timestamp: 61 }), ctxPow).ok);
    // Timestamps may go backwards relative to the parent (110), as long as they beat the median.
    assert.ok(checkHeader({ ...goodBft, timestamp: 61 }, ctxBft).ok);
    expectFail({ ...goodBft, timestamp: 60 }, ctxBft, ERR.TIMESTAMP_TOO_OLD);
    // With a shuffled history the median is still the middle value.
    const shuffled = [110, 10, 100, 20, 90, 30, 80, 40, 70, 50, 60];
    expectFail({ ...goodBft, timestamp: 60 }, { ...ctxBft, recentTimestamps: shuffled }, ERR.TIMESTAMP_TOO_OLD);
    assert.ok(checkHeader({ ...goodBft, timestamp: 61 }, { ...ctxBft, recentTimestamps: shuffled }).ok);
  });

  test('TIMESTAMP_IN_FUTURE: more than maxFutureMs ahead of the clock', () => {
    assert.ok(checkHeader({ ...goodBft, timestamp: now + 15_000 }, ctxBft).ok);
    expectFail({ ...goodBft, timestamp: now + 15_001 }, ctxBft, ERR.TIMESTAMP_IN_FUTURE, /15000 ms ahead/);
    expectFail(mine({ ...base, timestamp: now + 20_000 }), ctxPow, ERR.TIMESTAMP_IN_FUTURE);
  });

  test('BAD_TARGET: PoW bits other than the expected ones, invalid bits, BFT bits or nonce', () => {
    const harder = bitsForLeadingZeroBits(9);
    expectFail(mine({ ...base, bits: harder }), ctxPow, ERR.BAD_TARGET, /not the required target/);
    expectFail({ ...goodPow, bits: 0x01fedcba }, { ...ctxPow, expectedBits: undefined }, ERR.BAD_TARGET, /do not encode a valid target/);
    expectFail({ ...goodBft, bits: 1 }, ctxBft, ERR.BAD_TARGET, /bits and nonce 0/);
    expectFail({ ...goodBft, nonce: 1 }, ctxBft, ERR.BAD_TARGET);
  });

  test('BAD_POW: a header whose hash misses its target', () => {
    let n = goodPow.nonce + 1;
    while (checkProofOfWork({ ...goodPow, nonce: n }).ok) n++;
    expectFail({ ...goodPow, nonce: n }, ctxPow, ERR.BAD_POW);
    // Changing any committed field after mining almost surely breaks the work.
    let broken = 0;
    for (let i = 0; i < 16; i++) if (!checkHeader({ ...goodPow, stateRoot: i.toString(16).padStart(64, '0') }, ctxPow).ok) broken++;
    assert.ok(broken >= 10);
  });

  test('BAD_PROPOSER: a PoW header names a proposer, a BFT header does not', () => {
    expectFail(mine({ ...base, proposer: '77'.repeat(32) }), ctxPow, ERR.BAD_PROPOSER, /no proposer/);
    expectFail({ ...goodBft, proposer: NO_PROPOSER }, ctxBft, ERR.BAD_PROPOSER, /names its proposer/);
  });
});
