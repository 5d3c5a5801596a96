/**
 * In-process transport for tests and simulation: pairs of connections with
 * the same framing semantics as the socket transports and an optional
 * per-link delay. Addresses are ordinary ws:// and tcp:// strings, so code
 * above the transport (peer exchange, address books) runs unchanged.
 */
import { EventEmitter } from 'node:events';
import { formatAddress, formatHostPort, isTlsScheme, parseAddress, type Scheme } from './address.ts';
import {
  BaseConnection,
  decodeFrame,
  type Connection,
  type Listener,
  type ListenerEvents,
  type Transport,
  type TransportOptions,
} from './transport.ts';

/** A shared registry of in-memory listeners: one simulated network. */
export class MemoryNetwork {
  /** Listeners by canonical address. */
  readonly listeners = new Map<string, MemoryListener>();
  private nextPort = 40000;

  /** A fresh port number for a listener on port 0 or a dialer's side of a link. */
  allocatePort(): number {
    return this.nextPort++;
  }
}

/** Options of the memory transport. */
export interface MemoryTransportOptions extends TransportOptions {
  /** One-way delay of every message on links this transport dials (default: next macrotask). */
  readonly delayMs?: number;
  /** The host dialled links appear to come from (default 127.0.0.1). */
  readonly host?: string;
  /**
   * For wss/tls schemes, the certificate key this end presents: the other end
   * sees it as Connection.peerCertKey, as a real TLS link would show it.
   */
  readonly certKey?: string;
}

type Frame = { readonly text: string; readonly bytes: number; readonly at: number } | { readonly close: true; readonly reason: string; readonly code: number | undefined; readonly at: number };

/** One end of an in-memory link. */
class MemoryConnection extends BaseConnection {
  other!: MemoryConnection;
  peerCertKey: string | undefined;
  private readonly queue: Frame[] = [];
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private stalled = false;
  private graceTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly scheme: Scheme,
    direction: 'inbound' | 'outbound',
    remoteAddress: string,
    private readonly delayMs: number,
    opts: TransportOptions,
  ) {
    super(direction, remoteAddress, opts);
  }

  get bufferedBytes(): number {
    return this.inFlight;
  }

  protected write(text: string): void {
    const bytes = Buffer.byteLength(text);
    this.inFlight += bytes;
    this.other.enqueue({ text, bytes, at: Date.now() + this.delayMs });
  }

  protected closeSocket(reason: string, code: number | undefined): void {
    this.other.enqueue({ close: true, reason, code, at: Date.now() + this.delayMs });
    this.graceTimer = setTimeout(() => this.destroy(reason), this.closeGraceMs);
    this.graceTimer.unref();
  }

  protected pauseSocket(): void {
    this.stalled = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  protected resumeSocket(): void {
    this.stalled = false;
    this.schedule();
  }

  /** Ends both sides at once, as a reset would. */
  destroy(reason: string): void {
    for (const c of [this, this.other]) {
      if (c.graceTimer !== undefined) clearTimeout(c.graceTimer);
      if (c.timer !== undefined) clearTimeout(c.timer);
      c.queue.length = 0;
      c.finishNow(reason, undefined);
    }
  }

  private finishNow(reason: string, code: number | undefined): void {
    this.finish(code === undefined ? { reason } : { reason, code });
  }

  private enqueue(f: Frame): void {
    this.queue.push(f);
    this.schedule();
  }

  private schedule(): void {
    if (this.stalled || this.timer !== undefined || this.queue.length === 0) return;
    const wait = Math.max(0, (this.queue[0] as Frame).at - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.pump();
    }, wait);
  }

  // Delivers every due frame in order; the sender's in-flight count falls as frames are consumed.
  private pump(): void {
    const now = Date.now();
    while (!this.stalled && this.queue.length > 0 && (this.queue[0] as Frame).at <= now) {
      const f = this.queue.shift() as Frame;
      if ('close' in f) {
        if (this.graceTimer !== undefined) clearTimeout(this.graceTimer);
        if (this.other.graceTimer !== undefined) clearTimeout(this.other.graceTimer);
        this.finishNow(f.reason, f.code);
        this.other.finishNow(f.reason, f.code);
        this.queue.length = 0;
        return;
      }
      this.other.inFlight -= f.bytes;
      this.other.checkDrain();
      if (f.bytes > this.maxFrameBytes) {
        this.deliver({ ok: false, error: { kind: 'oversized', message: `frame exceeds ${this.maxFrameBytes} bytes` }, bytes: f.bytes });
      } else {
        this.deliver(decodeFrame(f.text, f.bytes));
      }
    }
    this.schedule();
  }
}

/** A listener registered on a MemoryNetwork. */
export class MemoryListener extends EventEmitter<ListenerEvents> implements Listener {
  readonly address: string;
  private readonly conns = new Set<Connection>();

  constructor(
    private readonly network: MemoryNetwork,
    readonly scheme: Scheme,
    readonly host: string,
    readonly port: number,
    /** Options for the accepting side of each link (its frame limit, high-water mark, certificate key). */
    readonly opts: MemoryTransportOptions,
  ) {
    super();
    this.address = formatAddress({ scheme, host, port });
    this.on('error', () => {});
  }

  /** Hands an accepted connection to the listener's owner. */
  accept(conn: Connection): void {
    this.conns.add(conn);
    conn.on('close', () => this.conns.delete(conn));
    this.emit('connection', conn);
  }

  close(): Promise<void> {
    this.network.listeners.delete(this.address);
    for (const c of this.conns) c.close('listener closed');
    return Promise.resolve();
  }
}

/** Creates an in-memory transport for one scheme on a shared MemoryNetwork. */
export function memoryTransport(network: MemoryNetwork, scheme: Scheme, opts: MemoryTransportOptions = {}): Transport {
  const delayMs = opts.delayMs ?? 0;
  return {
    scheme,
    listen(host: string, port: number): Promise<Listener> {
      const p = port === 0 ? network.allocatePort() : port;
      const addr = formatAddress({ scheme, host, port: p });
      if (network.listeners.has(addr)) return Promise.reject(new Error(`address in use: ${addr}`));
      const l = new MemoryListener(network, scheme, host, p, opts);
      network.listeners.set(addr, l);
      return Promise.resolve(l);
    },
    dial(address: string): Promise<Connection> {
      const a = parseAddress(address);
      if (a === undefined || a.scheme !== scheme) return Promise.reject(new Error(`not a ${scheme}:// address: ${address}`));
      return new Promise((resolve, reject) => {
        setTimeout(() => {
          const l = network.listeners.get(formatAddress(a));
          if (l === undefined) {
            reject(new Error(`connection refused: ${address}`));
            return;
          }
          const local = formatHostPort(opts.host ?? '127.0.0.1', network.allocatePort());
          const out = new MemoryConnection(scheme, 'outbound', formatHostPort(a.host, a.port), delayMs, opts);
          const inb = new MemoryConnection(scheme, 'inbound', local, delayMs, l.opts);
          out.other = inb;
          inb.other = out;
          if (isTlsScheme(scheme)) {
            out.peerCertKey = l.opts.certKey;
            inb.peerCertKey = opts.certKey;
          }
          l.accept(inb);
          resolve(out);
        }, delayMs);
      });
    },
  };
}
