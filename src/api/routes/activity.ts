/**
 * GET /api/accounts/:address/txs: an account's transactions, for the
 * explorer's account page. The store has no index by address, so this scans a
 * bounded window of main-chain blocks, newest first, and says which heights it
 * covered; `next` continues below them.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ERR, formatAmount, txId, type Hash, type Tx } from '../../core/index.ts';
import { addressError, addressFromPublicKey } from '../../crypto/index.ts';
import type { ApiContext } from '../context.ts';
import { badRequest } from '../errors.ts';
import { fromParam, limitParam, parseInput } from '../schemas.ts';

/** One transaction touching the account. */
export interface AccountTxView {
  id: Hash;
  kind: string;
  /** 'out' when the account sent it, 'in' when it received, 'self' for both. */
  direction: 'in' | 'out' | 'self';
  /** The sender's address; absent for a coinbase. */
  from?: string;
  to?: string;
  amount?: string;
  fee?: string;
  key?: string;
  nonce?: number;
  /** Absent while pending. */
  height?: number;
  blockHash?: Hash;
  timestamp?: number;
}

/** `GET /api/accounts/:address/txs`. */
export interface AccountTxsView {
  address: string;
  /** This node's pending transactions from or to the account (first page only). */
  pending: AccountTxView[];
  txs: AccountTxView[];
  /** The main-chain heights scanned, inclusive. */
  scanned: { from: number; to: number } | null;
  /** Pass as `before` to scan further back; null once height 0 was scanned. */
  next: number | null;
}

const MAX_SCAN = 1000;

const params = z.strictObject({ address: z.string() });
const query = z.strictObject({ before: fromParam.optional(), blocks: limitParam(MAX_SCAN).default(500), limit: limitParam(200).default(50) });

/** The account's part in a transaction, or undefined if it has none. */
function involvement(tx: Tx, address: string): AccountTxView | undefined {
  // Read fields by presence rather than by kind, so a new transaction kind still lists.
  const from = 'from' in tx ? addressFromPublicKey(tx.from) : undefined;
  const to = 'to' in tx ? tx.to : undefined;
  const sent = from === address;
  const received = to === address;
  if (!sent && !received) return undefined;
  const v: AccountTxView = { id: txId(tx), kind: tx.kind, direction: sent && received ? 'self' : sent ? 'out' : 'in' };
  if (from !== undefined) v.from = from;
  if (to !== undefined) v.to = to;
  if ('amount' in tx) v.amount = formatAmount(tx.amount);
  if ('fee' in tx) {
    v.fee = formatAmount(tx.fee);
    v.nonce = tx.nonce;
  }
  if ('key' in tx) v.key = tx.key;
  return v;
}

/** Registers the account activity route. */
export function activityRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get('/api/accounts/:address/txs', async (req): Promise<AccountTxsView> => {
    const { address } = parseInput(params, req.params, 'path');
    if (address.length > 100) throw badRequest(ERR.BAD_ADDRESS, `address is ${address.length} characters; an address has at most 90`);
    const err = addressError(address);
    if (err !== undefined) throw badRequest(ERR.BAD_ADDRESS, err);
    const q = parseInput(query, req.query, 'query');
    const chain = ctx.node.chain;
    const pending: AccountTxView[] = [];
    if (q.before === undefined) {
      for (const e of ctx.node.mempool.list()) {
        const v = involvement(e.tx, address);
        if (v !== undefined) pending.push(v);
      }
    }
    // Take the index entries first, so a reorganisation mid-scan cannot mix branches.
    const top = Math.min(q.before ?? chain.height, chain.height);
    const entries = [];
    for (let h = top; h >= 0 && h > top - q.blocks; h--) {
      const e = chain.index.main[h];
      if (e !== undefined) entries.push({ h, hash: e.hash });
    }
    const txs: AccountTxView[] = [];
    let lowest = top + 1;
    for (const { h, hash } of entries) {
      if (txs.length >= q.limit) break;
      const block = await chain.getBlock(hash);
      lowest = h;
      if (block === undefined) continue;
      for (const tx of block.txs) {
        const v = involvement(tx, address);
        if (v === undefined) continue;
        v.height = h;
        v.blockHash = hash;
        v.timestamp = block.header.timestamp;
        txs.push(v);
      }
    }
    const scanned = lowest <= top ? { from: lowest, to: top } : null;
    return { address, pending, txs, scanned, next: scanned !== null && scanned.from > 0 ? scanned.from - 1 : null };
  });
}
