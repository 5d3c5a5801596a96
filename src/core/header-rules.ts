import { BLOCK_VERSION, blockHash, NO_PROPOSER } from './block.ts';
import { ERR, fail, ok, type Result } from './errors.ts';
import { decodeBits } from './pow.ts';
import type { BlockHeader, ConsensusParams, Hash } from './types.ts';

/** Blocks whose timestamps form the median a new timestamp must exceed. */
export const MEDIAN_TIME_SPAN = 11;

/** The median of the last (up to) 11 timestamps, oldest first. */
export function medianTimePast(timestamps: readonly number[]): number {
  // An insertion sort of at most 11 numbers: every header a sync takes in asks for one.
  const from = Math.max(0, timestamps.length - MEDIAN_TIME_SPAN);
  const last: number[] = [];
  for (let i = from; i < timestamps.length; i++) {
    const x = timestamps[i]!;
    let j = last.length;
    while (j > 0 && last[j - 1]! > x) {
      last[j] = last[j - 1]!;
      j--;
    }
    last[j] = x;
  }
  if (last.length === 0) return 0;
  return last[Math.floor(last.length / 2)]!;
}

/** What the chain knows about a new header's place: its parent, the past, the clock. */
export interface HeaderContext {
  readonly chainId: string;
  readonly consensus: ConsensusParams;
  readonly parentHash: Hash;
  readonly parentHeight: number;
  /** Timestamps of up to the last 11 ancestors, oldest first (parent last). */
  readonly recentTimestamps: readonly number[];
  /** The local clock in ms, passed in so the rule stays pure. */
  readonly now: number;
  readonly maxFutureMs: number;
  /** PoW: the compact target the retarget rule demands at this height. */
  readonly expectedBits?: number;
}

/**
 * Checks a header against its place in the chain: version, chain, height,
 * parent link, timestamp window and, for PoW, that the claimed target is the
 * one the rule demands and that the hash really meets it.
 */
export function checkHeader(h: BlockHeader, ctx: HeaderContext): Result<void> {
  if (h.version !== BLOCK_VERSION) return fail(ERR.BAD_VERSION, `block version ${h.version} is not supported (expected ${BLOCK_VERSION})`);
  if (h.chainId !== ctx.chainId) return fail(ERR.BAD_CHAIN_ID, `block is for chain "${h.chainId}", this is "${ctx.chainId}"`);
  if (h.height !== ctx.parentHeight + 1) return fail(ERR.BAD_HEIGHT, `height ${h.height} does not follow the parent's ${ctx.parentHeight}`);
  if (h.prevHash !== ctx.parentHash) return fail(ERR.BAD_PREV_HASH, `prevHash ${h.prevHash} is not the parent ${ctx.parentHash}`);
  const mtp = medianTimePast(ctx.recentTimestamps);
  if (h.timestamp <= mtp) return fail(ERR.TIMESTAMP_TOO_OLD, `timestamp ${h.timestamp} is not after the median of recent blocks ${mtp}`);
  if (h.timestamp > ctx.now + ctx.maxFutureMs) return fail(ERR.TIMESTAMP_IN_FUTURE, `timestamp ${h.timestamp} is more than ${ctx.maxFutureMs} ms ahead of the clock`);
  if (ctx.consensus.type === 'pow') {
    if (h.proposer !== NO_PROPOSER) return fail(ERR.BAD_PROPOSER, 'a PoW header has no proposer (all zeros)');
    if (ctx.expectedBits !== undefined && h.bits !== ctx.expectedBits) {
      return fail(ERR.BAD_TARGET, `bits 0x${h.bits.toString(16)} is not the required target 0x${ctx.expectedBits.toString(16)}`);
    }
    return checkProofOfWork(h);
  }
  if (h.bits !== 0 || h.nonce !== 0) return fail(ERR.BAD_TARGET, 'a BFT header has bits and nonce 0');
  if (h.proposer === NO_PROPOSER) return fail(ERR.BAD_PROPOSER, 'a BFT header names its proposer');
  return ok(undefined);
}

/** Checks that a header's hash meets the target its bits encode. */
export function checkProofOfWork(h: BlockHeader): Result<void> {
  const target = targetHex(h.bits);
  if (target === undefined) return fail(ERR.BAD_TARGET, `bits 0x${h.bits.toString(16)} do not encode a valid target`);
  // The remembered hex hash, compared as text: lowercase hex of equal length
  // orders as the numbers do, and no BigInt is parsed per header.
  if (blockHash(h) > target) return fail(ERR.BAD_POW, 'block hash does not meet its target');
  return ok(undefined);
}

// The last target seen, as 64 hex digits: a chain keeps one between retargets.
let lastBits = -1;
let lastTarget: string | undefined;

function targetHex(bits: number): string | undefined {
  if (bits !== lastBits) {
    const t = decodeBits(bits);
    lastTarget = t === undefined ? undefined : t.toString(16).padStart(64, '0');
    lastBits = bits;
  }
  return lastTarget;
}
