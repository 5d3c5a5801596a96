/** consensus/bft: vote and proposal signatures, commit certificates, validator sets, vote sets. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { keyPairFromSeed, sha256, toHex, type KeyPair } from '../../src/crypto/index.ts';
import {
  HeightVotes,
  signProposal,
  signVote,
  ValidatorSet,
  verifyCommit,
  verifyProposal,
  verifyVote,
  VoteSet,
  type CommitCertificate,
} from '../../src/consensus/bft/index.ts';

const CHAIN = 'peerchain-test';
const keys: KeyPair[] = [1, 2, 3, 4].map((i) => keyPairFromSeed(Buffer.alloc(32, i)));
const vset = new ValidatorSet(keys.map((k) => k.publicKey));
const A = toHex(sha256(Buffer.from('A')));
const B = toHex(sha256(Buffer.from('B')));
const k = (i: number): KeyPair => keys[i] as KeyPair;

function cert(signers: number[], over: Partial<CommitCertificate> = {}, chainId = CHAIN): CommitCertificate {
  const signatures = signers.map((i) => {
    const v = signVote(k(i), { type: 'precommit', height: 7, round: 2, blockHash: A }, chainId);
    return { validator: v.validator, signature: v.signature };
  });
  return { height: 7, round: 2, blockHash: A, signatures, ...over };
}

describe('ValidatorSet', () => {
  test('quorum is floor(2n/3)+1 and f+1 is the skip threshold', () => {
    const ids = (n: number): string[] => Array.from({ length: n }, (_, i) => toHex(sha256(Buffer.from([i]))));
    const q = [1, 2, 3, 4, 5, 6, 7, 10].map((n) => new ValidatorSet(ids(n)).quorum);
    assert.deepEqual(q, [1, 2, 3, 3, 4, 5, 5, 7]);
    assert.equal(new ValidatorSet(ids(4)).skipThreshold, 2);
    assert.equal(new ValidatorSet(ids(7)).maxFaulty, 2);
  });
  test('proposer rotates round-robin over height and round', () => {
    assert.equal(vset.proposer(1, 0), k(1).publicKey);
    assert.equal(vset.proposer(1, 1), k(2).publicKey);
    assert.equal(vset.proposer(2, 0), k(2).publicKey);
    assert.equal(vset.proposer(3, 2), k(1).publicKey);
    const seen = new Set([0, 1, 2, 3].map((r) => vset.proposer(5, r)));
    assert.equal(seen.size, 4);
  });
  test('rejects an empty set and duplicates', () => {
    assert.throws(() => new ValidatorSet([]));
    assert.throws(() => new ValidatorSet([k(0).publicKey, k(0).publicKey]));
  });
});

describe('signatures', () => {
  test('a vote verifies for its chain and nothing else', () => {
    const v = signVote(k(0), { type: 'prevote', height: 3, round: 1, blockHash: A }, CHAIN);
    assert.equal(verifyVote(v, CHAIN), true);
    assert.equal(verifyVote(v, 'other-chain'), false);
    assert.equal(verifyVote({ ...v, height: 4 }, CHAIN), false);
    assert.equal(verifyVote({ ...v, round: 2 }, CHAIN), false);
    assert.equal(verifyVote({ ...v, type: 'precommit' }, CHAIN), false);
    assert.equal(verifyVote({ ...v, blockHash: null }, CHAIN), false);
    assert.equal(verifyVote({ ...v, validator: k(1).publicKey }, CHAIN), false);
  });
  test('nil votes sign and verify', () => {
    const v = signVote(k(2), { type: 'precommit', height: 1, round: 0, blockHash: null }, CHAIN);
    assert.equal(verifyVote(v, CHAIN), true);
    assert.equal(verifyVote({ ...v, blockHash: A }, CHAIN), false);
  });
  test('malformed votes are rejected without throwing', () => {
    for (const bad of [null, 1, 'x', {}, { type: 'prevote' }, { type: 'vote', height: 1, round: 0, blockHash: null, validator: k(0).publicKey, signature: '00'.repeat(64) }]) {
      assert.equal(verifyVote(bad, CHAIN), false);
    }
    const v = signVote(k(0), { type: 'prevote', height: 1, round: 0, blockHash: A }, CHAIN);
    assert.equal(verifyVote({ ...v, height: -1 }, CHAIN), false);
    assert.equal(verifyVote({ ...v, round: 1.5 }, CHAIN), false);
    assert.equal(verifyVote({ ...v, blockHash: 'zz' }, CHAIN), false);
  });
  test('a proposal verifies, bound to chain, height, round, hash and polRound', () => {
    const p = signProposal(k(1), { height: 2, round: 3, blockHash: B, polRound: 1 }, CHAIN);
    assert.equal(verifyProposal(p, CHAIN), true);
    assert.equal(verifyProposal(p, 'x'), false);
    assert.equal(verifyProposal({ ...p, polRound: -1 }, CHAIN), false);
    assert.equal(verifyProposal({ ...p, round: 4 }, CHAIN), false);
    assert.equal(verifyProposal({ ...p, blockHash: A }, CHAIN), false);
    // polRound must be below round.
    const q = signProposal(k(1), { height: 2, round: 1, blockHash: B, polRound: 1 }, CHAIN);
    assert.equal(verifyProposal(q, CHAIN), false);
  });
});

describe('verifyCommit', () => {
  test('accepts more than 2/3 distinct valid signatures', () => {
    assert.deepEqual(verifyCommit(cert([0, 1, 2]), vset, CHAIN), { ok: true });
    assert.deepEqual(verifyCommit(cert([0, 1, 2, 3]), vset, CHAIN, { height: 7, blockHash: A }), { ok: true });
  });
  test('rejects 2/3 or fewer', () => {
    assert.equal(verifyCommit(cert([0, 1]), vset, CHAIN).ok, false);
    assert.equal(verifyCommit(cert([]), vset, CHAIN).ok, false);
    // With 3 validators, 2 is exactly 2/3: not enough.
    const three = new ValidatorSet(keys.slice(0, 3).map((x) => x.publicKey));
    assert.equal(verifyCommit(cert([0, 1]), three, CHAIN).ok, false);
    assert.equal(verifyCommit(cert([0, 1, 2]), three, CHAIN).ok, true);
  });
  test('rejects duplicate signers', () => {
    const r = verifyCommit(cert([0, 1, 1]), vset, CHAIN);
    assert.equal(r.ok, false);
    assert.match(r.ok ? '' : r.reason, /twice/);
  });
  test('rejects a wrong chainId', () => {
    assert.equal(verifyCommit(cert([0, 1, 2], {}, 'other'), vset, CHAIN).ok, false);
  });
  test('rejects a wrong height, round or block, claimed or expected', () => {
    assert.equal(verifyCommit(cert([0, 1, 2], { height: 8 }), vset, CHAIN).ok, false);
    assert.equal(verifyCommit(cert([0, 1, 2], { round: 3 }), vset, CHAIN).ok, false);
    assert.equal(verifyCommit(cert([0, 1, 2], { blockHash: B }), vset, CHAIN).ok, false);
    assert.equal(verifyCommit(cert([0, 1, 2]), vset, CHAIN, { height: 8 }).ok, false);
    assert.equal(verifyCommit(cert([0, 1, 2]), vset, CHAIN, { blockHash: B }).ok, false);
  });
  test('rejects non-validators and mixed votes', () => {
    const outsider = keyPairFromSeed(Buffer.alloc(32, 9));
    const c = cert([0, 1]);
    const v = signVote(outsider, { type: 'precommit', height: 7, round: 2, blockHash: A }, CHAIN);
    assert.equal(verifyCommit({ ...c, signatures: [...c.signatures, { validator: v.validator, signature: v.signature }] }, vset, CHAIN).ok, false);
    // A prevote's signature is not a precommit's.
    const pv = signVote(k(2), { type: 'prevote', height: 7, round: 2, blockHash: A }, CHAIN);
    assert.equal(verifyCommit({ ...c, signatures: [...c.signatures, { validator: pv.validator, signature: pv.signature }] }, vset, CHAIN).ok, false);
  });
});

describe('VoteSet', () => {
  test('counts +2/3 for a block, for nil, and for anything', () => {
    const s = new VoteSet(1, 0, 'prevote', vset);
    const vote = (i: number, h: string | null) => signVote(k(i), { type: 'prevote', height: 1, round: 0, blockHash: h }, CHAIN);
    s.add(vote(0, A));
    s.add(vote(1, null));
    assert.equal(s.hasTwoThirdsAny(), false);
    s.add(vote(2, A));
    assert.equal(s.hasTwoThirdsAny(), true);
    assert.equal(s.twoThirdsMajority(), undefined);
    s.add(vote(3, A));
    assert.equal(s.twoThirdsMajority(), A);
    assert.equal(s.hasTwoThirdsFor(A), true);
    assert.deepEqual(s.votesFor(A).map((v) => v.validator), [0, 2, 3].map((i) => k(i).publicKey));

    const n = new VoteSet(1, 0, 'prevote', vset);
    for (const i of [3, 1, 0]) n.add(vote(i, null));
    assert.equal(n.twoThirdsMajority(), null);
    assert.equal(n.hasTwoThirdsFor(null), true);
  });
  test('ignores duplicates and rejects wrong slot or outsiders', () => {
    const s = new VoteSet(1, 0, 'prevote', vset);
    const v = signVote(k(0), { type: 'prevote', height: 1, round: 0, blockHash: A }, CHAIN);
    assert.equal(s.add(v).kind, 'added');
    assert.equal(s.add(v).kind, 'duplicate');
    assert.equal(s.count(A), 1);
    assert.equal(s.add({ ...v, round: 1 }).kind, 'rejected');
    assert.equal(s.add({ ...v, type: 'precommit' }).kind, 'rejected');
    const outsider = keyPairFromSeed(Buffer.alloc(32, 9));
    assert.equal(s.add(signVote(outsider, { type: 'prevote', height: 1, round: 0, blockHash: A }, CHAIN)).kind, 'rejected');
  });
  test('detects equivocation once and does not count the second vote', () => {
    const s = new VoteSet(1, 0, 'precommit', vset);
    const a = signVote(k(1), { type: 'precommit', height: 1, round: 0, blockHash: A }, CHAIN);
    const b = signVote(k(1), { type: 'precommit', height: 1, round: 0, blockHash: B }, CHAIN);
    const c = signVote(k(1), { type: 'precommit', height: 1, round: 0, blockHash: null }, CHAIN);
    s.add(a);
    const r = s.add(b);
    assert.equal(r.kind, 'equivocation');
    if (r.kind === 'equivocation') assert.deepEqual(r.evidence, { voteA: a, voteB: b });
    assert.equal(s.add(c).kind, 'duplicate');
    assert.equal(s.count(A), 1);
    assert.equal(s.count(B), 0);
  });
  test('HeightVotes counts distinct voters of a round across types', () => {
    const hv = new HeightVotes(1, vset);
    hv.add(signVote(k(0), { type: 'prevote', height: 1, round: 2, blockHash: A }, CHAIN));
    hv.add(signVote(k(0), { type: 'precommit', height: 1, round: 2, blockHash: A }, CHAIN));
    hv.add(signVote(k(1), { type: 'precommit', height: 1, round: 2, blockHash: null }, CHAIN));
    assert.equal(hv.votersInRound(2), 2);
    assert.equal(hv.votersInRound(1), 0);
    assert.deepEqual(hv.roundsSeen(), [2]);
    assert.equal(hv.add(signVote(k(1), { type: 'prevote', height: 2, round: 0, blockHash: A }, CHAIN)).kind, 'rejected');
  });
});
