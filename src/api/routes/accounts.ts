/** State reads: GET /api/accounts/:address and GET /api/records/:key. */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ERR, formatAmount } from '../../core/index.ts';
import { addressError } from '../../crypto/index.ts';
import type { ApiContext } from '../context.ts';
import { badRequest, notFound } from '../errors.ts';
import { fromParam, limitParam, parseInput } from '../schemas.ts';
import type { AccountView, RecordView } from '../types.ts';
import { recordEntryView } from '../views.ts';

// addressError quotes its input; a bound keeps a hostile path from echoing back kilobytes.
const MAX_ADDRESS_CHARS = 100;
const RECORD_KEY_RE = /^[\x21-\x7e]+$/;

const accountParams = z.strictObject({ address: z.string() });
const recordParams = z.strictObject({ key: z.string() });
const historyQuery = z.strictObject({ from: fromParam.default(0), limit: limitParam(100).default(20) });

/** The next nonce to use: the account nonce advanced past the sender's consecutive pending nonces. */
function pendingNonce(ctx: ApiContext, address: string, nonce: number): { next: number; count: number } {
  return ctx.node.mempool.pendingNonce(address, nonce);
}

/** Registers the account and record routes. */
export function accountRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get('/api/accounts/:address', async (req): Promise<AccountView> => {
    const { address } = parseInput(accountParams, req.params, 'path');
    if (address.length > MAX_ADDRESS_CHARS) throw badRequest(ERR.BAD_ADDRESS, `address is ${address.length} characters; an address has at most 90`);
    const err = addressError(address);
    if (err !== undefined) throw badRequest(ERR.BAD_ADDRESS, err);
    const acct = ctx.node.chain.state.account(address);
    const p = pendingNonce(ctx, address, acct.nonce);
    const v: AccountView = { address, balance: formatAmount(acct.balance), nonce: acct.nonce, pendingNonce: p.next, pendingTxs: p.count };
    if (acct.org !== undefined) v.org = acct.org;
    return v;
  });

  app.get('/api/records/:key', async (req): Promise<RecordView> => {
    const { key } = parseInput(recordParams, req.params, 'path');
    const max = ctx.node.genesis.params.maxRecordKeyLength;
    if (key.length > max || !RECORD_KEY_RE.test(key)) throw badRequest(ERR.RECORD_KEY, `record key must be 1-${max} printable ASCII characters without spaces`);
    const q = parseInput(historyQuery, req.query, 'query');
    const rec = await ctx.node.store.getRecord(key);
    if (rec === undefined) throw notFound('RECORD_NOT_FOUND', `record ${JSON.stringify(key)} was never written`);
    const entries = (await ctx.node.store.getRecordHistory(key, q.from, q.limit)).map(recordEntryView);
    const end = q.from + entries.length;
    return {
      key,
      value: rec.value,
      owner: rec.owner,
      updates: rec.updates,
      height: rec.height,
      txId: rec.txId,
      historyHash: rec.historyHash,
      history: { from: q.from, limit: q.limit, entries, next: entries.length > 0 && end < rec.updates ? end : null },
    };
  });
}
