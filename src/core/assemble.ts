import { ZERO_HASH } from '../crypto/index.ts';
import { BLOCK_VERSION, blockSize, NO_PROPOSER, txRootOf } from './block.ts';
import { txSize } from './tx.ts';
import { MAX_AMOUNT } from './amount.ts';
import { ok, type Result } from './errors.ts';
import { State } from './state.ts';
import { BlockBuilder, blockReward, type AppliedBlock, type BlockContext } from './transition.ts';
import { MAX_EVIDENCE_PER_BLOCK } from './evidence.ts';
import type { Address, Block, BlockHeader, CoinbaseTx, EvidenceTx, Hash, PublicKeyHex, SignedTx, Tx } from './types.ts';

/** What a block producer decides: where the block goes and what it pays to whom. */
export interface AssembleOptions {
  readonly parentHash: Hash;
  readonly parentHeight: number;
  readonly timestamp: number;
  /** PoW: the compact target, and the address the coinbase pays. */
  readonly bits?: number;
  readonly coinbaseTo?: Address;
  /** BFT: the proposer's node id (receives the fees). */
  readonly proposer?: PublicKeyHex;
  /**
   * Bytes of the size limit to leave free (default 0). A BFT block gains its
   * commit certificate only once decided, and the size limit counts it then:
   * a proposal filled to the limit could be decided and never connect.
   */
  readonly reserveBytes?: number;
  /** Most transactions to take, below the consensus limit (default: the limit). */
  readonly maxTxs?: number;
  /** BFT: equivocation evidence to put on chain (any already recorded is skipped). */
  readonly evidence?: readonly EvidenceTx[];
}

/**
 * Builds a candidate block from transactions the producer chose: skips any
 * that do not apply to the parent state (in order), adds the coinbase for PoW,
 * and fills in the transaction and state roots. The nonce is left at 0 for a
 * miner to search. One pass: each transaction is applied once, and the state
 * it leaves is the block's (the result is what applyBlock computes for it).
 */
export function assembleBlock(parent: State, candidates: readonly SignedTx[], opts: AssembleOptions, ctx: BlockContext): Result<AppliedBlock & { block: Block; skipped: SignedTx[] }> {
  const height = opts.parentHeight + 1;
  const chosen: SignedTx[] = [];
  const skipped: SignedTx[] = [];
  const builder = new BlockBuilder(parent, ctx, height);
  const max = Math.min(ctx.params.maxBlockTxs - (ctx.consensus.type === 'pow' ? 1 : 0), opts.maxTxs ?? Infinity);
  // The size of the block with no transactions but the widest possible header
  // and coinbase; each transaction then adds its size and a comma. An upper
  // bound on the real size, so the block needs no second measurement.
  const probeTxs: Tx[] = ctx.consensus.type === 'pow' ? [{ kind: 'coinbase', chainId: ctx.chainId, height, to: opts.coinbaseTo ?? '', amount: MAX_AMOUNT }] : [];
  const probe: Block = {
    header: { version: BLOCK_VERSION, chainId: ctx.chainId, height, prevHash: opts.parentHash, timestamp: opts.timestamp, txRoot: ZERO_HASH, stateRoot: ZERO_HASH, bits: 0xffffffff, nonce: Number.MAX_SAFE_INTEGER, proposer: ZERO_HASH },
    txs: probeTxs,
  };
  const limit = ctx.params.maxBlockBytes - (opts.reserveBytes ?? 0);
  let bytes = blockSize(probe);
  // Evidence first: it is small, pays nothing, and an accusation should not wait behind fees.
  const proofs: EvidenceTx[] = [];
  for (const e of opts.evidence ?? []) {
    if (proofs.length >= MAX_EVIDENCE_PER_BLOCK || chosen.length + proofs.length >= max) break;
    const add = txSize(e) + 1;
    if (bytes + add > limit || !builder.tryAdd(e).ok) continue;
    bytes += add;
    proofs.push(e);
  }
  for (const tx of candidates) {
    if (chosen.length + proofs.length >= max) break;
    const add = txSize(tx) + 1;
    if (bytes + add > limit) {
      skipped.push(tx);
      continue;
    }
    if (!builder.tryAdd(tx).ok) {
      skipped.push(tx);
      continue;
    }
    bytes += add;
    chosen.push(tx);
  }
  const txs: Tx[] = [...proofs, ...chosen];
  if (ctx.consensus.type === 'pow') {
    if (opts.coinbaseTo === undefined) throw new Error('assembleBlock: a PoW block needs coinbaseTo');
    const cb: CoinbaseTx = { kind: 'coinbase', chainId: ctx.chainId, height, to: opts.coinbaseTo, amount: blockReward(ctx.consensus, height) + builder.fees };
    txs.unshift(cb);
  }
  const proposer = ctx.consensus.type === 'pow' ? NO_PROPOSER : (opts.proposer ?? NO_PROPOSER);
  const applied = builder.finish(txs, proposer);
  if (!applied.ok) return applied;
  const header: BlockHeader = {
    version: BLOCK_VERSION,
    chainId: ctx.chainId,
    height,
    prevHash: opts.parentHash,
    timestamp: opts.timestamp,
    txRoot: txRootOf(txs),
    stateRoot: applied.value.state.root(),
    bits: ctx.consensus.type === 'pow' ? (opts.bits ?? 0) : 0,
    nonce: 0,
    proposer,
  };
  return ok({ ...applied.value, block: { header, txs }, skipped });
}
