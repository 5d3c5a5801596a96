/** Core values turned into the API's JSON: amounts as decimal strings, ids alongside bodies. */
import { blockSizeOf, blockHash, formatAmount, txId, txSize, txToJson, type Block, type RecordEntry, type Tx } from '../core/index.ts';
import type { PoolEntry } from '../mempool/index.ts';
import type { PeerchainNode } from '../node/node.ts';
import type { BlockSummaryView, BlockView, MempoolEntryView, RecordEntryView, TxView } from './types.ts';

/** A transaction with its id and size. */
export function txView(tx: Tx): TxView {
  return { id: txId(tx), size: txSize(tx), ...txToJson(tx) };
}

/** Where a block stands relative to the node's main chain right now. */
function placement(node: PeerchainNode, hash: string, height: number): { mainChain: boolean; confirmations: number } {
  const mainChain = node.chain.index.main[height]?.hash === hash;
  return { mainChain, confirmations: mainChain ? node.chain.height - height + 1 : 0 };
}

/** A block without its transactions. */
export function blockSummary(node: PeerchainNode, block: Block, hash: string = blockHash(block.header)): BlockSummaryView {
  const h = block.header;
  return {
    hash,
    height: h.height,
    ...placement(node, hash, h.height),
    timestamp: h.timestamp,
    prevHash: h.prevHash,
    txCount: block.txs.length,
    header: { ...h },
  };
}

/** A block with its transactions and size (serialising is costly, so lists leave size out). */
export function blockView(node: PeerchainNode, block: Block, hash?: string): BlockView {
  const v: BlockView = { ...blockSummary(node, block, hash), size: blockSizeOf(block), txs: block.txs.map(txView) };
  if (block.commit !== undefined) v.commit = block.commit;
  return v;
}

/** A pending transaction. */
export function mempoolEntryView(e: PoolEntry): MempoolEntryView {
  return { id: e.id, kind: e.tx.kind, sender: e.sender, nonce: e.tx.nonce, fee: formatAmount(e.tx.fee), size: e.size, addedAt: e.addedAt, tx: { id: e.id, size: e.size, ...txToJson(e.tx) } };
}

/** One past value of a record. */
export function recordEntryView(e: RecordEntry): RecordEntryView {
  return { height: e.height, txId: e.txId, from: e.from, value: e.value };
}
