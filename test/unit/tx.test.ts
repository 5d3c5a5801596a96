/** core/tx.ts: transaction JSON form, ids, signatures and structural checks. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  canonicalJson,
  DEFAULT_PARAMS,
  ERR,
  MAX_AMOUNT,
  recordValueError,
  signTx,
  txFromJson,
  txId,
  txIdBytes,
  txSender,
  txSize,
  txToJson,
  verifyTxSignature,
  type CoinbaseTx,
  type ErrorCode,
  type JsonValue,
  type RecordTx,
  type SignedTx,
  type TransferTx,
  type Tx,
  type TxLimits,
  type UnsignedTx,
} from '../../src/core/index.ts';
import { addressFromPublicKey, keyPairFromSeed, sha256, toHex } from '../../src/crypto/index.ts';

const LIMITS: TxLimits = DEFAULT_PARAMS;
const KEYS = [1, 2, 3, 4].map((b) => keyPairFromSeed(Buffer.alloc(32, b)));
const ADDRS = KEYS.map((k) => addressFromPublicKey(k.publicKey));
const k1 = KEYS[0]!;

function parse(json: unknown, limits: TxLimits = LIMITS): Tx {
  const r = txFromJson(json, limits);
  if (!r.ok) assert.fail(`txFromJson failed: ${r.error.code} ${r.error.message}`);
  return r.value;
}

describe('a fixed known vector', () => {
  // These constants pin the transaction encoding (canonical JSON field names and order,
  // amounts as strings, the "peerchain:tx:v1" domain tag) and Ed25519 signing: if any of
  // them changes, every existing transaction id and signature changes with it. Computed
  // once with this code and hard-coded on purpose.
  const FIXED_PUBLIC_KEY = '8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c';
  const FIXED_FROM_ADDRESS = 'pc1t97rsd0w9s089z2n46dlk83v3auvqfmztq36zs';
  const FIXED_TO = 'pc1q7fr36zxqrn3p9d7xd6d3cjns52anumr2xe8az';
  const FIXED_UNSIGNED_JSON =
    '{"amount":"1000","chainId":"peerchain-test","fee":"1","from":"8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c","kind":"transfer","nonce":0,"to":"pc1q7fr36zxqrn3p9d7xd6d3cjns52anumr2xe8az"}';
  const FIXED_ID = '496446c2a7724e481b8a4e3b4dbfe809e988fd736fa5705feb3f2e773807c005';
  const FIXED_SIG =
    'df4f442769725e45df4aaea2972ebafa3a2f9af62293963c1f9434f053298e32308c048947b76f1ac745df097dc3d3f97503bcf5b1f3c7bf8bb9ede2e06f6908';
  const FIXED_RECORD_ID = '0dcde858c8afdb3bf03a5487ed84b06c8961e05750e7ebf8c5227bf4eeacb43c';
  const FIXED_RECORD_SIG =
    '836feec283df51fdfba64fe8c7bc55123651ad54a060821f31b7376fa78d0ee7cc077160ceb353e5b8d751e3af71205e8d654d7a581503fec3c3f11c6702b501';

  test('seed 0x01 x 32 signing a fixed transfer gives a fixed id and signature', () => {
    assert.equal(k1.publicKey, FIXED_PUBLIC_KEY);
    assert.equal(ADDRS[0], FIXED_FROM_ADDRESS);
    assert.equal(ADDRS[1], FIXED_TO);
    const unsigned = { kind: 'transfer', chainId: 'peerchain-test', from: k1.publicKey, nonce: 0, fee: 1n, to: ADDRS[1]!, amount: 1000n } as const;
    assert.equal(canonicalJson(txToJson(unsigned)), FIXED_UNSIGNED_JSON);
    // The id is the tagged SHA-256 of exactly that text.
    assert.equal(toHex(sha256(Buffer.from('peerchain:tx:v1\0' + FIXED_UNSIGNED_JSON, 'utf8'))), FIXED_ID);
    const tx = signTx(unsigned, k1);
    assert.equal(txId(tx), FIXED_ID);
    assert.equal(txId(unsigned), FIXED_ID);
    assert.equal(tx.sig, FIXED_SIG);
    assert.equal(verifyTxSignature(tx), true);
    assert.equal(txSender(tx), FIXED_FROM_ADDRESS);
  });

  test('seed 0x01 x 32 signing a fixed record gives a fixed id and signature', () => {
    const tx = signTx(
      { kind: 'record', chainId: 'peerchain-test', from: k1.publicKey, nonce: 1, fee: 2n, key: 'vin:WVWZZZ1JZXW000001', value: { km: 120000, work: 'brake pads', ok: true } } as const,
      k1,
    );
    assert.equal(txId(tx), FIXED_RECORD_ID);
    assert.equal(tx.sig, FIXED_RECORD_SIG);
  });
});

// Arbitraries for well-formed signed transactions among the fixed keys.
const chainIdArb = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,31}$/);
// Keys starting with "~" are reserved for membership and governance records.
const recordKeyArb = fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 40 }).filter((k) => !k.startsWith('~'));
const valueArb = fc.jsonValue({ maxDepth: 3 }).filter((v) => recordValueError(v, LIMITS.maxRecordValueBytes) === undefined) as fc.Arbitrary<JsonValue>;
const amountArb = fc.oneof(fc.bigInt(1n, 1000n), fc.bigInt(1n, MAX_AMOUNT));
const feeArb = fc.oneof(fc.bigInt(0n, 100n), fc.bigInt(0n, MAX_AMOUNT));
const baseArb = fc.record({ signer: fc.nat({ max: KEYS.length - 1 }), chainId: chainIdArb, nonce: fc.oneof(fc.nat({ max: 10 }), fc.maxSafeNat()), fee: feeArb });
const transferArb = fc.record({ base: baseArb, to: fc.nat({ max: ADDRS.length - 1 }), amount: amountArb }).map(({ base, to, amount }): TransferTx => {
  const k = KEYS[base.signer]!;
  return signTx({ kind: 'transfer', chainId: base.chainId, from: k.publicKey, nonce: base.nonce, fee: base.fee, to: ADDRS[to]!, amount }, k);
});
const recordArb = fc.record({ base: baseArb, key: recordKeyArb, value: valueArb }).map(({ base, key, value }): RecordTx => {
  const k = KEYS[base.signer]!;
  return signTx({ kind: 'record', chainId: base.chainId, from: k.publicKey, nonce: base.nonce, fee: base.fee, key, value }, k);
});
const signedArb: fc.Arbitrary<SignedTx> = fc.oneof(transferArb, recordArb);

describe('JSON round trip (properties)', () => {
  test('txFromJson(txToJson(tx)) equals tx and the id is stable', () => {
    fc.assert(
      fc.property(signedArb, (tx) => {
        const back = parse(txToJson(tx));
        assert.deepEqual(back, tx);
        assert.equal(txId(back), txId(tx));
        assert.equal(verifyTxSignature(back as SignedTx), true);
        assert.equal(txSize(tx), Buffer.byteLength(canonicalJson(txToJson(tx)), 'utf8'));
      }),
      { numRuns: 100 },
    );
  });

  test('the round trip through JSON text keeps the id and the signature', () => {
    fc.assert(
      fc.property(signedArb, (tx) => {
        const back = parse(JSON.parse(JSON.stringify(txToJson(tx)))) as SignedTx;
        assert.equal(canonicalJson(txToJson(back)), canonicalJson(txToJson(tx)));
        assert.equal(txId(back), txId(tx));
        assert.equal(verifyTxSignature(back), true);
      }),
      { numRuns: 100 },
    );
  });

  test('coinbase round trip', () => {
    fc.assert(
      fc.property(chainIdArb, fc.maxSafeNat(), fc.nat({ max: ADDRS.length - 1 }), fc.bigInt(0n, MAX_AMOUNT), (chainId, height, to, amount) => {
        const cb: CoinbaseTx = { kind: 'coinbase', chainId, height, to: ADDRS[to]!, amount };
        assert.deepEqual(parse(JSON.parse(JSON.stringify(txToJson(cb)))), cb);
      }),
      { numRuns: 100 },
    );
  });

  test('the id does not cover the signature; signed and unsigned forms share it', () => {
    fc.assert(
      fc.property(signedArb, (tx) => {
        const { sig: _sig, ...unsigned } = tx;
        assert.equal(txId(unsigned as UnsignedTx), txId(tx));
        assert.equal(toHex(txIdBytes(tx)), txId(tx));
      }),
      { numRuns: 50 },
    );
  });
});

describe('signatures', () => {
  test('flipping any byte of a signed transaction breaks its signature (property)', () => {
    let parsedAndSame = 0;
    fc.assert(
      fc.property(signedArb, fc.nat(), fc.integer({ min: 1, max: 255 }), (tx, at, mask) => {
        const bytes = Buffer.from(canonicalJson(txToJson(tx)), 'utf8');
        const i = at % bytes.length;
        bytes[i]! ^= mask;
        let json: unknown;
        try {
          json = JSON.parse(bytes.toString('utf8'));
        } catch {
          return; // no longer JSON
        }
        const r = txFromJson(json, LIMITS);
        if (!r.ok) return; // no longer a well-formed transaction
        if (r.value.kind === 'coinbase' || r.value.kind === 'evidence') return; // no longer a signed transaction at all
        if (canonicalJson(txToJson(r.value)) === canonicalJson(txToJson(tx))) {
          // Another spelling of the very same JSON value (e.g. "1e+21" -> "1e021"): the same transaction.
          parsedAndSame++;
          return;
        }
        assert.equal(verifyTxSignature(r.value), false, `byte ${i} ^ ${mask} still verifies: ${bytes.toString('utf8')}`);
      }),
      { numRuns: 300 },
    );
    assert.ok(parsedAndSame < 10);
  });

  test('replacing the signature by any other well-formed hex fails verification', () => {
    fc.assert(
      fc.property(signedArb, fc.uint8Array({ minLength: 64, maxLength: 64 }), (tx, sig) => {
        const forged = parse({ ...txToJson(tx), sig: toHex(sig) }) as SignedTx;
        assert.equal(verifyTxSignature(forged), sig.every((b, i) => b === Buffer.from(tx.sig, 'hex')[i]));
      }),
      { numRuns: 50 },
    );
  });

  test('a signature does not carry over to another chain, nonce, fee, recipient, amount, key or value', () => {
    const t = signTx({ kind: 'transfer', chainId: 'main', from: k1.publicKey, nonce: 3, fee: 1n, to: ADDRS[1]!, amount: 5n }, k1);
    const variants: TransferTx[] = [
      { ...t, chainId: 'other' },
      { ...t, nonce: 4 },
      { ...t, fee: 2n },
      { ...t, to: ADDRS[2]! },
      { ...t, amount: 6n },
      { ...t, from: KEYS[1]!.publicKey },
    ];
    for (const v of variants) assert.equal(verifyTxSignature(v), false);
    const r = signTx({ kind: 'record', chainId: 'main', from: k1.publicKey, nonce: 0, fee: 1n, key: 'k', value: [1, 2] }, k1);
    assert.equal(verifyTxSignature({ ...r, key: 'k2' }), false);
    assert.equal(verifyTxSignature({ ...r, value: [2, 1] }), false);
    assert.equal(verifyTxSignature(r), true);
  });

  test('verifyTxSignature returns false for a malformed signature or key, without throwing', () => {
    const t = signTx({ kind: 'transfer', chainId: 'main', from: k1.publicKey, nonce: 0, fee: 1n, to: ADDRS[1]!, amount: 5n }, k1);
    for (const sig of [t.sig.toUpperCase(), t.sig.slice(2), '', 'zz'.repeat(64), t.sig + '00']) assert.equal(verifyTxSignature({ ...t, sig }), false);
    assert.equal(verifyTxSignature({ ...t, from: 'xyz' }), false);
  });

  test('a parsed transaction does not alias its input JSON', () => {
    const signed = signTx({ kind: 'record', chainId: 'main', from: k1.publicKey, nonce: 0, fee: 1n, key: 'k', value: { a: 1 } }, k1);
    const json = JSON.parse(JSON.stringify(txToJson(signed))) as { value: { a: number } };
    const tx = parse(json) as RecordTx;
    const id = txId(tx);
    json.value.a = 2;
    assert.deepEqual(tx.value, { a: 1 });
    assert.equal(txId(tx), id);
    assert.equal(verifyTxSignature(parse(JSON.parse(JSON.stringify(txToJson(tx)))) as SignedTx), true);
  });

  test('signTx refuses keys that do not belong to tx.from', () => {
    assert.throws(() => signTx({ kind: 'transfer', chainId: 'main', from: k1.publicKey, nonce: 0, fee: 1n, to: ADDRS[1]!, amount: 5n }, KEYS[1]!), /do not belong/);
  });
});

describe('txFromJson rejects malformed transactions', () => {
  const transfer = txToJson(signTx({ kind: 'transfer', chainId: 'main', from: k1.publicKey, nonce: 0, fee: 1n, to: ADDRS[1]!, amount: 5n }, k1)) as Record<string, unknown>;
  const record = txToJson(signTx({ kind: 'record', chainId: 'main', from: k1.publicKey, nonce: 0, fee: 1n, key: 'k', value: { a: 1 } }, k1)) as Record<string, unknown>;
  const coinbase = txToJson({ kind: 'coinbase', chainId: 'main', height: 1, to: ADDRS[1]!, amount: 50n }) as Record<string, unknown>;

  function expectError(json: unknown, code: ErrorCode, message: RegExp, limits: TxLimits = LIMITS): void {
    const r = txFromJson(json, limits);
    assert.equal(r.ok, false, `accepted ${JSON.stringify(json)}`);
    if (!r.ok) {
      assert.equal(r.error.code, code, r.error.message);
      assert.match(r.error.message, message);
    }
  }

  test('the well-formed bases are accepted', () => {
    parse(transfer);
    parse(record);
    parse(coinbase);
  });

  test('extra fields are rejected, naming the field', () => {
    for (const base of [transfer, record, coinbase]) {
      expectError({ ...base, memo: 'hi' }, ERR.MALFORMED, /unknown field "memo"/);
      expectError({ ...base, __proto__x: 1 }, ERR.MALFORMED, /unknown field "__proto__x"/);
    }
    expectError({ ...coinbase, sig: transfer.sig }, ERR.MALFORMED, /unknown field "sig"/);
    expectError({ ...transfer, key: 'k' }, ERR.MALFORMED, /unknown field "key"/);
    expectError({ ...record, amount: '1' }, ERR.MALFORMED, /unknown field "amount"/);
    // An extra field through JSON text, e.g. a "__proto__" key, is an own property and rejected too.
    expectError(JSON.parse(JSON.stringify(transfer).replace(/^\{/, '{"__proto__":{},')), ERR.MALFORMED, /unknown field "__proto__"/);
  });

  test('missing fields are rejected, naming the field', () => {
    for (const base of [transfer, record, coinbase]) {
      for (const k of Object.keys(base)) {
        if (k === 'kind') continue;
        const { [k]: _gone, ...rest } = base;
        expectError(rest, ERR.MALFORMED, new RegExp(`missing field "${k}"`));
      }
    }
  });

  test('every named error code is reachable, with a clear message', () => {
    const cases: [string, unknown, ErrorCode, RegExp, TxLimits?][] = [
      ['not an object', 'tx', ERR.MALFORMED, /JSON object/],
      ['null', null, ERR.MALFORMED, /JSON object/],
      ['an array', [transfer], ERR.MALFORMED, /JSON object/],
      ['unknown kind', { ...transfer, kind: 'mint' }, ERR.MALFORMED, /unknown transaction kind "mint"/],
      ['no kind', { ...transfer, kind: undefined }, ERR.MALFORMED, /unknown transaction kind/],
      ['function in value (not plain JSON)', { ...record, value: { f: () => 1 } }, ERR.RECORD_VALUE, /record value is not plain JSON/],
      ['NaN in value (not plain JSON)', { ...record, value: [Number.NaN] }, ERR.RECORD_VALUE, /not plain JSON/],
      ['bad from', { ...transfer, from: 'ab' }, ERR.MALFORMED, /"from" must be the sender public key/],
      ['uppercase from', { ...transfer, from: k1.publicKey.toUpperCase() }, ERR.MALFORMED, /"from"/],
      ['coinbase height negative', { ...coinbase, height: -1 }, ERR.MALFORMED, /coinbase height/],
      ['coinbase height fractional', { ...coinbase, height: 1.5 }, ERR.MALFORMED, /coinbase height/],
      ['bad chainId (uppercase)', { ...transfer, chainId: 'Main' }, ERR.BAD_CHAIN_ID, /chainId must be/],
      ['bad chainId (too long)', { ...transfer, chainId: 'a'.repeat(33) }, ERR.BAD_CHAIN_ID, /chainId/],
      ['bad chainId (leading dash)', { ...transfer, chainId: '-main' }, ERR.BAD_CHAIN_ID, /chainId/],
      ['bad chainId (number)', { ...coinbase, chainId: 5 }, ERR.BAD_CHAIN_ID, /chainId/],
      ['too large', { ...record, value: 'x'.repeat(300) }, ERR.TOO_LARGE, /bytes, the limit is 256/, { ...LIMITS, maxTxBytes: 256 }],
      ['bad to (checksum)', { ...transfer, to: (transfer.to as string).slice(0, -1) + 'q' }, ERR.BAD_ADDRESS, /"to": address .* invalid/],
      ['bad to (uppercase)', { ...transfer, to: (transfer.to as string).toUpperCase() }, ERR.BAD_ADDRESS, /lowercase/],
      ['bad coinbase to', { ...coinbase, to: 'pc1xyz' }, ERR.BAD_ADDRESS, /coinbase "to"/],
      ['negative amount', { ...transfer, amount: '-5' }, ERR.BAD_AMOUNT, /amount must be a decimal string/],
      ['numeric amount', { ...transfer, amount: 5 }, ERR.BAD_AMOUNT, /amount/],
      ['zero transfer', { ...transfer, amount: '0' }, ERR.BAD_AMOUNT, /amount must be positive/],
      ['amount over 2^64-1', { ...transfer, amount: '18446744073709551616' }, ERR.BAD_AMOUNT, /2\^64-1/],
      ['bad fee', { ...transfer, fee: '1.5' }, ERR.BAD_AMOUNT, /fee must be/],
      ['bad coinbase amount', { ...coinbase, amount: '01' }, ERR.BAD_AMOUNT, /coinbase amount/],
      ['negative nonce', { ...transfer, nonce: -1 }, ERR.BAD_NONCE, /nonce must be a non-negative safe integer/],
      ['string nonce', { ...transfer, nonce: '0' }, ERR.BAD_NONCE, /nonce/],
      ['unsafe nonce', { ...transfer, nonce: 2 ** 53 }, ERR.BAD_NONCE, /nonce/],
      ['short sig', { ...transfer, sig: (transfer.sig as string).slice(2) }, ERR.BAD_SIGNATURE, /64-byte Ed25519 signature/],
      ['uppercase sig', { ...transfer, sig: (transfer.sig as string).toUpperCase() }, ERR.BAD_SIGNATURE, /sig/],
      ['empty record key', { ...record, key: '' }, ERR.RECORD_KEY, /record key must be 1-128 printable ASCII/],
      ['record key with a space', { ...record, key: 'a b' }, ERR.RECORD_KEY, /record key/],
      ['record key non-ASCII', { ...record, key: 'clé' }, ERR.RECORD_KEY, /record key/],
      ['record key too long', { ...record, key: 'k'.repeat(129) }, ERR.RECORD_KEY, /record key/],
      ['record key not a string', { ...record, key: 5 }, ERR.RECORD_KEY, /record key/],
      ['record value too large', { ...record, value: 'x'.repeat(200) }, ERR.RECORD_VALUE, /record value is \d+ bytes, the limit is 100/, { ...LIMITS, maxRecordValueBytes: 100 }],
    ];
    const reached = new Set<string>();
    for (const [what, json, code, message, limits] of cases) {
      const r = txFromJson(json, limits ?? LIMITS);
      assert.equal(r.ok, false, `${what}: accepted`);
      if (!r.ok) {
        assert.equal(r.error.code, code, `${what}: ${r.error.message}`);
        assert.match(r.error.message, message, what);
        reached.add(r.error.code);
      }
    }
    assert.deepEqual(
      [...reached].sort(),
      [ERR.MALFORMED, ERR.TOO_LARGE, ERR.BAD_CHAIN_ID, ERR.BAD_ADDRESS, ERR.BAD_AMOUNT, ERR.BAD_NONCE, ERR.BAD_SIGNATURE, ERR.RECORD_KEY, ERR.RECORD_VALUE].sort(),
    );
  });

  test('record keys at the limits and any printable ASCII are accepted', () => {
    parse({ ...record, key: 'k'.repeat(128) });
    parse({ ...record, key: '!~"#{}' });
    parse({ ...record, value: null });
  });

  test('txFromJson never throws, even for values JSON.parse cannot produce', () => {
    const r = txFromJson({ kind: 1n }, LIMITS);
    assert.equal(r.ok, false);
  });

  test('txFromJson never throws on arbitrary input', () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.record({ kind: fc.constantFrom('transfer', 'record', 'coinbase'), chainId: fc.constant('main'), from: fc.anything(), nonce: fc.anything(), fee: fc.anything(), to: fc.anything(), amount: fc.anything(), sig: fc.anything(), key: fc.anything(), value: fc.anything(), height: fc.anything() }, { requiredKeys: ['kind'] })), (v) => {
        assert.doesNotThrow(() => txFromJson(v, LIMITS));
      }),
      { numRuns: 300 },
    );
  });
});
