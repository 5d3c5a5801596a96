/** GET /api/peers and POST /api/peers {"address": ADDR}, served by the P2P layer when it is wired. */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { addressError } from '../../p2p/index.ts';
import type { ApiContext } from '../context.ts';
import { ApiError, badRequest } from '../errors.ts';
import { parseInput } from '../schemas.ts';
import type { AddPeerResult, AddPeerView, PeerInfo } from '../types.ts';

const ADD_TIMEOUT_MS = 10_000;

const addBody = z.strictObject({ address: z.string({ error: 'must be a string like ws://host:port or tcp://host:port' }) });

/** The P2P layer's answer, or "connecting" if it takes longer than it should. */
async function addBounded(ctx: ApiContext, address: string): Promise<AddPeerResult> {
  let timer: NodeJS.Timeout | undefined;
  const slow = new Promise<AddPeerResult>((resolve) => (timer = setTimeout(() => resolve({ ok: true, status: 'connecting' }), ADD_TIMEOUT_MS)));
  try {
    return await Promise.race([ctx.peers!.add(address), slow]);
  } finally {
    clearTimeout(timer);
  }
}

/** Registers the peer routes. */
export function peerRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get('/api/peers', async (): Promise<readonly PeerInfo[]> => ctx.peers?.list() ?? []);

  app.post('/api/peers', async (req, reply): Promise<AddPeerView> => {
    if (req.body === undefined) throw new ApiError(400, 'BAD_BODY', 'request body must be {"address": "ws://host:port"}');
    const { address } = parseInput(addBody, req.body, 'body');
    const err = addressError(address);
    if (err !== undefined) throw badRequest('BAD_PEER_ADDRESS', `address: ${err}`);
    if (ctx.peers === undefined) throw new ApiError(503, 'P2P_UNAVAILABLE', 'peer-to-peer networking is not running on this node, so peers cannot be added');
    const r = await addBounded(ctx, address);
    if (!r.ok) throw badRequest(r.code, r.message);
    reply.code(202);
    return { address, status: r.status };
  });
}
