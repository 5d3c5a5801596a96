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
 * which needs X's prevote. Keys cost nothing, so one peer must not be able
 * to fill the pool kept for such signers with throwaway keys first.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keyPairFromSeed } from '../../src/crypto/index.ts';
import { BftEngine, signVote, ValidatorSet, type BftHost, type BftWire } from '../../src/consensus/bft/index.ts';

const CHAIN = 'bft-new-validator';
const [A, B, C, D, X] = [1, 2, 3, 4, 5].map((i) => keyPairFromSeed(Buffer.alloc(32, 0x60 + i)));
const beforeSet = new ValidatorSet([A!, B!, C!, D!].map((k) => k.publicKey));
const after = new ValidatorSet([A!, B!, C!, D!, X!].map((k) => k.publicKey));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The honest scenario: X's prevote for height 2 reaches A before A connects
 * block 1 (which adds X); `before` runs first (an attacker's flood, say).
 * True if A then precommits at height 2, round 0.
 */
async function newValidatorScenario(before: (engine: BftEngine) => void): Promise<{ precommitted: boolean; detail: string }> {
  let tipHeight = 0;
  const sent: BftWire[] = [];
  const host: BftHost = {
    chainId: CHAIN,
    keys: A!,
    params: { emptyBlockIntervalMs: 60_000, timeoutProposeMs: 40, timeoutVoteMs: 40 },
    log: { info() {}, warn() {}, debug() {} },
    tip: () => ({ height: tipHeight, hash: String(tipHeight).padStart(64, '0'), timestamp: Date.now() }),
    validators: () => (tipHeight >= 1 ? after : beforeSet),
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
    before(engine);
    // X, already at height 2, prevotes nil; it reaches A while A still waits for block 1.
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
    return { precommitted: mine.includes('precommit@0'), detail: `sent ${mine.join(', ')}; round ${st.round}, step ${st.step}, ${st.prevotes.length} prevotes` };
  } finally {
    engine.stop();
  }
}

const vote = (k: typeof A, type: 'prevote' | 'precommit', round = 0) => ({ kind: 'vote' as const, vote: signVote(k!, { type, height: 2, round, blockHash: null }, CHAIN) });

test('a prevote of a newly added validator that arrives before the tip moves still counts', async () => {
  const r = await newValidatorScenario(() => undefined);
  assert.ok(r.precommitted, `A never precommits at height 2 (${r.detail}): B, C and X wait for it forever`);
});

test("strangers with throwaway keys cannot crowd out a newly added validator's early prevote", async () => {
  // An attacker (no stake, one link) tries to fill the strangers' pool: 16 fresh keys, 16 signed votes each.
  const r = await newValidatorScenario((engine) => {
    for (let j = 0; j < 16; j++) {
      const junk = keyPairFromSeed(Buffer.alloc(32, 0x90 + j));
      for (let round = 0; round < 16; round++) engine.onMessage(vote(junk, 'prevote', round), 'attacker');
    }
  });
  assert.ok(r.precommitted, `A never precommits at height 2 (${r.detail}): X's prevote was crowded out of the strangers' pool`);
});
