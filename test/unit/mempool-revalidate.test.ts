/**
 * Incremental mempool revalidation: Mempool.revalidate(state, only) re-checks
 * only the listed senders' queues, and the node re-checks, on each new tip,
 * the senders of the transfers and records it connected, with a full pass
 * (expiry, everyone) at least once a second, after a reorganisation, and
 * after a block carrying governance.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { addressFromPublicKey, keyPairFromSeed, type KeyPair } from '../../src/crypto/index.ts';
import {
  assembleBlock,
  blockHash,
  buildGenesisBlock,
  DEFAULT_PARAMS,
  signTx,
  State,
  txId,
  txToJson,
  unwrap,
  verifyTxSignature,
  type Address,
  type Block,
  type Genesis,
  type JsonValue,
  type SignedTx,
} from '../../src/core/index.ts';
import { signVote } from '../../src/consensus/bft/index.ts';
import { DEFAULT_MEMPOOL, Mempool, type RemovalReason } from '../../src/mempool/index.ts';
import { MemoryStore } from '../../src/storage/index.ts';
import { PeerchainNode } from '../../src/node/node.ts';
import { createLogger } from '../../src/node/logger.ts';
import { addrs, bftGenesis, CHAIN_ID, keys, mineBlock, powGenesis, transfer } from '../helpers/chain-fixtures.ts';

// ---------------------------------------------------------------- Mempool.revalidate(state, only)

const POOL_CHAIN = 'mempool-revalidate';
const pk = [11, 12, 13, 14].map((n) => keyPairFromSeed(Buffer.alloc(32, n)));
const pa = pk.map((kp) => addressFromPublicKey(kp.publicKey));
const [SA, SB, SC] = [pa[0]!, pa[1]!, pa[2]!];
const sink = pa[3]!;

function send(kp: KeyPair, nonce: number, amount = 10n, fee = 1n): SignedTx {
  return signTx({ kind: 'transfer', chainId: POOL_CHAIN, from: kp.publicKey, nonce, fee, to: sink, amount }, kp);
}

function funded(balance = 1000n): State {
  let s = State.empty();
  for (const a of [SA, SB, SC]) s = s.withAccount(a, { balance, nonce: 0 });
  return s;
}

function pool(over: Partial<ConstructorParameters<typeof Mempool>[0]> = {}, clock = { t: 0 }): Mempool {
  return new Mempool({ chainId: POOL_CHAIN, params: DEFAULT_PARAMS, ...DEFAULT_MEMPOOL, now: () => clock.t, ...over });
}

const dropped = (d: { entry: { id: string }; reason: RemovalReason }[]): [string, RemovalReason][] => d.map((x) => [x.entry.id, x.reason]);
const pendingIds = (p: Mempool): string[] => p.list().map((e) => e.id).sort();

describe('Mempool.revalidate with only', () => {
  test("re-checks only the listed senders: A's used nonces go, B's stay until a full pass", () => {
    const p = pool();
    const s = funded();
    const [a0, a1, b0, b1] = [send(pk[0]!, 0), send(pk[0]!, 1), send(pk[1]!, 0), send(pk[1]!, 1)];
    for (const t of [a0, a1, b0, b1]) assert.equal(p.add(t, s).ok, true);
    // A block mined a0 and b0: both nonces advanced.
    const next = s.withAccount(SA, { balance: 989n, nonce: 1 }).withAccount(SB, { balance: 989n, nonce: 1 });

    assert.deepEqual(dropped(p.revalidate(next, new Set([SA]))), [[txId(a0), 'mined']]);
    assert.deepEqual(pendingIds(p), [txId(a1), txId(b0), txId(b1)].sort(), "B's used nonce is left for a later pass");
    assert.equal(p.pendingNonce(SB, 1).next, 2, "B's queue is intact");

    assert.deepEqual(dropped(p.revalidate(next)), [[txId(b0), 'mined']], 'a full pass finds B too');
    assert.deepEqual(pendingIds(p), [txId(a1), txId(b1)].sort());
    // What remains is what the next block would take.
    assert.deepEqual(p.select(next, 10).map(txId).sort(), [txId(a1), txId(b1)].sort());
  });

  test('without only, one pass drops the used nonces of every sender', () => {
    const p = pool();
    const s = funded();
    const [a0, a1, b0] = [send(pk[0]!, 0), send(pk[0]!, 1), send(pk[1]!, 0)];
    for (const t of [a0, a1, b0]) assert.equal(p.add(t, s).ok, true);
    const next = s.withAccount(SA, { balance: 978n, nonce: 2 }).withAccount(SB, { balance: 989n, nonce: 1 });
    assert.deepEqual(dropped(p.revalidate(next)).sort(), [[txId(a0), 'mined'], [txId(a1), 'mined'], [txId(b0), 'mined']].sort());
    assert.equal(p.size, 0);
  });

  test('an empty set checks nobody, and a listed sender with nothing pending is harmless', () => {
    const p = pool();
    const s = funded();
    const [a0, b0] = [send(pk[0]!, 0), send(pk[1]!, 0)];
    for (const t of [a0, b0]) assert.equal(p.add(t, s).ok, true);
    const next = s.withAccount(SA, { balance: 989n, nonce: 1 }).withAccount(SB, { balance: 989n, nonce: 1 });

    assert.deepEqual(p.revalidate(next, new Set()), [], 'an empty set is not "everyone"');
    assert.equal(p.size, 2);
    // C is funded but has nothing pending; the other address never appeared anywhere.
    const stranger: Address = addressFromPublicKey(keyPairFromSeed(Buffer.alloc(32, 99)).publicKey);
    assert.deepEqual(p.revalidate(next, new Set([SC, stranger])), []);
    assert.equal(p.size, 2);
    assert.equal(p.pendingNonce(SC, 0).count, 0, 'no queue was created for C');
    assert.deepEqual(p.ids(10), [txId(a0), txId(b0)], 'nothing moved');

    assert.deepEqual(dropped(p.revalidate(next, new Set([SC, SA, stranger]))), [[txId(a0), 'mined']]);
    assert.deepEqual(pendingIds(p), [txId(b0)]);
  });

  test('only also limits the expiry and balance checks to the listed senders', () => {
    const clock = { t: 0 };
    const p = pool({ expiryMs: 1000 }, clock);
    const s = funded(100n);
    const [a0, b0] = [send(pk[0]!, 0, 50n), send(pk[1]!, 0, 50n)];
    for (const t of [a0, b0]) assert.equal(p.add(t, s).ok, true);
    clock.t = 5000; // both expired
    const drained = s.withAccount(SB, { balance: 0n, nonce: 0 }); // and B cannot pay any more
    assert.deepEqual(dropped(p.revalidate(drained, new Set([SA]))), [[txId(a0), 'expired']]);
    assert.deepEqual(pendingIds(p), [txId(b0)], 'B is expired and unaffordable, but was not asked about');
    assert.equal(p.revalidate(drained, new Set([SB])).length, 1);
    assert.equal(p.size, 0);
  });

  test('a listed sender whose balance fell loses the queue tail it can no longer pay for', () => {
    const p = pool();
    const s = funded(100n);
    const [a0, a1, b0] = [send(pk[0]!, 0, 40n), send(pk[0]!, 1, 40n), send(pk[1]!, 0, 40n)];
    for (const t of [a0, a1, b0]) assert.equal(p.add(t, s).ok, true);
    // A spent most of its balance elsewhere (another node's transaction at nonce 0), B likewise.
    const next = s.withAccount(SA, { balance: 30n, nonce: 1 }).withAccount(SB, { balance: 0n, nonce: 0 }); // a1 needs 41
    assert.deepEqual(dropped(p.revalidate(next, new Set([SA]))).sort(), [[txId(a0), 'mined'], [txId(a1), 'invalid']].sort());
    assert.deepEqual(pendingIds(p), [txId(b0)]);
  });
});

// ---------------------------------------------------------------- the node

const log = createLogger({ silent: true });

interface Harness {
  node: PeerchainNode;
  clock: { t: number };
  removed: { id: string; reason: RemovalReason }[];
}

async function powNode(g: Genesis, expiryMs: number): Promise<Harness> {
  // Blocks are stamped from the genesis time on; the clock runs well after that.
  const clock = { t: g.timestamp + 1_000_000 };
  const node = await PeerchainNode.create({ genesis: g, store: new MemoryStore(), key: keyPairFromSeed(Buffer.alloc(32, 9)), log, now: () => clock.t, mempool: { expiryMs } });
  const removed: Harness['removed'] = [];
  node.on('txRemoved', (r) => removed.push(r));
  return { node, clock, removed };
}

/** Mines a block with these transactions on the node's tip and connects it. */
async function extend(g: Genesis, node: PeerchainNode, txs: SignedTx[] = [], miner = addrs[2]!): Promise<Block> {
  const tip = node.chain.tip;
  const { block } = mineBlock(g, { hash: tip.hash, height: tip.height, timestamp: tip.header.timestamp, bits: tip.header.bits, state: node.chain.state }, txs, miner);
  const r = await node.submitBlock(block);
  assert.equal(r.status, 'connected');
  return block;
}

function admit(node: PeerchainNode, tx: SignedTx): string {
  const r = node.submitTx(txToJson(tx));
  assert.ok(r.ok, r.ok ? '' : r.error.message);
  return r.value.id;
}

describe('PeerchainNode: incremental mempool revalidation', () => {
  test('a pending transaction whose nonce a block used leaves the pool when the block connects', async () => {
    const g = powGenesis();
    const { node, clock, removed } = await powNode(g, DEFAULT_MEMPOOL.expiryMs);
    try {
      await extend(g, node); // the first tip: a full pass; later ones within the second are incremental
      clock.t += 100;
      const pending = admit(node, transfer(0, 3, 0, 10n));
      const bystander = admit(node, transfer(1, 3, 0, 10n));
      // The block spends sender 0's nonce 0 with another transaction (another id).
      const rival = transfer(0, 3, 0, 20n);
      assert.notEqual(txId(rival), pending);
      clock.t += 100;
      await extend(g, node, [rival]);
      assert.equal(node.mempool.has(pending), false, 'the used nonce left the pool');
      assert.deepEqual(removed, [{ id: pending, reason: 'mined' }]);
      assert.equal(node.mempool.has(bystander), true, "a sender the block did not touch keeps its transaction");
      assert.equal(node.mempool.size, 1);
    } finally {
      await node.stop();
    }
  });

  test('a record transaction in a block touches its sender too', async () => {
    const g = powGenesis();
    const { node, clock, removed } = await powNode(g, DEFAULT_MEMPOOL.expiryMs);
    try {
      await extend(g, node);
      clock.t += 100;
      const pending = admit(node, transfer(1, 3, 0, 10n));
      const rec = signTx({ kind: 'record', chainId: CHAIN_ID, from: keys[1]!.publicKey, nonce: 0, fee: 1n, key: 'lot-1', value: { ok: true } }, keys[1]!);
      clock.t += 100;
      await extend(g, node, [rec]);
      assert.equal(node.mempool.has(pending), false);
      assert.deepEqual(removed, [{ id: pending, reason: 'mined' }]);
    } finally {
      await node.stop();
    }
  });

  test('expiry still happens: once 1000 ms passed since the last full pass, a tip re-checks senders the block did not touch', async () => {
    const g = powGenesis();
    const { node, clock, removed } = await powNode(g, 500);
    try {
      const t0 = clock.t;
      await extend(g, node); // full pass at t0
      clock.t = t0 + 10;
      const stale = admit(node, transfer(1, 3, 0, 10n)); // sender 1: in no block below
      // Expired (590 ms > 500 ms) but only 600 ms after the full pass: sender 0's block is checked alone.
      clock.t = t0 + 600;
      await extend(g, node, [transfer(0, 3, 0)]);
      assert.equal(node.mempool.has(stale), true, 'an untouched sender waits for the next full pass');
      clock.t = t0 + 999;
      await extend(g, node, [transfer(0, 3, 1)]);
      assert.equal(node.mempool.has(stale), true, 'still short of a second');
      assert.deepEqual(removed, []);
      // 1000 ms since the last full pass: this tip re-checks everyone.
      clock.t = t0 + 1000;
      await extend(g, node, [transfer(0, 3, 2)]);
      assert.equal(node.mempool.has(stale), false, 'the expired transaction of an untouched sender is gone');
      assert.deepEqual(removed, [{ id: stale, reason: 'expired' }]);
      assert.equal(node.mempool.size, 0);
    } finally {
      await node.stop();
    }
  });

  test('a reorganisation forces a full pass', async () => {
    const g = powGenesis();
    const { node, clock, removed } = await powNode(g, 500);
    try {
      const t0 = clock.t;
      const gb = buildGenesisBlock(g);
      await extend(g, node); // full pass at t0
      clock.t = t0 + 10;
      const stale = admit(node, transfer(1, 3, 0, 10n));
      clock.t = t0 + 600; // expired, but within the second
      // A heavier branch from genesis, with no transactions at all.
      const root = { hash: gb.hash, height: 0, timestamp: gb.block.header.timestamp, bits: gb.block.header.bits, state: gb.state };
      const b1 = mineBlock(g, root, [], addrs[1]!);
      assert.equal((await node.submitBlock(b1.block)).status, 'side');
      assert.equal(node.mempool.has(stale), true, 'no new tip, no pass');
      const b2 = mineBlock(g, { hash: blockHash(b1.block.header), height: 1, timestamp: b1.block.header.timestamp, bits: b1.block.header.bits, state: b1.state }, [], addrs[1]!);
      assert.equal((await node.submitBlock(b2.block)).status, 'reorg');
      assert.equal(node.chain.tip.hash, blockHash(b2.block.header));
      assert.equal(node.mempool.has(stale), false);
      assert.deepEqual(removed, [{ id: stale, reason: 'expired' }]);
    } finally {
      await node.stop();
    }
  });
});

describe('PeerchainNode (BFT): governance forces a full pass', () => {
  const CHAIN = 'revalidate-bft';
  const T0 = 1_700_000_000_000;
  const vkeys = [51, 52, 53, 54].map((n) => keyPairFromSeed(Buffer.alloc(32, n)));
  const wallets = [61, 62].map((n) => keyPairFromSeed(Buffer.alloc(32, n)));
  const waddr = wallets.map((w) => addressFromPublicKey(w.publicKey));
  const to = addressFromPublicKey(keyPairFromSeed(Buffer.alloc(32, 63)).publicKey);

  const pay = (w: number, nonce: number): SignedTx => signTx({ kind: 'transfer', chainId: CHAIN, from: wallets[w]!.publicKey, nonce, fee: 1n, to, amount: 5n }, wallets[w]!);

  /** Assembles a block on the node's tip, certifies it with three precommits, and connects it. */
  async function extendBft(g: Genesis, node: PeerchainNode, txs: SignedTx[]): Promise<void> {
    const tip = node.chain.tip;
    const { block } = unwrap(
      assembleBlock(node.chain.state, txs, { parentHash: tip.hash, parentHeight: tip.height, timestamp: tip.header.timestamp + 1000, proposer: vkeys[0]!.publicKey }, { chainId: CHAIN, params: g.params, consensus: g.consensus, verifySignature: verifyTxSignature }),
    );
    assert.equal(block.txs.length, txs.length, 'every transaction applied');
    const hash = blockHash(block.header);
    const signatures = vkeys.slice(0, 3).map((kp) => {
      const v = signVote(kp, { type: 'precommit', height: block.header.height, round: 0, blockHash: hash }, CHAIN);
      return { validator: v.validator, signature: v.signature };
    });
    const r = await node.submitBlock({ ...block, commit: { height: block.header.height, round: 0, blockHash: hash, signatures } as unknown as JsonValue });
    assert.equal(r.status, 'connected', r.status === 'invalid' ? r.error.message : r.status);
  }

  test('a block carrying a govern transaction re-checks every sender at once', async () => {
    const g = bftGenesis({ chainId: CHAIN, timestamp: T0, validators: vkeys, funded: waddr.map((address) => ({ address, balance: '1000' })) });
    const clock = { t: T0 + 1_000_000 };
    const node = await PeerchainNode.create({ genesis: g, store: new MemoryStore(), key: vkeys[0]!, log, now: () => clock.t, mempool: { expiryMs: 500 } });
    const removed: { id: string; reason: RemovalReason }[] = [];
    node.on('txRemoved', (r) => removed.push(r));
    try {
      const t0 = clock.t;
      await extendBft(g, node, []); // full pass at t0
      clock.t = t0 + 10;
      const stale = admit(node, pay(1, 0)); // wallet 1 is in no block below
      clock.t = t0 + 600; // expired, but within the second
      await extendBft(g, node, [pay(0, 0)]);
      assert.equal(node.mempool.has(stale), true, 'a plain transfer block re-checks its sender only');
      clock.t = t0 + 700;
      const govern = signTx({ kind: 'govern', chainId: CHAIN, from: wallets[0]!.publicKey, nonce: 1, fee: 1n, action: { op: 'add-member', org: 'org1', nodeId: keyPairFromSeed(Buffer.alloc(32, 64)).publicKey, name: 'newcomer' } }, wallets[0]!);
      await extendBft(g, node, [govern]);
      assert.equal(node.mempool.has(stale), false, 'governance made the tip re-check everyone');
      assert.deepEqual(removed, [{ id: stale, reason: 'expired' }]);
    } finally {
      await node.stop();
    }
  });
});
