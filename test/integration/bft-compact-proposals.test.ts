/**
 * A compact proposal whose rebuilt block fails its body check is asked for
 * whole only when the failure may be this node's (a bad signature: a forged
 * copy waiting in gossip's queue). A tx-root mismatch is the sender's fault,
 * since the rebuilt block holds exactly the ids it listed, and so is a
 * proposal not signed by its round's proposer: both cost it 20 points, so a
 * peer cannot send any number of them for free.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addressFromPublicKey, keyPairFromSeed, type KeyPair } from '../../src/crypto/index.ts';
import { assembleBlock, blockHash, signTx, unwrap } from '../../src/core/index.ts';
import { signProposal, validatorSetFor } from '../../src/consensus/bft/index.ts';
import { MemoryStore } from '../../src/storage/index.ts';
import { NodeRuntime } from '../../src/node/runtime.ts';
import { ProposalCodec } from '../../src/node/proposal-codec.ts';
import { createLogger } from '../../src/node/logger.ts';
import { bftGenesis } from '../helpers/chain-fixtures.ts';

const CHAIN = 'proposal-rebuild';
const vkeys: KeyPair[] = [11, 12, 13, 14].map((n) => keyPairFromSeed(Buffer.alloc(32, n)));
const wallet = keyPairFromSeed(Buffer.alloc(32, 21));

test('compact proposals with a bad signature and a body their header does not commit to still cost their sender', { timeout: 20_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'compact-'));
  const g = bftGenesis({ chainId: CHAIN, timestamp: Date.now() - 1000, validators: vkeys, funded: [{ address: addressFromPublicKey(wallet.publicKey), balance: '1000' }] });
  const rt = await NodeRuntime.start({ genesis: g, log: createLogger({ silent: true }), host: '127.0.0.1', peers: [], dataDir: dir, name: 'v0', key: vkeys[0]!, store: new MemoryStore(), maxOutbound: 0 });
  try {
    const penalties: string[] = [];
    type Spied = { send: (peer: string, type: string, payload: unknown) => string; broadcast: () => void; penalize: (peer: string, points: number, reason: string) => void; emit: (type: string, payload: unknown, from: string) => boolean };
    const net = rt.net as unknown as Spied;
    net.send = () => 'ok';
    net.broadcast = () => undefined;
    net.penalize = (peer, points, reason) => penalties.push(`${peer}: ${points} ${reason}`);
    const chain = rt.node.chain;
    const proposerKey = validatorSetFor(chain.state, g).proposer(1, 0);
    const proposer = vkeys.find((k) => k.publicKey === proposerKey)!;
    const tx = signTx({ kind: 'transfer', chainId: CHAIN, from: wallet.publicKey, nonce: 0, fee: 1n, to: addressFromPublicKey(vkeys[3]!.publicKey), amount: 5n }, wallet);
    const block = unwrap(assembleBlock(chain.state, [tx], { parentHash: chain.tip.hash, parentHeight: 0, timestamp: Date.now(), proposer: proposerKey }, { chainId: CHAIN, params: g.params, consensus: g.consensus })).block;
    const real = signProposal(proposer, { height: 1, round: 0, blockHash: blockHash(block.header), polRound: -1 }, CHAIN);
    const codec = new ProposalCodec(rt.node, rt.gossip, g);
    for (let i = 0; i < 10; i++) {
      const p = codec.compact(real, block);
      // The header names one transaction; the sender lists none. And the signature is junk.
      const bogus = { ...p, proposal: { ...p.proposal, signature: i.toString(16).padStart(2, '0').repeat(64) }, compact: { ...p.compact!, txs: [] } };
      net.emit('BFT_PROPOSAL', bogus, 'hostile');
    }
    assert.ok(penalties.length > 0, 'ten proposals with a forged signature and a body their header does not commit to cost their sender nothing');
  } finally {
    await rt.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
