/**
 * The verified-signature cache shared by the mempool and the chain: a
 * transaction's signature is checked at most once per node, a pair is keyed by
 * id AND signature (an id does not cover its signature), the cache stays
 * bounded, and a block carrying a pooled transaction's id with another
 * signature is still refused.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { addressFromPublicKey, keyPairFromSeed } from '../../src/crypto/index.ts';
import { assembleBlock, blockHash, DEFAULT_PARAMS, signTx, State, txId, txIdBytes, unwrap, verifyTxSignature, type Block, type JsonValue, type SignedTx } from '../../src/core/index.ts';
import { bftRules, Chain } from '../../src/chain/index.ts';
import { signVote } from '../../src/consensus/bft/index.ts';
import { DEFAULT_MEMPOOL, Mempool, VerifiedTxCache } from '../../src/mempool/index.ts';
import { MemoryStore } from '../../src/storage/index.ts';
import { bftGenesis } from '../helpers/chain-fixtures.ts';

const CHAIN = 'verified-cache';
const T0 = 1_700_000_000_000;
const vkeys = [31, 32, 33, 34].map((n) => keyPairFromSeed(Buffer.alloc(32, n)));
const wallet = keyPairFromSeed(Buffer.alloc(32, 41));
const sink = addressFromPublicKey(keyPairFromSeed(Buffer.alloc(32, 42)).publicKey);

function transfer(nonce: number, amount = 5n): SignedTx {
  return signTx({ kind: 'transfer', chainId: CHAIN, from: wallet.publicKey, nonce, fee: 1n, to: sink, amount }, wallet);
}

/** The same transaction (same id) with a signature that does not verify. */
function forged(tx: SignedTx): SignedTx {
  const sig = (tx.sig[0] === 'a' ? 'b' : 'a') + tx.sig.slice(1);
  return { ...tx, sig };
}

/** A cache whose real checks are counted. */
function countingCache(capacity?: number): { cache: VerifiedTxCache; checks: () => number } {
  let n = 0;
  const cache = new VerifiedTxCache(capacity);
  const real = cache.verify.bind(cache);
  cache.verify = (tx, id, idHex) => {
    const hex = idHex ?? id.toString('hex');
    if (!cache.has(hex, tx.sig)) n++;
    return real(tx, id, hex);
  };
  return { cache, checks: () => n };
}

describe('VerifiedTxCache', () => {
  test('remembers a passing pair, never a failing one, and keys by id and signature', () => {
    const c = new VerifiedTxCache();
    const tx = transfer(0);
    const id = txIdBytes(tx);
    assert.equal(c.has(txId(tx), tx.sig), false);
    assert.equal(c.verify(tx, id), true);
    assert.equal(c.has(txId(tx), tx.sig), true);
    const bad = forged(tx);
    assert.equal(txId(bad), txId(tx), 'a signature is not part of the id');
    assert.equal(c.has(txId(bad), bad.sig), false, 'the same id with another signature is not verified');
    assert.equal(c.verify(bad, txIdBytes(bad)), false);
    assert.equal(c.has(txId(tx), tx.sig), true, 'a failed check does not evict the good pair');
  });

  test('prefetch checks on the thread pool what is not known to pass, remembers passes only, and has nothing to wait for when all are known', async () => {
    const c = new VerifiedTxCache();
    const good = [0, 1, 2].map((n) => transfer(n));
    const bad = forged(transfer(3));
    const malformed = { ...transfer(4), sig: 'not hex' } as SignedTx;
    const coinbase = { kind: 'coinbase', chainId: CHAIN, to: sink, amount: 50n, height: 1 } as const;
    assert.ok(c.verify(good[0]!, txIdBytes(good[0]!)));
    const checking = c.prefetch([coinbase, ...good, good[1]!, bad, malformed]);
    assert.ok(checking instanceof Promise);
    await checking;
    for (const tx of good) assert.equal(c.has(txId(tx), tx.sig), true);
    assert.equal(c.has(txId(bad), bad.sig), false, 'a failure is not remembered as a pass');
    assert.equal(c.verify(bad, txIdBytes(bad)), false, 'and the synchronous check still refuses it');
    assert.equal(c.size, 3);
    assert.equal(c.prefetch([coinbase, ...good]), undefined, 'nothing left to check: no promise to wait for');
    assert.equal(c.prefetch([]), undefined);
  });

  test('stays within its capacity, forgetting the oldest first', () => {
    const c = new VerifiedTxCache(3);
    const txs = [0, 1, 2, 3].map((n) => transfer(n));
    for (const tx of txs) assert.ok(c.verify(tx, txIdBytes(tx)));
    assert.equal(c.size, 3);
    assert.equal(c.has(txId(txs[0]!), txs[0]!.sig), false);
    for (const tx of txs.slice(1)) assert.equal(c.has(txId(tx), tx.sig), true);
  });

  test('the mempool verifies through the cache: a transaction checked before is not checked again', () => {
    const { cache, checks } = countingCache();
    const pool = new Mempool({ chainId: CHAIN, params: DEFAULT_PARAMS, ...DEFAULT_MEMPOOL, now: () => 0, verified: cache });
    const state = State.empty().withAccount(addressFromPublicKey(wallet.publicKey), { balance: 1000n, nonce: 0 });
    const tx = transfer(0);
    // As if a proposal's check had verified it first.
    assert.ok(cache.verify(tx, txIdBytes(tx)));
    assert.equal(checks(), 1);
    assert.ok(pool.add(tx, state).ok);
    assert.equal(checks(), 1, 'admission reused the earlier check');
    assert.ok(pool.isVerified(txId(tx), tx.sig));
    const r = pool.add(forged(transfer(1)), state);
    assert.equal(!r.ok && r.error.code, 'BAD_SIGNATURE');
  });
});

describe('the chain and the pool share one cache', () => {
  function genesis() {
    return bftGenesis({ chainId: CHAIN, timestamp: T0, validators: vkeys, funded: [{ address: addressFromPublicKey(wallet.publicKey), balance: '1000' }] });
  }

  function certified(b: Block): Block {
    const hash = blockHash(b.header);
    const signatures = vkeys.slice(0, 3).map((k) => {
      const v = signVote(k, { type: 'precommit', height: b.header.height, round: 0, blockHash: hash }, CHAIN);
      return { validator: v.validator, signature: v.signature };
    });
    return { ...b, commit: { height: b.header.height, round: 0, blockHash: hash, signatures } as unknown as JsonValue };
  }

  async function setup() {
    const g = genesis();
    const { cache, checks } = countingCache();
    const chain = await Chain.open(new MemoryStore(), g, bftRules(g), { now: () => T0 + 1_000_000, verifySignature: (tx, id) => cache.verify(tx, id) });
    const pool = new Mempool({ chainId: CHAIN, params: g.params, ...DEFAULT_MEMPOOL, now: () => T0, verified: cache });
    return { g, chain, pool, checks };
  }

  function build(g: ReturnType<typeof genesis>, chain: Chain, txs: SignedTx[]): Block {
    return unwrap(
      assembleBlock(chain.state, txs, { parentHash: chain.tip.hash, parentHeight: chain.height, timestamp: chain.tip.header.timestamp + 1000, proposer: vkeys[0]!.publicKey }, { chainId: CHAIN, params: g.params, consensus: g.consensus, verifySignature: verifyTxSignature }),
    ).block;
  }

  test('pool admission, proposal check and connection verify each signature once', async () => {
    const { g, chain, pool, checks } = await setup();
    const pooled = transfer(0);
    assert.ok(pool.add(pooled, chain.state).ok);
    assert.equal(checks(), 1);
    const fresh = transfer(1);
    const block = build(g, chain, [pooled, fresh]);
    assert.ok(chain.checkCandidate(block).ok);
    assert.equal(checks(), 2, 'the proposal check verified only the transaction the pool had not seen');
    assert.equal((await chain.submitBlock(certified(block))).status, 'connected');
    assert.equal(checks(), 2, 'connecting the block verified nothing again');
    // The transaction arrives late by gossip: refused for its used nonce, with no signature check.
    const late = pool.add(fresh, chain.state);
    assert.equal(!late.ok && late.error.code, 'BAD_NONCE');
    assert.equal(checks(), 2);
  });

  test('a block with a pooled id but another signature is refused, without poisoning the real block', async () => {
    const { g, chain, pool } = await setup();
    const good = transfer(0);
    assert.ok(pool.add(good, chain.state).ok);
    const honest = build(g, chain, [good]);
    const bad: Block = { header: honest.header, txs: [forged(good)] };
    assert.equal(blockHash(bad.header), blockHash(honest.header), 'the hash does not cover signatures');
    const r = chain.checkCandidate(bad);
    assert.equal(!r.ok && r.error.code, 'BAD_SIGNATURE');
    const s = await chain.submitBlock(certified(bad));
    assert.equal(s.status === 'invalid' && s.error.code, 'BAD_SIGNATURE');
    assert.equal(chain.height, 0);
    // The forged copy did not get the block's hash marked invalid: the real one still joins.
    assert.equal(chain.index.get(blockHash(honest.header))?.invalid ?? false, false);
    assert.equal((await chain.submitBlock(certified(honest))).status, 'connected');
  });
});
