/** WebSocket transport: one JSON message per text frame, over the ws library. */
import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { formatAddress, formatHostPort, parseAddress } from './address.ts';
import {
  BaseConnection,
  DEFAULT_MAX_FRAME_BYTES,
  decodeFrame,
  type Connection,
  type Listener,
  type ListenerEvents,
  type Transport,
  type TransportOptions,
} from './transport.ts';

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
  readonly scheme = 'ws' as const;
  // Tracked here rather than read from ws internals, so drain notifications are exact.
  private pending = 0;
  private graceTimer: NodeJS.Timeout | undefined;
  private localClose: { reason: string; code: number } | undefined;

  constructor(
    private readonly ws: WebSocket,
    direction: 'inbound' | 'outbound',
    remoteAddress: string,
    opts: TransportOptions,
  ) {
    super(direction, remoteAddress, opts);
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

/** A bound WebSocket server. */
class WsListener extends EventEmitter<ListenerEvents> implements Listener {
  readonly address: string;
  readonly host: string;
  readonly port: number;
  private readonly conns = new Set<Connection>();

  constructor(private readonly server: WebSocketServer, host: string, opts: TransportOptions) {
    super();
    const bound = server.address() as AddressInfo;
    this.host = host;
    this.port = bound.port;
    this.address = formatAddress({ scheme: 'ws', host, port: bound.port });
    this.on('error', () => {});
    server.on('connection', (ws, req) => {
      const remote = formatHostPort(req.socket.remoteAddress ?? '?', req.socket.remotePort ?? 0);
      const conn = new WsConnection(ws, 'inbound', remote, opts);
      this.conns.add(conn);
      conn.on('close', () => this.conns.delete(conn));
      this.emit('connection', conn);
    });
    server.on('error', (err) => this.emit('error', err));
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      for (const c of this.conns) c.close('listener closed', 1001 /* going away */);
      this.server.close(() => resolve());
    });
  }
}

/** Creates the WebSocket transport (`ws://host:port`). */
export function wsTransport(opts: TransportOptions = {}): Transport {
  const common = { maxPayload: opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES, perMessageDeflate: false } as const;
  return {
    scheme: 'ws',
    listen(host: string, port: number): Promise<Listener> {
      return new Promise((resolve, reject) => {
        const server = new WebSocketServer({ host, port, ...common });
        server.once('error', reject);
        server.once('listening', () => {
          server.off('error', reject);
          resolve(new WsListener(server, host, opts));
        });
      });
    },
    dial(address: string): Promise<Connection> {
      const a = parseAddress(address);
      if (a === undefined || a.scheme !== 'ws') return Promise.reject(new Error(`not a ws:// address: ${address}`));
      return new Promise((resolve, reject) => {
        const ws = new WebSocket(formatAddress(a), { ...common, handshakeTimeout: opts.dialTimeoutMs ?? 5000 });
        const onError = (err: Error): void => reject(err);
        ws.once('error', onError);
        ws.once('open', () => {
          ws.off('error', onError);
          resolve(new WsConnection(ws, 'outbound', formatHostPort(a.host, a.port), opts));
        });
      });
    },
  };
}
