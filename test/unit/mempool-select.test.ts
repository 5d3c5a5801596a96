/**
 * The mempool's block selection by a heap picks exactly what a scan of every
 * sender's head for each pick picked (ties to the earlier sender), and the
 * running per-sender spending total decides admission as a full sum would.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { addressFromPublicKey, keyPairFromSeed } from '../../src/crypto/index.ts';
import { DEFAULT_PARAMS, signTx, State, type SignedTx } from '../../src/core/index.ts';
import { compareFeeRate, DEFAULT_MEMPOOL, Mempool, type PoolEntry } from '../../src/mempool/index.ts';

const CHAIN = 'mempool-select';
const keys = Array.from({ length: 6 }, (_, i) => keyPairFromSeed(Buffer.alloc(32, 70 + i)));
const addr = keys.map((k) => addressFromPublicKey(k.publicKey));

function pool(): Mempool {
  return new Mempool({ chainId: CHAIN, params: DEFAULT_PARAMS, ...DEFAULT_MEMPOOL, now: () => 0 });
}

/** The selection as a scan: for each pick, the best head of all senders, the first one on ties. */
function referenceSelect(p: Mempool, state: State, max: number): SignedTx[] {
  const bySender = new Map<string, Map<number, PoolEntry>>();
  for (const e of p.list().sort((a, b) => (a.addedAt - b.addedAt) || 0)) {
    let q = bySender.get(e.sender);
    if (q === undefined) bySender.set(e.sender, (q = new Map()));
    q.set(e.tx.nonce, e);
  }
  // Sender order must be the pool's own (insertion order of first pending entry): rebuild it from admission order.
  const heads: { run: PoolEntry[]; i: number }[] = [];
  for (const [sender, queue] of orderOf(p, bySender)) {
    let n = state.account(sender).nonce;
    const run: PoolEntry[] = [];
    for (let e = queue.get(n); e !== undefined; e = queue.get(++n)) run.push(e);
    if (run.length > 0) heads.push({ run, i: 0 });
  }
  const out: SignedTx[] = [];
  while (out.length < max && heads.length > 0) {
    let best = 0;
    for (let k = 1; k < heads.length; k++) if (compareFeeRate(heads[k]!.run[heads[k]!.i]!, heads[best]!.run[heads[best]!.i]!) > 0) best = k;
    const h = heads[best]!;
    out.push(h.run[h.i]!.tx);
    h.i++;
    if (h.i >= h.run.length) heads.splice(best, 1);
  }
  return out;
}

// The pool's sender order is private; the admission order of each sender's first transaction gives it in these tests.
let admissionOrder: string[] = [];
function orderOf(_p: Mempool, bySender: Map<string, Map<number, PoolEntry>>): [string, Map<number, PoolEntry>][] {
  return admissionOrder.filter((s) => bySender.has(s)).map((s) => [s, bySender.get(s)!]);
}

test('select by heap equals the scan, ties and all', () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ sender: fc.nat(keys.length - 1), fee: fc.constantFrom(1n, 1n, 2n, 3n, 10n), record: fc.boolean() }), { maxLength: 60 }),
      fc.array(fc.nat(3), { minLength: keys.length, maxLength: keys.length }),
      fc.nat(70),
      (specs, startNonces, max) => {
        const p = pool();
        let state = State.empty();
        for (const [i, a] of addr.entries()) state = state.withAccount(a, { balance: 1_000_000n, nonce: startNonces[i]! });
        admissionOrder = [];
        const next = keys.map((_, i) => startNonces[i]!);
        for (const s of specs) {
          const k = keys[s.sender]!;
          // Now and then a gap: that sender's later transactions wait.
          const nonce = next[s.sender]!++ + (s.fee === 10n && s.record ? 1 : 0);
          const tx = s.record
            ? signTx({ kind: 'record', chainId: CHAIN, from: k.publicKey, nonce, fee: s.fee, key: `k${nonce}`, value: 'v'.repeat(nonce % 7) }, k)
            : signTx({ kind: 'transfer', chainId: CHAIN, from: k.publicKey, nonce, fee: s.fee, to: addr[0]!, amount: 1n }, k);
          if (p.add(tx, state).ok && !admissionOrder.includes(addr[s.sender]!)) admissionOrder.push(addr[s.sender]!);
        }
        assert.deepEqual(p.select(state, max), referenceSelect(p, state, max));
      },
    ),
    { numRuns: 60 },
  );
});

test('the running spending total: replacements, removals and revalidation keep it exact', () => {
  const p = pool();
  const k = keys[1]!;
  let state = State.empty().withAccount(addr[1]!, { balance: 100n, nonce: 0 });
  const t = (nonce: number, amount: bigint, fee = 1n): SignedTx => signTx({ kind: 'transfer', chainId: CHAIN, from: k.publicKey, nonce, fee, to: addr[0]!, amount }, k);
  assert.ok(p.add(t(0, 40n), state).ok);
  assert.ok(p.add(t(1, 40n), state).ok);
  const over = p.add(t(2, 20n), state);
  assert.equal(!over.ok && over.error.code, 'INSUFFICIENT_FUNDS', '41 + 41 + 21 > 100');
  // A replacement counts instead of the one it replaces: 41 + 11 + 21 + 2 fee bump fits.
  assert.ok(p.add(t(1, 10n, 2n), state).ok);
  assert.ok(p.add(t(2, 20n), state).ok);
  // Nonce 0 is mined: it leaves the pool, and the sender's pending spending drops with it.
  state = state.withAccount(addr[1]!, { balance: 59n, nonce: 1 });
  p.removeIds([p.list().find((e) => e.tx.nonce === 0)!.id]);
  assert.deepEqual(p.revalidate(state), []);
  assert.ok(p.add(t(3, 25n), state).ok, '12 + 21 + 26 = 59');
  const r = p.add(t(4, 0n), state);
  assert.equal(!r.ok && r.error.code, 'INSUFFICIENT_FUNDS');
});
