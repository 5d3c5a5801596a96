/**
 * WebSocket transport: one JSON message per text frame, over the ws library;
 * plain (`ws://`) or over mutual TLS with the node certificate (`wss://`).
 */
import { EventEmitter } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { formatAddress, formatHostPort, parseAddress } from './address.ts';
import { peerCertKeyOf, tlsDialError, tlsErrorReason, tlsOptions, type TlsIdentity } from './tls.ts';
import {
  BaseConnection,
  WriteBatcher,
  DEFAULT_CLOSE_GRACE_MS,
  DEFAULT_MAX_FRAME_BYTES,
  ServerSockets,
  decodeFrame,
  type Connection,
  type Listener,
  type ListenerEvents,
  type Transport,
  type TransportOptions,
} from './transport.ts';

const DEFAULT_DIAL_TIMEOUT_MS = 5000;

type WsScheme = 'ws' | 'wss';

/** WebSocket close code for a message over the size limit (RFC 6455). */
export const WS_CLOSE_TOO_BIG = 1009;

// Close reasons travel in the close frame, which caps them at 123 bytes.
function closeReasonText(reason: string): string {
  let r = reason.slice(0, 123);
  while (Buffer.byteLength(r) > 123) r = r.slice(0, -1);
  return r;
}

/** One WebSocket link carrying one JSON message per text frame. */
class WsConnection extends BaseConnection {
  // Tracked here rather than read from ws internals, so drain notifications are exact.
  private pending = 0;
  private graceTimer: NodeJS.Timeout | undefined;
  private localClose: { reason: string; code: number } | undefined;
  private readonly batcher: WriteBatcher | undefined;

  constructor(
    readonly scheme: WsScheme,
    private readonly ws: WebSocket,
    direction: 'inbound' | 'outbound',
    remoteAddress: string,
    opts: TransportOptions,
    readonly peerCertKey: string | undefined = undefined,
    /** The socket under the WebSocket (ws writes each frame to it; corking it batches them). */
    socket: Socket | undefined = undefined,
  ) {
    super(direction, remoteAddress, opts);
    this.batcher = socket === undefined ? undefined : new WriteBatcher(socket);
    ws.binaryType = 'nodebuffer';
    ws.on('message', (data: RawData, isBinary: boolean) => {
      const buf = data as Buffer;
      if (isBinary) {
        this.deliver({ ok: false, error: { kind: 'binary', message: 'binary frames are not part of the protocol' }, bytes: buf.length });
      } else {
        this.deliver(decodeFrame(buf.toString('utf8'), buf.length));
      }
    });
    ws.on('error', (err: Error & { code?: string }) => {
      if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
        this.deliver({ ok: false, error: { kind: 'oversized', message: `frame exceeds ${this.maxFrameBytes} bytes` }, bytes: 0 });
        this.localClose = { reason: 'frame too large', code: WS_CLOSE_TOO_BIG };
      }
      this.emit('error', err);
    });
    ws.on('close', (code: number, reason: Buffer) => {
      if (this.graceTimer !== undefined) clearTimeout(this.graceTimer);
      const text = reason.toString('utf8');
      if (this.localClose !== undefined) this.finish(this.localClose);
      else this.finish({ reason: text === '' ? `closed (${code})` : text, code });
    });
  }

  get bufferedBytes(): number {
    return this.pending;
  }

  protected write(text: string): void {
    // One Buffer per frame: ws would otherwise convert the string itself, and
    // Buffer.byteLength plus a second conversion costs twice.
    const buf = Buffer.from(text, 'utf8');
    const bytes = buf.length;
    this.pending += bytes;
    this.batcher?.batch();
    this.ws.send(buf, { binary: false, compress: false, fin: true }, () => {
      this.pending -= bytes;
      this.checkDrain();
    });
  }

  protected closeSocket(reason: string, code: number | undefined): void {
    const c = code !== undefined && (code === 1000 || code === 1001 || (code >= 3000 && code <= 4999)) ? code : 1000;
    this.localClose = { reason, code: c };
    this.ws.close(c, closeReasonText(reason));
    this.graceTimer = setTimeout(() => this.ws.terminate(), this.closeGraceMs);
    this.graceTimer.unref();
  }

  protected pauseSocket(): void {
    this.ws.pause();
  }

  protected resumeSocket(): void {
    this.ws.resume();
  }
}

/** A bound WebSocket server (over an HTTP or HTTPS server of its own). */
class WsListener extends EventEmitter<ListenerEvents> implements Listener {
  readonly address: string;
  readonly host: string;
  readonly port: number;
  private readonly conns = new Set<Connection>();
  private readonly sockets: ServerSockets;

  constructor(
    private readonly server: http.Server,
    private readonly wss: WebSocketServer,
    scheme: WsScheme,
    host: string,
    private readonly opts: TransportOptions,
  ) {
    super();
    const bound = server.address() as AddressInfo;
    this.host = host;
    this.port = bound.port;
    this.address = formatAddress({ scheme, host, port: bound.port });
    this.sockets = new ServerSockets(server);
    this.on('error', () => {});
    wss.on('connection', (ws, req) => {
      const remote = formatHostPort(req.socket.remoteAddress ?? '?', req.socket.remotePort ?? 0);
      const certKey = scheme === 'wss' ? peerCertKeyOf(req.socket as TLSSocket) : undefined;
      const conn = new WsConnection(scheme, ws, 'inbound', remote, opts, certKey, req.socket);
      this.conns.add(conn);
      conn.on('close', () => this.conns.delete(conn));
      this.emit('connection', conn);
    });
    // A plaintext client (or a broken TLS one) ends here; node:tls already destroys the socket.
    server.on('tlsClientError', (err: Error, socket: TLSSocket) => {
      this.emit('rejected', { remoteAddress: formatHostPort(socket.remoteAddress ?? '?', socket.remotePort ?? 0), reason: tlsErrorReason(err) });
    });
    server.on('error', (err) => this.emit('error', err));
    wss.on('error', (err) => this.emit('error', err));
  }

  close(): Promise<void> {
    for (const c of this.conns) c.close('listener closed', 1001 /* going away */);
    this.wss.close();
    return this.sockets.close(this.opts.closeGraceMs ?? DEFAULT_CLOSE_GRACE_MS);
  }
}

function webSocketTransport(scheme: WsScheme, identity: TlsIdentity | undefined, opts: TransportOptions): Transport {
  const common = { maxPayload: opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES, perMessageDeflate: false } as const;
  const dialTimeoutMs = opts.dialTimeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS;
  // What ws answers a plain HTTP request on its own server: this endpoint only speaks WebSocket.
  const upgradeRequired = (_req: http.IncomingMessage, res: http.ServerResponse): void => {
    const body = http.STATUS_CODES[426] ?? 'Upgrade Required';
    res.writeHead(426, { 'Content-Length': Buffer.byteLength(body), 'Content-Type': 'text/plain' });
    res.end(body);
  };
  return {
    scheme,
    listen(host: string, port: number): Promise<Listener> {
      return new Promise((resolve, reject) => {
        const server =
          identity === undefined
            ? http.createServer(upgradeRequired)
            : // requestCert: the client's certificate is what binds its link to its node id.
              https.createServer({ ...tlsOptions(identity), requestCert: true, handshakeTimeout: dialTimeoutMs }, upgradeRequired);
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          // Attached only once bound: ws re-emits server errors on itself, and a bind error
          // with no listener there would throw instead of rejecting.
          resolve(new WsListener(server, new WebSocketServer({ server, ...common }), scheme, host, opts));
        });
      });
    },
    dial(address: string): Promise<Connection> {
      const a = parseAddress(address);
      if (a === undefined || a.scheme !== scheme) return Promise.reject(new Error(`not a ${scheme}:// address: ${address}`));
      return new Promise((resolve, reject) => {
        const ws = new WebSocket(formatAddress(a), { ...common, handshakeTimeout: dialTimeoutMs, ...(identity === undefined ? {} : tlsOptions(identity)) });
        let certKey: string | undefined;
        let socket: Socket | undefined;
        // The socket is only reachable through the upgrade response, which comes before 'open'.
        ws.once('upgrade', (res) => {
          socket = res.socket;
          if (identity !== undefined) certKey = peerCertKeyOf(res.socket as TLSSocket);
        });
        const onError = (err: Error): void => reject(identity === undefined ? err : tlsDialError(err, address));
        ws.once('error', onError);
        ws.once('open', () => {
          ws.off('error', onError);
          resolve(new WsConnection(scheme, ws, 'outbound', formatHostPort(a.host, a.port), opts, certKey, socket));
        });
      });
    },
  };
}

/** Creates the WebSocket transport (`ws://host:port`). */
export function wsTransport(opts: TransportOptions = {}): Transport {
  return webSocketTransport('ws', undefined, opts);
}

/** Creates the secure WebSocket transport (`wss://host:port`): WebSocket over mutual TLS with the node certificate. */
export function wssTransport(identity: TlsIdentity, opts: TransportOptions = {}): Transport {
  return webSocketTransport('wss', identity, opts);
}
