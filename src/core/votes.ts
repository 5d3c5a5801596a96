/**
 * BFT votes as the ledger sees them: what a validator signs, and the check of
 * a signature. They live in core because blocks carry them (commit
 * certificates, equivocation evidence) and block validity is core's business;
 * consensus/bft builds its state machine on top.
 */
import { fromHex, isHex, isPublicKeyHex, sign, taggedHash, toHex, verify, type Hash, type KeyPair, type PublicKeyHex } from '../crypto/index.ts';
import { canonicalBytes } from './encoding.ts';
import { BoundedMap } from '../util/bounded.ts';

/** Domain tags of consensus signatures. */
export const VOTE_TAG = 'peerchain:bft:vote:v1';

export type VoteType = 'prevote' | 'precommit';

/** A prevote or precommit; blockHash null is a vote for nil. */
export interface Vote {
  readonly type: VoteType;
  readonly height: number;
  readonly round: number;
  readonly blockHash: Hash | null;
  readonly validator: PublicKeyHex;
  readonly signature: string;
}

export type UnsignedVote = Omit<Vote, 'signature'>;

/** The 32 bytes a vote signature covers; chainId binds it to one network. */
export function voteSigningBytes(v: UnsignedVote, chainId: string): Buffer {
  return taggedHash(VOTE_TAG, canonicalBytes({ chainId, type: v.type, height: v.height, round: v.round, blockHash: v.blockHash, validator: v.validator }));
}

/** Signs a vote with the validator's key. */
export function signVote(keys: KeyPair, v: Omit<UnsignedVote, 'validator'>, chainId: string): Vote {
  const unsigned: UnsignedVote = { type: v.type, height: v.height, round: v.round, blockHash: v.blockHash, validator: keys.publicKey };
  return { ...unsigned, signature: toHex(sign(keys, voteSigningBytes(unsigned, chainId))) };
}

const isHeight = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;

/** True if a value has the shape of a vote (fields typed and in range); says nothing of the signature. */
export function isWellFormedVote(v: unknown): v is Vote {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return (
    (o.type === 'prevote' || o.type === 'precommit') &&
    isHeight(o.height) &&
    isHeight(o.round) &&
    (o.blockHash === null || isHex(o.blockHash, 32)) &&
    isPublicKeyHex(o.validator) &&
    isHex(o.signature, 64)
  );
}

// A consensus signature reaches a node several times: relayed by each peer,
// checked by the engine and by its state machine, then again inside the
// commit certificate of the block it decided. Each (signer, message,
// signature) that passed is remembered, so it costs one Ed25519 check.
const VERIFIED_MAX = 4096;
const verifiedSigs = new BoundedMap<string, string>(VERIFIED_MAX);

/** True if `signatureHex` is the signer's signature of the 32-byte digest (never throws); a triple that passed before is not checked again. */
export function verifyDigestSignature(signer: PublicKeyHex, digest: Buffer, signatureHex: string): boolean {
  if (!isHex(signatureHex, 64)) return false;
  const what = signer + toHex(digest);
  if (verifiedSigs.get(signatureHex) === what) return true;
  if (!verify(signer, digest, fromHex(signatureHex))) return false;
  verifiedSigs.set(signatureHex, what);
  return true;
}

/** True if the vote is well formed and signed by its validator for chainId; never throws. */
export function verifyVote(v: unknown, chainId: string): v is Vote {
  if (!isWellFormedVote(v)) return false;
  return verifyDigestSignature(v.validator, voteSigningBytes(v, chainId), v.signature);
}

/** The vote with exactly its own fields (no extra keys from untrusted JSON). */
export function voteFields(v: Vote): Vote {
  return { type: v.type, height: v.height, round: v.round, blockHash: v.blockHash, validator: v.validator, signature: v.signature };
}
