/**
 * Catching up after a reconnect or a restart: a peer re-sends what it signed
 * at the current height once, on connect, and never again. A node more than a
 * few rounds behind must still reach the round the others wait in, though
 * it keeps only a few far rounds per validator at a time: the rest are held
 * (bounded) and taken as the node's round comes near.
 *
 * Honest scenario, n = 4, f = 1: D has crashed; A was cut off while B, C
 * (and D, before it crashed) went through rounds 0..10 of height 1. B and C
 * now sit in round 10 needing a third voter (no +2/3 of anything, so no
 * timeout fires). A relinks and receives B's and C's whole histories: it
 * must get to round 10, or the height never completes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keyPairFromSeed } from '../../src/crypto/index.ts';
import { BftStateMachine, signVote, ValidatorSet, type BftAction, type Vote } from '../../src/consensus/bft/index.ts';

const CHAIN = 'bft-catch-up';
const keys = [1, 2, 3, 4].map((i) => keyPairFromSeed(Buffer.alloc(32, 0x40 + i)));
const vset = new ValidatorSet(keys.map((k) => k.publicKey));

/** Everything validator i signed at height 1 over rounds 0..last (nil votes: every round failed), in the order it sent them. */
function history(i: number, last: number): Vote[] {
  const out: Vote[] = [];
  for (let r = 0; r <= last; r++) {
    out.push(signVote(keys[i]!, { type: 'prevote', height: 1, round: r, blockHash: null }, CHAIN));
    out.push(signVote(keys[i]!, { type: 'precommit', height: 1, round: r, blockHash: null }, CHAIN));
  }
  return out;
}

test('a node that relinks to f+1 validators ten rounds ahead catches up with them', () => {
  const a = new BftStateMachine({ chainId: CHAIN, validators: vset, keys: keys[0]!, params: { timeoutProposeMs: 100, timeoutVoteMs: 100 }, isValid: () => true });
  // Timeouts the machine asked for, fired in order as the engine's timers would.
  const timers: BftAction[] = [];
  const take = (actions: readonly BftAction[]): void => {
    for (const x of actions) if (x.kind === 'schedule-timeout') timers.push(x);
  };
  take(a.start(1));
  // B's re-sent history arrives, then C's (each peer re-sends its own `sent` list on connect).
  for (const v of history(1, 10)) take(a.onVote(v));
  for (const v of history(2, 10)) take(a.onVote(v));
  // A's own timers run; B and C send nothing new (they wait in round 10 for a third voter).
  for (let i = 0; i < 1000 && timers.length > 0; i++) {
    const t = timers.shift()! as Extract<BftAction, { kind: 'schedule-timeout' }>;
    take(a.onTimeout(t.timeout, t.height, t.round));
  }
  assert.ok(a.round >= 10, `A is stuck in round ${a.round} (step ${a.step}) while B and C wait for it in round 10`);
});
