/** GET /api/consensus and GET /api/evidence: BFT round state and caught equivocation. */
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.ts';
import { ApiError } from '../errors.ts';
import type { ConsensusView, EvidenceView } from '../types.ts';

/** Registers the consensus routes; on a PoW network they answer 404 with a reason. */
export function consensusRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const api = (): NonNullable<ApiContext['consensus']> => {
    if (ctx.consensus === undefined) throw new ApiError(404, 'NOT_BFT', `this is a ${ctx.node.genesis.network} network (${ctx.node.genesis.consensus.type}); BFT consensus state exists on private and consortium networks`);
    return ctx.consensus;
  };
  app.get('/api/consensus', async (): Promise<ConsensusView> => api().status());
  app.get('/api/evidence', async (): Promise<readonly EvidenceView[]> => api().evidence());
}
