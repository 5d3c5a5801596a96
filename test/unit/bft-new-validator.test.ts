/**
 * A validator set change (governance) and messages for the next height that
 * arrive before this node's tip moves: a prevote of a newly added validator,
 * outside the current set, must still be kept for later. A vote goes out
 * once; in Tendermint a missing prevote can cost the whole height, since no
 * timeout fires without +2/3 of votes.
 *
 * Honest scenario: block 1 adds X, so height 2 has {A, B, C, D, X}, n = 5,
 * q = 4, f = 1; D has crashed (tolerated). X connected block 1 first and
 * prevoted nil at height 2 round 0 before A connected block 1. B and C saw
 * A, B, C, X prevote, precommitted nil and wait for a fourth precommit, A's,
 * which needs X's prevote.
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

test('a prevote of a newly added validator that arrives before the tip moves still counts', async () => {
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
    assert.equal(engine.height, 1);
    // X, already at height 2, prevotes nil; it reaches A while A still waits for block 1.
    const vote = (k: typeof A, type: 'prevote' | 'precommit') => ({ kind: 'vote' as const, vote: signVote(k!, { type, height: 2, round: 0, blockHash: null }, CHAIN) });
    assert.equal(engine.onMessage(vote(X, 'prevote'), 'x'), true);
    // Block 1 (which added X) connects here.
    tipHeight = 1;
    engine.onTip();
    assert.equal(engine.height, 2);
    // B and C prevote nil; then B, C and X precommit nil (they saw 4 prevotes).
    engine.onMessage(vote(B, 'prevote'), 'b');
    engine.onMessage(vote(C, 'prevote'), 'c');
    for (const k of [B, C, X]) engine.onMessage(vote(k, 'precommit'), 'p');
    await sleep(400);
    const mine = sent.filter((m) => m.kind === 'vote' && m.vote.validator === A!.publicKey && m.vote.height === 2).map((m) => (m.kind === 'vote' ? `${m.vote.type}@${m.vote.round}` : ''));
    const st = engine.status();
    assert.ok(mine.includes('precommit@0'), `A never precommits at height 2 (sent ${mine.join(', ')}; round ${st.round}, step ${st.step}, ${st.prevotes.length} prevotes): B, C and X wait for it forever`);
  } finally {
    engine.stop();
  }
});
