/**
 * Messages for the next heights are kept for when the node gets there, but
 * only signed ones from validators, a bounded number per validator: a peer
 * flooding unsigned junk for height h+1 cannot crowd out the real proposal,
 * nor start an empty height before emptyBlockIntervalMs (docs/consensus.md:
 * a height starts early only on a valid signed message of another validator).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addressFromPublicKey, keyPairFromSeed, type KeyPair } from '../../src/crypto/index.ts';
import { assembleBlock, blockHash, unwrap, type Block, type Genesis, type JsonValue } from '../../src/core/index.ts';
import { bftRules, Chain } from '../../src/chain/index.ts';
import { BftEngine, signProposal, signVote, validatorSetFor, type BftHost, type Vote } from '../../src/consensus/bft/index.ts';
import { MemoryStore } from '../../src/storage/index.ts';
import { bftGenesis } from '../helpers/chain-fixtures.ts';

const CHAIN = 'review-future';
const vkeys: KeyPair[] = [11, 12, 13, 14].map((n) => keyPairFromSeed(Buffer.alloc(32, n)));
const wallet = keyPairFromSeed(Buffer.alloc(32, 21));
const T0 = 1_700_000_000_000;

async function setup(pending: number) {
  const g: Genesis = bftGenesis({ chainId: CHAIN, timestamp: T0, validators: vkeys, funded: [{ address: addressFromPublicKey(wallet.publicKey), balance: '1000' }] });
  let now = T0 + 1500;
  const chain = await Chain.open(new MemoryStore(), g, bftRules(g), { now: () => now });
  const mk = (by: number, ts: number): Block =>
    unwrap(assembleBlock(chain.state, [], { parentHash: chain.tip.hash, parentHeight: chain.height, timestamp: ts, proposer: vkeys[by]!.publicKey }, { chainId: CHAIN, params: g.params, consensus: g.consensus })).block;
  const certify = (b: Block): Block => {
    const hash = blockHash(b.header);
    const signatures = vkeys.slice(0, 3).map((k) => {
      const v = signVote(k, { type: 'precommit', height: b.header.height, round: 0, blockHash: hash }, CHAIN);
      return { validator: v.validator, signature: v.signature };
    });
    return { ...b, commit: { height: b.header.height, round: 0, blockHash: hash, signatures } as unknown as JsonValue };
  };
  const prevotes: Vote[] = [];
  const host: BftHost = {
    chainId: CHAIN,
    keys: vkeys[0]!,
    params: { emptyBlockIntervalMs: 60_000, timeoutProposeMs: 60_000, timeoutVoteMs: 60_000 },
    log: { info() {}, warn() {}, debug() {} },
    now: () => now,
    tip: () => ({ height: chain.height, hash: chain.tip.hash, timestamp: chain.tip.header.timestamp }),
    validators: () => validatorSetFor(chain.state, g),
    pendingTxs: () => pending,
    buildBlock: () => undefined,
    checkBlock: (b) => chain.checkCandidate(b),
    checkBody: (b) => chain.checkBodyCopy(b),
    commit: async () => {},
    broadcast: (m) => {
      if (m.kind === 'vote' && m.vote.type === 'prevote' && m.vote.validator === vkeys[0]!.publicKey) prevotes.push(m.vote);
    },
    sendTo: () => {},
    validatorPeers: () => [],
    onEvidence: () => {},
  };
  const engine = new BftEngine(host, undefined, { votes: [], proposals: [] });
  engine.start();
  return { g, chain, engine, mk, certify, prevotes, advanceClock: (ms: number) => (now += ms) };
}

const junkVote = (height: number, i: number) => ({
  kind: 'vote' as const,
  vote: { type: 'prevote' as const, height, round: i, blockHash: null, validator: 'ab'.repeat(32), signature: 'cd'.repeat(64) },
});

test('unsigned junk for the next height does not crowd out the real proposal for it', async () => {
  const { chain, engine, mk, certify, prevotes } = await setup(1);
  try {
    // Height 1 runs; a non-validator peer floods height 2 with junk.
    for (let i = 0; i < 2000; i++) engine.onMessage(junkVote(2, i), 'member');
    // Height 1 is committed elsewhere first; its block and the height-2 proposal (validator 2 proposes 2/0) arrive.
    const b1 = mk(1, T0 + 1000);
    const b1c = certify(b1);
    // The proposer of height 2 built on b1 before we had it.
    assert.equal((await chain.submitBlock(b1c)).status, 'connected');
    const b2 = mk(2, T0 + 1200);
    // Pretend it came in just before our chain moved: rewind isn't possible, so
    // deliver while the engine is still at height 1 (it has not seen the tip event).
    engine.onMessage({ kind: 'proposal', proposal: signProposal(vkeys[2]!, { height: 2, round: 0, blockHash: blockHash(b2.header), polRound: -1 }, CHAIN), block: b2 }, 'v2');
    assert.equal(engine.height, 1);
    engine.onTip();
    assert.equal(engine.height, 2);
    assert.deepEqual(
      prevotes.filter((v) => v.height === 2).map((v) => v.blockHash),
      [blockHash(b2.header)],
      'the real height-2 proposal was dropped behind 2000 unsigned junk messages',
    );
  } finally {
    engine.stop();
  }
});

test('an unsigned junk message does not start an empty height before emptyBlockIntervalMs', async () => {
  const { chain, engine, mk, certify } = await setup(0);
  try {
    // Height 1 is decided elsewhere and arrives by gossip; no transactions are pending.
    engine.onMessage(junkVote(2, 0), 'member');
    assert.equal((await chain.submitBlock(certify(mk(1, T0 + 1000)))).status, 'connected');
    engine.onTip();
    assert.equal(engine.height, 2);
    assert.equal(engine.status().step, 'waiting', 'height 2 started at once on an unsigned message from a non-validator');
  } finally {
    engine.stop();
  }
});
