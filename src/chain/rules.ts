import { checkHeader, decodeBits, MEDIAN_TIME_SPAN, workForTarget, type Block, type BlockHeader, type Genesis, type PowParams, type Result, type State } from '../core/index.ts';
import { ERR, ok, type ErrorCode } from '../core/index.ts';
import { requiredBits } from '../consensus/pow/difficulty.ts';
import type { BlockIndex, IndexEntry } from './block-index.ts';

/** The consensus-specific part of chain validation. */
export interface ChainRules {
  /** The work a header adds to its chain (fork choice picks the most). */
  work(header: BlockHeader): bigint;
  /** Context checks on a header: link, time, proof, target. */
  checkHeader(header: BlockHeader, parent: IndexEntry, index: BlockIndex, now: number): Result<void>;
  /** Checks that need the body beyond the state transition (e.g. a BFT commit certificate). */
  checkBody(block: Block, parent: IndexEntry): Result<void>;
  /**
   * Finality (BFT): a connected block is never disconnected, and a block may
   * only join on top of the tip, where `checkCommit` sees its parent's state.
   */
  readonly final?: boolean;
  /** BFT: checks the block's commit certificate against the state it builds on. */
  checkCommit?(block: Block, parentState: State): Result<void>;
}

/** Context checks shared by every consensus: link, median time past, clock, and (PoW) target. */
export function headerInContext(genesis: Genesis, header: BlockHeader, parent: IndexEntry, index: BlockIndex, now: number, expectedBits?: number): Result<void> {
  return checkHeader(header, {
    chainId: genesis.chainId,
    consensus: genesis.consensus,
    parentHash: parent.hash,
    parentHeight: parent.height,
    recentTimestamps: recentTimestamps(parent, index),
    now,
    maxFutureMs: genesis.params.maxFutureMs,
    expectedBits,
  });
}

function recentTimestamps(parent: IndexEntry, index: BlockIndex): number[] {
  const out: number[] = [];
  let e: IndexEntry | undefined = parent;
  for (let i = 0; i < MEDIAN_TIME_SPAN && e !== undefined; i++, e = e.parent) out.push(e.header.timestamp);
  return out.reverse();
}

/** The bits a child of `parent` must carry under the retarget rule. */
export function expectedBitsAfter(pow: PowParams, parent: IndexEntry, index: BlockIndex): number {
  return requiredBits(pow, parent.height + 1, parent.header.bits, (h) => index.ancestor(parent, h)!.header.timestamp);
}

/** Proof-of-Work rules: most cumulative work, retargeted difficulty, proof checked on every header. */
export function powRules(genesis: Genesis): ChainRules {
  if (genesis.consensus.type !== 'pow') throw new Error('powRules: genesis is not PoW');
  const pow = genesis.consensus;
  let lastBits = -1;
  let lastWork = 0n;
  return {
    work(header) {
      // Bits change only at a retarget: a run of headers shares one division.
      if (header.bits !== lastBits) {
        const t = decodeBits(header.bits);
        lastWork = t === undefined ? 0n : workForTarget(t);
        lastBits = header.bits;
      }
      return lastWork;
    },
    checkHeader(header, parent, index, now) {
      return headerInContext(genesis, header, parent, index, now, expectedBitsAfter(pow, parent, index));
    },
    checkBody() {
      return ok(undefined);
    },
  };
}

/**
 * True if a block or header refused with this code tells against the peer
 * that sent it. A timestamp ahead of our clock does not: the sender's clock
 * or ours may be off, and the block becomes valid as time passes.
 */
export function blamesSender(code: ErrorCode): boolean {
  return code !== ERR.TIMESTAMP_IN_FUTURE;
}
