import { ZERO_HASH } from '../crypto/index.ts';
import { BLOCK_VERSION, blockSize, NO_PROPOSER, txRootOf } from './block.ts';
import { txSize } from './tx.ts';
import { MAX_AMOUNT } from './amount.ts';
import { ok, type Result } from './errors.ts';
import { State } from './state.ts';
import { computeBlockState, blockReward, noChanges, applyTx, type AppliedBlock, type BlockContext } from './transition.ts';
import type { Address, Block, BlockHeader, CoinbaseTx, Hash, PublicKeyHex, SignedTx, Tx } from './types.ts';
import { addAmounts } from './amount.ts';

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
}

/**
 * Builds a candidate block from transactions the producer chose: skips any
 * that do not apply to the parent state (in order), adds the coinbase for PoW,
 * and fills in the transaction and state roots. The nonce is left at 0 for a
 * miner to search.
 */
export function assembleBlock(parent: State, candidates: readonly SignedTx[], opts: AssembleOptions, ctx: BlockContext): Result<AppliedBlock & { block: Block; skipped: SignedTx[] }> {
  const height = opts.parentHeight + 1;
  const chosen: SignedTx[] = [];
  const skipped: SignedTx[] = [];
  let s = parent;
  let fees = 0n;
  const max = ctx.params.maxBlockTxs - (ctx.consensus.type === 'pow' ? 1 : 0);
  // The size of the block with no transactions but the widest possible header
  // and coinbase; each transaction then adds its size and a comma.
  const probeTxs: Tx[] = ctx.consensus.type === 'pow' ? [{ kind: 'coinbase', chainId: ctx.chainId, height, to: opts.coinbaseTo ?? '', amount: MAX_AMOUNT }] : [];
  const probe: Block = {
    header: { version: BLOCK_VERSION, chainId: ctx.chainId, height, prevHash: opts.parentHash, timestamp: opts.timestamp, txRoot: ZERO_HASH, stateRoot: ZERO_HASH, bits: 0xffffffff, nonce: Number.MAX_SAFE_INTEGER, proposer: ZERO_HASH },
    txs: probeTxs,
  };
  let bytes = blockSize(probe);
  for (const tx of candidates) {
    if (chosen.length >= max) break;
    const add = txSize(tx) + 1;
    if (bytes + add > ctx.params.maxBlockBytes) {
      skipped.push(tx);
      continue;
    }
    const r = applyTx(s, tx, { chainId: ctx.chainId, params: ctx.params, height, consensus: ctx.consensus, verifySignature: ctx.verifySignature }, noChanges());
    if (!r.ok) {
      skipped.push(tx);
      continue;
    }
    const f = addAmounts(fees, r.value.fee);
    if (f === undefined) {
      skipped.push(tx);
      continue;
    }
    fees = f;
    s = r.value.state;
    bytes += add;
    chosen.push(tx);
  }
  const txs: Tx[] = [...chosen];
  if (ctx.consensus.type === 'pow') {
    if (opts.coinbaseTo === undefined) throw new Error('assembleBlock: a PoW block needs coinbaseTo');
    const cb: CoinbaseTx = { kind: 'coinbase', chainId: ctx.chainId, height, to: opts.coinbaseTo, amount: blockReward(ctx.consensus, height) + fees };
    txs.unshift(cb);
  }
  const draft: BlockHeader = {
    version: BLOCK_VERSION,
    chainId: ctx.chainId,
    height,
    prevHash: opts.parentHash,
    timestamp: opts.timestamp,
    txRoot: txRootOf(txs),
    stateRoot: ZERO_HASH,
    bits: ctx.consensus.type === 'pow' ? (opts.bits ?? 0) : 0,
    nonce: 0,
    proposer: ctx.consensus.type === 'pow' ? NO_PROPOSER : (opts.proposer ?? NO_PROPOSER),
  };
  // Every chosen transaction was verified just above; do not verify it twice.
  const computed = computeBlockState(parent, { header: draft, txs }, { ...ctx, verifySignature: () => true });
  if (!computed.ok) return computed;
  const block: Block = { header: { ...draft, stateRoot: computed.value.state.root() }, txs };
  const applied = computed;
  return ok({ ...applied.value, block, skipped });
}
