/** BFT messages (proposals, votes, commit certificates) and their signatures. */
import { canonicalBytes, isWellFormedVote, signVote, verifyDigestSignature, verifyVote, VOTE_TAG, voteSigningBytes, type UnsignedVote, type Vote, type VoteType } from '../../core/index.ts';
import { isHex, isPublicKeyHex, sign, taggedHash, toHex, type Hash, type KeyPair, type PublicKeyHex } from '../../crypto/index.ts';
import type { ValidatorSet } from './validators.ts';

// Votes are defined in core (blocks carry them); re-exported so consensus code has one import.
export { isWellFormedVote, signVote, verifyVote, voteSigningBytes, type UnsignedVote, type Vote, type VoteType };

export const BFT_TAG = {
  vote: VOTE_TAG,
  proposal: 'peerchain:bft:proposal:v1',
} as const;

/** A proposer's claim that blockHash is the value for (height, round). */
export interface Proposal {
  readonly height: number;
  readonly round: number;
  readonly blockHash: Hash;
  /** The round whose +2/3 prevotes justify re-proposing blockHash (proof of lock), or -1. */
  readonly polRound: number;
  readonly proposer: PublicKeyHex;
  readonly signature: string;
}

/** Precommits of more than 2/3 of the validators for one block: proof it is final. */
export interface CommitCertificate {
  readonly height: number;
  readonly round: number;
  readonly blockHash: Hash;
  readonly signatures: readonly { readonly validator: PublicKeyHex; readonly signature: string }[];
}

/** Two votes by one validator for the same height/round/type with different hashes. */
export interface Evidence {
  readonly voteA: Vote;
  readonly voteB: Vote;
}

export type UnsignedProposal = Omit<Proposal, 'signature'>;

/** The 32 bytes a proposal signature covers. */
export function proposalSigningBytes(p: UnsignedProposal, chainId: string): Buffer {
  return taggedHash(
    BFT_TAG.proposal,
    canonicalBytes({ chainId, height: p.height, round: p.round, blockHash: p.blockHash, polRound: p.polRound, proposer: p.proposer }),
  );
}

/** Signs a proposal with the proposer's key. */
export function signProposal(keys: KeyPair, p: Omit<UnsignedProposal, 'proposer'>, chainId: string): Proposal {
  const unsigned: UnsignedProposal = { height: p.height, round: p.round, blockHash: p.blockHash, polRound: p.polRound, proposer: keys.publicKey };
  return { ...unsigned, signature: toHex(sign(keys, proposalSigningBytes(unsigned, chainId))) };
}

const isHeight = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;

/** True if a value has the shape of a proposal; says nothing of the signature. */
export function isWellFormedProposal(p: unknown): p is Proposal {
  if (typeof p !== 'object' || p === null) return false;
  const o = p as Record<string, unknown>;
  return (
    isHeight(o.height) &&
    isHeight(o.round) &&
    isHex(o.blockHash, 32) &&
    Number.isSafeInteger(o.polRound) &&
    (o.polRound as number) >= -1 &&
    (o.polRound as number) < (o.round as number) &&
    isPublicKeyHex(o.proposer) &&
    isHex(o.signature, 64)
  );
}

/** True if the proposal is well formed and signed by its proposer for chainId; never throws. */
export function verifyProposal(p: unknown, chainId: string): p is Proposal {
  if (!isWellFormedProposal(p)) return false;
  return verifyDigestSignature(p.proposer, proposalSigningBytes(p, chainId), p.signature);
}

export type CommitCheck = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/**
 * Checks a commit certificate: precommits for (height, round, blockHash) from
 * MORE than 2/3 of the validators by count, distinct, each a member, each valid.
 * `expected` pins the height (and hash) the caller is about to accept.
 */
export function verifyCommit(
  cert: CommitCertificate,
  validators: ValidatorSet,
  chainId: string,
  expected?: { readonly height?: number; readonly blockHash?: Hash },
): CommitCheck {
  const fail = (reason: string): CommitCheck => ({ ok: false, reason });
  if (typeof cert !== 'object' || cert === null) return fail('a commit certificate is an object');
  if (!isHeight(cert.height) || !isHeight(cert.round)) return fail('height and round are non-negative integers');
  if (!isHex(cert.blockHash, 32)) return fail('blockHash is 32 bytes of hex');
  if (expected?.height !== undefined && cert.height !== expected.height) return fail(`certificate is for height ${cert.height}, expected ${expected.height}`);
  if (expected?.blockHash !== undefined && cert.blockHash !== expected.blockHash) return fail('certificate is for another block');
  if (!Array.isArray(cert.signatures)) return fail('signatures is a list');
  const seen = new Set<PublicKeyHex>();
  for (const s of cert.signatures) {
    if (typeof s !== 'object' || s === null || !isPublicKeyHex(s.validator) || !isHex(s.signature, 64)) return fail('malformed signature entry');
    if (!validators.has(s.validator)) return fail(`${s.validator} is not a validator`);
    if (seen.has(s.validator)) return fail(`${s.validator} signed twice`);
    seen.add(s.validator);
    const vote: UnsignedVote = { type: 'precommit', height: cert.height, round: cert.round, blockHash: cert.blockHash, validator: s.validator };
    if (!verifyDigestSignature(s.validator, voteSigningBytes(vote, chainId), s.signature)) return fail(`bad signature by ${s.validator}`);
  }
  if (seen.size < validators.quorum) return fail(`${seen.size} of ${validators.size} signatures; more than 2/3 (${validators.quorum}) needed`);
  return { ok: true };
}

/** True if the evidence proves equivocation: two valid votes by one validator for one slot and different blocks. */
export function verifyEvidence(e: unknown, validators: ValidatorSet, chainId: string): e is Evidence {
  if (typeof e !== 'object' || e === null) return false;
  const { voteA, voteB } = e as Record<string, unknown>;
  if (!verifyVote(voteA, chainId) || !verifyVote(voteB, chainId)) return false;
  return (
    voteA.validator === voteB.validator &&
    validators.has(voteA.validator) &&
    voteA.height === voteB.height &&
    voteA.round === voteB.round &&
    voteA.type === voteB.type &&
    voteA.blockHash !== voteB.blockHash
  );
}
