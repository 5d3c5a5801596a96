/**
 * crypto/: SHA-256, Ed25519 (RFC 8032), bech32m (BIP-350), addresses and key files,
 * checked against published vectors and by exhaustive tampering.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ADDRESS_HRP,
  addressError,
  addressFromPublicKey,
  bech32mDecode,
  bech32mEncode,
  convertBits,
  decodeKeyFile,
  encodeKeyFile,
  fromHex,
  generateKeyPair,
  HexError,
  isAddress,
  isEncryptedKeyFile,
  isHex,
  isPublicKeyHex,
  KeyError,
  KeyFileError,
  keyPairFromSeed,
  publicKeyObject,
  sha256,
  sha256d,
  sign,
  TAG,
  taggedHash,
  toHex,
  verify,
  verifyAsync,
  type KeyFile,
  type KeyFileEncrypted,
  type KeyFilePlain,
} from '../../src/crypto/index.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');

describe('SHA-256', () => {
  // FIPS 180-2 / NIST CAVS examples.
  const vectors: [string, string][] = [
    ['', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    ['abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    ['abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq', '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1'],
    [
      'abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu',
      'cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1',
    ],
  ];
  for (const [msg, digest] of vectors) {
    test(`sha256(${JSON.stringify(msg.slice(0, 12))}${msg.length > 12 ? '...' : ''})`, () => {
      assert.equal(hex(sha256(utf8(msg))), digest);
    });
  }

  test('one million "a"', () => {
    assert.equal(hex(sha256(Buffer.alloc(1_000_000, 'a'))), 'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0');
  });

  test('sha256 of a subarray hashes only its bytes', () => {
    const big = utf8('xxabcxx');
    assert.equal(hex(sha256(big.subarray(2, 5))), vectors[1]![1]);
  });

  test('sha256d: the Bitcoin genesis block header hashes to its well-known id', () => {
    const header = fromHex(
      '0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c',
    );
    // Bitcoin displays hashes byte-reversed.
    assert.equal(hex(Buffer.from(sha256d(header)).reverse()), '000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f');
  });

  test('taggedHash is SHA-256 of tag, NUL, then the parts concatenated', () => {
    const a = utf8('hello ');
    const b = utf8('world');
    const expected = sha256(Buffer.concat([utf8('peerchain:tx:v1\0'), a, b]));
    assert.equal(hex(taggedHash(TAG.tx, a, b)), hex(expected));
    assert.equal(hex(taggedHash(TAG.tx, Buffer.concat([a, b]))), hex(expected));
    // Called twice (the prefix is cached): same answer.
    assert.equal(hex(taggedHash(TAG.tx, a, b)), hex(expected));
  });

  test('every domain tag is distinct and gives a distinct hash of the same bytes', () => {
    const tags = Object.values(TAG);
    assert.equal(new Set(tags).size, tags.length);
    const hashes = tags.map((t) => hex(taggedHash(t, utf8('same bytes'))));
    assert.equal(new Set(hashes).size, tags.length);
  });
});

describe('hex helpers', () => {
  test('isHex accepts lowercase even-length hex, with an optional byte length', () => {
    assert.equal(isHex(''), true);
    assert.equal(isHex('00ff'), true);
    assert.equal(isHex('00ff', 2), true);
    assert.equal(isHex('00ff', 3), false);
    assert.equal(isHex('00FF'), false);
    assert.equal(isHex('0'), false);
    assert.equal(isHex('0g'), false);
    assert.equal(isHex(' 00'), false);
    assert.equal(isHex(12), false);
    assert.equal(isHex(null), false);
  });

  test('fromHex throws HexError on malformed hex and decodes good hex', () => {
    assert.deepEqual([...fromHex('01ff')], [1, 255]);
    assert.throws(() => fromHex('ABCD'), HexError);
    assert.throws(() => fromHex('abc'), HexError);
    assert.throws(() => fromHex('abcd', 3), (e: unknown) => e instanceof HexError && /3 bytes/.test(e.message));
  });

  test('toHex honours a view offset into a larger buffer', () => {
    const buf = new Uint8Array([0, 1, 2, 3, 4, 5]);
    assert.equal(toHex(new Uint8Array(buf.buffer, 2, 3)), '020304');
    assert.equal(toHex(Buffer.from([0xde, 0xad])), 'dead');
  });
});

describe('Ed25519 (RFC 8032 section 7.1)', () => {
  const vectors = [
    {
      name: 'TEST 1',
      seed: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
      publicKey: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
      message: '',
      signature:
        'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
    },
    {
      name: 'TEST 2',
      seed: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
      publicKey: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
      message: '72',
      signature:
        '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
    },
    {
      name: 'TEST 3',
      seed: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
      publicKey: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
      message: 'af82',
      signature:
        '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
    },
  ];

  for (const v of vectors) {
    test(`${v.name}: seed -> public key, message -> signature, verify`, () => {
      const keys = keyPairFromSeed(fromHex(v.seed));
      assert.equal(keys.publicKey, v.publicKey);
      assert.equal(hex(keys.seed), v.seed);
      assert.equal(isPublicKeyHex(keys.publicKey), true);
      const sig = sign(keys, fromHex(v.message));
      assert.equal(hex(sig), v.signature);
      assert.equal(verify(v.publicKey, fromHex(v.message), fromHex(v.signature)), true);
    });
  }

  const v1 = vectors[1]!;
  const msg = fromHex(v1.message);
  const sig = fromHex(v1.signature);

  test('verify rejects every single flipped bit of the signature', () => {
    for (let i = 0; i < sig.length * 8; i++) {
      const bad = Buffer.from(sig);
      bad[i >> 3]! ^= 1 << (i & 7);
      assert.equal(verify(v1.publicKey, msg, bad), false, `bit ${i}`);
    }
  });

  test('verify rejects every single flipped bit of the message and of the public key', () => {
    for (let i = 0; i < 8; i++) {
      const m = Buffer.from(msg);
      m[0]! ^= 1 << i;
      assert.equal(verify(v1.publicKey, m, sig), false);
    }
    assert.equal(verify(v1.publicKey, Buffer.concat([msg, Buffer.from([0])]), sig), false);
    const pk = fromHex(v1.publicKey);
    for (let i = 0; i < pk.length * 8; i++) {
      const bad = Buffer.from(pk);
      bad[i >> 3]! ^= 1 << (i & 7);
      assert.equal(verify(hex(bad), msg, sig), false, `public key bit ${i}`);
    }
  });

  test('verify rejects a signature under the wrong key', () => {
    assert.equal(verify(vectors[0]!.publicKey, msg, sig), false);
    assert.equal(verify(vectors[2]!.publicKey, msg, sig), false);
  });

  test('verify returns false (never throws) for malformed keys and signatures', () => {
    const malformedKeys: unknown[] = [
      '',
      'zz',
      v1.publicKey.toUpperCase(),
      v1.publicKey.slice(2),
      v1.publicKey + '00',
      ' ' + v1.publicKey.slice(1),
      undefined,
      null,
      42,
      {},
    ];
    for (const k of malformedKeys) {
      assert.doesNotThrow(() => verify(k as string, msg, sig));
      assert.equal(verify(k as string, msg, sig), false, `key ${String(k)}`);
    }
    const malformedSigs = [Buffer.alloc(0), sig.subarray(0, 63), Buffer.concat([sig, Buffer.from([0])]), Buffer.alloc(64), Buffer.alloc(64, 0xff)];
    for (const s of malformedSigs) {
      assert.doesNotThrow(() => verify(v1.publicKey, msg, s));
      assert.equal(verify(v1.publicKey, msg, s), false, `sig of ${s.length} bytes`);
    }
  });

  test('verify rejects a non-canonical S (S + L), so signatures are not malleable', () => {
    const L = (1n << 252n) + 27742317777372353535851937790883648493n;
    let s = 0n;
    for (let i = 31; i >= 0; i--) s = (s << 8n) | BigInt(sig[32 + i]!);
    const s2 = s + L;
    assert.ok(s2 < 1n << 256n);
    const bad = Buffer.from(sig);
    for (let i = 0; i < 32; i++) bad[32 + i] = Number((s2 >> BigInt(8 * i)) & 0xffn);
    assert.equal(verify(v1.publicKey, msg, bad), false);
  });

  test('small-order public keys should not verify a universal signature', () => {
    const identity = '01' + '00'.repeat(31);
    const universal = fromHex('01' + '00'.repeat(31) + '00'.repeat(32));
    assert.equal(verify(identity, utf8('any message'), universal), false);
    assert.equal(verify(identity, utf8('another message'), universal), false);
  });

  test('verifyAsync gives verify\'s answer for the vectors, flipped bits, wrong keys, malformed input and small-order keys', async () => {
    const cases: [string, Uint8Array, Uint8Array][] = vectors.map((v) => [v.publicKey, fromHex(v.message), fromHex(v.signature)]);
    for (let i = 0; i < sig.length * 8; i += 7) {
      const bad = Buffer.from(sig);
      bad[i >> 3]! ^= 1 << (i & 7);
      cases.push([v1.publicKey, msg, bad]);
    }
    cases.push([vectors[0]!.publicKey, msg, sig], [v1.publicKey, Buffer.from([1]), sig], [v1.publicKey.slice(2), msg, sig], ['zz', msg, sig], [v1.publicKey, msg, sig.subarray(0, 63)], [v1.publicKey, msg, Buffer.alloc(64)]);
    cases.push(['01' + '00'.repeat(31), utf8('any message'), fromHex('01' + '00'.repeat(63))]);
    const answers = await Promise.all(cases.map(([k, m, s]) => verifyAsync(k, m, s)));
    assert.deepEqual(answers, cases.map(([k, m, s]) => verify(k, m, s)));
    assert.equal(answers.filter((a) => a).length, vectors.length);
  });

  test('verifyAsync answers every one of more checks than it hands the thread pool at once, each with its own answer', async () => {
    const keys = keyPairFromSeed(fromHex(v1.seed));
    const msgs = Array.from({ length: 700 }, (_, i) => utf8(`message ${i}`));
    const sigs = msgs.map((m, i) => (i % 3 === 0 ? sign(keys, utf8('another message')) : sign(keys, m)));
    const answers = await Promise.all(msgs.map((m, i) => verifyAsync(keys.publicKey, m, sigs[i]!)));
    assert.deepEqual(answers, msgs.map((_, i) => i % 3 !== 0));
  });

  test('keyPairFromSeed rejects a seed that is not 32 bytes; publicKeyObject rejects malformed keys', () => {
    assert.throws(() => keyPairFromSeed(Buffer.alloc(31)), KeyError);
    assert.throws(() => keyPairFromSeed(Buffer.alloc(33)), KeyError);
    assert.throws(() => publicKeyObject('AB'.repeat(32)), KeyError);
    assert.throws(() => publicKeyObject('ab'), KeyError);
  });

  test('generateKeyPair draws its seed from the given random source', () => {
    const seed = Buffer.alloc(32, 9);
    const keys = generateKeyPair((n) => Buffer.alloc(n, 9));
    assert.equal(keys.publicKey, keyPairFromSeed(seed).publicKey);
    const a = generateKeyPair();
    const b = generateKeyPair();
    assert.notEqual(a.publicKey, b.publicKey);
    const m = utf8('round trip');
    assert.equal(verify(a.publicKey, m, sign(a, m)), true);
    assert.equal(verify(b.publicKey, m, sign(a, m)), false);
  });
});

describe('bech32m (BIP-350)', () => {
  // BIP-350 "Test vectors for Bech32m": valid strings.
  const valid = [
    'A1LQFN3A',
    'a1lqfn3a',
    'an83characterlonghumanreadablepartthatcontainsthetheexcludedcharactersbioandnumber11sg7hg6',
    'abcdef1l7aum6echk45nj3s0wdvt2fg8x9yrzpqzd3ryx',
    '11llllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllludsr8',
    'split1checkupstagehandshakeupstreamerranterredcaperredlc445v',
    '?1v759aa',
  ];
  // BIP-350 invalid strings, with the reason the BIP gives.
  const invalid: [string, string][] = [
    ['\x20' + '1xj0phk', 'HRP character out of range'],
    ['\x7f' + '1g6xzxy', 'HRP character out of range'],
    ['\x80' + '1vctc34', 'HRP character out of range'],
    ['an84characterslonghumanreadablepartthatcontainsthetheexcludedcharactersbioandnumber11d6pts4', 'overall max length exceeded'],
    ['qyrz8wqd2c9m', 'no separator character'],
    ['1qyrz8wqd2c9m', 'empty HRP'],
    ['y1b0jsk6g', 'invalid data character'],
    ['lt1igcx5c0', 'invalid data character'],
    ['in1muywd', 'too short checksum'],
    ['mm1crxm3i', 'invalid character in checksum'],
    ['au1s5cgom', 'invalid character in checksum'],
    ['M1VUXWEZ', 'checksum calculated with uppercase form of HRP'],
    ['16plkw9', 'empty HRP'],
    ['1p2gdwpf', 'empty HRP'],
  ];

  for (const s of valid) {
    test(`valid: ${s.slice(0, 24)}${s.length > 24 ? '...' : ''}`, () => {
      const d = bech32mDecode(s);
      assert.ok(d.ok, d.ok ? '' : d.reason);
      const lower = s.toLowerCase();
      assert.equal(d.hrp, lower.slice(0, lower.lastIndexOf('1')));
      // Encoding the decoded parts gives back the (lowercase) string.
      assert.equal(bech32mEncode(d.hrp, d.words), lower);
    });
  }

  for (const [s, why] of invalid) {
    test(`invalid (${why}): ${JSON.stringify(s.slice(0, 24))}`, () => {
      const d = bech32mDecode(s);
      assert.equal(d.ok, false);
      if (!d.ok) assert.ok(d.reason.length > 0);
    });
  }

  test('BIP-350 segwit v1 address decodes; BIP-173 (bech32, not bech32m) strings do not', () => {
    const taproot = bech32mDecode('bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0');
    assert.ok(taproot.ok);
    assert.equal(taproot.hrp, 'bc');
    assert.equal(taproot.words[0], 1); // witness version 1
    assert.equal(convertBits(taproot.words.slice(1), 5, 8, false)?.length, 32);
    // BIP-173 valid bech32 strings carry the old constant: bech32m must reject them.
    for (const s of ['A12UEL5L', 'a12uel5l', 'abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw', 'split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w', '?1ezyfcl']) {
      assert.equal(bech32mDecode(s).ok, false, s);
    }
  });

  test('mixed case is rejected', () => {
    const d = bech32mDecode('A1lqfn3a');
    assert.equal(d.ok, false);
  });

  test('convertBits regroups and rejects bad padding or out-of-range values', () => {
    const bytes = [0xff, 0x00, 0xab];
    const words = convertBits(bytes, 8, 5, true)!;
    assert.deepEqual(convertBits(words, 5, 8, false), bytes);
    assert.equal(convertBits([32], 5, 8, false), undefined); // 32 is not a 5-bit value
    assert.equal(convertBits([256], 8, 5, true), undefined);
    assert.equal(convertBits([1], 5, 8, false), undefined); // non-zero padding
    assert.equal(convertBits([0], 5, 8, false), undefined); // 5 leftover bits: a whole group, not padding
    assert.deepEqual(convertBits([0, 0], 5, 8, false), [0]); // 2 leftover zero bits are padding
  });
});

describe('addresses', () => {
  const keys = [1, 2, 3, 250].map((b) => keyPairFromSeed(Buffer.alloc(32, b)));

  test('round trip: the address of a public key decodes to the first 20 bytes of its tagged hash', () => {
    for (const k of keys) {
      const a = addressFromPublicKey(k.publicKey);
      assert.ok(a.startsWith(ADDRESS_HRP + '1'));
      assert.equal(a.length, 2 + 1 + 32 + 6);
      assert.equal(a, a.toLowerCase());
      assert.equal(isAddress(a), true);
      assert.equal(addressError(a), undefined);
      const d = bech32mDecode(a);
      assert.ok(d.ok);
      const payload = convertBits(d.words, 5, 8, false)!;
      assert.equal(hex(Uint8Array.from(payload)), hex(taggedHash(TAG.address, fromHex(k.publicKey)).subarray(0, 20)));
    }
    assert.equal(new Set(keys.map((k) => addressFromPublicKey(k.publicKey))).size, keys.length);
  });

  test('addressFromPublicKey rejects a malformed public key', () => {
    assert.throws(() => addressFromPublicKey('ab'));
    assert.throws(() => addressFromPublicKey(keys[0]!.publicKey.toUpperCase()));
  });

  test('every single-character substitution of an address is rejected with a message', () => {
    const printable: string[] = [];
    for (let c = 33; c <= 126; c++) printable.push(String.fromCharCode(c));
    let checked = 0;
    for (const k of keys) {
      const a = addressFromPublicKey(k.publicKey);
      for (let i = 0; i < a.length; i++) {
        for (const c of printable) {
          if (c === a[i]) continue;
          const bad = a.slice(0, i) + c + a.slice(i + 1);
          const err = addressError(bad);
          assert.equal(typeof err, 'string', `substitution at ${i} by ${c} accepted: ${bad}`);
          assert.ok((err as string).length > 10);
          assert.equal(isAddress(bad), false);
          checked++;
        }
      }
    }
    assert.equal(checked, keys.length * 41 * 93);
  });

  test('every single-character deletion and every adjacent transposition is rejected', () => {
    for (const k of keys) {
      const a = addressFromPublicKey(k.publicKey);
      for (let i = 0; i < a.length; i++) {
        assert.notEqual(addressError(a.slice(0, i) + a.slice(i + 1)), undefined, `deletion at ${i}`);
        if (i + 1 < a.length && a[i] !== a[i + 1]) {
          const swapped = a.slice(0, i) + a[i + 1] + a[i] + a.slice(i + 2);
          assert.notEqual(addressError(swapped), undefined, `transposition at ${i}`);
        }
      }
    }
  });

  test('uppercase is rejected (even though bech32m itself allows it)', () => {
    const a = addressFromPublicKey(keys[0]!.publicKey);
    assert.equal(bech32mDecode(a.toUpperCase()).ok, true);
    const err = addressError(a.toUpperCase());
    assert.match(err ?? '', /lowercase/);
  });

  test('a wrong human-readable part is rejected, naming the prefix', () => {
    const a = addressFromPublicKey(keys[0]!.publicKey);
    const d = bech32mDecode(a);
    assert.ok(d.ok);
    const other = bech32mEncode('tb', d.words);
    assert.equal(bech32mDecode(other).ok, true);
    assert.match(addressError(other) ?? '', /prefix "tb", expected "pc"/);
  });

  test('a payload that is not 20 bytes is rejected', () => {
    for (const n of [0, 19, 21, 32]) {
      const s = bech32mEncode('pc', convertBits(Buffer.alloc(n, 7), 8, 5, true)!);
      assert.match(addressError(s) ?? '', /20-byte payload/, `payload of ${n} bytes`);
    }
  });

  test('non-strings are rejected with a message', () => {
    for (const v of [undefined, null, 5, {}, ['pc1']]) {
      assert.equal(addressError(v), 'an address must be a string');
      assert.equal(isAddress(v), false);
    }
  });
});

describe('key files', () => {
  const SMALL = { N: 1024, r: 8, p: 1 };
  const keys = keyPairFromSeed(Buffer.alloc(32, 0x42));
  const other = keyPairFromSeed(Buffer.alloc(32, 0x43));

  function reason(fn: () => unknown): string {
    try {
      fn();
    } catch (e) {
      assert.ok(e instanceof KeyFileError, `expected a KeyFileError, got ${String(e)}`);
      assert.ok(e.message.length > 0);
      return e.reason;
    }
    assert.fail('expected a KeyFileError');
  }

  const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
  const flipHex = (s: string, at = 0): string => {
    const b = fromHex(s);
    b[at]! ^= 0x01;
    return hex(b);
  };

  test('plain round trip, through JSON text', () => {
    const kf = encodeKeyFile(keys) as KeyFilePlain;
    assert.equal(isEncryptedKeyFile(kf), false);
    assert.equal(kf.type, 'peerchain-key');
    assert.equal(kf.version, 1);
    assert.equal(kf.publicKey, keys.publicKey);
    assert.equal(kf.address, addressFromPublicKey(keys.publicKey));
    assert.equal(kf.privateKey, hex(keys.seed));
    const back = decodeKeyFile(JSON.parse(JSON.stringify(kf)));
    assert.equal(back.publicKey, keys.publicKey);
    assert.equal(hex(back.seed), hex(keys.seed));
    // A passphrase given for a plain file is simply not needed.
    assert.equal(decodeKeyFile(kf, 'unused').publicKey, keys.publicKey);
  });

  const enc = encodeKeyFile(keys, 'correct horse', SMALL) as KeyFileEncrypted;

  test('encrypted round trip, through JSON text; the seed does not appear in the file', () => {
    assert.equal(isEncryptedKeyFile(enc), true);
    assert.deepEqual(enc.crypto.kdfparams.N, 1024);
    const text = JSON.stringify(enc);
    assert.equal(text.includes(hex(keys.seed)), false);
    const back = decodeKeyFile(JSON.parse(text), 'correct horse');
    assert.equal(back.publicKey, keys.publicKey);
    assert.equal(hex(back.seed), hex(keys.seed));
  });

  test('two encryptions of the same key use fresh salt and iv', () => {
    const again = encodeKeyFile(keys, 'correct horse', SMALL) as KeyFileEncrypted;
    assert.notEqual(again.crypto.kdfparams.salt, enc.crypto.kdfparams.salt);
    assert.notEqual(again.crypto.iv, enc.crypto.iv);
    assert.notEqual(again.crypto.ciphertext, enc.crypto.ciphertext);
  });

  test('the passphrase is NFKC-normalised (composed and decomposed forms are the same passphrase)', () => {
    const kf = encodeKeyFile(keys, 'caf\u00e9', SMALL);
    assert.equal(decodeKeyFile(kf, 'cafe\u0301').publicKey, keys.publicKey);
  });

  test('wrong passphrase -> wrong-passphrase', () => {
    assert.equal(reason(() => decodeKeyFile(enc, 'wrong horse')), 'wrong-passphrase');
    assert.equal(reason(() => decodeKeyFile(enc, '')), 'wrong-passphrase');
  });

  test('missing passphrase -> passphrase-required', () => {
    assert.equal(reason(() => decodeKeyFile(enc)), 'passphrase-required');
  });

  test('tampered ciphertext, tag, iv, salt or publicKey of an encrypted file is detected', () => {
    const cases: [string, (k: KeyFileEncrypted) => void][] = [
      ['ciphertext', (k) => (k.crypto.ciphertext = flipHex(k.crypto.ciphertext, 5))],
      ['tag', (k) => (k.crypto.tag = flipHex(k.crypto.tag, 15))],
      ['iv', (k) => (k.crypto.iv = flipHex(k.crypto.iv))],
      ['salt', (k) => (k.crypto.kdfparams.salt = flipHex(k.crypto.kdfparams.salt))],
      ['publicKey swapped (bound as associated data)', (k) => (k.publicKey = other.publicKey)],
      ['scrypt r changed', (k) => (k.crypto.kdfparams.r = 4)],
    ];
    for (const [what, mutate] of cases) {
      const k = clone(enc);
      mutate(k);
      const r = reason(() => decodeKeyFile(k, 'correct horse'));
      assert.ok(r === 'wrong-passphrase' || r === 'damaged', `${what}: reason ${r}`);
    }
  });

  test('a swapped publicKey or address in a plain file is damaged', () => {
    const kf = encodeKeyFile(keys) as KeyFilePlain;
    assert.equal(reason(() => decodeKeyFile({ ...kf, publicKey: other.publicKey })), 'damaged');
    assert.equal(reason(() => decodeKeyFile({ ...kf, address: addressFromPublicKey(other.publicKey) })), 'damaged');
    assert.equal(reason(() => decodeKeyFile({ ...kf, privateKey: hex(other.seed) })), 'damaged');
  });

  test('damaged fields -> damaged', () => {
    const plain = encodeKeyFile(keys) as KeyFilePlain;
    const plainCases: [string, unknown][] = [
      ['not an object', 'text'],
      ['null', null],
      ['an array', [plain]],
      ['wrong type', { ...plain, type: 'other' }],
      ['wrong version', { ...plain, version: 2 }],
      ['publicKey not hex', { ...plain, publicKey: 'xyz' }],
      ['publicKey uppercase', { ...plain, publicKey: plain.publicKey.toUpperCase() }],
      ['privateKey short', { ...plain, privateKey: plain.privateKey.slice(2) }],
      ['privateKey missing', { ...plain, privateKey: undefined }],
    ];
    for (const [what, json] of plainCases) assert.equal(reason(() => decodeKeyFile(json)), 'damaged', what);

    const encCases: [string, (k: KeyFileEncrypted) => void][] = [
      ['crypto not an object', (k) => ((k as { crypto: unknown }).crypto = 'x')],
      ['cipher', (k) => ((k.crypto as { cipher: string }).cipher = 'aes-128-gcm')],
      ['kdf', (k) => ((k.crypto as { kdf: string }).kdf = 'pbkdf2')],
      ['N not a power of two', (k) => (k.crypto.kdfparams.N = 1000)],
      ['N too large', (k) => (k.crypto.kdfparams.N = 1 << 21)],
      ['N fractional', (k) => (k.crypto.kdfparams.N = 1024.5)],
      ['r zero', (k) => (k.crypto.kdfparams.r = 0)],
      ['p zero', (k) => (k.crypto.kdfparams.p = 0)],
      ['salt not hex', (k) => (k.crypto.kdfparams.salt = 'zz')],
      ['iv wrong length', (k) => (k.crypto.iv = k.crypto.iv + '00')],
      ['ciphertext wrong length', (k) => (k.crypto.ciphertext = k.crypto.ciphertext.slice(2))],
      ['tag wrong length', (k) => (k.crypto.tag = k.crypto.tag.slice(2))],
      ['address mismatch', (k) => (k.address = addressFromPublicKey(other.publicKey))],
    ];
    for (const [what, mutate] of encCases) {
      const k = clone(enc);
      mutate(k);
      // Damage is reported before any passphrase question, with or without one.
      assert.equal(reason(() => decodeKeyFile(k, 'correct horse')), 'damaged', what);
      if (what !== 'address mismatch') assert.equal(reason(() => decodeKeyFile(k)), 'damaged', `${what} (no passphrase)`);
    }
  });

  test('a key file is a KeyFile by type', () => {
    const kf: KeyFile = encodeKeyFile(keys);
    assert.ok('privateKey' in kf);
  });
});
