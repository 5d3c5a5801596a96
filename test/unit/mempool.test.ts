import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addressFromPublicKey, keyPairFromSeed, type KeyPair } from '../../src/crypto/index.ts';
import { applyTx, DEFAULT_PARAMS, signTx, State, txId, type SignedTx } from '../../src/core/index.ts';
import { DEFAULT_MEMPOOL, Mempool } from '../../src/mempool/index.ts';

const CHAIN = 'mempool-test';
const keys = [1, 2, 3, 4].map((n) => keyPairFromSeed(Buffer.alloc(32, n)));
const addr = keys.map((k) => addressFromPublicKey(k.publicKey));
const sink = addr[3]!;

function fundedState(balance = 1000n): State {
  let s = State.empty();
  for (const a of addr.slice(0, 3)) s = s.withAccount(a, { balance, nonce: 0 });
  return s;
}

function transfer(k: KeyPair, nonce: number, fee: bigint, amount = 10n): SignedTx {
  return signTx({ kind: 'transfer', chainId: CHAIN, from: k.publicKey, nonce, fee, to: sink, amount }, k);
}

function pool(over: Partial<ConstructorParameters<typeof Mempool>[0]> = {}, clock = { t: 0 }): Mempool {
  return new Mempool({ chainId: CHAIN, params: DEFAULT_PARAMS, ...DEFAULT_MEMPOOL, now: () => clock.t, ...over });
}

test('admits valid transactions and refuses known, stale, gapped and unsigned ones', () => {
  const p = pool({ maxNonceGap: 2 });
  const s = fundedState();
  const t0 = transfer(keys[0]!, 0, 1n);
  assert.equal(p.add(t0, s).ok, true);
  const again = p.add(t0, s);
  assert.equal(!again.ok && again.error.code, 'ALREADY_KNOWN');
  const gap = p.add(transfer(keys[0]!, 3, 1n), s);
  assert.equal(!gap.ok && gap.error.code, 'NONCE_GAP');
  const ahead = p.add(transfer(keys[0]!, 2, 1n), s);
  assert.equal(ahead.ok, true, 'a nonce within the gap waits for its predecessor');
  const stale = p.add(transfer(keys[1]!, 0, 1n), s.withAccount(addr[1]!, { balance: 1000n, nonce: 1 }));
  assert.equal(!stale.ok && stale.error.code, 'BAD_NONCE');
  const forged = { ...transfer(keys[1]!, 0, 1n), amount: 11n };
  const bad = p.add(forged, s);
  assert.equal(!bad.ok && bad.error.code, 'BAD_SIGNATURE');
  const cheap = p.add(transfer(keys[1]!, 0, 0n), s);
  assert.equal(!cheap.ok && cheap.error.code, 'FEE_TOO_LOW');
  const wrongChain = p.add(signTx({ kind: 'transfer', chainId: 'other', from: keys[1]!.publicKey, nonce: 0, fee: 1n, to: sink, amount: 1n }, keys[1]!), s);
  assert.equal(!wrongChain.ok && wrongChain.error.code, 'BAD_CHAIN_ID');
  assert.equal(p.size, 2);
});

test('a sender must afford all of its pending transactions together', () => {
  const p = pool();
  const s = fundedState(100n);
  assert.equal(p.add(transfer(keys[0]!, 0, 1n, 60n), s).ok, true);
  const r = p.add(transfer(keys[0]!, 1, 1n, 60n), s);
  assert.equal(!r.ok && r.error.code, 'INSUFFICIENT_FUNDS');
});

test('replacement needs a clearly higher fee', () => {
  const p = pool({ replaceBumpPercent: 10 });
  const s = fundedState();
  const a = transfer(keys[0]!, 0, 100n);
  assert.equal(p.add(a, s).ok, true);
  const low = p.add(transfer(keys[0]!, 0, 105n, 11n), s);
  assert.equal(!low.ok && low.error.code, 'REPLACEMENT_UNDERPRICED');
  const high = p.add(transfer(keys[0]!, 0, 110n, 12n), s);
  assert.ok(high.ok);
  assert.deepEqual(high.value.removed.map((r) => [r.entry.id, r.reason]), [[txId(a), 'replaced']]);
  assert.equal(p.size, 1);
});

test('a full pool evicts the cheapest sender tail, or refuses a cheaper newcomer', () => {
  const p = pool({ maxTxs: 2 });
  const s = fundedState();
  assert.equal(p.add(transfer(keys[0]!, 0, 5n), s).ok, true);
  assert.equal(p.add(transfer(keys[1]!, 0, 2n), s).ok, true);
  const refused = p.add(transfer(keys[2]!, 0, 1n), s);
  assert.equal(!refused.ok && refused.error.code, 'MEMPOOL_FULL');
  const r = p.add(transfer(keys[2]!, 0, 9n), s);
  assert.ok(r.ok);
  assert.equal(r.value.removed[0]?.reason, 'evicted');
  assert.equal(r.value.removed[0]?.entry.sender, addr[1]);
  assert.equal(p.size, 2);
});

test('select orders by fee rate across senders and by nonce within a sender', () => {
  const p = pool();
  const s = fundedState();
  const a0 = transfer(keys[0]!, 0, 1n);
  const a1 = transfer(keys[0]!, 1, 50n);
  const b0 = transfer(keys[1]!, 0, 10n);
  const c1 = transfer(keys[2]!, 1, 99n); // no nonce 0: not ready
  for (const t of [a1, a0, b0, c1]) assert.equal(p.add(t, s).ok, true);
  const picked = p.select(s, 10).map(txId);
  assert.deepEqual(picked, [txId(b0), txId(a0), txId(a1)]);
  // the selection applies cleanly in order
  let st = s;
  for (const t of p.select(s, 10)) {
    const r = applyTx(st, t, { chainId: CHAIN, params: DEFAULT_PARAMS, height: 1 });
    assert.ok(r.ok);
    st = r.value.state;
  }
  assert.equal(p.select(s, 1).length, 1);
});

test('revalidate drops mined, unaffordable and expired transactions', () => {
  const clock = { t: 0 };
  const p = pool({ expiryMs: 1000 }, clock);
  const s = fundedState(100n);
  const a0 = transfer(keys[0]!, 0, 1n);
  const a1 = transfer(keys[0]!, 1, 1n);
  const b0 = transfer(keys[1]!, 0, 1n, 50n);
  for (const t of [a0, a1, b0]) assert.equal(p.add(t, s).ok, true);
  // a0 mined; b's balance drained by some other transaction
  const next = s.withAccount(addr[0]!, { balance: 89n, nonce: 1 }).withAccount(addr[1]!, { balance: 5n, nonce: 0 });
  const dropped = p.revalidate(next).map((d) => [d.entry.id, d.reason]);
  assert.deepEqual(dropped.sort(), [[txId(a0), 'mined'], [txId(b0), 'invalid']].sort());
  assert.deepEqual([...p.list()].map((e) => e.id), [txId(a1)]);
  clock.t = 5000;
  assert.deepEqual(p.revalidate(next).map((d) => d.reason), ['expired']);
  assert.equal(p.size, 0);
});
