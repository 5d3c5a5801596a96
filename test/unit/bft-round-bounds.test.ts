/**
 * One validator (f = 1 of 4, which the protocol must tolerate) signing votes
 * for any number of far rounds of the current height cannot make a node keep
 * them all: each round kept costs memory until the height ends and a scan on
 * every message. Rounds up to the next one are always kept, a few more per
 * validator (enough for the f+1 round skip), as Tendermint bounds it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keyPairFromSeed } from '../../src/crypto/index.ts';
import { BftStateMachine, signVote, ValidatorSet } from '../../src/consensus/bft/index.ts';

const CHAIN = 'review-rounds';
const keys = [1, 2, 3, 4].map((i) => keyPairFromSeed(Buffer.alloc(32, i)));
const vset = new ValidatorSet(keys.map((k) => k.publicKey));

test('votes of one validator for many far rounds are not all kept', () => {
  const m = new BftStateMachine({ chainId: CHAIN, validators: vset, keys: keys[0]!, params: { timeoutProposeMs: 100, timeoutVoteMs: 100 }, isValid: () => true });
  m.start(1);
  const N = 1500;
  for (let r = 1; r <= N; r++) m.onVote(signVote(keys[3]!, { type: 'prevote', height: 1, round: 1000 + r * 7, blockHash: null }, CHAIN));
  // One honest validator: no round skip (needs f+1 = 2 voters).
  assert.equal(m.round, 0);
  const kept = (m as unknown as { votes: { roundsSeen(): number[] } }).votes.roundsSeen().length;
  assert.ok(kept <= 16, `${kept} rounds kept for one validator's votes in far future rounds`);
});

test('f+1 validators in a far round still make the node skip to it', () => {
  const m = new BftStateMachine({ chainId: CHAIN, validators: vset, keys: keys[0]!, params: { timeoutProposeMs: 100, timeoutVoteMs: 100 }, isValid: () => true });
  m.start(1);
  // Validator 3 spends its far rounds on junk first.
  for (let r = 100; r < 140; r++) m.onVote(signVote(keys[3]!, { type: 'prevote', height: 1, round: r, blockHash: null }, CHAIN));
  assert.equal(m.round, 0);
  for (const i of [1, 2]) m.onVote(signVote(keys[i]!, { type: 'prevote', height: 1, round: 5000, blockHash: null }, CHAIN));
  assert.equal(m.round, 5000, 'two validators (f+1) in round 5000 are heard');
});

test('rounds a node has reached no longer count against a validator', () => {
  const m = new BftStateMachine({ chainId: CHAIN, validators: vset, keys: keys[0]!, params: { timeoutProposeMs: 100, timeoutVoteMs: 100 }, isValid: () => true });
  m.start(1);
  for (let r = 10; r < 20; r++) assert.equal(m.keeps(keys[3]!.publicKey, r), true, `round ${r} before any is kept`);
  for (let r = 10; r < 14; r++) m.onVote(signVote(keys[3]!, { type: 'prevote', height: 1, round: r, blockHash: null }, CHAIN));
  assert.equal(m.keeps(keys[3]!.publicKey, 50), false, 'its far rounds are used up');
  assert.equal(m.keeps(keys[3]!.publicKey, 12), true, 'a round it already has is still taken');
  assert.equal(m.keeps(keys[2]!.publicKey, 50), true, 'another validator has its own');
  // Validators 1 and 2 move the node to round 13: rounds up to 14 are no longer far.
  for (const i of [1, 2]) m.onVote(signVote(keys[i]!, { type: 'prevote', height: 1, round: 13, blockHash: null }, CHAIN));
  assert.equal(m.round, 13);
  assert.equal(m.keeps(keys[3]!.publicKey, 50), true);
});
