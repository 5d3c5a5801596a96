import { decodeBits, encodeBits, type PowParams } from '../../core/index.ts';

/**
 * The retarget rule. Every `retargetInterval` blocks the target is scaled by
 * how long the last window took against how long it should have taken:
 *
 *   window  = blocks a = max(0, h - interval - 1) .. b = h - 1   (b - a gaps)
 *   actual  = timestamp(b) - timestamp(a), clamped to [expected / f, expected * f]
 *   target' = target(parent) * actual / expected, at most the pow limit
 *
 * with expected = targetBlockTime * (b - a) and f = maxAdjustFactor, so one
 * lucky or slow window moves the difficulty by at most a factor f. Between
 * retargets a block keeps its parent's target.
 */

/** True if the block at this height must recompute its target. */
export function isRetargetHeight(p: PowParams, height: number): boolean {
  return height > 0 && height % p.retargetInterval === 0;
}

/** The heights whose timestamps the retarget at `height` reads: [first, last]. */
export function retargetWindow(p: PowParams, height: number): [number, number] {
  return [Math.max(0, height - p.retargetInterval - 1), height - 1];
}

/**
 * The compact target the block at `height` must carry. `timestampAt` returns
 * the timestamp of an ancestor on the same branch (only the two window ends
 * are read, and only at retarget heights).
 */
export function requiredBits(p: PowParams, height: number, parentBits: number, timestampAt: (height: number) => number): number {
  if (!isRetargetHeight(p, height)) return parentBits;
  const [a, b] = retargetWindow(p, height);
  const expected = BigInt(p.targetBlockTimeMs) * BigInt(b - a);
  if (expected <= 0n) return parentBits;
  let actual = BigInt(Math.max(0, timestampAt(b) - timestampAt(a)));
  const f = BigInt(p.maxAdjustFactor);
  if (actual < expected / f) actual = expected / f;
  if (actual > expected * f) actual = expected * f;
  const limit = decodeBits(p.powLimitBits)!;
  const old = decodeBits(parentBits) ?? limit;
  let target = (old * actual) / expected;
  if (target > limit) target = limit;
  if (target < 1n) target = 1n;
  return encodeBits(target);
}
