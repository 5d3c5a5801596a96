/** startApi: the HTTP + WebSocket API over a PeerchainNode. */
import type { AddressInfo } from 'node:net';
import { isIP } from 'node:net';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { PeerchainNode } from '../node/node.ts';
import { installJsonBodies } from './body.ts';
import type { ApiContext } from './context.ts';
import { attachEventStream } from './events.ts';
import { ApiError, clientErrorHandler, installErrorHandlers } from './errors.ts';
import { metricsRoute } from './metrics.ts';
import { accountRoutes } from './routes/accounts.ts';
import { activityRoutes } from './routes/activity.ts';
import { chainRoutes } from './routes/chain.ts';
import { consensusRoutes } from './routes/consensus.ts';
import { explorerRoutes } from './routes/explorer.ts';
import { faultRoutes } from './routes/faults.ts';
import { mineRoutes } from './routes/mine.ts';
import { networkRoutes } from './routes/network.ts';
import { peerRoutes } from './routes/peers.ts';
import { searchRoutes } from './routes/search.ts';
import { txRoutes } from './routes/txs.ts';
import { installAuth, startupError } from './security.ts';
import type { ApiOptions, ApiServer } from './types.ts';

export const DEFAULT_API_HOST = '127.0.0.1';
export const DEFAULT_API_PORT = 3001;
const DEFAULT_BODY_LIMIT = 1024 * 1024;
const DEFAULT_MINE_TIMEOUT_MS = 60_000;

function checkOptions(opts: ApiOptions): void {
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) throw new Error(`API port must be an integer from 0 to 65535, got ${String(opts.port)}`);
  if (opts.bodyLimit !== undefined && !(Number.isInteger(opts.bodyLimit) && opts.bodyLimit > 0)) throw new Error('API bodyLimit must be a positive integer');
  const err = startupError(opts.host, opts.token);
  if (err !== undefined) throw new Error(err);
}

/** The URL clients use to reach the listening server. */
function urlOf(app: FastifyInstance): string {
  const a = app.server.address() as AddressInfo;
  const host = isIP(a.address) === 6 ? `[${a.address}]` : a.address;
  return `http://${host}:${a.port}`;
}

/** Builds the Fastify app with every route; nothing listens yet. */
function buildApp(ctx: ApiContext, opts: ApiOptions, bodyLimit: number): FastifyInstance {
  const app = Fastify({
    bodyLimit,
    // Record keys may be 128 characters, several times longer once percent-encoded.
    routerOptions: { maxParamLength: 1024 },
    requestTimeout: 30_000,
    // Typed as the base logger so the instance is a plain FastifyInstance, not one specialised on pino.
    ...(opts.log !== undefined ? { loggerInstance: opts.log as FastifyBaseLogger } : { logger: false }),
    logController: new LogController({ disableRequestLogging: true }),
    clientErrorHandler,
    // Fastify's own 503 body has another shape; the hook below answers instead.
    return503OnClosing: false,
  });
  app.addHook('onRequest', async () => {
    if (ctx.closing.aborted) throw new ApiError(503, 'SHUTTING_DOWN', 'the node is shutting down');
  });
  installJsonBodies(app, bodyLimit);
  installErrorHandlers(app, bodyLimit, opts.log);
  installAuth(app, opts.token);
  app.addHook('onSend', async (_req, reply) => {
    reply.header('cache-control', 'no-store');
    reply.header('x-content-type-options', 'nosniff');
  });
  chainRoutes(app, ctx);
  txRoutes(app, ctx);
  accountRoutes(app, ctx);
  mineRoutes(app, ctx);
  peerRoutes(app, ctx);
  consensusRoutes(app, ctx);
  metricsRoute(app, ctx);
  networkRoutes(app, ctx);
  searchRoutes(app, ctx);
  activityRoutes(app, ctx);
  faultRoutes(app, ctx);
  explorerRoutes(app, ctx);
  return app;
}

/**
 * Starts the API on host:port (port 0 picks a free one). Refuses a
 * non-loopback host without a token. close() ends event streams and pending
 * waits, then the server.
 */
export async function startApi(node: PeerchainNode, opts: ApiOptions): Promise<ApiServer> {
  checkOptions(opts);
  const bodyLimit = opts.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const closing = new AbortController();
  const ctx: ApiContext = { node, peers: opts.peers, stats: opts.stats, consensus: opts.consensus, log: opts.log, mineTimeoutMs: opts.mineTimeoutMs ?? DEFAULT_MINE_TIMEOUT_MS, closing: closing.signal, faults: opts.faults, testnet: opts.testnet };
  const app = buildApp(ctx, opts, bodyLimit);
  const events = attachEventStream(app.server, node, opts.events, opts.log);
  // Fastify listens on every address "localhost" resolves to, but the event stream hooks the main server only.
  const host = opts.host === 'localhost' ? DEFAULT_API_HOST : opts.host;
  try {
    await app.listen({ host, port: opts.port });
  } catch (e) {
    events.close();
    await app.close();
    throw e;
  }
  const url = urlOf(app);
  let closed: Promise<void> | undefined;
  return {
    url,
    close() {
      closed ??= (async () => {
        closing.abort();
        events.close();
        await app.close();
      })();
      return closed;
    },
  };
}
