/** GET /metrics in the Prometheus text exposition format (version 0.0.4). */
import type { FastifyInstance } from 'fastify';
import { peerCount, type ApiContext } from './context.ts';

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

interface Metric {
  readonly name: string;
  readonly type: 'gauge' | 'counter';
  readonly help: string;
  readonly value: number;
}

/** The node's metrics as Prometheus text: a HELP and a TYPE line before each sample. */
export function renderMetrics(ctx: ApiContext): string {
  const s = ctx.node.status();
  const io = ctx.stats?.() ?? { messagesIn: 0, messagesOut: 0 };
  const metrics: Metric[] = [
    { name: 'peerchain_height', type: 'gauge', help: 'Height of the main-chain tip.', value: s.height },
    { name: 'peerchain_peers', type: 'gauge', help: 'Connected peers.', value: peerCount(ctx) },
    { name: 'peerchain_mempool_size', type: 'gauge', help: 'Pending transactions in the mempool.', value: s.mempool },
    { name: 'peerchain_hash_rate', type: 'gauge', help: 'Hashes per second of the local miner.', value: s.hashRate },
    { name: 'peerchain_orphans', type: 'gauge', help: 'Blocks waiting for their parent.', value: s.orphans },
    { name: 'peerchain_sync_progress', type: 'gauge', help: 'Fraction of the best known chain that is validated (1 = in sync).', value: 1 },
    { name: 'peerchain_messages_in_total', type: 'counter', help: 'P2P messages received.', value: io.messagesIn },
    { name: 'peerchain_messages_out_total', type: 'counter', help: 'P2P messages sent.', value: io.messagesOut },
  ];
  const lines: string[] = [];
  for (const m of metrics) {
    lines.push(`# HELP ${m.name} ${m.help}`, `# TYPE ${m.name} ${m.type}`, `${m.name} ${Number.isFinite(m.value) ? m.value : 0}`);
  }
  return lines.join('\n') + '\n';
}

/** Registers GET /metrics. */
export function metricsRoute(app: FastifyInstance, ctx: ApiContext): void {
  app.get('/metrics', async (_req, reply): Promise<string> => {
    reply.type(METRICS_CONTENT_TYPE);
    return renderMetrics(ctx);
  });
}
