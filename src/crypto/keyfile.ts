import { createCipheriv, createDecipheriv, randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import { fromHex, isHex, toHex } from './hex.ts';
import { addressFromPublicKey, type Address } from './address.ts';
import { keyPairFromSeed, type KeyPair, type PublicKeyHex } from './keys.ts';

/**
 * Key files are JSON. The private key is either plain hex or sealed with a
 * passphrase: scrypt derives a key, AES-256-GCM encrypts the seed, and the
 * public key is bound as associated data so no field can be swapped unnoticed.
 */
export interface KeyFilePlain {
  version: 1;
  type: 'peerchain-key';
  publicKey: PublicKeyHex;
  address: Address;
  privateKey: string;
}

export interface KeyFileEncrypted {
  version: 1;
  type: 'peerchain-key';
  publicKey: PublicKeyHex;
  address: Address;
  crypto: {
    cipher: 'aes-256-gcm';
    kdf: 'scrypt';
    kdfparams: { N: number; r: number; p: number; salt: string };
    iv: string;
    ciphertext: string;
    tag: string;
  };
}

export type KeyFile = KeyFilePlain | KeyFileEncrypted;

/** A key file that cannot be read: damaged, wrong passphrase, missing passphrase. */
export class KeyFileError extends Error {
  readonly reason: 'damaged' | 'wrong-passphrase' | 'passphrase-required';
  constructor(reason: KeyFileError['reason'], message: string) {
    super(message);
    this.name = 'KeyFileError';
    this.reason = reason;
  }
}

const DEFAULT_SCRYPT = { N: 1 << 15, r: 8, p: 1 };
const MAX_SCRYPT_N = 1 << 20;

function scryptKey(passphrase: string, salt: Buffer, N: number, r: number, p: number): Buffer {
  return scryptSync(passphrase.normalize('NFKC'), salt, 32, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 });
}

/** The key-file JSON for a key pair, sealed when a passphrase is given. */
export function encodeKeyFile(keys: KeyPair, passphrase?: string, scrypt = DEFAULT_SCRYPT, random: (n: number) => Buffer = randomBytes): KeyFile {
  const base = { version: 1 as const, type: 'peerchain-key' as const, publicKey: keys.publicKey, address: addressFromPublicKey(keys.publicKey) };
  if (passphrase === undefined) return { ...base, privateKey: toHex(keys.seed) };
  const salt = random(16);
  const iv = random(12);
  const key = scryptKey(passphrase, salt, scrypt.N, scrypt.r, scrypt.p);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(keys.publicKey, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(keys.seed), cipher.final()]);
  return {
    ...base,
    crypto: {
      cipher: 'aes-256-gcm',
      kdf: 'scrypt',
      kdfparams: { ...scrypt, salt: toHex(salt) },
      iv: toHex(iv),
      ciphertext: toHex(ciphertext),
      tag: toHex(cipher.getAuthTag()),
    },
  };
}

/** True if the parsed key file is sealed with a passphrase. */
export function isEncryptedKeyFile(json: unknown): boolean {
  return typeof json === 'object' && json !== null && 'crypto' in json;
}

function damaged(what: string): KeyFileError {
  return new KeyFileError('damaged', `key file is damaged: ${what}`);
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The key pair held by a parsed key-file JSON; throws KeyFileError saying what is wrong. */
export function decodeKeyFile(json: unknown, passphrase?: string): KeyPair {
  if (!isObj(json)) throw damaged('not a JSON object');
  if (json.type !== 'peerchain-key') throw damaged('"type" is not "peerchain-key"');
  if (json.version !== 1) throw damaged(`unsupported version ${String(json.version)}`);
  if (!isHex(json.publicKey, 32)) throw damaged('"publicKey" is not 32 bytes of hex');
  let seed: Buffer;
  if ('crypto' in json) {
    const c = json.crypto;
    if (!isObj(c) || c.cipher !== 'aes-256-gcm' || c.kdf !== 'scrypt' || !isObj(c.kdfparams)) throw damaged('"crypto" section is malformed');
    const { N, r, p, salt } = c.kdfparams;
    if (typeof N !== 'number' || !Number.isInteger(N) || N < 2 || N > MAX_SCRYPT_N || (N & (N - 1)) !== 0) throw damaged('scrypt N is not a power of two in range');
    if (typeof r !== 'number' || !Number.isInteger(r) || r < 1 || r > 32) throw damaged('scrypt r out of range');
    if (typeof p !== 'number' || !Number.isInteger(p) || p < 1 || p > 16) throw damaged('scrypt p out of range');
    // scrypt needs 128 * N * r bytes: refuse files that would ask for more than 256 MiB.
    if (128 * N * r > 256 * 1024 * 1024) throw damaged('scrypt parameters ask for more than 256 MiB of memory');
    if (!isHex(salt) || salt.length < 32 || !isHex(c.iv, 12) || !isHex(c.ciphertext, 32) || !isHex(c.tag, 16)) throw damaged('salt, iv, ciphertext or tag is malformed');
    if (passphrase === undefined) throw new KeyFileError('passphrase-required', 'key file is encrypted: a passphrase is required');
    const key = scryptKey(passphrase, fromHex(salt), N, r, p);
    const decipher = createDecipheriv('aes-256-gcm', key, fromHex(c.iv));
    decipher.setAAD(Buffer.from(json.publicKey, 'utf8'));
    decipher.setAuthTag(fromHex(c.tag));
    try {
      seed = Buffer.concat([decipher.update(fromHex(c.ciphertext)), decipher.final()]);
    } catch {
      throw new KeyFileError('wrong-passphrase', 'wrong passphrase (or the key file was altered)');
    }
  } else {
    if (!isHex(json.privateKey, 32)) throw damaged('"privateKey" is not 32 bytes of hex');
    seed = fromHex(json.privateKey);
  }
  const keys = keyPairFromSeed(seed);
  if (!timingSafeEqual(Buffer.from(keys.publicKey), Buffer.from(json.publicKey))) throw damaged('private key does not match "publicKey"');
  if (json.address !== undefined && json.address !== addressFromPublicKey(keys.publicKey)) throw damaged('"address" does not match the key');
  return keys;
}
