/**
 * The transport contract: how bytes become JSON messages and back, whatever
 * carries them (WebSocket, TCP, or in-process pairs for tests and simulation).
 */
import { EventEmitter } from 'node:events';
import type { Server, Socket } from 'node:net';
import type { Scheme } from './address.ts';

/** Default largest frame (WebSocket message or TCP line) accepted or sent: 4 MiB. */
export const DEFAULT_MAX_FRAME_BYTES = 4 * 1024 * 1024;
/** Default buffered bytes above which send() refuses new messages: 1 MiB. */
export const DEFAULT_HIGH_WATER_MARK = 1024 * 1024;
/** Default time a graceful close may take before the socket is destroyed. */
export const DEFAULT_CLOSE_GRACE_MS = 1000;

/** Options shared by every transport. */
export interface TransportOptions {
  /** Largest frame in bytes, in both directions (default 4 MiB). */
  readonly maxFrameBytes?: number;
  /** send() returns 'full' while more than this many bytes wait to be written (default 1 MiB). */
  readonly highWaterMark?: number;
  /** How long a graceful close may take before the socket is destroyed (default 1 s). */
  readonly closeGraceMs?: number;
  /** How long dial() waits for the connection (default 5 s). */
  readonly dialTimeoutMs?: number;
}

/** Why a frame could not become a JSON value. */
export type FramingErrorKind = 'oversized' | 'bad-json' | 'binary';

/** A frame that could not become a JSON value; the peer layer turns these into penalties. */
export interface FramingError {
  readonly kind: FramingErrorKind;
  readonly message: string;
}

/** One received frame: a parsed JSON value (not yet schema-checked) or a framing error. */
export type Incoming =
  | { readonly ok: true; readonly value: unknown; readonly bytes: number }
  | { readonly ok: false; readonly error: FramingError; readonly bytes: number };

/**
 * Result of Connection.send:
 * - 'ok': written (or queued within the high-water mark);
 * - 'full': NOT written, the buffer is above the high-water mark; wait for drained() or drop;
 * - 'too-large': NOT written, the encoded message exceeds the frame limit (or is not JSON-encodable);
 * - 'closed': NOT written, the connection is closing or closed.
 */
export type SendResult = 'ok' | 'full' | 'too-large' | 'closed';

/** How a connection ended. `code` is the WebSocket close code where there is one. */
export interface CloseInfo {
  readonly reason: string;
  readonly code?: number;
  /** True if this side called close(). */
  readonly local: boolean;
}

/** Events of a Connection. */
export interface ConnectionEvents {
  message: [Incoming];
  close: [CloseInfo];
  error: [Error];
  drain: [];
}

/** Messages and bytes through one connection (framing errors count as messages in). */
export interface TrafficCounters {
  messagesIn: number;
  bytesIn: number;
  messagesOut: number;
  bytesOut: number;
}

/** A bidirectional message link to one remote endpoint. */
export interface Connection {
  readonly scheme: Scheme;
  /**
   * On a TLS link (wss, tls): the Ed25519 key of the certificate the peer
   * presented, if it was a valid self-signed node certificate. Undefined on
   * plaintext links and when the peer showed no usable certificate.
   */
  readonly peerCertKey?: string;
  readonly direction: 'inbound' | 'outbound';
  /** The remote endpoint as `host:port` (for inbound links, the peer's ephemeral port). */
  readonly remoteAddress: string;
  readonly maxFrameBytes: number;
  /** Bytes accepted by send() but not yet handed to the OS. */
  readonly bufferedBytes: number;
  /** True from the moment close() is called or the link drops. */
  readonly closed: boolean;
  /** How the link ended, once 'close' has been emitted. */
  readonly closeInfo: CloseInfo | undefined;
  /** Running totals of this link's traffic (for metrics). */
  readonly traffic: Readonly<TrafficCounters>;
  /** Sends one JSON value as one frame; never queues beyond the high-water mark (see SendResult). */
  send(value: unknown): SendResult;
  /** Resolves once bufferedBytes is at or below the high-water mark, or the link closed. */
  drained(): Promise<void>;
  /** Closes gracefully after flushing what is queued; destroys the socket after the grace period. */
  close(reason?: string, code?: number): void;
  /** Stops delivering messages (and reading from the socket) until resume(). */
  pause(): void;
  resume(): void;
  on<K extends keyof ConnectionEvents>(event: K, listener: (...args: ConnectionEvents[K]) => void): this;
  off<K extends keyof ConnectionEvents>(event: K, listener: (...args: ConnectionEvents[K]) => void): this;
  once<K extends keyof ConnectionEvents>(event: K, listener: (...args: ConnectionEvents[K]) => void): this;
}

/** An inbound socket that never became a Connection (a failed TLS handshake, e.g. a plaintext client). */
export interface RejectedInbound {
  readonly remoteAddress: string;
  readonly reason: string;
}

/** Events of a Listener. */
export interface ListenerEvents {
  connection: [Connection];
  rejected: [RejectedInbound];
  error: [Error];
}

/** A bound server socket accepting connections. */
export interface Listener {
  /** The bound address, e.g. `ws://127.0.0.1:41234` (the real port when listening on port 0). */
  readonly address: string;
  readonly host: string;
  readonly port: number;
  /** Stops accepting and closes every connection accepted through this listener. */
  close(): Promise<void>;
  on<K extends keyof ListenerEvents>(event: K, listener: (...args: ListenerEvents[K]) => void): this;
  off<K extends keyof ListenerEvents>(event: K, listener: (...args: ListenerEvents[K]) => void): this;
  once<K extends keyof ListenerEvents>(event: K, listener: (...args: ListenerEvents[K]) => void): this;
}

/** A way to listen and dial for one address scheme. */
export interface Transport {
  readonly scheme: Scheme;
  /** Binds host:port (port 0 picks a free one). */
  listen(host: string, port: number): Promise<Listener>;
  /** Connects to an address of this transport's scheme. */
  dial(address: string): Promise<Connection>;
}

/** Parses one frame's text as JSON without ever throwing. */
export function decodeFrame(text: string, bytes: number): Incoming {
  try {
    return { ok: true, value: JSON.parse(text) as unknown, bytes };
  } catch {
    return { ok: false, error: { kind: 'bad-json', message: 'frame is not valid JSON' }, bytes };
  }
}

/** A frame whose JSON text is already built; Connection.send writes it unchanged. */
export class RawFrame {
  constructor(readonly text: string) {}
}

/** JSON text of a value to send, or undefined if it cannot be encoded (cycle, BigInt...). */
export function encodeFrame(value: unknown): string | undefined {
  try {
    const s = JSON.stringify(value);
    return typeof s === 'string' ? s : undefined;
  } catch {
    return undefined;
  }
}

// Frames at least this long are remembered for the rest of the tick: a
// broadcast hands the same payload object to every peer's connection, and a
// proposal or block is worth encoding once, not once per peer.
const SHARED_ENCODING_MIN = 16 * 1024;
let shared: { type: unknown; payload: object; text: string } | undefined;

/**
 * encodeFrame for a `{type, payload}` message, reusing the text of the same
 * payload object sent earlier in this tick. A payload handed to send() is not
 * changed before the sends of the same synchronous run are done.
 */
function encodeMessage(value: unknown): string | undefined {
  if (value instanceof RawFrame) return value.text;
  const env = typeof value === 'object' && value !== null ? (value as { type?: unknown; payload?: unknown }) : undefined;
  const payload = env?.payload;
  if (shared !== undefined && typeof payload === 'object' && payload !== null && shared.payload === payload && shared.type === env!.type) return shared.text;
  const text = encodeFrame(value);
  if (text !== undefined && text.length >= SHARED_ENCODING_MIN && typeof payload === 'object' && payload !== null) {
    if (shared === undefined) queueMicrotask(() => (shared = undefined));
    shared = { type: env!.type, payload, text };
  }
  return text;
}

/**
 * Gathers the frames one tick writes to a socket into one write: the socket
 * is corked at the first frame and uncorked once the current synchronous run
 * is over (a microtask, so nothing waits for the next turn of the event
 * loop). A burst of small messages (an answer of many transactions, INVs to
 * every peer, a flood in a benchmark) then costs one system call, not one per
 * message. Buffered bytes still count while corked, so backpressure holds.
 */
export class WriteBatcher {
  private corked = false;
  private readonly release = (): void => {
    this.corked = false;
    this.socket.uncork();
  };

  constructor(private readonly socket: Pick<Socket, 'cork' | 'uncork'>) {}

  /** Call before each write. */
  batch(): void {
    if (this.corked) return;
    this.corked = true;
    this.socket.cork();
    queueMicrotask(this.release);
  }
}

/**
 * Shared state of every Connection implementation: events, pause buffering,
 * drain waiters, close bookkeeping. Subclasses do the socket work.
 */
export abstract class BaseConnection extends EventEmitter<ConnectionEvents> implements Connection {
  abstract readonly scheme: Scheme;
  abstract readonly bufferedBytes: number;
  readonly maxFrameBytes: number;
  readonly traffic: TrafficCounters = { messagesIn: 0, bytesIn: 0, messagesOut: 0, bytesOut: 0 };
  protected readonly highWaterMark: number;
  protected readonly closeGraceMs: number;
  private finished: CloseInfo | undefined;
  private closing = false;
  private wasFull = false;
  private drainWaiters: (() => void)[] = [];
  private paused = false;
  private autoPaused = false;
  // Frames decoded from a chunk that arrived before pause() took effect on the socket.
  private held: Incoming[] = [];

  constructor(
    readonly direction: 'inbound' | 'outbound',
    readonly remoteAddress: string,
    opts: TransportOptions,
  ) {
    super();
    this.maxFrameBytes = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.highWaterMark = opts.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
    this.closeGraceMs = opts.closeGraceMs ?? DEFAULT_CLOSE_GRACE_MS;
    // An unhandled 'error' event would crash the process; errors also end in 'close'.
    this.on('error', () => {});
    // A frame can arrive before the owner attached its listener (ws delivers data in the
    // same tick as 'open'); it is held until the first 'message' listener appears.
    (this as EventEmitter).on('newListener', (event: string | symbol) => {
      if (event !== 'message' || !this.autoPaused) return;
      queueMicrotask(() => {
        if (!this.autoPaused) return;
        this.autoPaused = false;
        this.resume();
      });
    });
  }

  get closed(): boolean {
    return this.closing || this.finished !== undefined;
  }

  get closeInfo(): CloseInfo | undefined {
    return this.finished;
  }

  send(value: unknown): SendResult {
    if (this.closed) return 'closed';
    if (this.bufferedBytes > this.highWaterMark) {
      this.wasFull = true;
      return 'full';
    }
    const text = encodeMessage(value);
    if (text === undefined) return 'too-large';
    // A UTF-8 byte count is at most 3x the UTF-16 length; skip the exact count when clearly small.
    const bytes = text.length * 3 <= this.maxFrameBytes ? text.length : Buffer.byteLength(text);
    if (bytes > this.maxFrameBytes) return 'too-large';
    this.traffic.messagesOut++;
    // UTF-16 length for small frames: exact for ASCII JSON, an undercount only for non-ASCII text.
    this.traffic.bytesOut += bytes;
    this.write(text);
    return 'ok';
  }

  drained(): Promise<void> {
    if (this.closed || this.bufferedBytes <= this.highWaterMark) return Promise.resolve();
    this.wasFull = true;
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  close(reason = 'closed', code?: number): void {
    if (this.closed) return;
    this.closing = true;
    this.closeSocket(reason, code);
  }

  pause(): void {
    if (this.paused || this.finished !== undefined) return;
    this.paused = true;
    this.pauseSocket();
  }

  resume(): void {
    this.autoPaused = false;
    if (!this.paused) return;
    this.paused = false;
    const held = this.held;
    this.held = [];
    for (let i = 0; i < held.length; i++) {
      // A listener may pause again mid-replay; the rest waits for the next resume().
      if (this.paused) {
        this.held = held.slice(i).concat(this.held);
        return;
      }
      this.emit('message', held[i] as Incoming);
    }
    if (!this.paused && this.finished === undefined) this.resumeSocket();
  }

  /** Subclasses hand every decoded frame here; holds it while paused. */
  protected deliver(m: Incoming): void {
    if (this.finished !== undefined) return;
    this.traffic.messagesIn++;
    this.traffic.bytesIn += m.bytes;
    if (!this.paused && this.listenerCount('message') === 0) {
      this.autoPaused = true;
      this.pause();
    }
    if (this.paused) this.held.push(m);
    else this.emit('message', m);
  }

  protected abstract pauseSocket(): void;
  protected abstract resumeSocket(): void;
  /** Writes one encoded message as one frame. */
  protected abstract write(text: string): void;
  /** Starts a graceful close of the socket; must end in finish(). */
  protected abstract closeSocket(reason: string, code: number | undefined): void;

  /** Subclasses call this when buffered bytes may have fallen. */
  protected checkDrain(): void {
    if ((!this.wasFull && this.drainWaiters.length === 0) || this.bufferedBytes > this.highWaterMark) return;
    this.wasFull = false;
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
    this.emit('drain');
  }

  /** Subclasses call this once the socket is gone; emits 'close' exactly once. */
  protected finish(info: Omit<CloseInfo, 'local'>): void {
    if (this.finished !== undefined) return;
    this.finished = { ...info, local: this.closing };
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
    this.emit('close', this.finished);
  }
}

/**
 * The raw sockets of a server, so that close() can end the ones that never
 * became a Connection (a TLS or HTTP handshake left hanging): server.close()
 * would otherwise wait for them indefinitely.
 */
export class ServerSockets {
  private readonly sockets = new Set<Socket>();

  constructor(private readonly server: Server) {
    server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
  }

  /** Stops accepting; resolves when every socket is gone, destroying stragglers after graceMs. */
  close(graceMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        for (const s of this.sockets) s.destroy();
      }, graceMs);
      timer.unref();
      this.server.close(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
