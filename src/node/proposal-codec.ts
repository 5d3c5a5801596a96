/**
 * BFT proposals on the wire, whole or compact. Whole: the block as JSON.
 * Compact (protocol 2): the header and, for each signed transaction, only its
 * id; every validator already received those bodies by gossip, so a 2,000-
 * transaction proposal shrinks from some 660 KB to 140 KB and nobody decodes
 * the same transaction twice. A receiver rebuilds the block from its mempool
 * and from the transactions it received but has not admitted yet; the block's
 * own checks (transaction root, signatures, state root) then judge it exactly
 * as if it had come whole. A receiver missing a body asks for the proposal
 * whole instead (BFT_GET_PROPOSAL).
 */
import { blockFromJson, blockToJson, ERR, headerFromJson, txFromJson, txId, txToJson, type Block, type Genesis, type Hash, type Tx } from '../core/index.ts';
import type { Proposal } from '../consensus/bft/index.ts';
import type { Gossip, PayloadOf } from '../p2p/index.ts';
import type { PeerchainNode } from './node.ts';

type ProposalPayload = PayloadOf<'BFT_PROPOSAL'>;

/** What a received proposal payload decodes to. */
export type DecodedProposal =
  /** `rebuilt`: a compact proposal filled in with bodies this node holds. */
  | { readonly status: 'ok'; readonly block: Block; readonly rebuilt: boolean }
  /** A compact proposal naming a transaction this node does not hold. */
  | { readonly status: 'missing'; readonly id: Hash }
  | { readonly status: 'malformed'; readonly message: string };

// (proposal, peer) pairs this node asked for a whole proposal, so relayed copies do not ask again.
const ASKED_MAX = 256;

/** Encodes and decodes proposals against one node's mempool and gossip queue. */
export class ProposalCodec {
  private readonly asked = new Set<string>();

  constructor(
    private readonly node: PeerchainNode,
    private readonly gossip: Gossip,
    private readonly genesis: Genesis,
    /** The transaction gossip already parsed from a queued body, if it kept it. */
    private readonly parsed: (body: object) => Tx | undefined = () => undefined,
  ) {}

  /** The whole form: the block as JSON. */
  static whole(proposal: Proposal, block: Block): ProposalPayload {
    return { proposal: { ...proposal }, block: blockToJson(block) as unknown as Record<string, unknown> };
  }

  /** The compact form: signed transactions by id, anything else (evidence) whole. */
  compact(proposal: Proposal, block: Block): ProposalPayload {
    const header = (blockToJson({ header: block.header, txs: [] }) as unknown as { header: Record<string, unknown> }).header;
    const txs = block.txs.map((tx) => (tx.kind === 'transfer' || tx.kind === 'record' || tx.kind === 'govern' ? txId(tx) : (txToJson(tx) as unknown as Record<string, unknown>)));
    return { proposal: { ...proposal }, compact: { header, txs } };
  }

  /** The block a proposal payload carries, rebuilt from local bodies if it is compact. */
  decode(p: ProposalPayload): DecodedProposal {
    const params = this.genesis.params;
    if (p.block !== undefined) {
      const b = blockFromJson(p.block, params);
      return b.ok ? { status: 'ok', block: b.value, rebuilt: false } : { status: 'malformed', message: b.error.message };
    }
    const c = p.compact;
    if (c === undefined) return { status: 'malformed', message: 'neither block nor compact' };
    const header = headerFromJson(c.header);
    if (!header.ok) return { status: 'malformed', message: header.error.message };
    if (c.txs.length > params.maxBlockTxs) return { status: 'malformed', message: `${ERR.TOO_MANY_TXS}: ${c.txs.length} transactions, the limit is ${params.maxBlockTxs}` };
    const txs: Tx[] = [];
    for (const [i, t] of c.txs.entries()) {
      if (typeof t !== 'string') {
        const r = txFromJson(t, params);
        if (!r.ok) return { status: 'malformed', message: `tx ${i}: ${r.error.message}` };
        txs.push(r.value);
        continue;
      }
      const tx = this.node.mempool.get(t)?.tx ?? this.queued(t);
      if (tx === undefined) return { status: 'missing', id: t };
      txs.push(tx);
    }
    return { status: 'ok', block: { header: header.value, txs }, rebuilt: true };
  }

  /**
   * True the first time a block's proposal is to be asked for whole from
   * this peer (bounded memory): each holder is asked once, so one that does
   * not answer does not leave the node without the block.
   */
  shouldAsk(blockHash: Hash, peer: string): boolean {
    const key = blockHash + peer;
    if (this.asked.has(key)) return false;
    this.asked.add(key);
    if (this.asked.size > ASKED_MAX) this.asked.delete(this.asked.values().next().value!);
    return true;
  }

  private queued(id: Hash): Tx | undefined {
    const body = this.gossip.queuedTx(id);
    if (body === undefined) return undefined;
    let tx = this.parsed(body);
    if (tx === undefined) {
      const r = txFromJson(body, this.genesis.params);
      if (!r.ok) return undefined;
      tx = r.value;
    }
    // The body must be the one named: a rebuilt block never takes another transaction.
    return txId(tx) === id ? tx : undefined;
  }
}
