import { TAG, taggedHash } from './hash.ts';
import { fromHex } from './hex.ts';
import { bech32mDecode, bech32mEncode, convertBits } from './bech32.ts';
import type { PublicKeyHex } from './keys.ts';
import { BoundedMap, BoundedSet } from '../util/bounded.ts';

/** An account address: bech32m with prefix "pc", e.g. pc1qxyz... */
export type Address = string;

export const ADDRESS_HRP = 'pc';
const PAYLOAD_BYTES = 20;

// Deriving an address costs a hash and a bech32 checksum; senders repeat, so keep recent ones.
const ADDRESS_CACHE_MAX = 8192;
const addressCache = new BoundedMap<PublicKeyHex, Address>(ADDRESS_CACHE_MAX);
// Strings addressError accepted (a pure check, so a hit is as good as a decode).
const validAddresses = new BoundedSet<string>(ADDRESS_CACHE_MAX);

/** The address of a public key: bech32m of the first 20 bytes of its tagged hash. */
export function addressFromPublicKey(publicKey: PublicKeyHex): Address {
  const cached = addressCache.get(publicKey);
  if (cached !== undefined) return cached;
  const payload = taggedHash(TAG.address, fromHex(publicKey, 32)).subarray(0, PAYLOAD_BYTES);
  const address = bech32mEncode(ADDRESS_HRP, convertBits(payload, 8, 5, true) as number[]);
  addressCache.set(publicKey, address);
  return address;
}

/** Why a string is not a valid address, or undefined if it is one. */
export function addressError(s: unknown): string | undefined {
  if (typeof s !== 'string') return 'an address must be a string';
  // Validity depends on the string alone; recipients repeat, so remember recent valid ones.
  if (validAddresses.has(s)) return undefined;
  // Never echo an unbounded input back into a message.
  if (s.length > 90) return `an address has at most 90 characters, got ${s.length}`;
  if (s !== s.toLowerCase()) return `address ${s} must be lowercase`;
  const d = bech32mDecode(s);
  if (!d.ok) return `address ${s} is invalid: ${d.reason}`;
  if (d.hrp !== ADDRESS_HRP) return `address ${s} has prefix "${d.hrp}", expected "${ADDRESS_HRP}"`;
  const bytes = convertBits(d.words, 5, 8, false);
  if (bytes === undefined || bytes.length !== PAYLOAD_BYTES) return `address ${s} does not hold a ${PAYLOAD_BYTES}-byte payload`;
  validAddresses.add(s);
  return undefined;
}

/** True if s is a valid, canonical (lowercase) address. */
export function isAddress(s: unknown): s is Address {
  return addressError(s) === undefined;
}
