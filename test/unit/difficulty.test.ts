import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { bitsForLeadingZeroBits, decodeBits, type PowParams } from '../../src/core/index.ts';
import { isRetargetHeight, requiredBits } from '../../src/consensus/pow/difficulty.ts';

const P: PowParams = {
  type: 'pow',
  targetBlockTimeMs: 1000,
  initialBits: bitsForLeadingZeroBits(12),
  powLimitBits: bitsForLeadingZeroBits(1),
  retargetInterval: 10,
  maxAdjustFactor: 4,
  reward: 50n,
  halvingInterval: 0,
};

const target = (bits: number): bigint => decodeBits(bits)!;

test('between retargets a block keeps its parent target', () => {
  for (const h of [1, 5, 9, 11, 19]) {
    assert.equal(isRetargetHeight(P, h), false);
    assert.equal(requiredBits(P, h, P.initialBits, () => assert.fail('must not read timestamps')), P.initialBits);
  }
});

test('on schedule the target stays (within compact rounding)', () => {
  const bits = requiredBits(P, 20, P.initialBits, (h) => h * 1000);
  assert.equal(bits, P.initialBits);
});

test('blocks twice as fast halve the target; twice as slow double it', () => {
  const fast = target(requiredBits(P, 20, P.initialBits, (h) => h * 500));
  const slow = target(requiredBits(P, 20, P.initialBits, (h) => h * 2000));
  const t0 = target(P.initialBits);
  assert.ok(fast <= t0 / 2n && fast > (t0 / 2n) * 99n / 100n, 'fast window halves the target');
  assert.ok(slow <= t0 * 2n && slow > (t0 * 2n) * 99n / 100n, 'slow window doubles the target');
});

test('one window moves the target at most maxAdjustFactor either way, never past the limit', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 10_000_000 }), fc.integer({ min: 13, max: 200 }), (span, zeroBits) => {
      const parent = bitsForLeadingZeroBits(zeroBits);
      const t0 = target(parent);
      const t1 = target(requiredBits(P, 30, parent, (h) => (h === 29 ? span : 0)));
      assert.ok(t1 >= (t0 / 4n) * 99n / 100n, 'at most 4x harder');
      assert.ok(t1 <= t0 * 4n, 'at most 4x easier');
      assert.ok(t1 <= target(P.powLimitBits), 'never above the pow limit');
    }),
    { numRuns: 300 },
  );
});

test('timestamps going backwards count as the fastest allowed window', () => {
  const t1 = target(requiredBits(P, 20, P.initialBits, (h) => (h === 19 ? 0 : 1_000_000)));
  assert.ok(t1 <= target(P.initialBits) / 4n + 1n);
});
