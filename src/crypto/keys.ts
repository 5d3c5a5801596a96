import { createPrivateKey, createPublicKey, sign as edSign, verify as edVerify, randomBytes, type KeyObject } from 'node:crypto';
import { fromHex, isHex, toHex } from './hex.ts';
import { BoundedMap } from '../util/bounded.ts';

/** An Ed25519 public key as 64 lowercase hex characters; also a node id. */
export type PublicKeyHex = string;

/** An Ed25519 key pair; `seed` is the 32-byte private key. */
export interface KeyPair {
  readonly publicKey: PublicKeyHex;
  readonly seed: Buffer;
  /** The private key as a node:crypto KeyObject, built once. */
  readonly privateKey: KeyObject;
}

// DER prefixes that wrap a raw 32-byte Ed25519 key (RFC 8410).
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** Thrown for a malformed key. */
export class KeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyError';
  }
}

/** The key pair for a 32-byte seed. */
export function keyPairFromSeed(seed: Uint8Array): KeyPair {
  if (seed.length !== 32) throw new KeyError(`an Ed25519 seed has 32 bytes, got ${seed.length}`);
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  return { publicKey: toHex(spki.subarray(SPKI_PREFIX.length)), seed: Buffer.from(seed), privateKey };
}

/** A fresh key pair; randomness comes from the given source (the OS by default). */
export function generateKeyPair(random: (n: number) => Uint8Array = randomBytes): KeyPair {
  return keyPairFromSeed(random(32));
}

/** Ed25519 signature (64 bytes) of a message. */
export function sign(keys: KeyPair, message: Uint8Array): Buffer {
  return edSign(null, message, keys.privateKey);
}

// Importing a raw key costs ~10% of a verify, so KeyObjects are kept for reuse.
const PUBKEY_CACHE_MAX = 4096;
const pubkeyCache = new BoundedMap<string, KeyObject>(PUBKEY_CACHE_MAX);

// Encodings of the eight small-order points (libsodium's blacklist), compared
// with the sign bit cleared. node:crypto verifies cofactorless and accepts
// them: with such a "key", R = the point and S = 0 verifies for every message,
// so a small-order key would let anyone sign for its account or node id.
const SMALL_ORDER = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
].map((h) => Buffer.from(h, 'hex'));

/** True if a 32-byte encoded point has small order (is useless, and dangerous, as a key). */
export function isSmallOrderKey(raw: Uint8Array): boolean {
  if (raw.length !== 32) return false;
  return SMALL_ORDER.some((bad) => {
    for (let i = 0; i < 31; i++) if (raw[i] !== bad[i]) return false;
    return ((raw[31] as number) & 0x7f) === bad[31];
  });
}

/** The KeyObject for a hex public key (cached); throws KeyError if malformed or of small order. */
export function publicKeyObject(publicKey: PublicKeyHex): KeyObject {
  let k = pubkeyCache.get(publicKey);
  if (k !== undefined) return k;
  if (!isHex(publicKey, 32)) throw new KeyError('a public key is 32 bytes of lowercase hex');
  const raw = fromHex(publicKey);
  if (isSmallOrderKey(raw)) throw new KeyError('a small-order point is not a valid public key');
  try {
    k = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
  } catch {
    throw new KeyError('not a valid Ed25519 public key');
  }
  pubkeyCache.set(publicKey, k);
  return k;
}

/** True if signature is a valid Ed25519 signature of message by publicKey; never throws. */
export function verify(publicKey: PublicKeyHex, message: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length !== 64) return false;
  try {
    return edVerify(null, message, publicKeyObject(publicKey), signature);
  } catch {
    return false;
  }
}

/** True if s is a well-formed hex public key. */
export function isPublicKeyHex(s: unknown): s is PublicKeyHex {
  return isHex(s, 32);
}
