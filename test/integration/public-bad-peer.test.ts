/**
 * A peer that sends bad blocks is refused and penalised, and the honest
 * nodes carry on. Two real nodes (NodeRuntime on real sockets) and an
 * attacker built from the same p2p library.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  blockHash,
  blockToJson,
  buildGenesisBlock,
  checkProofOfWork,
  signTx,
  txRootOf,
  type Block,
  type BlockHeader,
  type SignedTx,
} from '../../src/core/index.ts';
import { generateKeyPair, keyPairFromSeed } from '../../src/crypto/index.ts';
import { Gossip, P2PNetwork } from '../../src/p2p/index.ts';
import { MemoryStore } from '../../src/storage/index.ts';
import { NodeRuntime } from '../../src/node/runtime.ts';
import { createLogger } from '../../src/node/logger.ts';
import { addrs, CHAIN_ID, keys, mineBlock, powGenesis, transfer } from '../helpers/chain-fixtures.ts';
import { waitFor } from '../helpers/http.ts';

const g = powGenesis();
const gb = buildGenesisBlock(g);
const parent = { hash: gb.hash, height: 0, timestamp: gb.block.header.timestamp, bits: gb.block.header.bits, state: gb.state };

function remine(b: Block): Block {
  let h: BlockHeader = { ...b.header, txRoot: txRootOf(b.txs) };
  while (!checkProofOfWork(h).ok) h = { ...h, nonce: h.nonce + 1 };
  return { ...b, header: h };
}

function badBlocks(variant = 0): Record<string, { block: Block; code: string }> {
  // A variant moves the timestamp so the blocks are new to a node that saw earlier ones.
  const good = mineBlock(g, { ...parent, timestamp: parent.timestamp + variant }, [transfer(0, 3, 0, 100n)]).block;
  let badPow = good;
  while (checkProofOfWork(badPow.header).ok) badPow = { ...badPow, header: { ...badPow.header, nonce: badPow.header.nonce + 1 } };
  const easier: BlockHeader = { ...good.header, bits: 0x207fffff };
  let wrongTarget = { ...good, header: easier };
  while (!checkProofOfWork(wrongTarget.header).ok) wrongTarget = { ...wrongTarget, header: { ...wrongTarget.header, nonce: wrongTarget.header.nonce + 1 } };
  const cb = good.txs[0]!;
  const inflated = remine({ ...good, txs: [{ ...cb, amount: (cb.kind === 'coinbase' ? cb.amount : 0n) + 1_000_000n } as typeof cb, ...good.txs.slice(1)] });
  const spend = good.txs[1] as SignedTx;
  const twin = signTx({ kind: 'transfer', chainId: CHAIN_ID, from: keys[0]!.publicKey, nonce: 0, fee: 1n, to: addrs[1]!, amount: 100n }, keys[0]!);
  const doubleSpend = remine({ ...good, txs: [...good.txs, twin] });
  const forged = remine({ ...good, txs: [good.txs[0]!, { ...spend, amount: 999n } as SignedTx] });
  return {
    'bad proof': { block: badPow, code: 'BAD_POW' },
    'wrong target': { block: wrongTarget, code: 'BAD_TARGET' },
    'inflated coinbase': { block: inflated, code: 'BAD_COINBASE' },
    'double spend': { block: doubleSpend, code: 'BAD_NONCE' },
    'bad signature': { block: forged, code: 'BAD_SIGNATURE' },
  };
}

let a: NodeRuntime;
let b: NodeRuntime;

before(async () => {
  const log = createLogger({ silent: true });
  const common = { genesis: g, log, host: '127.0.0.1', wsPort: 0, tcpPort: 0, mine: { threads: 0, continuous: false } } as const;
  a = await NodeRuntime.start({ ...common, name: 'a', dataDir: '', key: keyPairFromSeed(Buffer.alloc(32, 0xa1)), peers: [], store: new MemoryStore() });
  b = await NodeRuntime.start({ ...common, name: 'b', dataDir: '', key: keyPairFromSeed(Buffer.alloc(32, 0xb2)), peers: [a.net.listenAddresses()[0]!], store: new MemoryStore() });
  await waitFor('a and b linked', () => (a.net.peers().length === 1 ? true : undefined));
});

after(async () => {
  await b?.stop();
  await a?.stop();
});

async function attacker(): Promise<{ net: P2PNetwork; gossip: Gossip; blocks: Map<string, Block> }> {
  const blocks = new Map<string, Block>();
  const net = new P2PNetwork({ keys: generateKeyPair(), network: 'public', chainId: g.chainId, genesisHash: gb.hash, head: () => ({ height: 0, tip: gb.hash }), peers: [] });
  const gossip = new Gossip(net, {
    provider: { has: (_k, id) => blocks.has(id), get: (_k, id) => (blocks.has(id) ? blockToJson(blocks.get(id)!) : undefined) },
    accept: async () => 'duplicate',
    idOf: () => undefined,
  });
  await net.start();
  gossip.start();
  const r = await net.connect(a.net.listenAddresses()[0]!);
  assert.ok(r.ok, JSON.stringify(r));
  await waitFor('the attacker linked', () => (net.peers().length === 1 ? true : undefined));
  return { net, gossip, blocks };
}

test('every kind of bad block is refused with its rule, costs the sender, and leaves honest nodes unaffected', { timeout: 60_000 }, async () => {
  const verdicts: { hash: string; code: string; from?: string }[] = [];
  a.node.on('invalidBlock', (v) => verdicts.push(v));
  for (const [name, { block, code }] of Object.entries(badBlocks())) {
    // A fresh attacker per block: a couple of bad blocks is enough for a ban.
    const atk = await attacker();
    const hash = blockHash(block.header);
    atk.blocks.set(hash, block);
    atk.gossip.announce('block', hash);
    const v = await waitFor(`a's verdict on the ${name} block`, () => verdicts.find((x) => x.hash === hash));
    assert.equal(v.code, code, `${name}: ${JSON.stringify(v)}`);
    assert.equal(v.from, atk.net.nodeId, 'the verdict names the sender');
    assert.equal(a.node.chain.height, 0, `${name} did not extend the chain`);
    assert.equal(b.node.chain.height, 0, `${name} did not reach b`);
    await atk.net.stop();
  }
  // The honest pair still works: b mines, a follows.
  const mined = await b.node.mineBlocks(2);
  await waitFor('a follows b', () => (a.node.chain.tip.hash === mined[1] ? true : undefined));
});

test('a peer that keeps sending bad blocks is disconnected and banned', { timeout: 60_000 }, async () => {
  const atk = await attacker();
  const bad = Object.values(badBlocks(7)).map((x) => x.block);
  for (const block of bad) {
    const hash = blockHash(block.header);
    atk.blocks.set(hash, block);
    atk.gossip.announce('block', hash);
  }
  const seen: string[] = [];
  a.node.on('invalidBlock', (v) => seen.push(v.code));
  // (The attacker may meanwhile have found b through peer exchange; what matters is a's verdict.)
  await waitFor('the attacker dropped by a', () => (a.net.peers().some((p) => p.id === atk.net.nodeId) ? undefined : true), 10_000).catch((e: Error) => {
    throw new Error(`${e.message}; verdicts ${JSON.stringify(seen)}; score ${JSON.stringify(a.net.peers().map((p) => [p.id.slice(0, 8), p.score]))}`);
  });
  assert.ok(a.net.banList().some((x) => x.value === atk.net.nodeId), 'banned by node id');
  const again = await atk.net.connect(a.net.listenAddresses()[0]!);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(a.net.peers().some((p) => p.id === atk.net.nodeId), false, `reconnect refused (${JSON.stringify(again)})`);
  await atk.net.stop();
});
