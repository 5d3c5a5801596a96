/**
 * The memory of verified consensus signatures (core verifyDigestSignature):
 * a (signer, digest, signature) triple that passed is not checked again, and
 * nothing it remembers may vouch for another message, another signer, or a
 * tampered signature. Votes, proposals and commit certificates all go through it.
 *
 * The memory is one per process, so each test signs messages of its own
 * (its own heights) to start from signatures never seen before. Ed25519
 * checks are counted by spying on node:crypto's verify, which is what
 * crypto/keys.ts calls.
 */
import { describe, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { syncBuiltinESMExports } from 'node:module';
import { keyPairFromSeed, sha256, sign, toHex, type KeyPair } from '../../src/crypto/index.ts';
import { verifyDigestSignature, type Vote } from '../../src/core/index.ts';
import {
  signProposal,
  signVote,
  ValidatorSet,
  verifyCommit,
  verifyProposal,
  verifyVote,
  voteSigningBytes,
  type CommitCertificate,
  type Proposal,
} from '../../src/consensus/bft/index.ts';

const CHAIN = 'verified-signatures';
const keys: KeyPair[] = [1, 2, 3, 4].map((n) => keyPairFromSeed(Buffer.alloc(32, n)));
const k = (i: number): KeyPair => keys[i]!;
const vset = new ValidatorSet(keys.map((kp) => kp.publicKey));
const A = toHex(sha256(Buffer.from('block A')));
const B = toHex(sha256(Buffer.from('block B')));

/** Runs fn and counts the Ed25519 verifications (node:crypto verify calls) it made. */
function counted<T>(fn: () => T): { value: T; checks: number } {
  const spy = mock.method(crypto, 'verify');
  syncBuiltinESMExports();
  try {
    const value = fn();
    return { value, checks: spy.mock.callCount() };
  } finally {
    spy.mock.restore();
    syncBuiltinESMExports();
  }
}

/** The same hex signature with its last byte changed (still well-formed hex). */
function flipped(sig: string): string {
  const last = parseInt(sig.slice(-2), 16) ^ 0x01;
  return sig.slice(0, -2) + last.toString(16).padStart(2, '0');
}

function entry(v: Vote): { validator: string; signature: string } {
  return { validator: v.validator, signature: v.signature };
}

describe('verifyVote through the signature memory', () => {
  test('a valid vote verifies, then verifies again without another Ed25519 check', () => {
    const v = signVote(k(0), { type: 'prevote', height: 101, round: 0, blockHash: A }, CHAIN);
    const first = counted(() => verifyVote(v, CHAIN));
    assert.equal(first.value, true);
    assert.equal(first.checks, 1, 'a signature never seen is checked (the counter sees Ed25519 checks)');
    const again = counted(() => verifyVote(v, CHAIN));
    assert.equal(again.value, true);
    assert.equal(again.checks, 0, 'the repeat is answered from memory');
    // The same triple through the digest-level function.
    const direct = counted(() => verifyDigestSignature(v.validator, voteSigningBytes(v, CHAIN), v.signature));
    assert.deepEqual(direct, { value: true, checks: 0 });
    // A copy of the vote (another object, equal fields) is the same claim.
    assert.deepEqual(counted(() => verifyVote(JSON.parse(JSON.stringify(v)) as unknown, CHAIN)), { value: true, checks: 0 });
  });

  test('a remembered signature does not vouch for a vote with any field changed', () => {
    const v = signVote(k(0), { type: 'prevote', height: 201, round: 3, blockHash: A }, CHAIN);
    assert.equal(verifyVote(v, CHAIN), true);
    assert.deepEqual(counted(() => verifyVote(v, CHAIN)), { value: true, checks: 0 }, 'now remembered');
    const variants: [string, unknown][] = [
      ['height', { ...v, height: v.height + 1 }],
      ['round', { ...v, round: v.round + 1 }],
      ['blockHash', { ...v, blockHash: B }],
      ['blockHash nil', { ...v, blockHash: null }],
      ['type', { ...v, type: 'precommit' }],
      ['validator', { ...v, validator: k(1).publicKey }],
    ];
    for (const [field, changed] of variants) {
      assert.equal(verifyVote(changed, CHAIN), false, `${field} changed under the same signature`);
      // Asked twice: a failure is not remembered as a pass either.
      assert.equal(verifyVote(changed, CHAIN), false, `${field} changed, asked again`);
    }
    assert.equal(verifyVote(v, 'another-chain'), false, 'the chain id is part of the message');
    // The failed variants did not disturb the remembered original.
    assert.deepEqual(counted(() => verifyVote(v, CHAIN)), { value: true, checks: 0 });
  });

  test('a forged or flipped signature fails, before and after the genuine one is remembered', () => {
    const v = signVote(k(1), { type: 'precommit', height: 301, round: 0, blockHash: A }, CHAIN);
    const bad = { ...v, signature: flipped(v.signature) };
    assert.equal(verifyVote(bad, CHAIN), false, 'flipped, before the genuine one was seen');
    assert.equal(verifyVote(v, CHAIN), true);
    assert.equal(verifyVote(bad, CHAIN), false, 'flipped, after the genuine one was remembered');
    assert.equal(verifyVote({ ...v, signature: '00'.repeat(64) }, CHAIN), false, 'all zeros');
    assert.equal(verifyVote({ ...v, signature: v.signature.slice(64) + v.signature.slice(0, 64) }, CHAIN), false, 'halves swapped');
    // A genuine, remembered signature by the same key for another message.
    const other = signVote(k(1), { type: 'precommit', height: 302, round: 0, blockHash: A }, CHAIN);
    assert.equal(verifyVote(other, CHAIN), true);
    assert.equal(verifyVote({ ...v, signature: other.signature }, CHAIN), false, "another vote's signature");
    assert.equal(verifyVote({ ...other, signature: v.signature }, CHAIN), false, 'and the other way round');
    assert.deepEqual(counted(() => verifyVote(v, CHAIN)), { value: true, checks: 0 });
  });

  test('a signature valid for signer A is refused when presented for signer B', () => {
    const digest = sha256(Buffer.from('signer test digest'));
    const sigA = toHex(sign(k(0), digest));
    // Asked for B first: refused, and that refusal must not block A.
    assert.equal(verifyDigestSignature(k(1).publicKey, digest, sigA), false);
    assert.equal(verifyDigestSignature(k(0).publicKey, digest, sigA), true);
    assert.deepEqual(counted(() => verifyDigestSignature(k(0).publicKey, digest, sigA)), { value: true, checks: 0 });
    // Now that (A, digest, sig) is remembered, B still gets a real (failing) check.
    const forB = counted(() => verifyDigestSignature(k(1).publicKey, digest, sigA));
    assert.equal(forB.value, false);
    assert.equal(forB.checks, 1, 'another signer is not answered from memory');
    assert.equal(verifyDigestSignature(k(2).publicKey, digest, sigA), false);
    // Same signer, same signature, another digest.
    assert.equal(verifyDigestSignature(k(0).publicKey, sha256(Buffer.from('another digest')), sigA), false);
    // Through votes: A's signature on a vote naming B as validator.
    const vA = signVote(k(0), { type: 'prevote', height: 401, round: 0, blockHash: B }, CHAIN);
    assert.equal(verifyVote(vA, CHAIN), true);
    assert.equal(verifyVote({ ...vA, validator: k(1).publicKey }, CHAIN), false);
    // ...and A's signature of B's exact vote digest (B named in the signed bytes) is still not B's.
    const unsignedB = { type: 'prevote' as const, height: 402, round: 0, blockHash: B, validator: k(1).publicKey };
    const digestB = voteSigningBytes(unsignedB, CHAIN);
    const sigAofB = toHex(sign(k(0), digestB));
    assert.equal(verifyDigestSignature(k(0).publicKey, digestB, sigAofB), true, 'A did sign those bytes');
    assert.equal(verifyVote({ ...unsignedB, signature: sigAofB }, CHAIN), false, 'but the vote claims B signed them');
  });

  test('the memory stays correct past its capacity', () => {
    const first = signVote(k(2), { type: 'prevote', height: 501, round: 0, blockHash: A }, CHAIN);
    assert.equal(verifyVote(first, CHAIN), true);
    // Many more distinct triples than the memory holds.
    let last = first;
    for (let i = 1; i <= 5000; i++) {
      last = signVote(k(2), { type: 'prevote', height: 501 + i, round: 0, blockHash: A }, CHAIN);
      assert.equal(verifyVote(last, CHAIN), true);
    }
    assert.deepEqual(counted(() => verifyVote(last, CHAIN)), { value: true, checks: 0 }, 'the newest is remembered');
    assert.equal(verifyVote(first, CHAIN), true, 'a forgotten signature is simply checked again');
    assert.equal(verifyVote({ ...first, round: 1 }, CHAIN), false);
    assert.equal(verifyVote({ ...last, signature: flipped(last.signature) }, CHAIN), false);
  });
});

describe('verifyCommit through the signature memory', () => {
  const precommits = (height: number, round: number, blockHash: string): Vote[] => keys.map((kp) => signVote(kp, { type: 'precommit', height, round, blockHash }, CHAIN));

  test('a certificate whose precommits were all seen before as votes passes without new checks', () => {
    const votes = precommits(601, 1, A);
    for (const v of votes) assert.equal(verifyVote(v, CHAIN), true);
    const cert: CommitCertificate = { height: 601, round: 1, blockHash: A, signatures: votes.slice(0, 3).map(entry) };
    const r = counted(() => verifyCommit(cert, vset, CHAIN, { height: 601, blockHash: A }));
    assert.deepEqual(r.value, { ok: true });
    assert.equal(r.checks, 0, 'every signature was remembered from the votes');
    const all: CommitCertificate = { ...cert, signatures: votes.map(entry) };
    assert.deepEqual(counted(() => verifyCommit(all, vset, CHAIN)), { value: { ok: true }, checks: 0 });
  });

  test('a certificate never seen is fully checked, then remembered', () => {
    const votes = precommits(602, 0, B);
    const cert: CommitCertificate = { height: 602, round: 0, blockHash: B, signatures: votes.slice(1).map(entry) };
    const first = counted(() => verifyCommit(cert, vset, CHAIN));
    assert.deepEqual(first, { value: { ok: true }, checks: 3 });
    assert.deepEqual(counted(() => verifyCommit(cert, vset, CHAIN)), { value: { ok: true }, checks: 0 });
    // The votes themselves now cost nothing either.
    assert.deepEqual(counted(() => verifyVote(votes[1], CHAIN)), { value: true, checks: 0 });
  });

  test('one bad signature fails the certificate even when the other entries are remembered', () => {
    const votes = precommits(603, 2, A);
    for (const v of votes) assert.equal(verifyVote(v, CHAIN), true);
    const good = votes.map(entry);
    const base: CommitCertificate = { height: 603, round: 2, blockHash: A, signatures: good.slice(0, 3) };
    assert.deepEqual(verifyCommit(base, vset, CHAIN), { ok: true });
    const bad3 = (s: { validator: string; signature: string }[]): CommitCertificate => ({ ...base, signatures: s });
    const v2 = k(2).publicKey;

    // Flipped signature on the third entry.
    let r = verifyCommit(bad3([good[0]!, good[1]!, { validator: v2, signature: flipped(good[2]!.signature) }]), vset, CHAIN);
    assert.deepEqual(r, { ok: false, reason: `bad signature by ${v2}` });

    // A fourth, bad entry spoils a certificate that already had a quorum of good ones.
    r = verifyCommit(bad3([...good.slice(0, 3), { validator: k(3).publicKey, signature: flipped(good[3]!.signature) }]), vset, CHAIN);
    assert.deepEqual(r, { ok: false, reason: `bad signature by ${k(3).publicKey}` });

    // A genuine, remembered precommit by v2 for another block.
    const elsewhere = signVote(k(2), { type: 'precommit', height: 603, round: 2, blockHash: B }, CHAIN);
    assert.equal(verifyVote(elsewhere, CHAIN), true);
    r = verifyCommit(bad3([good[0]!, good[1]!, entry(elsewhere)]), vset, CHAIN);
    assert.deepEqual(r, { ok: false, reason: `bad signature by ${v2}` });

    // Remembered signatures under each other's names.
    r = verifyCommit(bad3([{ validator: good[0]!.validator, signature: good[1]!.signature }, { validator: good[1]!.validator, signature: good[0]!.signature }, good[2]!]), vset, CHAIN);
    assert.equal(r.ok, false);

    // The same remembered signatures for another height, round or block.
    assert.equal(verifyCommit({ ...base, height: 604 }, vset, CHAIN).ok, false);
    assert.equal(verifyCommit({ ...base, round: 3 }, vset, CHAIN).ok, false);
    assert.equal(verifyCommit({ ...base, blockHash: B }, vset, CHAIN).ok, false);
    assert.equal(verifyCommit(base, vset, 'another-chain').ok, false);

    // Prevotes (remembered) cannot stand in for precommits.
    const prevotes = keys.slice(0, 3).map((kp) => signVote(kp, { type: 'prevote', height: 603, round: 2, blockHash: A }, CHAIN));
    for (const v of prevotes) assert.equal(verifyVote(v, CHAIN), true);
    assert.equal(verifyCommit({ ...base, signatures: prevotes.map(entry) }, vset, CHAIN).ok, false);

    // None of this disturbed the good certificate.
    assert.deepEqual(counted(() => verifyCommit(base, vset, CHAIN)), { value: { ok: true }, checks: 0 });
  });
});

describe('verifyProposal through the signature memory', () => {
  test('a proposal verifies, then again from memory; a changed field or signature fails', () => {
    const p = signProposal(k(1), { height: 701, round: 2, blockHash: A, polRound: 0 }, CHAIN);
    const first = counted(() => verifyProposal(p, CHAIN));
    assert.deepEqual(first, { value: true, checks: 1 });
    assert.deepEqual(counted(() => verifyProposal(p, CHAIN)), { value: true, checks: 0 });
    const variants: [string, Proposal][] = [
      ['height', { ...p, height: p.height + 1 }],
      ['round', { ...p, round: p.round + 1 }],
      ['blockHash', { ...p, blockHash: B }],
      ['polRound', { ...p, polRound: -1 }],
      ['proposer', { ...p, proposer: k(2).publicKey }],
      ['signature', { ...p, signature: flipped(p.signature) }],
    ];
    for (const [field, changed] of variants) assert.equal(verifyProposal(changed, CHAIN), false, `${field} changed`);
    assert.equal(verifyProposal(p, 'another-chain'), false);
    assert.deepEqual(counted(() => verifyProposal(p, CHAIN)), { value: true, checks: 0 });
  });

  test("a remembered signature of another message by the proposer's key is not a proposal signature", () => {
    const p = signProposal(k(3), { height: 702, round: 0, blockHash: B, polRound: -1 }, CHAIN);
    // A vote by the same key (another domain tag), remembered.
    const v = signVote(k(3), { type: 'prevote', height: 702, round: 0, blockHash: B }, CHAIN);
    assert.equal(verifyVote(v, CHAIN), true);
    assert.equal(verifyProposal({ ...p, signature: v.signature }, CHAIN), false);
    // Another remembered proposal of the same key.
    const p2 = signProposal(k(3), { height: 703, round: 0, blockHash: B, polRound: -1 }, CHAIN);
    assert.equal(verifyProposal(p2, CHAIN), true);
    assert.equal(verifyProposal({ ...p, signature: p2.signature }, CHAIN), false);
    // The proposal itself still verifies, and a vote cannot borrow its signature.
    assert.equal(verifyProposal(p, CHAIN), true);
    assert.equal(verifyVote({ ...v, signature: p.signature }, CHAIN), false);
  });
});
