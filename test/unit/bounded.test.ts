/**
 * BoundedMap and BoundedSet keep exactly the entries a plain Map would keep
 * if it dropped its oldest entry (by insertion, or by last touch) whenever it
 * grew past capacity: checked against that model over random operations.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BoundedMap, BoundedSet } from '../../src/util/bounded.ts';

type Op = { op: 'set' | 'touch' | 'delete' | 'get'; k: number; v: number } | { op: 'clear' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 10, arbitrary: fc.record({ op: fc.constantFrom('set' as const, 'touch' as const, 'delete' as const, 'get' as const), k: fc.integer({ min: 0, max: 40 }), v: fc.integer() }) },
  { weight: 1, arbitrary: fc.constant({ op: 'clear' as const }) },
);

/** The obvious implementation: a Map trimmed from its oldest key. */
function model(capacity: number) {
  const m = new Map<number, number>();
  const trim = () => {
    while (m.size > capacity) m.delete(m.keys().next().value!);
  };
  return {
    m,
    set(k: number, v: number) {
      m.set(k, v);
      trim();
    },
    touch(k: number, v: number) {
      m.delete(k);
      m.set(k, v);
      trim();
    },
  };
}

test('BoundedMap matches a Map trimmed from its oldest entry, in content and order', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 12 }), fc.array(opArb, { maxLength: 400 }), (capacity, ops) => {
      const b = new BoundedMap<number, number>(capacity);
      const ref = model(capacity);
      for (const o of ops) {
        if (o.op === 'clear') {
          b.clear();
          ref.m.clear();
        } else if (o.op === 'set') {
          b.set(o.k, o.v);
          ref.set(o.k, o.v);
        } else if (o.op === 'touch') {
          b.touch(o.k, o.v);
          ref.touch(o.k, o.v);
        } else if (o.op === 'delete') assert.equal(b.delete(o.k), ref.m.delete(o.k));
        else assert.equal(b.get(o.k), ref.m.get(o.k));
        assert.equal(b.size, ref.m.size);
        assert.ok(b.size <= capacity);
      }
      assert.deepEqual([...b.entries()], [...ref.m.entries()]);
    }),
    { numRuns: 300 },
  );
});

test('BoundedSet: add keeps an old key old, touch makes it newest', () => {
  const s = new BoundedSet<string>(3);
  assert.equal(s.add('a'), true);
  s.add('b');
  s.add('c');
  assert.equal(s.add('a'), false);
  s.add('d');
  assert.deepEqual([...s.keys()], ['b', 'c', 'd']);
  assert.equal(s.touch('b'), false);
  s.add('e');
  assert.deepEqual([...s.keys()], ['d', 'b', 'e']);
  assert.equal(s.touch('f'), true);
  assert.deepEqual([...s.keys()], ['b', 'e', 'f']);
  assert.equal(s.delete('e'), true);
  assert.equal(s.has('e'), false);
  assert.equal(s.size, 2);
});

test('eviction takes constant time however many entries were dropped before', () => {
  // A regression guard on the cost model, counted in iterators made rather
  // than timed: with a fresh iterator per eviction, V8 walks every hole left
  // by earlier deletions from the start of the table.
  const b = new BoundedMap<number, number>(1000);
  const made = spyIterators(b);
  for (let i = 0; i < 50_000; i++) b.set(i, i);
  assert.equal(b.size, 1000);
  assert.equal(made.n, 1, 'one cursor for 49,000 evictions');
  assert.deepEqual([...b.keys()].slice(0, 2), [49_000, 49_001]);
});

test('writes that evict nothing do not keep the cursor (and the tables it pins) forever', () => {
  // V8 keeps every table replaced since a live iterator last moved reachable
  // from it: refreshing keys without evicting must not let them pile up.
  const b = new BoundedMap<number, number>(100);
  const made = spyIterators(b);
  for (let i = 0; i < 101; i++) b.set(i, i);
  assert.equal(made.n, 1);
  const cursor = () => (b as unknown as { cursor: unknown }).cursor;
  assert.notEqual(cursor(), undefined);
  for (let i = 0; i < 100; i++) b.touch(1 + (i % 50), i);
  assert.notEqual(cursor(), undefined, 'kept while fewer than capacity writes left it in place');
  b.touch(7, 0);
  assert.equal(cursor(), undefined, 'dropped after capacity writes that evicted nothing');
  b.set(1000, 0);
  assert.equal(made.n, 2, 'the next eviction starts a fresh cursor');
  assert.equal(b.size, 100);
  assert.equal(b.has(51), false, 'the oldest untouched key went first');
});

function spyIterators(b: BoundedMap<number, number>): { n: number } {
  const made = { n: 0 };
  const inner = (b as unknown as { map: Map<number, number> }).map;
  const keys = inner.keys.bind(inner);
  inner.keys = () => {
    made.n++;
    return keys();
  };
  return made;
}

test('a capacity is a non-negative integer or Infinity', () => {
  assert.throws(() => new BoundedMap(-1), /non-negative integer/);
  assert.throws(() => new BoundedSet(1.5), /non-negative integer/);
  const none = new BoundedSet<number>(0);
  assert.equal(none.add(1), true);
  assert.equal(none.size, 0, 'capacity 0 remembers nothing');
  const all = new BoundedMap<number, number>(Infinity);
  for (let i = 0; i < 1000; i++) all.set(i, i);
  assert.equal(all.size, 1000);
});
