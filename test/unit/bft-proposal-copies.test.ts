/**
 * A proposal's signature and block hash cover the header only, not the
 * transaction bodies nor their signatures. A peer that relays the genuine
 * signed proposal with a tampered body (a transaction dropped, so the tx root
 * differs; or a signature altered, same id and root) must not make an honest
 * validator prevote nil on the valid block or drop the genuine copy that
 * follows: the tampered copy is refused as a copy, as the chain's admit does
 * for blocks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addressFromPublicKey, keyPairFromSeed, type KeyPair } from '../../src/crypto/index.ts';
import { assembleBlock, blockHash, signTx, unwrap, type Block, type Genesis } from '../../src/core/index.ts';
import { bftRules, Chain } from '../../src/chain/index.ts';
import { BftEngine, signProposal, validatorSetFor, type BftHost, type BftWire, type Vote } from '../../src/consensus/bft/index.ts';
import { MemoryStore } from '../../src/storage/index.ts';
import { bftGenesis } from '../helpers/chain-fixtures.ts';

const CHAIN = 'review-poison';
const vkeys: KeyPair[] = [11, 12, 13, 14].map((n) => keyPairFromSeed(Buffer.alloc(32, n)));
const wallet = keyPairFromSeed(Buffer.alloc(32, 21));
const T0 = 1_700_000_000_000;

async function setup(): Promise<{ g: Genesis; chain: Chain; block: Block }> {
  const g = bftGenesis({ chainId: CHAIN, timestamp: T0, validators: vkeys, funded: [{ address: addressFromPublicKey(wallet.publicKey), balance: '1000' }] });
  const chain = await Chain.open(new MemoryStore(), g, bftRules(g), { now: () => T0 + 1_000_000 });
  const txs = [0, 1].map((nonce) => signTx({ kind: 'transfer', chainId: CHAIN, from: wallet.publicKey, nonce, fee: 1n, to: addressFromPublicKey(vkeys[3]!.publicKey), amount: 5n }, wallet));
  // Validator 1 proposes height 1, round 0.
  const block = unwrap(assembleBlock(chain.state, txs, { parentHash: chain.tip.hash, parentHeight: 0, timestamp: T0 + 1000, proposer: vkeys[1]!.publicKey }, { chainId: CHAIN, params: g.params, consensus: g.consensus })).block;
  return { g, chain, block };
}

function engineFor(chain: Chain, g: Genesis, me: KeyPair): { engine: BftEngine; prevotes: Vote[] } {
  const prevotes: Vote[] = [];
  const record = (m: BftWire): void => {
    if (m.kind === 'vote' && m.vote.type === 'prevote' && m.vote.validator === me.publicKey) prevotes.push(m.vote);
  };
  const quiet = { info() {}, warn() {}, debug() {} };
  const host: BftHost = {
    chainId: CHAIN,
    keys: me,
    params: { emptyBlockIntervalMs: 60_000, timeoutProposeMs: 60_000, timeoutVoteMs: 60_000 },
    log: quiet,
    tip: () => ({ height: chain.height, hash: chain.tip.hash, timestamp: chain.tip.header.timestamp }),
    validators: () => validatorSetFor(chain.state, g),
    pendingTxs: () => 1,
    buildBlock: () => undefined,
    checkBlock: (b) => chain.checkCandidate(b),
    checkBody: (b) => chain.checkBodyCopy(b),
    commit: async () => {},
    broadcast: record,
    sendTo: (_p, m) => record(m),
    validatorPeers: () => [],
    onEvidence: () => {},
  };
  const engine = new BftEngine(host, undefined, { votes: [], proposals: [] });
  engine.start();
  return { engine, prevotes };
}

for (const [what, tamper] of [
  ['a transaction dropped (tx root mismatch)', (b: Block): Block => ({ header: b.header, txs: b.txs.slice(1) })],
  ['a transaction signature altered (same id, same tx root)', (b: Block): Block => ({ header: b.header, txs: b.txs.map((t, i) => (i === 0 && 'sig' in t ? { ...t, sig: (t.sig[0] === 'a' ? 'b' : 'a') + t.sig.slice(1) } : t)) })],
] as const) {
  test(`a relayed copy with ${what} does not make a validator reject the genuine proposal`, async () => {
    const { g, chain, block } = await setup();
    const hash = blockHash(block.header);
    assert.ok(chain.checkCandidate(block).ok, 'the genuine block is valid');
    const { engine, prevotes } = engineFor(chain, g, vkeys[0]!);
    try {
      const proposal = signProposal(vkeys[1]!, { height: 1, round: 0, blockHash: hash, polRound: -1 }, CHAIN);
      const bad = tamper(block);
      assert.equal(blockHash(bad.header), hash, 'same header, same hash: the proposal signature still verifies');
      // A malicious relay is faster than the proposer.
      assert.equal(engine.onMessage({ kind: 'proposal', proposal, block: bad }, 'relay'), false, 'the tampered copy is refused (its sender is penalised)');
      assert.equal(engine.onMessage({ kind: 'proposal', proposal, block }, 'proposer'), true);
      assert.equal(prevotes.length, 1);
      assert.equal(prevotes[0]!.blockHash, hash, 'prevotes the valid proposal');
      assert.equal(engine.heldProposal(hash)?.block.txs.length, block.txs.length, 'holds the true body');
    } finally {
      engine.stop();
    }
  });
}

test('control: the genuine copy alone is prevoted', async () => {
  const { g, chain, block } = await setup();
  const hash = blockHash(block.header);
  const { engine, prevotes } = engineFor(chain, g, vkeys[0]!);
  try {
    engine.onMessage({ kind: 'proposal', proposal: signProposal(vkeys[1]!, { height: 1, round: 0, blockHash: hash, polRound: -1 }, CHAIN), block }, 'proposer');
    assert.deepEqual(prevotes.map((v) => v.blockHash), [hash]);
  } finally {
    engine.stop();
  }
});
