/** core/trie.ts and core/state.ts: the persistent sparse Merkle trie and the ledger state on top of it. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  accountKey,
  historyHashOf,
  leafHash,
  nextHistoryHash,
  recordKey,
  State,
  stateEntryHash,
  stateEntryJson,
  Trie,
  verifyStateProof,
  verifyTrieProof,
  type RecordEntry,
  type StateEntry,
  type TrieProof,
} from '../../src/core/index.ts';
import { addressFromPublicKey, keyPairFromSeed, sha256, TAG, taggedHash, ZERO_HASH } from '../../src/crypto/index.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const vh = (v: string): Buffer => sha256(Buffer.from(v, 'utf8'));
const ZERO = Buffer.alloc(32);

function build(entries: readonly [Buffer, string][]): Trie<string> {
  let t = Trie.empty<string>();
  for (const [k, v] of entries) t = t.set(k, v, vh(v));
  return t;
}

// Keys: random ones, and near-copies of one base key differing in a single bit, which force
// long single-child chains down to the deepest levels of the trie.
const BASE = Buffer.from('a5'.repeat(32), 'hex');
const nearKey = fc.nat({ max: 255 }).map((bit) => {
  const k = Buffer.from(BASE);
  k[bit >> 3]! ^= 1 << (7 - (bit & 7));
  return k;
});
const randomKey = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((u) => Buffer.from(u));
const key = fc.oneof(randomKey, nearKey, fc.constant(BASE));
const entriesArb = fc.uniqueArray(fc.tuple(key, fc.string({ maxLength: 8 })), { minLength: 0, maxLength: 30, selector: ([k]) => hex(k) });

function shuffle<T>(xs: readonly T[], seed: number): T[] {
  const out = [...xs];
  let s = seed >>> 0 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe('Trie', () => {
  test('the empty trie: zero root, size 0, nothing found', () => {
    const t = Trie.empty<string>();
    assert.equal(t.size, 0);
    assert.equal(hex(t.rootHash()), hex(ZERO));
    assert.equal(t.get(BASE), undefined);
    assert.deepEqual([...t.entries()], []);
    assert.equal(t.delete(BASE), t);
  });

  test('a one-entry trie: the root is the leaf hash', () => {
    const t = Trie.empty<string>().set(BASE, 'v', vh('v'));
    assert.equal(t.size, 1);
    assert.equal(t.get(BASE), 'v');
    assert.equal(hex(t.rootHash()), hex(leafHash(BASE, vh('v'))));
    assert.equal(hex(leafHash(BASE, vh('v'))), hex(taggedHash(TAG.stateLeaf, BASE, vh('v'))));
  });

  test('two keys differing only in the last bit: a 255-deep chain, found and proved', () => {
    const a = Buffer.from(BASE);
    const b = Buffer.from(BASE);
    b[31]! ^= 1;
    const t = build([
      [a, 'a'],
      [b, 'b'],
    ]);
    assert.equal(t.size, 2);
    assert.equal(t.get(a), 'a');
    assert.equal(t.get(b), 'b');
    const p = t.prove(b);
    assert.equal(p.siblings.length, 256);
    assert.equal(verifyTrieProof(t.rootHash(), b, vh('b'), p), true);
    assert.equal(hex(t.delete(b).rootHash()), hex(build([[a, 'a']]).rootHash()));
  });

  test('set rejects a key that is not 32 bytes', () => {
    assert.throws(() => Trie.empty<string>().set(Buffer.alloc(31), 'x', vh('x')));
  });

  test('root is independent of insertion order (property)', () => {
    fc.assert(
      fc.property(entriesArb, fc.integer(), (entries, seed) => {
        const a = build(entries);
        const b = build(shuffle(entries, seed));
        assert.equal(hex(a.rootHash()), hex(b.rootHash()));
        assert.equal(a.size, entries.length);
      }),
      { numRuns: 150 },
    );
  });

  test('root depends on every value: changing one changes the root, changing it back restores it', () => {
    fc.assert(
      fc.property(entriesArb.filter((e) => e.length > 0), fc.nat(), (entries, which) => {
        const t = build(entries);
        const [k, v] = entries[which % entries.length]!;
        const changed = t.set(k, v + '!', vh(v + '!'));
        assert.notEqual(hex(changed.rootHash()), hex(t.rootHash()));
        assert.equal(changed.size, t.size);
        assert.equal(hex(changed.set(k, v, vh(v)).rootHash()), hex(t.rootHash()));
      }),
      { numRuns: 100 },
    );
  });

  test('delete restores the earlier root; deleting an absent key changes nothing', () => {
    fc.assert(
      fc.property(entriesArb, key, fc.string(), (entries, k, v) => {
        const t = build(entries.filter(([e]) => !e.equals(k)));
        const added = t.set(k, v, vh(v));
        assert.equal(added.size, t.size + 1);
        const removed = added.delete(k);
        assert.equal(hex(removed.rootHash()), hex(t.rootHash()));
        assert.equal(removed.size, t.size);
        assert.equal(removed.get(k), undefined);
        assert.equal(t.delete(k), t);
      }),
      { numRuns: 150 },
    );
  });

  test('deleting every key in any order ends at the empty root', () => {
    fc.assert(
      fc.property(entriesArb, fc.integer(), (entries, seed) => {
        let t = build(entries);
        let n = entries.length;
        for (const [k] of shuffle(entries, seed)) {
          t = t.delete(k);
          n--;
          assert.equal(t.size, n);
          // Every intermediate trie equals one built from scratch from what is left.
          assert.equal(hex(t.rootHash()), hex(build([...t.entries()].map((l) => [l.key, l.value])).rootHash()));
        }
        assert.equal(hex(t.rootHash()), hex(ZERO));
      }),
      { numRuns: 80 },
    );
  });

  test('model check: random sets and deletes agree with a Map (get, size, root)', () => {
    const op = fc.oneof(
      fc.record({ del: fc.constant(false), k: fc.nat({ max: 11 }), v: fc.string({ maxLength: 4 }) }),
      fc.record({ del: fc.constant(true), k: fc.nat({ max: 11 }), v: fc.constant('') }),
    );
    const pool = [BASE, ...Array.from({ length: 6 }, (_, i) => fc.sample(nearKey, { seed: i, numRuns: 1 })[0]!), ...Array.from({ length: 5 }, (_, i) => sha256(Buffer.from([i])))];
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        let t = Trie.empty<string>();
        const model = new Map<string, [Buffer, string]>();
        for (const o of ops) {
          const k = pool[o.k]!;
          if (o.del) {
            t = t.delete(k);
            model.delete(hex(k));
          } else {
            t = t.set(k, o.v, vh(o.v));
            model.set(hex(k), [k, o.v]);
          }
          assert.equal(t.size, model.size);
        }
        for (const k of pool) assert.equal(t.get(k), model.get(hex(k))?.[1]);
        assert.equal(hex(t.rootHash()), hex(build([...model.values()]).rootHash()));
      }),
      { numRuns: 150 },
    );
  });

  test('entries come out in key order, one per key', () => {
    fc.assert(
      fc.property(entriesArb, (entries) => {
        const keys = [...build(entries).entries()].map((l) => hex(l.key));
        assert.deepEqual(keys, entries.map(([k]) => hex(k)).sort());
      }),
      { numRuns: 100 },
    );
  });

  test('old snapshots are unchanged after updates (persistence)', () => {
    fc.assert(
      fc.property(entriesArb, entriesArb, (first, second) => {
        const snap = build(first);
        const before = hex(snap.rootHash());
        const snapshotEntries = [...snap.entries()].map((l) => [hex(l.key), l.value]);
        let t = snap;
        for (const [k, v] of second) t = t.set(k, v + '#', vh(v + '#'));
        for (const [k] of first.slice(0, 3)) t = t.delete(k);
        void t.rootHash();
        assert.equal(hex(snap.rootHash()), before);
        assert.equal(snap.size, first.length);
        assert.deepEqual(
          [...snap.entries()].map((l) => [hex(l.key), l.value]),
          snapshotEntries,
        );
        for (const [k, v] of first) assert.equal(snap.get(k), v);
      }),
      { numRuns: 100 },
    );
  });

  test('an old snapshot whose hash was never computed still hashes to the right root after updates', () => {
    fc.assert(
      fc.property(entriesArb, entriesArb, (first, second) => {
        const snap = build(first);
        let t = snap;
        for (const [k, v] of second) t = t.set(k, v, vh(v));
        void t.rootHash(); // memoises hashes on nodes shared with snap
        assert.equal(hex(snap.rootHash()), hex(build(first).rootHash()));
      }),
      { numRuns: 80 },
    );
  });
});

describe('Trie proofs', () => {
  const withProbe = fc.tuple(entriesArb, key);

  test('presence proofs verify for every key', () => {
    fc.assert(
      fc.property(entriesArb, (entries) => {
        const t = build(entries);
        const root = t.rootHash();
        for (const [k, v] of entries) {
          const p = t.prove(k);
          assert.equal(verifyTrieProof(root, k, vh(v), p), true);
          assert.ok(p.leaf !== null && p.leaf.key === hex(k));
          // The same proof does not prove absence, nor another value.
          assert.equal(verifyTrieProof(root, k, null, p), false);
          assert.equal(verifyTrieProof(root, k, vh(v + 'x'), p), false);
        }
      }),
      { numRuns: 100 },
    );
  });

  test('absence proofs verify for keys not in the trie (empty slot or another leaf on the path)', () => {
    let viaEmpty = 0;
    let viaLeaf = 0;
    fc.assert(
      fc.property(withProbe, ([entries, k]) => {
        fc.pre(!entries.some(([e]) => e.equals(k)));
        const t = build(entries);
        const p = t.prove(k);
        if (p.leaf === null) viaEmpty++;
        else viaLeaf++;
        assert.equal(verifyTrieProof(t.rootHash(), k, null, p), true);
        // An absence proof is not a presence proof for any value.
        assert.equal(verifyTrieProof(t.rootHash(), k, vh('anything'), p), false);
      }),
      { numRuns: 200 },
    );
    assert.ok(viaEmpty > 0 && viaLeaf > 0, `both kinds of absence proof exercised (${viaEmpty}, ${viaLeaf})`);
  });

  function tamperings(p: TrieProof, bit: number): [string, TrieProof][] {
    const out: [string, TrieProof][] = [];
    if (p.siblings.length > 0) {
      const i = bit % p.siblings.length;
      const s = Buffer.from(p.siblings[i]!, 'hex');
      s[(bit >> 3) % 32]! ^= 1 << (bit & 7);
      out.push(['flipped sibling', { ...p, siblings: p.siblings.map((x, j) => (j === i ? hex(s) : x)) }]);
      out.push(['dropped sibling', { ...p, siblings: p.siblings.slice(1) }]);
      out.push(['short sibling', { ...p, siblings: p.siblings.map((x, j) => (j === i ? x.slice(2) : x)) }]);
    }
    out.push(['extra sibling', { ...p, siblings: [...p.siblings, hex(ZERO)] }]);
    out.push(['extra sibling at the leaf', { ...p, siblings: [hex(ZERO), ...p.siblings] }]);
    if (p.leaf !== null) {
      const vk = Buffer.from(p.leaf.valueHash, 'hex');
      vk[bit % 32]! ^= 1;
      out.push(['leaf value hash', { ...p, leaf: { ...p.leaf, valueHash: hex(vk) } }]);
      const lk = Buffer.from(p.leaf.key, 'hex');
      lk[31 - (bit % 32)]! ^= 1 << (bit & 7);
      out.push(['leaf key', { ...p, leaf: { ...p.leaf, key: hex(lk) } }]);
      out.push(['leaf removed', { ...p, leaf: null }]);
      out.push(['leaf key truncated', { ...p, leaf: { ...p.leaf, key: p.leaf.key.slice(2) } }]);
    } else {
      out.push(['leaf invented', { ...p, leaf: { key: hex(BASE), valueHash: hex(vh('x')) } }]);
    }
    return out;
  }

  test('tampered presence proofs fail', () => {
    fc.assert(
      fc.property(entriesArb.filter((e) => e.length > 0), fc.nat(), fc.nat(), (entries, which, bit) => {
        const t = build(entries);
        const [k, v] = entries[which % entries.length]!;
        for (const [what, q] of tamperings(t.prove(k), bit)) {
          assert.equal(verifyTrieProof(t.rootHash(), k, vh(v), q), false, what);
        }
      }),
      { numRuns: 150 },
    );
  });

  test('tampered absence proofs fail', () => {
    fc.assert(
      fc.property(withProbe, fc.nat(), ([entries, k], bit) => {
        fc.pre(entries.length > 0 && !entries.some(([e]) => e.equals(k)));
        const t = build(entries);
        for (const [what, q] of tamperings(t.prove(k), bit)) {
          // A tampered proof might still be a valid proof of *something* only if it rebuilds the root.
          assert.equal(verifyTrieProof(t.rootHash(), k, null, q), false, what);
        }
      }),
      { numRuns: 150 },
    );
  });

  test('a proof does not verify against another root or for another key', () => {
    fc.assert(
      fc.property(entriesArb.filter((e) => e.length > 1), (entries) => {
        const t = build(entries);
        const [k0, v0] = entries[0]!;
        const [k1] = entries[1]!;
        const p = t.prove(k0);
        const other = t.set(k1, 'changed', vh('changed'));
        assert.equal(verifyTrieProof(other.rootHash(), k0, vh(v0), p), false);
        assert.equal(verifyTrieProof(t.rootHash(), k1, vh(v0), p), false);
      }),
      { numRuns: 100 },
    );
  });

  test('a proof deeper than 256 levels is rejected', () => {
    const p: TrieProof = { siblings: Array.from({ length: 257 }, () => hex(ZERO)), leaf: null };
    assert.equal(verifyTrieProof(ZERO, BASE, null, p), false);
  });
});

describe('State', () => {
  const keys = [1, 2, 3].map((b) => keyPairFromSeed(Buffer.alloc(32, b)));
  const [alice, bob, carol] = keys.map((k) => addressFromPublicKey(k.publicKey)) as [string, string, string];
  const entry: RecordEntry = { height: 1, txId: 'ab'.repeat(32), from: alice, value: { a: 1 } };
  const record = { value: { a: 1 }, owner: alice, updates: 1, height: 1, txId: 'ab'.repeat(32), historyHash: historyHashOf([entry]) };

  test('an unused address is a zero account that the state does not hold', () => {
    const s = State.empty();
    assert.deepEqual(s.account(alice), { balance: 0n, nonce: 0 });
    assert.equal(s.hasAccount(alice), false);
    assert.equal(s.record('k'), undefined);
    assert.equal(s.size, 0);
    assert.equal(s.root(), ZERO_HASH);
  });

  test('accounts and records are stored under distinct, domain-separated keys', () => {
    assert.notEqual(hex(accountKey('x')), hex(recordKey('x')));
    assert.equal(hex(accountKey(alice)), hex(taggedHash(TAG.stateKey, Buffer.from('a:' + alice))));
    assert.equal(hex(recordKey('k')), hex(taggedHash(TAG.stateKey, Buffer.from('r:k'))));
    const s = State.empty().withAccount(alice, { balance: 5n, nonce: 1 }).withRecord(alice, record);
    assert.equal(s.size, 2);
    assert.deepEqual(s.account(alice), { balance: 5n, nonce: 1 });
    assert.deepEqual(s.record(alice), record);
  });

  test('the committed form of an entry: amounts as strings, org only when set', () => {
    assert.deepEqual(stateEntryJson({ t: 'account', address: alice, account: { balance: 10n, nonce: 2 } }), { t: 'account', address: alice, balance: '10', nonce: 2 });
    assert.deepEqual(stateEntryJson({ t: 'account', address: alice, account: { balance: 0n, nonce: 0, org: 'acme' } }), {
      t: 'account',
      address: alice,
      balance: '0',
      nonce: 0,
      org: 'acme',
    });
    const a: StateEntry = { t: 'account', address: alice, account: { balance: 1n, nonce: 0 } };
    const b: StateEntry = { t: 'account', address: alice, account: { balance: 1n, nonce: 0, org: 'acme' } };
    assert.notEqual(hex(stateEntryHash(a)), hex(stateEntryHash(b)));
  });

  test('updates leave the old state untouched', () => {
    const s0 = State.empty().withAccount(alice, { balance: 100n, nonce: 0 });
    const r0 = s0.root();
    const s1 = s0.withAccount(alice, { balance: 90n, nonce: 1 }).withAccount(bob, { balance: 10n, nonce: 0 }).withRecord('k', record);
    assert.notEqual(s1.root(), r0);
    assert.equal(s0.root(), r0);
    assert.deepEqual(s0.account(alice), { balance: 100n, nonce: 0 });
    assert.equal(s0.hasAccount(bob), false);
    assert.equal(s0.record('k'), undefined);
    assert.equal(s0.size, 1);
    assert.equal(s1.size, 3);
  });

  test('fromEntries(entries()) rebuilds the same root in any order', () => {
    const s = State.empty()
      .withAccount(alice, { balance: 100n, nonce: 3 })
      .withAccount(bob, { balance: 7n, nonce: 0, org: 'o' })
      .withAccount(carol, { balance: 0n, nonce: 1 })
      .withRecord('k', record)
      .withRecord('k2', { ...record, value: null });
    const all = [...s.entries()];
    assert.equal(all.length, 5);
    for (let seed = 1; seed < 6; seed++) assert.equal(State.fromEntries(shuffle(all, seed)).root(), s.root());
  });

  test('state proofs: present entries verify, tampered entries and absent keys do not', () => {
    const s = State.empty().withAccount(alice, { balance: 100n, nonce: 3 }).withAccount(bob, { balance: 7n, nonce: 0 }).withRecord('k', record);
    const root = s.root();
    const aliceEntry: StateEntry = { t: 'account', address: alice, account: s.account(alice) };
    assert.equal(verifyStateProof(root, aliceEntry, s.proveAccount(alice)), true);
    assert.equal(verifyStateProof(root, { t: 'record', key: 'k', record }, s.proveRecord('k')), true);
    assert.equal(verifyStateProof(root, { ...aliceEntry, account: { balance: 101n, nonce: 3 } }, s.proveAccount(alice)), false);
    assert.equal(verifyStateProof(root, { ...aliceEntry, account: { balance: 100n, nonce: 4 } }, s.proveAccount(alice)), false);
    assert.equal(verifyStateProof(root, { t: 'record', key: 'k', record: { ...record, updates: 2 } }, s.proveRecord('k')), false);
    // Carol is absent: her zero account cannot be proved present, but her absence can.
    const carolProof = s.proveAccount(carol);
    assert.equal(verifyStateProof(root, { t: 'account', address: carol, account: { balance: 0n, nonce: 0 } }, carolProof), false);
    assert.equal(verifyTrieProof(Buffer.from(root, 'hex'), accountKey(carol), null, carolProof), true);
    assert.equal(verifyTrieProof(Buffer.from(root, 'hex'), recordKey('missing'), null, s.proveRecord('missing')), true);
    // Alice's proof does not prove Bob.
    assert.equal(verifyStateProof(root, { t: 'account', address: bob, account: s.account(alice) }, s.proveAccount(alice)), false);
  });

  test('record history hash chain', () => {
    assert.equal(historyHashOf([]), ZERO_HASH);
    const e2: RecordEntry = { height: 2, txId: 'cd'.repeat(32), from: bob, value: [1, 'two'] };
    const h1 = nextHistoryHash(ZERO_HASH, entry);
    assert.equal(historyHashOf([entry]), h1);
    assert.equal(historyHashOf([entry, e2]), nextHistoryHash(h1, e2));
    assert.notEqual(historyHashOf([e2, entry]), historyHashOf([entry, e2]));
    assert.notEqual(historyHashOf([{ ...entry, value: { a: 2 } }]), h1);
  });
});
