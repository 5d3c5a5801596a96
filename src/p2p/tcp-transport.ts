/** TCP transport: newline-delimited JSON over node:net, so a person can talk to a node with nc. */
import net from 'node:net';
import { EventEmitter } from 'node:events';
import { formatAddress, formatHostPort, parseAddress } from './address.ts';
import { LineDecoder } from './line-decoder.ts';
import {
  BaseConnection,
  type Connection,
  type Listener,
  type ListenerEvents,
  type Transport,
  type TransportOptions,
} from './transport.ts';

const NEWLINE = Buffer.from('\n');

/** One TCP link carrying one JSON message per line. */
class TcpConnection extends BaseConnection {
  readonly scheme = 'tcp' as const;
  private readonly decoder: LineDecoder;
  private graceTimer: NodeJS.Timeout | undefined;
  private closeReason: string | undefined;

  constructor(
    private readonly socket: net.Socket,
    direction: 'inbound' | 'outbound',
    opts: TransportOptions,
  ) {
    super(direction, formatHostPort(socket.remoteAddress ?? '?', socket.remotePort ?? 0), opts);
    this.decoder = new LineDecoder(this.maxFrameBytes);
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

/** A bound TCP server. */
class TcpListener extends EventEmitter<ListenerEvents> implements Listener {
  readonly address: string;
  readonly host: string;
  readonly port: number;
  private readonly conns = new Set<Connection>();

  constructor(private readonly server: net.Server, host: string, opts: TransportOptions) {
    super();
    const bound = server.address() as net.AddressInfo;
    this.host = host;
    this.port = bound.port;
    this.address = formatAddress({ scheme: 'tcp', host, port: bound.port });
    this.on('error', () => {});
    server.on('connection', (socket) => {
      const conn = new TcpConnection(socket, 'inbound', opts);
      this.conns.add(conn);
      conn.on('close', () => this.conns.delete(conn));
      this.emit('connection', conn);
    });
    server.on('error', (err) => this.emit('error', err));
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      for (const c of this.conns) c.close('listener closed');
      this.server.close(() => resolve());
    });
  }
}

/** Creates the TCP transport (`tcp://host:port`). */
export function tcpTransport(opts: TransportOptions = {}): Transport {
  return {
    scheme: 'tcp',
    listen(host: string, port: number): Promise<Listener> {
      return new Promise((resolve, reject) => {
        const server = net.createServer({ noDelay: true, pauseOnConnect: false });
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve(new TcpListener(server, host, opts));
        });
      });
    },
    dial(address: string): Promise<Connection> {
      const a = parseAddress(address);
      if (a === undefined || a.scheme !== 'tcp') return Promise.reject(new Error(`not a tcp:// address: ${address}`));
      return new Promise((resolve, reject) => {
        const socket = net.connect({ host: a.host, port: a.port, noDelay: true });
        const timer = setTimeout(() => {
          socket.destroy();
          reject(new Error(`dial ${address} timed out`));
        }, opts.dialTimeoutMs ?? 5000);
        socket.once('error', (err) => {
          clearTimeout(timer);
          reject(err);
        });
        socket.once('connect', () => {
          clearTimeout(timer);
          socket.removeAllListeners('error');
          resolve(new TcpConnection(socket, 'outbound', opts));
        });
      });
    },
  };
}
