/**
 * TCP transport: newline-delimited JSON over node:net, so a person can talk to
 * a node with nc; and the same lines over mutual TLS (`tls://`) for private
 * and consortium links.
 */
import net from 'node:net';
import tls from 'node:tls';
import { EventEmitter } from 'node:events';
import { formatAddress, formatHostPort, parseAddress } from './address.ts';
import { LineDecoder } from './line-decoder.ts';
import { peerCertKeyOf, tlsDialError, tlsErrorReason, tlsOptions, type TlsIdentity } from './tls.ts';
import {
  BaseConnection,
  ServerSockets,
  WriteBatcher,
  DEFAULT_CLOSE_GRACE_MS,
  type Connection,
  type Listener,
  type ListenerEvents,
  type Transport,
  type TransportOptions,
} from './transport.ts';

const NEWLINE = Buffer.from('\n');
const DEFAULT_DIAL_TIMEOUT_MS = 5000;

type LineScheme = 'tcp' | 'tls';

/** One TCP (or TLS) link carrying one JSON message per line. */
class TcpConnection extends BaseConnection {
  private readonly decoder: LineDecoder;
  private readonly batcher: WriteBatcher;
  private graceTimer: NodeJS.Timeout | undefined;
  private closeReason: string | undefined;

  constructor(
    readonly scheme: LineScheme,
    private readonly socket: net.Socket,
    direction: 'inbound' | 'outbound',
    opts: TransportOptions,
    readonly peerCertKey: string | undefined = undefined,
  ) {
    super(direction, formatHostPort(socket.remoteAddress ?? '?', socket.remotePort ?? 0), opts);
    this.decoder = new LineDecoder(this.maxFrameBytes);
    this.batcher = new WriteBatcher(socket);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.decoder.push(chunk, (m) => this.deliver(m)));
    socket.on('drain', () => this.checkDrain());
    socket.on('error', (err) => this.emit('error', err));
    socket.on('close', (hadError) => {
      if (this.graceTimer !== undefined) clearTimeout(this.graceTimer);
      this.finish({ reason: this.closeReason ?? (hadError ? 'socket error' : 'remote closed') });
    });
  }

  get bufferedBytes(): number {
    return this.socket.writableLength;
  }

  protected write(text: string): void {
    // One buffer per message: a message never interleaves with another, and small
    // messages cost one syscall instead of two.
    const len = Buffer.byteLength(text);
    const buf = Buffer.allocUnsafe(len + 1);
    buf.write(text, 0, len, 'utf8');
    buf[len] = NEWLINE[0] as number;
    this.batcher.batch();
    this.socket.write(buf);
  }

  protected closeSocket(reason: string): void {
    this.closeReason = reason;
    this.socket.end();
    this.graceTimer = setTimeout(() => this.socket.destroy(), this.closeGraceMs);
    this.graceTimer.unref();
  }

  protected pauseSocket(): void {
    this.socket.pause();
  }

  protected resumeSocket(): void {
    this.socket.resume();
  }
}

/** A bound TCP or TLS server. */
class TcpListener extends EventEmitter<ListenerEvents> implements Listener {
  readonly address: string;
  readonly host: string;
  readonly port: number;
  private readonly conns = new Set<Connection>();
  private readonly sockets: ServerSockets;

  constructor(
    private readonly server: net.Server,
    scheme: LineScheme,
    host: string,
    private readonly opts: TransportOptions,
  ) {
    super();
    const bound = server.address() as net.AddressInfo;
    this.host = host;
    this.port = bound.port;
    this.address = formatAddress({ scheme, host, port: bound.port });
    this.sockets = new ServerSockets(server);
    this.on('error', () => {});
    const accept = (socket: net.Socket, peerCertKey: string | undefined): void => {
      const conn = new TcpConnection(scheme, socket, 'inbound', opts, peerCertKey);
      this.conns.add(conn);
      conn.on('close', () => this.conns.delete(conn));
      this.emit('connection', conn);
    };
    if (server instanceof tls.Server) {
      server.on('secureConnection', (socket: tls.TLSSocket) => accept(socket, peerCertKeyOf(socket)));
      // A plaintext client (or a broken TLS one) ends here; node:tls already destroys the socket.
      server.on('tlsClientError', (err: Error, socket: tls.TLSSocket) => {
        this.emit('rejected', { remoteAddress: formatHostPort(socket.remoteAddress ?? '?', socket.remotePort ?? 0), reason: tlsErrorReason(err) });
      });
    } else {
      server.on('connection', (socket: net.Socket) => accept(socket, undefined));
    }
    server.on('error', (err) => this.emit('error', err));
  }

  close(): Promise<void> {
    for (const c of this.conns) c.close('listener closed');
    return this.sockets.close(this.opts.closeGraceMs ?? DEFAULT_CLOSE_GRACE_MS);
  }
}

function lineTransport(scheme: LineScheme, identity: TlsIdentity | undefined, opts: TransportOptions): Transport {
  const dialTimeoutMs = opts.dialTimeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS;
  return {
    scheme,
    listen(host: string, port: number): Promise<Listener> {
      return new Promise((resolve, reject) => {
        const server =
          identity === undefined
            ? net.createServer({ noDelay: true, pauseOnConnect: false })
            : // requestCert: the client's certificate is what binds its link to its node id.
              tls.createServer({ ...tlsOptions(identity), requestCert: true, handshakeTimeout: dialTimeoutMs, noDelay: true });
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve(new TcpListener(server, scheme, host, opts));
        });
      });
    },
    dial(address: string): Promise<Connection> {
      const a = parseAddress(address);
      if (a === undefined || a.scheme !== scheme) return Promise.reject(new Error(`not a ${scheme}:// address: ${address}`));
      return new Promise((resolve, reject) => {
        const socket: net.Socket =
          identity === undefined ? net.connect({ host: a.host, port: a.port, noDelay: true }) : tls.connect({ host: a.host, port: a.port, ...tlsOptions(identity) });
        const timer = setTimeout(() => {
          socket.destroy();
          reject(new Error(`dial ${address} timed out`));
        }, dialTimeoutMs);
        const onError = (err: Error): void => {
          clearTimeout(timer);
          reject(identity === undefined ? err : tlsDialError(err, address));
        };
        socket.once('error', onError);
        socket.once(identity === undefined ? 'connect' : 'secureConnect', () => {
          clearTimeout(timer);
          socket.off('error', onError);
          const certKey = identity === undefined ? undefined : peerCertKeyOf(socket as tls.TLSSocket);
          resolve(new TcpConnection(scheme, socket, 'outbound', opts, certKey));
        });
      });
    },
  };
}

/** Creates the TCP transport (`tcp://host:port`). */
export function tcpTransport(opts: TransportOptions = {}): Transport {
  return lineTransport('tcp', undefined, opts);
}

/** Creates the TLS transport (`tls://host:port`): the TCP line framing over mutual TLS with the node certificate. */
export function tlsTransport(identity: TlsIdentity, opts: TransportOptions = {}): Transport {
  return lineTransport('tls', identity, opts);
}
