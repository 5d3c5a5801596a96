/** Status and blocks: GET /api/status, GET /api/blocks, GET /api/blocks/:heightOrHash. */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { IndexEntry } from '../../chain/index.ts';
import type { Block } from '../../core/index.ts';
import { peerCount, type ApiContext } from '../context.ts';
import { ApiError, notFound } from '../errors.ts';
import { fromParam, limitParam, parseInput } from '../schemas.ts';
import type { BlockListView, BlockView, StatusView } from '../types.ts';
import { blockSummary, blockView } from '../views.ts';

const HASH_RE = /^[0-9a-fA-F]{64}$/;
const HEIGHT_RE = /^(0|[1-9][0-9]{0,15})$/;

const listQuery = z.strictObject({
  from: fromParam.optional(),
  limit: limitParam(100).default(20),
  order: z.enum(['asc', 'desc'], { error: 'must be "asc" or "desc"' }).default('desc'),
});

const blockParams = z.strictObject({
  heightOrHash: z
    .string()
    .refine((s) => HASH_RE.test(s) || (HEIGHT_RE.test(s) && Number.isSafeInteger(Number(s))), 'must be a block height (a non-negative integer) or a block hash (64 hex characters)'),
});

/** Main-chain heights of one page, newest first or oldest first. */
function pageHeights(tip: number, q: z.output<typeof listQuery>): { heights: number[]; next: number | null } {
  const heights: number[] = [];
  if (q.order === 'desc') {
    const start = q.from ?? tip;
    for (let h = Math.min(start, tip); h >= 0 && heights.length < q.limit; h--) heights.push(h);
    const last = heights[heights.length - 1];
    return { heights, next: last !== undefined && last > 0 ? last - 1 : null };
  }
  for (let h = q.from ?? 0; h <= tip && heights.length < q.limit; h++) heights.push(h);
  const last = heights[heights.length - 1];
  return { heights, next: last !== undefined && last < tip ? last + 1 : null };
}

/** Bodies of index entries read after taking the entries, so a reorg mid-read cannot mix branches. */
async function bodies(ctx: ApiContext, entries: readonly IndexEntry[]): Promise<{ hash: string; block: Block }[]> {
  const out: { hash: string; block: Block }[] = [];
  for (const e of entries) {
    const block = await ctx.node.chain.getBlock(e.hash);
    if (block !== undefined) out.push({ hash: e.hash, block });
  }
  return out;
}

/** GET /api/status: the node's status with its peer count. */
export function status(ctx: ApiContext): StatusView {
  return { ...ctx.node.status(), peers: peerCount(ctx), syncing: false };
}

/** Registers the status and block routes. */
export function chainRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get('/api/status', async (): Promise<StatusView> => status(ctx));

  app.get('/api/blocks', async (req): Promise<BlockListView> => {
    const q = parseInput(listQuery, req.query, 'query');
    const tip = ctx.node.chain.height;
    const { heights, next } = pageHeights(tip, q);
    const entries = heights.map((h) => ctx.node.chain.index.main[h]).filter((e): e is IndexEntry => e !== undefined);
    const blocks = (await bodies(ctx, entries)).map(({ hash, block }) => blockSummary(ctx.node, block, hash));
    return { tip, order: q.order, blocks, next };
  });

  app.get('/api/blocks/:heightOrHash', async (req): Promise<BlockView> => {
    const { heightOrHash } = parseInput(blockParams, req.params, 'path');
    let hash: string;
    if (HASH_RE.test(heightOrHash)) hash = heightOrHash.toLowerCase();
    else {
      const e = ctx.node.chain.index.main[Number(heightOrHash)];
      if (e === undefined) throw notFound('BLOCK_NOT_FOUND', `no block at height ${heightOrHash}; the tip is at ${ctx.node.chain.height}`);
      hash = e.hash;
    }
    const block = await ctx.node.chain.getBlock(hash);
    if (block === undefined) throw notFound('BLOCK_NOT_FOUND', `no block with hash ${hash}`);
    return blockView(ctx.node, block, hash);
  });

  // A plain GET on the event stream's path is a client that forgot to upgrade.
  app.get('/api/events', async () => {
    throw new ApiError(426, 'UPGRADE_REQUIRED', '/api/events is a WebSocket endpoint; connect with ws://');
  });
}
