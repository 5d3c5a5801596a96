/**
 * Next-height messages of signers outside the current set (a validator the
 * next block may add) are kept in a pool of their own. Keys cost nothing, so
 * one peer must not be able to fill that pool with throwaway keys before the
 * real new validator's prevote arrives (the scenario of
 * test/unit/bft-new-validator.test.ts): each link gets a share of it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keyPairFromSeed } from '../../src/crypto/index.ts';
import { BftEngine, signVote, ValidatorSet, type BftHost, type BftWire } from '../../src/consensus/bft/index.ts';

const CHAIN = 'bft-new-validator';
const [A, B, C, D, X] = [1, 2, 3, 4, 5].map((i) => keyPairFromSeed(Buffer.alloc(32, 0x60 + i)));
const before = new ValidatorSet([A!, B!, C!, D!].map((k) => k.publicKey));
const after = new ValidatorSet([A!, B!, C!, D!, X!].map((k) => k.publicKey));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('strangers with throwaway keys cannot crowd out a newly added validator\'s early prevote', async () => {
  let tipHeight = 0;
  const sent: BftWire[] = [];
  const host: BftHost = {
    chainId: CHAIN,
    keys: A!,
    params: { emptyBlockIntervalMs: 60_000, timeoutProposeMs: 40, timeoutVoteMs: 40 },
    log: { info() {}, warn() {}, debug() {} },
    tip: () => ({ height: tipHeight, hash: String(tipHeight).padStart(64, '0'), timestamp: Date.now() }),
    validators: () => (tipHeight >= 1 ? after : before),
    pendingTxs: () => 0,
    buildBlock: () => undefined,
    checkBlock: () => ({ ok: true, value: undefined }),
    checkBody: () => ({ ok: true, value: undefined }),
    commit: async () => {},
    broadcast: (m) => void sent.push(m),
    sendTo: () => {},
    validatorPeers: () => [],
    onEvidence: () => {},
  };
  const engine = new BftEngine(host, undefined, { votes: [], proposals: [] });
  engine.start();
  try {
    const vote = (k: typeof A, type: 'prevote' | 'precommit', round = 0) => ({ kind: 'vote' as const, vote: signVote(k!, { type, height: 2, round, blockHash: null }, CHAIN) });
    // An attacker (no stake, any peer) fills the strangers' pool: 16 fresh keys, 16 signed votes each.
    for (let j = 0; j < 16; j++) {
      const junk = keyPairFromSeed(Buffer.alloc(32, 0x90 + j));
      for (let r = 0; r < 16; r++) engine.onMessage(vote(junk, 'prevote', r), 'attacker');
    }
    // X, already at height 2, prevotes nil; it reaches A while A still waits for block 1.
    engine.onMessage(vote(X, 'prevote'), 'x');
    tipHeight = 1;
    engine.onTip();
    engine.onMessage(vote(B, 'prevote'), 'b');
    engine.onMessage(vote(C, 'prevote'), 'c');
    for (const k of [B, C, X]) engine.onMessage(vote(k, 'precommit'), 'p');
    await sleep(400);
    const mine = sent.filter((m) => m.kind === 'vote' && m.vote.validator === A!.publicKey && m.vote.height === 2).map((m) => (m.kind === 'vote' ? `${m.vote.type}@${m.vote.round}` : ''));
    const st = engine.status();
    assert.ok(mine.includes('precommit@0'), `A never precommits at height 2 (sent ${mine.join(', ')}; round ${st.round}, step ${st.step}, ${st.prevotes.length} prevotes): X's prevote was crowded out of the strangers' pool`);
  } finally {
    engine.stop();
  }
});
