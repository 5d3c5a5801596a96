/**
 * A Peer: a handshaken connection with typed messages, keepalive and RTT,
 * misbehaviour scoring and per-peer rate limits.
 */
import { EventEmitter } from 'node:events';
import { randomInt } from 'node:crypto';
import { systemClock, type Clock } from './clock.ts';
import type { Handshaken } from './handshake.ts';
import { EncodedPayload, LIMITS, message, parseMessage, type HelloPayload, type Message, type MessageType, type PayloadOf } from './messages.ts';
import { TokenBucket } from './token-bucket.ts';
import { RawFrame, type Connection, type Incoming, type SendResult } from './transport.ts';

// A misbehaviour point is forgotten every this many ms (see Peer.decay).
const SCORE_DECAY_MS = 60_000;

/** Default misbehaviour points per offence; the threshold is 100. */
export const DEFAULT_PENALTIES = {
  'bad-json': 10,
  oversized: 20,
  binary: 10,
  'unknown-type': 5,
  schema: 10,
  flood: 2,
  protocol: 20,
} as const;
export type PenaltyReason = keyof typeof DEFAULT_PENALTIES;

/** Per-peer rate limits on received messages and bytes. */
export interface RateLimits {
  readonly messagesPerSec: number;
  readonly messageBurst: number;
  readonly bytesPerSec: number;
  /** Keep at least the frame limit, or a single large frame could never pass. */
  readonly byteBurst: number;
}

export const DEFAULT_RATE_LIMITS: RateLimits = {
  messagesPerSec: 1000,
  messageBurst: 2000,
  bytesPerSec: 8 * 1024 * 1024,
  byteBurst: 16 * 1024 * 1024,
};

/** Peer settings; every field has a default. */
export interface PeerOptions {
  readonly clock?: Clock;
  /** Keepalive PING interval (default 30 s); 0 disables keepalive. */
  readonly pingIntervalMs?: number;
  /** Keepalive PINGs left unanswered before the peer is dropped (default 2). */
  readonly maxMissedPongs?: number;
  /** Score at which the peer is disconnected with 'misbehaviour' (default 100). */
  readonly misbehaviourThreshold?: number;
  readonly penalties?: Partial<Record<PenaltyReason, number>>;
  readonly rateLimits?: RateLimits;
}

/** How a peer link ended. */
export interface PeerCloseInfo {
  /** A DISCONNECT reason code, or 'connection-closed' if the link dropped without one. */
  readonly reason: string;
  readonly message: string;
  /** Who ended it: we did, the peer sent DISCONNECT, or the transport dropped. */
  readonly by: 'local' | 'remote' | 'transport';
  /** Misbehaviour score at the end (the peer set bans on 'misbehaviour'). */
  readonly score: number;
}

/** A misbehaviour penalty as reported by the 'misbehaviour' event. */
export interface Penalty {
  readonly points: number;
  readonly reason: string;
  readonly detail: string;
  readonly score: number;
}

/** Events of a Peer: one per message type carrying its payload, plus lifecycle events. */
export type PeerEvents = { [T in MessageType]: [PayloadOf<T>] } & {
  message: [Message];
  rtt: [number];
  misbehaviour: [Penalty];
  close: [PeerCloseInfo];
};

const MAX_OUTSTANDING_PINGS = 16;

interface PendingPing {
  readonly sentAt: number;
  readonly waiters: ((rttMs: number) => void)[];
}

/**
 * A connected, handshaken peer. Construct it, attach listeners, then start():
 * start() resumes the connection the handshake left paused and begins keepalive.
 */
export class Peer extends EventEmitter<PeerEvents> {
  /** The peer's node id (its Ed25519 public key, hex). */
  readonly id: string;
  readonly hello: HelloPayload;
  readonly version: number;
  readonly conn: Connection;
  private readonly clock: Clock;
  private readonly threshold: number;
  private readonly penalties: Record<PenaltyReason, number>;
  private readonly msgBucket: TokenBucket;
  private readonly byteBucket: TokenBucket;
  private readonly pings = new Map<number, PendingPing>();
  private nextNonce = randomInt(0, 2 ** 47);
  // Set on each keepalive tick, cleared by any PONG; a send refused because the peer
  // stopped reading counts as a miss too, so a stalled peer is dropped either way.
  private awaitingPong = false;
  private missedPongs = 0;
  private cancelKeepalive = (): void => {};
  private closeInfo: Omit<PeerCloseInfo, 'score'> | undefined;
  private ended = false;
  private started = false;
  private _score = 0;
  private decayedAt: number;
  private _rtt: number | undefined;

  constructor(h: Handshaken, private readonly opts: PeerOptions = {}) {
    super();
    this.id = h.remote.nodeId;
    this.hello = h.remote;
    this.version = h.version;
    this.conn = h.conn;
    this.clock = opts.clock ?? systemClock;
    this.decayedAt = this.clock.now();
    this.threshold = opts.misbehaviourThreshold ?? 100;
    this.penalties = { ...DEFAULT_PENALTIES, ...opts.penalties };
    const r = opts.rateLimits ?? DEFAULT_RATE_LIMITS;
    this.msgBucket = new TokenBucket(r.messagesPerSec, r.messageBurst, this.clock);
    this.byteBucket = new TokenBucket(r.bytesPerSec, r.byteBurst, this.clock);
    // Listeners of 'error'-free events only; a Peer never emits 'error', so nothing can go unhandled.
    this.conn.on('message', (inc) => this.onIncoming(inc));
    this.conn.on('close', () => this.onClose());
  }

  /** Starts reading messages and the keepalive; returns this for chaining. */
  start(): this {
    if (this.started) return this;
    this.started = true;
    if (this.conn.closeInfo !== undefined) {
      queueMicrotask(() => this.onClose());
      return this;
    }
    this.conn.resume();
    this.scheduleKeepalive();
    return this;
  }

  /** Current misbehaviour score. */
  get score(): number {
    this.decay();
    return this._score;
  }

  /**
   * Forgets a point per minute. Some charges (a request that timed out, a
   * gap in an answer) can befall an honest peer now and then; without this
   * they would add up over a long-lived link until it is banned. Real
   * offences cost 20 to 100 points at once and still end the link.
   */
  private decay(): void {
    const minutes = Math.floor((this.clock.now() - this.decayedAt) / SCORE_DECAY_MS);
    if (minutes <= 0) return;
    this.decayedAt += minutes * SCORE_DECAY_MS;
    this._score = Math.max(0, this._score - minutes);
  }

  /** Last measured round-trip time in ms, if any. */
  get rtt(): number | undefined {
    return this._rtt;
  }

  get closed(): boolean {
    return this.ended || this.closeInfo !== undefined;
  }

  /** Sends one message; see SendResult for what a refusal means (nothing is queued beyond the high-water mark). */
  send<T extends MessageType>(type: T, payload: PayloadOf<T> | EncodedPayload<T>): SendResult {
    if (this.closeInfo !== undefined) return 'closed';
    return this.conn.send(payload instanceof EncodedPayload ? new RawFrame(payload.frame()) : message(type, payload));
  }

  /** Resolves when the link can take more messages (or closed). */
  drained(): Promise<void> {
    return this.conn.drained();
  }

  /** Sends a PING and resolves with the round-trip time; rejects if the link closes or timeoutMs passes. */
  ping(timeoutMs = 10_000): Promise<number> {
    return new Promise((resolve, reject) => {
      const nonce = this.sendPing();
      if (nonce === undefined) {
        reject(new Error('peer is closed or its send buffer is full'));
        return;
      }
      const cancel = this.clock.setTimer(() => {
        this.off('close', onClose);
        reject(new Error('ping timed out'));
      }, timeoutMs);
      const onClose = (): void => {
        cancel();
        reject(new Error('peer closed'));
      };
      this.once('close', onClose);
      this.pings.get(nonce)?.waiters.push((rtt) => {
        cancel();
        this.off('close', onClose);
        resolve(rtt);
      });
    });
  }

  /** Adds misbehaviour points; at the threshold the peer is disconnected with 'misbehaviour'. */
  penalize(points: number, reason: string, detail = ''): void {
    if (this.closed) return;
    this.decay();
    this._score += points;
    this.emit('misbehaviour', { points, reason, detail, score: this._score });
    if (this._score >= this.threshold) {
      this.disconnect('misbehaviour', `score ${this._score} reached ${this.threshold} (last: ${reason}${detail === '' ? '' : ': ' + detail})`);
    }
  }

  /** Sends DISCONNECT with a reason code and closes the link. */
  disconnect(reason: string, msg = ''): void {
    if (this.closed) return;
    this.closeInfo = { reason, message: msg, by: 'local' };
    this.conn.send(message('DISCONNECT', { reason, message: msg.slice(0, LIMITS.reasonMessage) }));
    this.conn.close(reason);
  }

  private onIncoming(inc: Incoming): void {
    if (this.closed) return;
    // Rate limits first, so a flood costs points before it costs parsing.
    if (!this.msgBucket.take(1) || !this.byteBucket.take(inc.bytes)) {
      this.penalize(this.penalties.flood, 'flood', 'rate limit exceeded');
      return;
    }
    if (!inc.ok) {
      this.penalize(this.penalties[inc.error.kind], inc.error.kind, inc.error.message);
      return;
    }
    const parsed = parseMessage(inc.value);
    if (!parsed.ok) {
      this.penalize(this.penalties[parsed.kind], parsed.kind, parsed.error);
      return;
    }
    this.dispatch(parsed.message);
  }

  private dispatch(m: Message): void {
    switch (m.type) {
      case 'PING':
        this.conn.send(message('PONG', { nonce: m.payload.nonce }));
        break;
      case 'PONG':
        this.onPong(m.payload.nonce);
        break;
      case 'DISCONNECT':
        this.closeInfo = { reason: m.payload.reason, message: m.payload.message, by: 'remote' };
        this.conn.close(m.payload.reason);
        return;
      case 'HELLO':
      case 'HELLO_ACK':
        this.penalize(this.penalties.protocol, 'protocol', `${m.type} after the handshake`);
        return;
      default:
        break;
    }
    this.emit('message', m);
    // The union of per-type events cannot be narrowed through one call, hence the widening.
    (this.emit as (e: string, p: unknown) => boolean)(m.type, m.payload);
  }

  private sendPing(): number | undefined {
    const nonce = this.nextNonce++;
    if (this.send('PING', { nonce }) !== 'ok') return undefined;
    if (this.pings.size >= MAX_OUTSTANDING_PINGS) {
      const oldest = this.pings.keys().next().value;
      if (oldest !== undefined) this.pings.delete(oldest);
    }
    this.pings.set(nonce, { sentAt: this.clock.now(), waiters: [] });
    return nonce;
  }

  private onPong(nonce: number): void {
    const p = this.pings.get(nonce);
    // An unsolicited or late PONG is harmless; it is just ignored.
    if (p === undefined) return;
    this.pings.delete(nonce);
    const rtt = this.clock.now() - p.sentAt;
    this._rtt = rtt;
    this.awaitingPong = false;
    this.missedPongs = 0;
    for (const w of p.waiters) w(rtt);
    this.emit('rtt', rtt);
  }

  private scheduleKeepalive(): void {
    const interval = this.opts.pingIntervalMs ?? 30_000;
    if (interval <= 0) return;
    this.cancelKeepalive = this.clock.setTimer(() => {
      if (this.closed) return;
      if (this.awaitingPong) {
        this.missedPongs++;
        if (this.missedPongs >= (this.opts.maxMissedPongs ?? 2)) {
          this.disconnect('ping-timeout', `${this.missedPongs} keepalive pings unanswered`);
          return;
        }
      }
      this.awaitingPong = true;
      this.sendPing();
      this.scheduleKeepalive();
    }, interval);
  }

  private onClose(): void {
    if (this.ended) return;
    this.ended = true;
    this.cancelKeepalive();
    this.pings.clear();
    const info = this.closeInfo ?? { reason: 'connection-closed', message: this.conn.closeInfo?.reason ?? 'the link dropped', by: 'transport' as const };
    this.emit('close', { ...info, score: this._score });
  }
}
