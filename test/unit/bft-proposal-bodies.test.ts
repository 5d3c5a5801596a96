/**
 * A Byzantine validator cannot push the body of the block a height decides
 * out of the engine's bounded store: a proposal counts only from the
 * scheduled proposer of its round, one per round, for rounds not too far
 * ahead; and a body the height may still commit (locked, valid, voted for by
 * more than f validators, or the current round's proposal) is never evicted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addressFromPublicKey, keyPairFromSeed, type KeyPair } from '../../src/crypto/index.ts';
import { assembleBlock, blockHash, unwrap, type Block, type Genesis } from '../../src/core/index.ts';
import { bftRules, Chain } from '../../src/chain/index.ts';
import { BftEngine, signProposal, signVote, validatorSetFor, type BftHost, type BftWire } from '../../src/consensus/bft/index.ts';
import { MemoryStore } from '../../src/storage/index.ts';
import { bftGenesis } from '../helpers/chain-fixtures.ts';

const CHAIN = 'review-evict';
const vkeys: KeyPair[] = [11, 12, 13, 14].map((n) => keyPairFromSeed(Buffer.alloc(32, n)));
const wallet = keyPairFromSeed(Buffer.alloc(32, 21));
const T0 = 1_700_000_000_000;

test('proposals from a validator that is not the round proposer cannot evict the genuine block body', async () => {
  const g: Genesis = bftGenesis({ chainId: CHAIN, timestamp: T0, validators: vkeys, funded: [{ address: addressFromPublicKey(wallet.publicKey), balance: '1000' }] });
  const chain = await Chain.open(new MemoryStore(), g, bftRules(g), { now: () => T0 + 1_000_000 });
  const mk = (by: number, ts: number): Block =>
    unwrap(assembleBlock(chain.state, [], { parentHash: chain.tip.hash, parentHeight: 0, timestamp: ts, proposer: vkeys[by]!.publicKey }, { chainId: CHAIN, params: g.params, consensus: g.consensus })).block;
  const committed: Block[] = [];
  const relayed: BftWire[] = [];
  const host: BftHost = {
    chainId: CHAIN,
    keys: vkeys[0]!,
    params: { emptyBlockIntervalMs: 60_000, timeoutProposeMs: 60_000, timeoutVoteMs: 60_000 },
    log: { info() {}, warn() {}, debug() {} },
    tip: () => ({ height: chain.height, hash: chain.tip.hash, timestamp: chain.tip.header.timestamp }),
    validators: () => validatorSetFor(chain.state, g),
    pendingTxs: () => 1,
    buildBlock: () => undefined,
    checkBlock: (b) => chain.checkCandidate(b),
    checkBody: (b) => chain.checkBodyCopy(b),
    commit: async (b) => {
      committed.push(b);
    },
    broadcast: () => {},
    sendTo: (_p, m) => relayed.push(m),
    validatorPeers: () => [],
    onEvidence: () => {},
  };
  const engine = new BftEngine(host, undefined, { votes: [], proposals: [] });
  engine.start();
  try {
    const genuine = mk(1, T0 + 1000);
    const hash = blockHash(genuine.header);
    engine.onMessage({ kind: 'proposal', proposal: signProposal(vkeys[1]!, { height: 1, round: 0, blockHash: hash, polRound: -1 }, CHAIN), block: genuine }, 'v1');
    // Validator 3 (Byzantine, f = 1) is not the proposer of round 0 (nor of most rounds), yet:
    for (let i = 0; i < 64; i++) {
      const junk = mk(3, T0 + 2000 + i);
      const accepted = engine.onMessage({ kind: 'proposal', proposal: signProposal(vkeys[3]!, { height: 1, round: i, blockHash: blockHash(junk.header), polRound: -1 }, CHAIN), block: junk }, 'v3');
      // A proposal for a round it is not the proposer of is provably bad; one for its own rounds is taken or set aside.
      if (host.validators().proposer(1, i) !== vkeys[3]!.publicKey) assert.equal(accepted, false, `round ${i}`);
    }
    // The honest validators prevote and precommit the genuine block.
    for (const type of ['prevote', 'precommit'] as const) {
      for (const i of [1, 2]) engine.onMessage({ kind: 'vote', vote: signVote(vkeys[i]!, { type, height: 1, round: 0, blockHash: hash }, CHAIN) }, `v${i}`);
    }
    assert.equal(engine.status().lastCommit?.height, 1, 'decided');
    await new Promise((r) => setImmediate(r));
    assert.equal(committed.length, 1, 'the decided block was handed to the chain (its body was evicted by proposals of a non-proposer)');
    assert.equal(blockHash(committed[0]!.header), hash);
  } finally {
    engine.stop();
  }
});
