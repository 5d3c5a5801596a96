/**
 * GET /api/faults and POST /api/faults {"block": [nodeId...], "delayMs": n}:
 * the faults a testnet node emulates (cut links to some node ids, add latency
 * to everything it sends), so that `peerchain testnet` can partition and slow
 * a network on one machine. Only a node started with the hidden
 * --fault-control flag serves them; any other answers 404. POST is a
 * mutating call and follows the API's token rules like every other.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { MAX_FAULT_DELAY_MS } from '../../p2p/index.ts';
import type { ApiContext } from '../context.ts';
import { ApiError, notFound } from '../errors.ts';
import { bodyObject, parseInput } from '../schemas.ts';
import type { FaultsApi, FaultsView } from '../types.ts';

// More ids than any local testnet has nodes, small enough to bound the work of one request.
const MAX_BLOCKED = 1024;

const faultsBody = z.strictObject({
  block: z.array(z.string().regex(/^[0-9a-f]{64}$/, 'must be a node id: 64 lowercase hex characters'), { error: 'must be an array of node ids' }).max(MAX_BLOCKED, `at most ${MAX_BLOCKED} node ids`).optional(),
  delayMs: z
    .number({ error: `must be an integer from 0 to ${MAX_FAULT_DELAY_MS}` })
    .int(`must be an integer from 0 to ${MAX_FAULT_DELAY_MS}`)
    .min(0, `must be an integer from 0 to ${MAX_FAULT_DELAY_MS}`)
    .max(MAX_FAULT_DELAY_MS, `must be an integer from 0 to ${MAX_FAULT_DELAY_MS}`)
    .optional(),
});

/** The node's fault hooks, or the 404 a node without --fault-control answers. */
function faultsOf(ctx: ApiContext): FaultsApi {
  if (ctx.faults === undefined) throw notFound('FAULT_CONTROL_OFF', 'fault control is off: only a node started with --fault-control (as `peerchain testnet` does) serves /api/faults');
  return ctx.faults;
}

/** Registers the fault-control routes. */
export function faultRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get('/api/faults', async (): Promise<FaultsView> => faultsOf(ctx).get());

  app.post('/api/faults', async (req): Promise<FaultsView> => {
    const faults = faultsOf(ctx);
    const body = parseInput(faultsBody, bodyObject(req.body), 'body');
    if (body.block === undefined && body.delayMs === undefined) throw new ApiError(400, 'BAD_BODY', 'give "block" (node ids to cut off, [] to heal) and/or "delayMs" (0 for none)');
    return faults.set(body);
  });
}
