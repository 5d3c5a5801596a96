/**
 * GET /api/events: node events pushed to WebSocket clients as `{type, data, time}`.
 * A plain `ws` server shares the HTTP server through its 'upgrade' event.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import type { Logger } from '../node/logger.ts';
import type { NodeEvents, PeerchainNode } from '../node/node.ts';
import { endWithError } from './errors.ts';
import type { EventMessage, EventStreamOptions } from './types.ts';

export const EVENTS_PATH = '/api/events';

// A Record over NodeEvents' keys: a new node event fails to compile here until it is forwarded.
const FORWARDED: Record<keyof NodeEvents, true> = { block: true, reorg: true, tx: true, txRemoved: true, invalidBlock: true, mined: true, consensus: true };

/** Event types a client can subscribe to with `?types=a,b`. */
export const EVENT_TYPES = Object.keys(FORWARDED) as (keyof NodeEvents)[];

const DEFAULTS = { maxClients: 100, maxBufferedBytes: 1024 * 1024, heartbeatMs: 30_000 } as const;

interface Client {
  readonly ws: WebSocket;
  readonly types: ReadonlySet<string> | undefined;
  alive: boolean;
}

/** The running stream. */
export interface EventStream {
  readonly clientCount: number;
  /** Disconnects every client and stops listening to the node. */
  close(): void;
}

function json(msg: EventMessage): string {
  return JSON.stringify(msg, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

/** The `types` filter of a connection URL, or an error message. */
function parseFilter(url: URL): { types: Set<string> | undefined } | { error: string } {
  for (const k of url.searchParams.keys()) if (k !== 'types') return { error: `unknown query parameter ${JSON.stringify(k.slice(0, 40))}; only "types" is accepted` };
  const raw = url.searchParams.getAll('types');
  if (raw.length === 0) return { types: undefined };
  const types = new Set(raw.join(',').split(',').filter((t) => t !== ''));
  for (const t of types) if (!(EVENT_TYPES as string[]).includes(t)) return { error: `unknown event type ${JSON.stringify(t.slice(0, 40))}; known: ${EVENT_TYPES.join(', ')}` };
  return { types };
}

/** Serves node events on EVENTS_PATH of an HTTP server. */
export function attachEventStream(server: Server, node: PeerchainNode, opts: EventStreamOptions = {}, log?: Logger): EventStream {
  const maxClients = opts.maxClients ?? DEFAULTS.maxClients;
  const maxBuffered = opts.maxBufferedBytes ?? DEFAULTS.maxBufferedBytes;
  // Clients only listen; a small frame limit keeps a misbehaving one from making us buffer.
  const wss = new WebSocketServer({ noServer: true, maxPayload: 4096, perMessageDeflate: false });
  const clients = new Set<Client>();
  let closed = false;

  const send = (c: Client, text: string): void => {
    if (c.ws.readyState !== WebSocket.OPEN) return;
    // A client that cannot keep up is dropped rather than buffered for without bound.
    if (c.ws.bufferedAmount > maxBuffered) {
      log?.warn({ buffered: c.ws.bufferedAmount }, 'api: event client too slow, disconnecting');
      clients.delete(c);
      c.ws.terminate();
      return;
    }
    c.ws.send(text);
  };

  const listeners = EVENT_TYPES.map((type) => {
    const fn = (data: unknown): void => {
      // Encoded only when some client wants this type: a tx event per transaction adds up under load.
      let text: string | undefined;
      for (const c of [...clients]) {
        if (c.types !== undefined && !c.types.has(type)) continue;
        text ??= json({ type, data, time: Date.now() });
        send(c, text);
      }
    };
    node.on(type, fn);
    return { type, fn };
  });

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => undefined);
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      return endWithError(socket, 400, 'BAD_URL', 'the request URL cannot be parsed');
    }
    if (url.pathname !== EVENTS_PATH) return endWithError(socket, 404, 'NOT_FOUND', `no WebSocket endpoint at ${url.pathname.slice(0, 200)}; use ${EVENTS_PATH}`);
    if (closed) return endWithError(socket, 503, 'SHUTTING_DOWN', 'the API is closing');
    const filter = parseFilter(url);
    if ('error' in filter) return endWithError(socket, 400, 'BAD_QUERY', filter.error);
    if (clients.size >= maxClients) return endWithError(socket, 503, 'TOO_MANY_CLIENTS', `the event stream already serves ${maxClients} clients`);
    wss.handleUpgrade(req, socket, head, (ws) => {
      const c: Client = { ws, types: filter.types, alive: true };
      clients.add(c);
      ws.on('pong', () => (c.alive = true));
      ws.on('error', () => undefined);
      ws.on('close', () => clients.delete(c));
      const tip = node.chain.tip;
      send(c, json({ type: 'hello', data: { network: node.genesis.network, chainId: node.genesis.chainId, height: tip.height, tip: tip.hash, types: [...(filter.types ?? EVENT_TYPES)] }, time: Date.now() }));
    });
  };
  server.on('upgrade', onUpgrade);

  const heartbeat = setInterval(() => {
    for (const c of [...clients]) {
      if (!c.alive) {
        clients.delete(c);
        c.ws.terminate();
        continue;
      }
      c.alive = false;
      c.ws.ping();
    }
  }, opts.heartbeatMs ?? DEFAULTS.heartbeatMs);
  heartbeat.unref();

  return {
    get clientCount() {
      return clients.size;
    },
    close() {
      if (closed) return;
      closed = true;
      clearInterval(heartbeat);
      for (const { type, fn } of listeners) node.off(type, fn);
      for (const c of clients) {
        // The close frame usually reaches the kernel at once; terminate so close() never waits on a peer.
        c.ws.close(1001, 'node shutting down');
        c.ws.terminate();
      }
      clients.clear();
      server.off('upgrade', onUpgrade);
      wss.close();
    },
  };
}
