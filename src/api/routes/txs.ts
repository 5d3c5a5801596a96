/** Transactions: GET /api/txs/:id, POST /api/txs, GET /api/mempool. */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { formatAmount, txToJson } from '../../core/index.ts';
import type { ApiContext } from '../context.ts';
import { ApiError, notFound } from '../errors.ts';
import { limitParam, parseInput } from '../schemas.ts';
import type { MempoolView, SubmitBatchView, SubmitTxView, TxStatusView } from '../types.ts';
import { mempoolEntryView, txView } from '../views.ts';

const txParams = z.strictObject({
  id: z.string().regex(/^[0-9a-fA-F]{64}$/, 'a transaction id is 64 hex characters'),
});

const MAX_BATCH = 1000;

const mempoolQuery = z.strictObject({ limit: limitParam(1000).default(100) });

/** Finds a transaction in the mempool or the main chain. */
async function lookup(ctx: ApiContext, id: string): Promise<TxStatusView> {
  const pending = ctx.node.mempool.get(id);
  if (pending !== undefined) {
    return { status: 'pending', id, tx: { id, size: pending.size, ...txToJson(pending.tx) }, fee: formatAmount(pending.tx.fee), size: pending.size, addedAt: pending.addedAt };
  }
  const loc = await ctx.node.store.getTxLocation(id);
  // The tx index may briefly name a block a reorganisation is taking off the main chain.
  if (loc !== undefined && ctx.node.chain.index.main[loc.height]?.hash === loc.blockHash) {
    const tx = (await ctx.node.chain.getBlock(loc.blockHash))?.txs[loc.index];
    if (tx !== undefined) {
      return { status: 'confirmed', id, tx: txView(tx), blockHash: loc.blockHash, height: loc.height, index: loc.index, confirmations: ctx.node.chain.height - loc.height + 1 };
    }
  }
  throw notFound('TX_NOT_FOUND', `transaction ${id} is neither pending nor in the main chain`);
}

/** Registers the transaction and mempool routes. */
export function txRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get('/api/txs/:id', async (req): Promise<TxStatusView> => {
    const { id } = parseInput(txParams, req.params, 'path');
    return lookup(ctx, id.toLowerCase());
  });

  app.post('/api/txs', async (req, reply): Promise<SubmitTxView> => {
    if (req.body === undefined) throw new ApiError(400, 'BAD_BODY', 'request body must be a signed transaction as JSON');
    // Core's txFromJson is the schema: exact fields, types, ranges, checksums; the mempool adds state rules.
    const r = ctx.node.submitTx(req.body, 'api');
    if (!r.ok) throw new ApiError(400, r.error.code, r.error.message);
    reply.code(202);
    return { id: r.value.id };
  });

  // Clients with many transactions (load generators, batch importers) send them
  // in one request; each is admitted or refused on its own, in order.
  app.post('/api/txs/batch', async (req, reply): Promise<SubmitBatchView> => {
    const body = req.body as { txs?: unknown } | undefined;
    if (typeof body !== 'object' || body === null || !Array.isArray(body.txs)) throw new ApiError(400, 'BAD_BODY', 'request body must be {"txs": [signed transactions]}');
    if (body.txs.length > MAX_BATCH) throw new ApiError(400, 'BAD_BODY', `at most ${MAX_BATCH} transactions per batch, got ${body.txs.length}`);
    const results = (await ctx.node.submitTxs(body.txs, 'api')).map((r) => (r.ok ? { id: r.value.id } : { error: { code: r.error.code, message: r.error.message } }));
    const accepted = results.filter((r) => 'id' in r).length;
    reply.code(accepted > 0 ? 202 : 400);
    return { accepted, results };
  });

  app.get('/api/mempool', async (req): Promise<MempoolView> => {
    const { limit } = parseInput(mempoolQuery, req.query, 'query');
    const all = ctx.node.mempool.list();
    let bytes = 0;
    for (const e of all) bytes += e.size;
    return { size: all.length, bytes, txs: all.slice(0, limit).map(mempoolEntryView) };
  });
}
