/** POST /api/mine {"blocks": n}: mine n blocks here and answer with their hashes. */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Hash } from '../../core/index.ts';
import type { ApiContext } from '../context.ts';
import { ApiError } from '../errors.ts';
import { bodyObject, parseInput } from '../schemas.ts';
import type { MineView } from '../types.ts';

const MAX_BLOCKS = 100;
// Requests queue work in the node that no one can cancel, so the API bounds what it queues.
const MAX_OUTSTANDING = 100;

const mineBody = z.strictObject({
  blocks: z
    .number({ error: `must be an integer from 1 to ${MAX_BLOCKS}` })
    .int(`must be an integer from 1 to ${MAX_BLOCKS}`)
    .min(1, `must be an integer from 1 to ${MAX_BLOCKS}`)
    .max(MAX_BLOCKS, `must be an integer from 1 to ${MAX_BLOCKS}`)
    .default(1),
});

type Outcome = { kind: 'done'; hashes: Hash[] } | { kind: 'timeout' } | { kind: 'closing' } | { kind: 'failed'; message: string };

/** Waits for the node's mining promise, bounded by the timeout and by the server closing. */
function waitForBlocks(ctx: ApiContext, mining: Promise<Hash[]>): Promise<Outcome> {
  return new Promise((resolve) => {
    const finish = (o: Outcome): void => {
      clearTimeout(timer);
      ctx.closing.removeEventListener('abort', onClose);
      resolve(o);
    };
    const onClose = (): void => finish({ kind: 'closing' });
    const timer = setTimeout(() => finish({ kind: 'timeout' }), ctx.mineTimeoutMs);
    ctx.closing.addEventListener('abort', onClose);
    mining.then(
      (hashes) => finish({ kind: 'done', hashes }),
      (e: unknown) => finish({ kind: 'failed', message: e instanceof Error ? e.message : String(e) }),
    );
  });
}

/** Registers the mining route. */
export function mineRoutes(app: FastifyInstance, ctx: ApiContext): void {
  let outstanding = 0;

  app.post('/api/mine', async (req, reply): Promise<MineView> => {
    const { blocks } = parseInput(mineBody, bodyObject(req.body), 'body');
    const node = ctx.node;
    if (node.genesis.consensus.type !== 'pow') throw new ApiError(409, 'NOT_POW', `this is a ${node.genesis.consensus.type} network; blocks come from consensus, not mining`);
    if (!node.canMine) throw new ApiError(409, 'MINING_DISABLED', 'mining is not enabled on this node; start it with --mine');
    if (outstanding + blocks > MAX_OUTSTANDING) throw new ApiError(409, 'MINING_BUSY', `${outstanding} blocks requested through the API are still being mined; at most ${MAX_OUTSTANDING} may be pending`);
    const mined: Hash[] = [];
    const onMined = ({ hash }: { hash: Hash }): void => void mined.push(hash);
    node.on('mined', onMined);
    outstanding += blocks;
    const mining = node.mineBlocks(blocks);
    // After a timeout the node still mines these blocks: release the budget only when it has.
    mining.finally(() => (outstanding -= blocks)).catch(() => undefined);
    const outcome = await waitForBlocks(ctx, mining);
    node.off('mined', onMined);
    if (outcome.kind === 'done') return { complete: true, requested: blocks, hashes: outcome.hashes, height: node.chain.height };
    if (outcome.kind === 'closing') throw new ApiError(503, 'SHUTTING_DOWN', 'the node is shutting down');
    if (outcome.kind === 'failed') throw new ApiError(409, 'MINING_FAILED', outcome.message);
    reply.code(202);
    return { complete: false, requested: blocks, hashes: mined, height: node.chain.height, message: `mined ${mined.length} of ${blocks} blocks within ${ctx.mineTimeoutMs} ms; mining goes on in the background` };
  });
}
