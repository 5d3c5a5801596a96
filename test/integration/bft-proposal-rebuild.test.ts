/**
 * A compact BFT proposal is rebuilt from bodies the node holds, including
 * transactions still waiting, unchecked, in gossip's queue. A forged copy of
 * a transaction there (the real id, another signature) makes the rebuilt
 * block fail its body check through no fault of the proposer: the node must
 * ask for the proposal whole, not penalise its sender, and take the whole
 * proposal when it comes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addressFromPublicKey, keyPairFromSeed, type KeyPair } from '../../src/crypto/index.ts';
import { assembleBlock, blockHash, signTx, txToJson, unwrap } from '../../src/core/index.ts';
import { signProposal, validatorSetFor } from '../../src/consensus/bft/index.ts';
import { MemoryStore } from '../../src/storage/index.ts';
import { NodeRuntime } from '../../src/node/runtime.ts';
import { ProposalCodec } from '../../src/node/proposal-codec.ts';
import { createLogger } from '../../src/node/logger.ts';
import { bftGenesis } from '../helpers/chain-fixtures.ts';

const CHAIN = 'proposal-rebuild';
const vkeys: KeyPair[] = [11, 12, 13, 14].map((n) => keyPairFromSeed(Buffer.alloc(32, n)));
const wallet = keyPairFromSeed(Buffer.alloc(32, 21));

test('a compact proposal rebuilt with a forged queued copy is asked for whole, and its sender is not blamed', { timeout: 20_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'proposal-rebuild-'));
  const g = bftGenesis({ chainId: CHAIN, timestamp: Date.now() - 1000, validators: vkeys, funded: [{ address: addressFromPublicKey(wallet.publicKey), balance: '1000' }] });
  const rt = await NodeRuntime.start({ genesis: g, log: createLogger({ silent: true }), host: '127.0.0.1', peers: [], dataDir: dir, name: 'v0', key: vkeys[0]!, store: new MemoryStore(), maxOutbound: 0 });
  try {
    const sent: { peer: string; type: string }[] = [];
    const penalties: string[] = [];
    const prevotes: (string | null)[] = [];
    type Spied = {
      send: (peer: string, type: string, payload: unknown) => string;
      broadcast: (type: string, payload: { vote?: { type: string; validator: string; blockHash: string | null } }) => void;
      penalize: (peer: string, points: number, reason: string) => void;
      emit: (type: string, payload: unknown, from: string) => boolean;
    };
    const net = rt.net as unknown as Spied;
    net.send = (peer, type) => {
      sent.push({ peer, type });
      return 'ok';
    };
    net.broadcast = (type, payload) => {
      const v = payload.vote;
      if (type === 'BFT_VOTE' && v?.type === 'prevote' && v.validator === vkeys[0]!.publicKey) prevotes.push(v.blockHash);
    };
    net.penalize = (peer, _points, reason) => penalties.push(`${peer}: ${reason}`);

    const chain = rt.node.chain;
    const proposerKey = validatorSetFor(chain.state, g).proposer(1, 0);
    const proposer = vkeys.find((k) => k.publicKey === proposerKey)!;
    const tx = signTx({ kind: 'transfer', chainId: CHAIN, from: wallet.publicKey, nonce: 0, fee: 1n, to: addressFromPublicKey(vkeys[3]!.publicKey), amount: 5n }, wallet);
    const forged = { ...tx, sig: (tx.sig[0] === 'a' ? 'b' : 'a') + tx.sig.slice(1) };
    const block = unwrap(assembleBlock(chain.state, [tx], { parentHash: chain.tip.hash, parentHeight: 0, timestamp: Date.now(), proposer: proposerKey }, { chainId: CHAIN, params: g.params, consensus: g.consensus })).block;
    const proposal = signProposal(proposer, { height: 1, round: 0, blockHash: blockHash(block.header), polRound: -1 }, CHAIN);
    const codec = new ProposalCodec(rt.node, rt.gossip, g);

    // The forged copy arrives first and waits in gossip's queue; the compact proposal comes in the same turn.
    net.emit('TX', { tx: txToJson(forged) }, 'attacker');
    net.emit('BFT_PROPOSAL', codec.compact(proposal, block), 'proposer-peer');
    assert.deepEqual(penalties, [], 'the proposer is not blamed for a body this node held');
    assert.deepEqual(sent.filter((s) => s.type === 'BFT_GET_PROPOSAL'), [{ peer: 'proposer-peer', type: 'BFT_GET_PROPOSAL' }], 'the proposal is asked for whole');

    assert.deepEqual(prevotes, [], 'no prevote yet: the proposal was not taken');

    // The whole proposal is then taken (not refused as a copy seen before) and prevoted.
    net.emit('BFT_PROPOSAL', ProposalCodec.whole(proposal, block), 'proposer-peer');
    assert.deepEqual(penalties, []);
    assert.deepEqual(prevotes, [blockHash(block.header)]);
  } finally {
    await rt.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
