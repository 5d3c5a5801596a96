/**
 * P2PNetwork: the surface the node layer uses. It owns the listeners (plain,
 * or TLS-only for private and consortium links), the handshake settings, the peer set (limits, duplicate tie-break, bans,
 * reconnects) and discovery (static peers, peer exchange, LAN beacons, the
 * bootstrap role), and turns peer messages into typed events. It also asks
 * each peer which nodes it is linked to (GET_PEERS), for display only.
 */
import { EventEmitter } from 'node:events';
import { isIP } from 'node:net';
import type { NetworkKind } from '../core/index.ts';
import type { KeyPair } from '../crypto/index.ts';
import { counterpartScheme, isTlsScheme, parseAddress, type Scheme } from './address.ts';
import { AddressBook, canonical, shuffle, type AddressBookOptions, type AddressSource } from './address-book.ts';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.ts';
import { BanList, type Ban } from './ban-list.ts';
import { systemClock, type Clock } from './clock.ts';
import { TokenBucket } from './token-bucket.ts';
import { MemberDirectory } from './directory.ts';
import { handshake, HandshakeError, type HandshakeConfig, type Handshaken } from './handshake.ts';
import { LanDiscovery, type LanDiscoveryOptions } from './lan-discovery.ts';
import { silentLogger, type P2PLogger } from './logger.ts';
import { LIMITS, message, payloadSchemas, type EncodedPayload, type MessageType, type PayloadOf, type Message } from './messages.ts';
import { Peer, type PeerCloseInfo, type PeerOptions } from './peer.ts';
import type { Persistence } from './persistence.ts';
import { tcpTransport, tlsTransport } from './tcp-transport.ts';
import { checkTlsIdentity, nodeTlsIdentity, type TlsIdentity } from './tls.ts';
import type { Connection, Listener, SendResult, Transport, TransportOptions, TrafficCounters } from './transport.ts';
import { wssTransport, wsTransport } from './ws-transport.ts';

/** Most addresses in one ADDR answer. */
export const MAX_ADDR_SHARE = 250;

/** How often a peer is asked for the nodes it is linked to, by default (GET_PEERS). */
export const PEER_LIST_INTERVAL_MS = 30_000;

/** The chain tip this node reports in HELLO. */
export interface ChainHead {
  readonly height: number;
  readonly tip: string;
}

/** Settings of a P2PNetwork; only identity and chain fields are required. */
export interface P2PNetworkOptions {
  readonly keys: KeyPair;
  readonly network: NetworkKind;
  readonly chainId: string;
  readonly genesisHash: string;
  /** Current best height and tip, asked at each handshake. */
  readonly head: () => ChainHead;
  /**
   * Membership of permissioned networks; absent means anyone may join. Gets the
   * peer's node id and the opaque `memberCert` from its HELLO (undefined if absent).
   */
  readonly isMember?: (nodeId: string, memberCert: unknown) => boolean;
  /** The membership credential this node sends in HELLO, a JSON object (e.g. an organisation's MemberCert); absent: none. */
  readonly memberCert?: object;
  /**
   * TLS links (wss://, tls://) presenting this node's certificate: true derives a
   * self-signed one from `keys`, or give the PEM key and certificate (of that key).
   * Unless `insecure` is set, the node then listens and dials with TLS only.
   */
  readonly tls?: boolean | TlsIdentity;
  /**
   * The `--insecure` flag: plaintext ws:// and tcp:// links are allowed and the
   * listeners are plaintext, as without `tls` (TLS peers can still be dialed if `tls` is set).
   */
  readonly insecure?: boolean;
  /** Interface to listen on (default 127.0.0.1). */
  readonly host?: string;
  /** WebSocket port (0 picks a free one); absent means no ws listener. wss when the node is TLS-only. */
  readonly wsPort?: number;
  /** TCP port (0 picks a free one); absent means no tcp listener. tls when the node is TLS-only. */
  readonly tcpPort?: number;
  /** Addresses announced in HELLO and beacons instead of the bound ones (for NAT or 0.0.0.0 binds). */
  readonly announce?: readonly string[];
  /** Static peers (`--peer`): always reconnected, with backoff. */
  readonly peers?: readonly string[];
  readonly maxInbound?: number;
  readonly maxOutbound?: number;
  /** Outbound links kept by dialing known addresses (default: maxOutbound). */
  readonly targetOutbound?: number;
  /** Inbound handshakes in progress at once (default 16). */
  readonly maxPendingInbound?: number;
  /** Serve the member directory to GET_ADDR and introduce new members (hybrid networks). */
  readonly bootstrap?: boolean;
  /** How long a misbehaving peer stays banned (default 1 h). */
  readonly banDurationMs?: number;
  /** Ban loopback hosts too (default false: local testnets run many nodes on one loopback host). */
  readonly banLoopback?: boolean;
  readonly banPersistence?: Persistence;
  readonly bookPersistence?: Persistence;
  readonly book?: AddressBookOptions;
  /** Reconnect backoff of static peers and known addresses (default 1 s doubling to 60 s, 50-100% jitter). */
  readonly backoff?: BackoffOptions;
  /** How often the peer set is topped up (default 1 s). */
  readonly maintenanceIntervalMs?: number;
  /** Least time between two GET_ADDR answers to one peer, and between two we send it (default 30 s). */
  readonly getAddrIntervalMs?: number;
  /**
   * How often each peer is asked which nodes it is linked to (GET_PEERS, default
   * 30 s); a peer's asks are answered at most once per third of this.
   */
  readonly peerListIntervalMs?: number;
  /** LAN discovery over UDP multicast: off unless given (true for the defaults). */
  readonly lan?: boolean | LanDiscoveryOptions;
  readonly peer?: PeerOptions;
  readonly handshakeTimeoutMs?: number;
  readonly agent?: string;
  readonly transports?: Partial<Record<Scheme, Transport>>;
  readonly transportOptions?: TransportOptions;
  readonly clock?: Clock;
  /** Wall-clock time for bans and the address book (default Date.now). */
  readonly wallNow?: () => number;
  readonly random?: () => number;
  readonly log?: P2PLogger;
  /**
   * Testnet fault control: links pass through the latency emulation so that
   * setFaults can slow them. Off (the default), links carry no such layer and
   * setFaults can only cut links.
   */
  readonly faultControl?: boolean;
}

/** One connected peer as the layers above see it. */
export interface PeerSummary {
  readonly id: string;
  /** For outbound links the dialed address; for inbound ones the remote endpoint. */
  readonly address: string;
  readonly direction: 'inbound' | 'outbound';
  readonly transport: Scheme;
  readonly rttMs: number | undefined;
  readonly score: number;
  /** Height the peer reported in its HELLO. */
  readonly height: number;
  readonly listen: readonly string[];
  /** Wall-clock ms since the epoch. */
  readonly connectedAt: number;
}

/** One node a peer says it is linked to, with the round trip it measured. */
export interface ReportedPeer {
  readonly id: string;
  readonly rttMs?: number;
}

/**
 * What a connected peer last said about its own links (PEERS). Nothing checks
 * it and nothing but display may use it: a peer can claim any links it likes.
 */
export interface PeerLinks {
  /** The reporting peer's node id. */
  readonly id: string;
  /** Wall-clock ms when the report arrived. */
  readonly at: number;
  /** The nodes it is linked to, other than this node (at most LIMITS.peers). */
  readonly peers: readonly ReportedPeer[];
}

/** A peer that went away, and why. */
export interface PeerDisconnected extends PeerCloseInfo {
  readonly id: string;
  readonly address: string;
  readonly direction: 'inbound' | 'outbound';
}

/** Result of connect(). */
export type ConnectResult =
  | { readonly ok: true; readonly status: 'connected' | 'known'; readonly peerId?: string }
  | { readonly ok: false; readonly code: string; readonly message: string };

/** Counters for metrics. */
export interface NetworkStats extends TrafficCounters {
  readonly peers: number;
  readonly inbound: number;
  readonly outbound: number;
  readonly bans: number;
  readonly knownAddresses: number;
  readonly messagesInByType: Readonly<Record<string, number>>;
}

/** Test-network faults this node emulates (set through setFaults, e.g. by `peerchain testnet`). */
export interface NetworkFaults {
  /** Node ids whose links are cut and whose handshakes are refused with 'partitioned'. */
  readonly block: readonly string[];
  /** Every message this node sends on an established link waits this long first (emulated latency). */
  readonly delayMs: number;
}

/** Longest emulated latency setFaults accepts: well under the keepalive's 30 s, so a slowed link stays up. */
export const MAX_FAULT_DELAY_MS = 10_000;

// Messages waiting out an emulated delay on one link; past this, send() answers 'full' as a real buffer would.
const MAX_DELAYED_MESSAGES = 10_000;

/** Events: one per message type carrying (payload, peerId), plus peer lifecycle. */
export type NetworkEvents = { [T in MessageType]: [PayloadOf<T>, string] } & {
  'peer:connected': [PeerSummary];
  'peer:disconnected': [PeerDisconnected];
  'peer:banned': [{ readonly nodeId: string; readonly host: string | undefined; readonly reason: string }];
};

interface Link {
  readonly peer: Peer;
  readonly direction: 'inbound' | 'outbound';
  readonly address: string;
  readonly dialed: string | undefined;
  readonly host: string;
  /** The addresses the peer announced in HELLO: unverified hints, never proof that an address is its. */
  readonly listen: readonly string[];
  readonly connectedAt: number;
  lastAddrAnswer: number;
  lastAddrAsk: number;
  lastPeersAnswer: number;
  lastPeersAsk: number;
  /** A GET_PEERS went out on this link; peersAnswered says whether one was ever answered. */
  peersAsked: boolean;
  peersAnswered: boolean;
  /** True while a GET_PEERS we sent waits for its PEERS: only an answer counts. */
  awaitingPeers: boolean;
  peerList: { readonly peers: readonly ReportedPeer[]; readonly at: number } | undefined;
  /** How many addresses this peer's ADDR may still put in the book (see ADDR_RATE_PER_SEC). */
  readonly addrTokens: TokenBucket;
}

// Addresses taken from one peer's ADDR, as Bitcoin Core does: one every 10 s unasked, a whole ADDR's worth once we
// send GET_ADDR. Every fresh address costs a book entry (and evicts one when the book is full); past the budget the
// rest of an ADDR is dropped unread, so a peer cannot churn the book or hold up the event loop with them.
const ADDR_RATE_PER_SEC = 0.1;
const ADDR_BURST = LIMITS.addrs;

// Handshake failures that show a broken or hostile endpoint (not an honest mismatch).
const HOSTILE_HANDSHAKE = new Set(['protocol-error', 'bad-signature', 'cert-mismatch']);
// This many hostile handshakes from one host earn it a ban (a socket that never says HELLO counts as one).
const HOST_STRIKES = 5;
const MAX_STRIKE_HOSTS = 4096;
// Once the pending-handshake table is full, a host holding more than this many of its slots gives up its oldest to a
// host holding fewer. Only then: a local testnet dials from one loopback host, many nodes at once.
const PENDING_PER_HOST = 4;
// A dialer sends HELLO as soon as the link is up; a socket silent this long while the table is full yields its slot.
const SILENT_GRACE_MS = 1000;

interface PendingInbound {
  readonly host: string;
  readonly since: number;
}

/** The P2P network of one node. */
export class P2PNetwork extends EventEmitter<NetworkEvents> {
  /** This node's id (its public key). */
  readonly nodeId: string;
  /** True when plaintext links are refused: `tls` is set and `insecure` is not. */
  readonly tlsOnly: boolean;
  readonly book: AddressBook;
  readonly bans: BanList;
  private readonly o: P2PNetworkOptions;
  private readonly clock: Clock;
  private readonly wallNow: () => number;
  private readonly random: () => number;
  private readonly log: P2PLogger;
  private readonly transports: Partial<Record<Scheme, Transport>>;
  private readonly links = new Map<string, Link>();
  /** Inbound handshakes in progress, oldest first. */
  private readonly pending = new Map<Connection, PendingInbound>();
  private readonly dialing = new Map<string, Promise<ConnectResult>>();
  private readonly own = new Set<string>();
  private readonly statics = new Set<string>();
  private readonly strikes = new Map<string, number>();
  private readonly directory = new MemberDirectory();
  private readonly closedTraffic: TrafficCounters = { messagesIn: 0, bytesIn: 0, messagesOut: 0, bytesOut: 0 };
  private readonly inByType: Record<string, number> = {};
  private servers: Listener[] = [];
  private announced: string[] = [];
  private lan: LanDiscovery | undefined;
  private cancelTick = (): void => {};
  private tickSoon = false;
  private state: 'new' | 'running' | 'stopped' = 'new';
  private readonly blocked = new Set<string>();
  private delayMs = 0;

  constructor(opts: P2PNetworkOptions) {
    super();
    this.o = opts;
    this.nodeId = opts.keys.publicKey;
    this.clock = opts.clock ?? systemClock;
    this.wallNow = opts.wallNow ?? Date.now;
    this.random = opts.random ?? Math.random;
    this.log = opts.log ?? silentLogger;
    const onSaveError = (what: string) => (err: unknown) => this.log.warn({ err: String(err) }, `could not save ${what}`);
    this.bans = new BanList(opts.banPersistence, this.wallNow, onSaveError('bans'));
    this.book = new AddressBook(opts.bookPersistence, this.wallNow, { backoff: opts.backoff, random: this.random, ...opts.book }, onSaveError('address book'));
    // Caught here rather than as a HELLO that cannot be sent or that every peer rejects.
    if (opts.memberCert !== undefined && !payloadSchemas.HELLO.shape.memberCert.safeParse(opts.memberCert).success) {
      throw new Error(`memberCert must be a JSON object of at most ${LIMITS.memberCertBytes} bytes`);
    }
    const t = opts.transportOptions ?? {};
    const identity = opts.tls === true ? nodeTlsIdentity(opts.keys) : opts.tls === false ? undefined : opts.tls;
    // A certificate of another key would be refused by every peer; better to fail at startup.
    if (identity !== undefined && opts.tls !== true) checkTlsIdentity(identity, opts.keys);
    this.tlsOnly = identity !== undefined && opts.insecure !== true;
    const plain = this.tlsOnly ? {} : { ws: wsTransport(t), tcp: tcpTransport(t) };
    const secure = identity === undefined ? {} : { wss: wssTransport(identity, t), tls: tlsTransport(identity, t) };
    this.transports = opts.transports ?? { ...plain, ...secure };
    this.setMaxListeners(0);
  }

  /** Loads bans and the address book, binds the listeners, starts discovery and the peer-set upkeep. */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error('a P2PNetwork starts once');
    this.state = 'running';
    if (!(await this.bans.load())) this.log.warn({}, 'saved bans were malformed; starting with none');
    if (!(await this.book.load())) this.log.warn({}, 'saved address book was malformed; starting empty');
    const host = this.o.host ?? '127.0.0.1';
    try {
      const listeners: [Scheme, number | undefined][] = [
        [this.tlsOnly ? 'wss' : 'ws', this.o.wsPort],
        [this.tlsOnly ? 'tls' : 'tcp', this.o.tcpPort],
      ];
      for (const [scheme, port] of listeners) {
        if (port === undefined) continue;
        const t = this.transports[scheme];
        if (t === undefined) throw new Error(`no ${scheme} transport`);
        const l = await t.listen(host, port);
        l.on('connection', (c) => this.onInbound(c));
        l.on('rejected', (r) => this.log.info({ from: r.remoteAddress, listener: l.address, err: r.reason }, 'inbound TLS handshake failed (a plaintext ws:// or tcp:// dial to a TLS-only node ends like this)'));
        this.servers.push(l);
        this.own.add(l.address);
      }
    } catch (err) {
      await Promise.all(this.servers.map((l) => l.close()));
      this.servers = [];
      this.state = 'stopped';
      throw err;
    }
    this.announced = this.o.announce !== undefined ? this.o.announce.map((a) => canonical(a)).filter((a): a is string => a !== undefined) : this.servers.map((l) => l.address).filter((a) => !unroutable(a));
    for (const a of this.announced) this.own.add(a);
    for (const p of this.o.peers ?? []) {
      const refusal = this.tlsRefusal(p);
      if (refusal !== undefined) {
        this.log.warn({ address: p }, `ignoring static peer: ${refusal}`);
        continue;
      }
      const a = this.book.add(p, 'static');
      if (a !== undefined) this.statics.add(a);
      else this.log.warn({ address: p }, 'ignoring malformed static peer address');
    }
    if (this.o.lan !== undefined && this.o.lan !== false) await this.startLan(this.o.lan === true ? {} : this.o.lan);
    this.log.info({ nodeId: this.nodeId, listen: this.listenAddresses(), bootstrap: this.o.bootstrap === true }, 'p2p started');
    this.scheduleTick(0);
  }

  /** Disconnects every peer with 'shutdown', closes listeners, and writes bans and the book. */
  async stop(): Promise<void> {
    if (this.state !== 'running') {
      this.state = 'stopped';
      return;
    }
    this.state = 'stopped';
    this.cancelTick();
    await this.lan?.stop();
    const closing: Promise<void>[] = [];
    for (const l of this.links.values()) {
      closing.push(closedOf(l.peer.conn));
      l.peer.disconnect('shutdown', 'node stopping');
    }
    for (const c of this.pending.keys()) {
      closing.push(closedOf(c));
      c.close('shutdown');
    }
    await Promise.all(this.servers.map((l) => l.close()));
    await Promise.all(closing);
    await Promise.all([this.bans.flush(), this.book.flush()]);
    this.log.info({ nodeId: this.nodeId }, 'p2p stopped');
  }

  /** Bound listener addresses (real ports when started on port 0). */
  listenAddresses(): string[] {
    return this.servers.map((l) => l.address);
  }

  /** Dials an address now (a manual add, e.g. POST /api/peers); it is kept and reconnected like a static peer. */
  connect(address: string): Promise<ConnectResult> {
    const a = canonical(address);
    if (a === undefined) return Promise.resolve({ ok: false, code: 'BAD_PEER_ADDRESS', message: `malformed address ${JSON.stringify(address.slice(0, 80))}` });
    if (this.state !== 'running') return Promise.resolve({ ok: false, code: 'P2P_STOPPED', message: 'the p2p network is not running' });
    const refusal = this.tlsRefusal(a);
    if (refusal !== undefined) {
      this.log.warn({ address: a }, `refusing to dial: ${refusal}`);
      return Promise.resolve({ ok: false, code: 'TLS_REQUIRED', message: refusal });
    }
    this.book.add(a, 'manual');
    this.statics.add(a);
    return this.dial(a, true);
  }

  /** Connected peers. */
  peers(): PeerSummary[] {
    return [...this.links.values()].map((l) => summary(l));
  }

  /**
   * What each connected peer last reported about its own links (GET_PEERS /
   * PEERS), for display only; a report older than three ask intervals is left out.
   */
  peerLinks(): PeerLinks[] {
    const oldest = this.wallNow() - 3 * this.peerListInterval();
    const out: PeerLinks[] = [];
    for (const l of this.links.values()) if (l.peerList !== undefined && l.peerList.at >= oldest) out.push({ id: l.peer.id, at: l.peerList.at, peers: l.peerList.peers });
    return out;
  }

  /** Ids of connected peers. */
  peerIds(): string[] {
    return [...this.links.keys()];
  }

  /** The protocol version agreed with a connected peer (the lower of the two sides'), or undefined. */
  peerVersion(id: string): number | undefined {
    return this.links.get(id)?.peer.version;
  }

  /** Sends a message to every peer (but one); returns how many accepted it. */
  broadcast<T extends MessageType>(type: T, payload: PayloadOf<T>, exceptPeerId?: string): number {
    let n = 0;
    for (const [id, l] of this.links) if (id !== exceptPeerId && l.peer.send(type, payload) === 'ok') n++;
    return n;
  }

  /** Sends a message to one peer ('closed' if it is not connected). */
  send<T extends MessageType>(peerId: string, type: T, payload: PayloadOf<T>): SendResult {
    return this.links.get(peerId)?.peer.send(type, payload) ?? 'closed';
  }

  /**
   * Sends a message to one peer, waiting (bounded) for its buffer to drain
   * when it is full: for answers that must not be dropped, such as sync replies.
   */
  async sendReliably<T extends MessageType>(peerId: string, type: T, payload: PayloadOf<T> | EncodedPayload<T>, timeoutMs = 30_000): Promise<SendResult> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const link = this.links.get(peerId);
      if (link === undefined) return 'closed';
      const r = link.peer.send(type, payload);
      if (r !== 'full' || Date.now() > end) return r;
      await Promise.race([link.peer.drained(), new Promise((res) => setTimeout(res, Math.max(1, end - Date.now())))]);
    }
  }

  /** Charges a peer misbehaviour points (invalid blocks or transactions); at the threshold it is dropped and banned. */
  penalize(peerId: string, points: number, reason: string): void {
    this.links.get(peerId)?.peer.penalize(points, reason);
  }

  /** Measures the round-trip time to a peer. */
  ping(peerId: string, timeoutMs?: number): Promise<number> {
    const l = this.links.get(peerId);
    return l === undefined ? Promise.reject(new Error(`not connected to ${peerId.slice(0, 16)}`)) : l.peer.ping(timeoutMs);
  }

  /** Bans a node by hand (with its host, and the address we dialed it at). */
  ban(nodeId: string, reason: string, durationMs?: number): void {
    const l = this.links.get(nodeId);
    this.applyBan(nodeId, l, reason, durationMs);
    l?.peer.disconnect('banned', reason);
  }

  /**
   * Test-network fault injection (nodes run with --fault-control): cuts the
   * links to the given node ids and refuses their handshakes with
   * 'partitioned', without scoring or banning anyone, and (on a network
   * created with faultControl) delays every message sent on an established
   * link by delayMs, in order per peer.
   * Omitted fields keep their value. Unblocked nodes are redialed at once:
   * healing resets the reconnect backoff that the partition built up.
   */
  setFaults(f: { readonly block?: readonly string[]; readonly delayMs?: number }): NetworkFaults {
    if (f.delayMs !== undefined && !(Number.isInteger(f.delayMs) && f.delayMs >= 0 && f.delayMs <= MAX_FAULT_DELAY_MS)) {
      throw new RangeError(`delayMs must be an integer from 0 to ${MAX_FAULT_DELAY_MS}`);
    }
    if (f.delayMs !== undefined && f.delayMs > 0 && this.o.faultControl !== true) throw new Error('latency is emulated only on a network created with faultControl');
    if (f.delayMs !== undefined && f.delayMs !== this.delayMs) {
      this.delayMs = f.delayMs;
      // Measure every link again now rather than at the next keepalive, so round trips shown reflect the change.
      for (const l of this.links.values()) l.peer.ping(2 * this.delayMs + 5000).catch(() => undefined);
    }
    if (f.block !== undefined) {
      const next = new Set(f.block.filter((id) => id !== this.nodeId));
      const healed = [...this.blocked].filter((id) => !next.has(id));
      this.blocked.clear();
      for (const id of next) this.blocked.add(id);
      for (const [id, l] of this.links) if (this.blocked.has(id)) l.peer.disconnect('partitioned', 'links to this node are cut (testnet fault control)');
      if (healed.length > 0) {
        // Dials refused during the partition backed off for up to a minute; a healed network should relink now.
        // (onLinkClosed already sets nextAttemptAt on book entries the same way.)
        for (const { address } of this.book.all()) {
          const e = this.book.get(address);
          if (e !== undefined) e.nextAttemptAt = 0;
        }
        this.scheduleTick(0);
      }
      this.log.info({ block: [...this.blocked].map(short), delayMs: this.delayMs }, 'fault control: links changed');
    } else if (f.delayMs !== undefined) this.log.info({ delayMs: this.delayMs }, 'fault control: emulated latency changed');
    return this.faults();
  }

  /** The faults set by setFaults (none unless a testnet asked). */
  faults(): NetworkFaults {
    return { block: [...this.blocked], delayMs: this.delayMs };
  }

  /** Message and byte counters, over live and closed links. */
  stats(): NetworkStats {
    const t = { ...this.closedTraffic };
    let inbound = 0;
    for (const l of this.links.values()) {
      addTraffic(t, l.peer.conn.traffic);
      if (l.direction === 'inbound') inbound++;
    }
    for (const c of this.pending.keys()) addTraffic(t, c.traffic);
    return { ...t, peers: this.links.size, inbound, outbound: this.links.size - inbound, bans: this.bans.list().length, knownAddresses: this.book.size, messagesInByType: { ...this.inByType } };
  }

  // ---- inbound ----

  private onInbound(conn: Connection): void {
    const host = hostOf(conn.remoteAddress);
    const refuse = (reason: 'banned' | 'too-many-peers' | 'shutdown' | 'tls-required', msg: string): void => {
      conn.send(message('DISCONNECT', { reason, message: msg }));
      conn.close(reason);
    };
    if (this.state !== 'running') return refuse('shutdown', 'node stopping');
    // Only reachable with custom transports: the default TLS-only listeners never yield a plaintext link.
    if (this.tlsOnly && !isTlsScheme(conn.scheme)) {
      this.log.info({ from: conn.remoteAddress, transport: conn.scheme }, 'inbound plaintext link refused: this node only accepts TLS');
      return refuse('tls-required', 'this node only accepts TLS links (wss:// or tls://)');
    }
    // A saved loopback ban is not enforced by a node configured not to ban loopback hosts.
    const ban = this.hostBannable(host) ? this.bans.get('host', host) : undefined;
    if (ban !== undefined) return refuse('banned', `banned until ${new Date(ban.until).toISOString()}`);
    if (this.count('inbound') >= (this.o.maxInbound ?? 32)) {
      this.log.debug({ from: conn.remoteAddress }, 'inbound refused: too many peers');
      return refuse('too-many-peers', 'inbound peer limit reached');
    }
    if (this.pending.size >= (this.o.maxPendingInbound ?? 16) && !this.makeRoom(host)) return refuse('too-many-peers', 'too many handshakes in progress');
    this.pending.set(conn, { host, since: this.clock.now() });
    handshake(conn, this.handshakeConfig('inbound'), this.clock).then(
      (h) => {
        this.pending.delete(conn);
        this.register(h, 'inbound', undefined);
      },
      (err: unknown) => {
        this.pending.delete(conn);
        this.addClosedTraffic(conn);
        if (err instanceof HandshakeError && !err.remote) {
          if (HOSTILE_HANDSHAKE.has(err.reason)) this.strike(host, err.message);
          // Held a slot for the whole deadline without a word: what a scan or a slot-holding attack looks like.
          else if (err.reason === 'handshake-timeout' && conn.traffic.messagesIn === 0) this.strike(host, 'no HELLO before the handshake deadline');
        }
        this.log.debug({ from: conn.remoteAddress, err: String(err) }, 'inbound handshake failed');
      },
    );
  }

  /**
   * The pending-handshake table is full: frees a slot for a handshake from `host`, or returns false. A host over its
   * share yields its oldest handshake (a silent one first) to a host under it; otherwise the oldest socket that has
   * said nothing for SILENT_GRACE_MS yields. Without this, sockets that never send HELLO, reopened as soon as they
   * time out, would keep every other node from linking in.
   */
  private makeRoom(host: string): boolean {
    const perHost = new Map<string, number>();
    for (const p of this.pending.values()) perHost.set(p.host, (perHost.get(p.host) ?? 0) + 1);
    let busiest = host;
    for (const [h, n] of perHost) if (n > (perHost.get(busiest) ?? 0)) busiest = h;
    const now = this.clock.now();
    const silent = (c: Connection, p: PendingInbound): boolean => c.traffic.messagesIn === 0 && now - p.since >= SILENT_GRACE_MS;
    let victim: [Connection, PendingInbound] | undefined;
    if (busiest !== host && (perHost.get(busiest) ?? 0) > PENDING_PER_HOST && (perHost.get(host) ?? 0) < PENDING_PER_HOST) {
      for (const e of this.pending) {
        if (e[1].host !== busiest) continue;
        victim ??= e;
        if (silent(e[0], e[1])) {
          victim = e;
          break;
        }
      }
    } else {
      for (const e of this.pending) {
        if (silent(e[0], e[1])) {
          victim = e;
          break;
        }
      }
    }
    if (victim === undefined) return false;
    const [conn, p] = victim;
    const wasSilent = silent(conn, p);
    this.pending.delete(conn);
    this.log.debug({ from: conn.remoteAddress, silent: wasSilent }, 'pending inbound handshake dropped to make room');
    conn.send(message('DISCONNECT', { reason: 'too-many-peers', message: 'too many handshakes in progress' }));
    conn.close('too-many-peers');
    if (wasSilent) this.strike(p.host, 'no HELLO while other nodes waited to link in');
    return true;
  }

  // Repeated hostile handshakes from one host cost it a ban, since they never reach a Peer's score.
  private strike(host: string, why: string): void {
    const n = (this.strikes.get(host) ?? 0) + 1;
    this.strikes.delete(host);
    if (n < HOST_STRIKES) {
      this.strikes.set(host, n);
      if (this.strikes.size > MAX_STRIKE_HOSTS) this.strikes.delete(this.strikes.keys().next().value as string);
      return;
    }
    if (!this.hostBannable(host)) return;
    this.bans.add('host', host, this.banDuration(), `repeated bad handshakes (last: ${why})`);
    this.log.warn({ host, reason: why }, 'host banned after repeated bad handshakes');
    this.emit('peer:banned', { nodeId: '', host, reason: why });
  }

  // ---- outbound ----

  private dial(address: string, manual: boolean): Promise<ConnectResult> {
    const running = this.dialing.get(address);
    if (running !== undefined) return running;
    const pre = this.dialRefusal(address, manual);
    if (pre !== undefined) return Promise.resolve(pre);
    const p = this.dialNow(address).finally(() => this.dialing.delete(address));
    this.dialing.set(address, p);
    return p;
  }

  private dialRefusal(address: string, manual: boolean): ConnectResult | undefined {
    if (this.own.has(address)) return { ok: false, code: 'SELF', message: 'that is this node' };
    if (this.bans.addressBanned(address)) return { ok: false, code: 'BANNED', message: `${address} is banned` };
    const owner = this.ownerOf(address);
    if (owner !== undefined) return { ok: true, status: 'known', peerId: owner };
    const scheme = parseAddress(address)?.scheme;
    const tls = this.tlsRefusal(address);
    if (tls !== undefined) return { ok: false, code: 'TLS_REQUIRED', message: tls };
    if (scheme === undefined || this.transports[scheme] === undefined) return { ok: false, code: 'UNSUPPORTED', message: `no transport for ${address}` };
    if (!manual && this.count('outbound') + this.dialing.size >= (this.o.maxOutbound ?? 8)) return { ok: false, code: 'TOO_MANY_PEERS', message: 'outbound peer limit reached' };
    return undefined;
  }

  private async dialNow(address: string): Promise<ConnectResult> {
    const transport = this.transports[parseAddress(address)?.scheme ?? 'ws'] as Transport;
    // Nodes linked before this dial began: finding one of them at the address tells us whose it is, and must not
    // swap out a settled link (only dials that cross, two nodes dialing each other at once, go to the tie-break).
    const linkedBefore = new Set(this.links.keys());
    this.book.attempt(address);
    let conn: Connection;
    try {
      conn = await transport.dial(address);
    } catch (err) {
      const delay = this.book.failure(address);
      this.log.debug({ address, err: String(err), retryInMs: delay }, 'dial failed');
      const text = err instanceof Error ? err.message : String(err);
      const hint = /socket hang up|ECONNRESET/.test(text) ? plaintextHint(address) : '';
      return { ok: false, code: 'DIAL_FAILED', message: `could not connect to ${address}: ${text}${hint}` };
    }
    if (this.state !== 'running') {
      conn.close('shutdown');
      return { ok: false, code: 'P2P_STOPPED', message: 'the p2p network is stopping' };
    }
    let h: Handshaken;
    let heard: string | undefined;
    try {
      h = await handshake(conn, this.handshakeConfig('outbound', (id) => (heard = id), linkedBefore), this.clock);
    } catch (err) {
      this.addClosedTraffic(conn);
      const reason = err instanceof HandshakeError ? err.reason : 'error';
      if (reason === 'duplicate-connection') {
        // The node at this address is one we are already linked to: say whose it is (it told us when we dialed it),
        // so that maintain() does not dial it again while that link lasts.
        const e = this.book.get(address);
        if (e !== undefined && heard !== undefined) e.nodeId = heard;
        return heard === undefined ? { ok: true, status: 'known' } : { ok: true, status: 'known', peerId: heard };
      }
      if (reason === 'partitioned') {
        // A testnet partition, on either side: it will heal, so retry at a steady pace rather than back off for
        // minutes, and remember whose address this is so that maintain() stops dialing it while we block it.
        const e = this.book.get(address);
        if (e !== undefined) {
          if (heard !== undefined && e.nodeId === undefined) e.nodeId = heard;
          e.nextAttemptAt = this.wallNow() + backoffDelay(2, this.o.backoff ?? DEFAULT_BACKOFF, this.random);
        }
        this.log.debug({ address, by: err instanceof HandshakeError && err.remote ? 'remote' : 'local' }, 'outbound link refused: partitioned');
        return { ok: false, code: 'HANDSHAKE_FAILED', message: err instanceof Error ? err.message : String(err) };
      }
      if (reason === 'self-connection') {
        this.own.add(address);
        this.book.remove(address);
        this.statics.delete(address);
        return { ok: false, code: 'SELF', message: 'that address is this node' };
      }
      const delay = this.book.failure(address);
      this.log.info({ address, reason, retryInMs: delay }, 'outbound handshake failed');
      const hint = reason === 'connection-closed' ? plaintextHint(address) : '';
      return { ok: false, code: 'HANDSHAKE_FAILED', message: `${err instanceof Error ? err.message : String(err)}${hint}` };
    }
    if (this.state !== 'running') {
      conn.close('shutdown');
      return { ok: false, code: 'P2P_STOPPED', message: 'the p2p network is stopping' };
    }
    this.book.success(address, h.remote.nodeId);
    const kept = this.register(h, 'outbound', address);
    return kept ? { ok: true, status: 'connected', peerId: h.remote.nodeId } : { ok: true, status: 'known', peerId: h.remote.nodeId };
  }

  // ---- the peer set ----

  private handshakeConfig(direction: 'inbound' | 'outbound', onHello?: (nodeId: string) => void, linkedBefore?: ReadonlySet<string>): HandshakeConfig {
    const head = this.o.head();
    return {
      keys: this.o.keys,
      network: this.o.network,
      chainId: this.o.chainId,
      genesisHash: this.o.genesisHash,
      listen: this.announced,
      height: head.height,
      tip: head.tip,
      agent: this.o.agent ?? 'peerchain/0.1',
      timeoutMs: this.o.handshakeTimeoutMs,
      isMember: this.o.isMember,
      memberCert: this.o.memberCert,
      // Only a link that would lose the tie-break against the existing one is a duplicate, or a dial that
      // found a node already linked when it began.
      isConnected: (id) => {
        const existing = this.links.get(id);
        return existing !== undefined && (linkedBefore?.has(id) === true || !newWins(existing.direction, direction, this.nodeId, id));
      },
      admit: (hello) => {
        onHello?.(hello.nodeId);
        if (this.blocked.has(hello.nodeId)) return { reason: 'partitioned', message: 'links to this node are cut (testnet fault control)' };
        const b = this.bans.get('node', hello.nodeId);
        return b === undefined ? undefined : { reason: 'banned', message: `banned until ${new Date(b.until).toISOString()}` };
      },
    };
  }

  /** Adds a handshaken link to the peer set; false if it lost a duplicate tie-break or a limit. */
  private register(h: Handshaken, direction: 'inbound' | 'outbound', dialed: string | undefined): boolean {
    const id = h.remote.nodeId;
    const drop = (reason: 'duplicate-connection' | 'too-many-peers' | 'partitioned', msg: string): false => {
      h.conn.send(message('DISCONNECT', { reason, message: msg }));
      h.conn.close(reason);
      this.addClosedTraffic(h.conn);
      return false;
    };
    if (this.state !== 'running') return drop('too-many-peers', 'node stopping');
    // A partition set while this handshake was under way.
    if (this.blocked.has(id)) return drop('partitioned', 'links to this node are cut (testnet fault control)');
    const existing = this.links.get(id);
    if (existing !== undefined) {
      if (!newWins(existing.direction, direction, this.nodeId, id)) return drop('duplicate-connection', 'already connected; keeping the link dialed by the lower node id');
      // Replace: the old link goes first, so listeners see disconnected before connected.
      this.links.delete(id);
      existing.peer.disconnect('duplicate-connection', 'replaced by the link dialed by the lower node id');
      this.onLinkClosed(existing, { reason: 'duplicate-connection', message: 'replaced', by: 'local', score: existing.peer.score });
    }
    if (direction === 'inbound' && this.count('inbound') >= (this.o.maxInbound ?? 32)) return drop('too-many-peers', 'inbound peer limit reached');
    // Under fault control every link's sends pass through the latency emulation (at once while no delay is set).
    const linkConn = this.o.faultControl === true ? withLatency(h.conn, () => this.delayMs, this.clock) : h.conn;
    const peer = new Peer({ ...h, conn: linkConn }, { clock: this.clock, ...this.o.peer });
    const conn = h.conn;
    const link: Link = {
      peer,
      direction,
      address: dialed ?? `${conn.scheme}://${conn.remoteAddress}`,
      dialed,
      host: hostOf(dialed !== undefined ? (parseAddress(dialed)?.host ?? '') : conn.remoteAddress),
      listen: h.remote.listen.map((a) => canonical(a)).filter((a): a is string => a !== undefined),
      connectedAt: this.wallNow(),
      lastAddrAnswer: -Infinity,
      lastAddrAsk: -Infinity,
      lastPeersAnswer: -Infinity,
      lastPeersAsk: -Infinity,
      peersAsked: false,
      peersAnswered: false,
      awaitingPeers: false,
      peerList: undefined,
      addrTokens: new TokenBucket(ADDR_RATE_PER_SEC, ADDR_BURST, this.clock, 1),
    };
    peer.on('message', (m) => this.onMessage(link, m));
    peer.on('misbehaviour', (p) => this.log.debug({ peer: short(id), ...p }, 'peer misbehaved'));
    peer.on('close', (info) => {
      if (this.links.get(id) !== link) return;
      this.links.delete(id);
      this.onLinkClosed(link, info);
    });
    this.links.set(id, link);
    // Without the node id: anyone can claim any address in HELLO; only a dial to it shows whose it is.
    for (const a of link.listen) if (!this.bans.addressBanned(a) && !this.own.has(a)) this.book.add(a, 'hello');
    peer.start();
    this.log.info({ peer: short(id), address: link.address, direction, transport: conn.scheme, height: h.remote.height }, 'peer connected');
    this.emit('peer:connected', summary(link));
    if (this.o.bootstrap === true) this.registerMember(link);
    // Outbound links ask for addresses at once: that is how a new node learns the network.
    if (direction === 'outbound') this.askAddr(link);
    // Both ends ask for each other's links at once, so the explorer's graph fills in without waiting a whole interval.
    this.askPeers(link);
    return true;
  }

  private onLinkClosed(link: Link, info: PeerCloseInfo): void {
    const id = link.peer.id;
    this.addClosedTraffic(link.peer.conn);
    const ev: PeerDisconnected = { ...info, id, address: link.address, direction: link.direction };
    this.log.info({ peer: short(id), address: link.address, reason: info.reason, by: info.by, detail: info.message, score: info.score }, 'peer disconnected');
    if (info.reason === 'misbehaviour' && info.by === 'local') this.applyBan(id, link, info.message);
    this.emit('peer:disconnected', ev);
    // A dropped static peer is retried after a jittered delay, so a restarting node is not hit by every peer at once.
    if (link.dialed !== undefined && this.statics.has(link.dialed) && info.reason !== 'duplicate-connection') {
      const e = this.book.get(link.dialed);
      if (e !== undefined) e.nextAttemptAt = this.wallNow() + backoffDelay(1, this.o.backoff ?? DEFAULT_BACKOFF, this.random);
    }
    this.scheduleTick(0);
  }

  private applyBan(nodeId: string, link: Link | undefined, reason: string, durationMs = this.banDuration()): void {
    this.bans.add('node', nodeId, durationMs, reason);
    let host: string | undefined;
    if (link !== undefined) {
      if (this.hostBannable(link.host)) {
        host = link.host;
        this.bans.add('host', host, durationMs, reason);
      }
      // Only the address we dialed is proven to be this node's; its HELLO listen list could name an honest node.
      if (link.dialed !== undefined) {
        this.bans.add('address', link.dialed, durationMs, reason);
        this.book.remove(link.dialed);
        this.statics.delete(link.dialed);
      }
    }
    this.log.warn({ peer: short(nodeId), host, reason, minutes: Math.round(durationMs / 60_000) }, 'peer banned');
    this.emit('peer:banned', { nodeId, host, reason });
  }

  private hostBannable(host: string): boolean {
    return host !== '' && (this.o.banLoopback === true || !isLoopback(host));
  }

  private banDuration(): number {
    return this.o.banDurationMs ?? 3600_000;
  }

  // ---- messages ----

  private onMessage(link: Link, m: Message): void {
    this.inByType[m.type] = (this.inByType[m.type] ?? 0) + 1;
    if (m.type === 'GET_ADDR') this.answerAddr(link);
    else if (m.type === 'ADDR') this.learnAddr(link, m.payload.addresses);
    else if (m.type === 'GET_PEERS') this.answerPeers(link);
    else if (m.type === 'PEERS') this.learnPeers(link, m.payload.peers);
    (this.emit as (e: string, p: unknown, id: string) => boolean)(m.type, m.payload, link.peer.id);
  }

  private answerAddr(link: Link): void {
    const now = this.clock.now();
    // One answer per interval: a peer cannot make us enumerate the book in a loop.
    if (now - link.lastAddrAnswer < (this.o.getAddrIntervalMs ?? 30_000)) return;
    link.lastAddrAnswer = now;
    const theirs = new Set([...link.listen, ...(link.dialed === undefined ? [] : [link.dialed])]);
    const exclude = (a: string): boolean => theirs.has(a) || this.bans.addressBanned(a);
    let addresses: string[];
    if (this.o.bootstrap === true) {
      addresses = shuffle(this.directory.addresses(this.wallNow(), link.peer.id).filter((a) => !exclude(a)), this.random);
    } else {
      const live = [...this.links.values()].filter((l) => l !== link).flatMap((l) => l.listen);
      addresses = shuffle([...new Set([...live, ...this.announced, ...this.book.good(MAX_ADDR_SHARE, exclude)])].filter((a) => !exclude(a)), this.random);
    }
    link.peer.send('ADDR', { addresses: addresses.slice(0, MAX_ADDR_SHARE) });
  }

  private learnAddr(link: Link, addresses: readonly string[]): void {
    const fromStatic = link.dialed !== undefined && this.statics.has(link.dialed);
    const source: AddressSource = fromStatic ? 'bootstrap' : 'addr';
    const offered = Math.min(addresses.length, MAX_ADDR_SHARE * 4);
    // A static peer was chosen by the operator (a bootstrap introduces new members unasked): its ADDR is not rationed.
    const taken = fromStatic ? offered : link.addrTokens.takeUpTo(offered);
    let added = 0;
    for (const a of addresses.slice(0, taken)) {
      const c = canonical(a);
      if (c === undefined || this.own.has(c) || this.bans.addressBanned(c)) continue;
      if (!this.book.has(c)) added++;
      this.book.add(c, source);
    }
    if (added > 0) this.scheduleTick(0);
  }

  private askAddr(link: Link): void {
    link.lastAddrAsk = this.clock.now();
    // Room for the whole answer: the budget of unasked addresses must not cut short what we asked for.
    link.addrTokens.credit(ADDR_BURST);
    link.peer.send('GET_ADDR', {});
  }

  private peerListInterval(): number {
    return this.o.peerListIntervalMs ?? PEER_LIST_INTERVAL_MS;
  }

  private askPeers(link: Link): void {
    link.lastPeersAsk = this.clock.now();
    if (link.peer.send('GET_PEERS', {}) !== 'ok') return;
    link.peersAsked = true;
    link.awaitingPeers = true;
  }

  // The other nodes this node is linked to, with their round trips: what the explorer's graph shows.
  private answerPeers(link: Link): void {
    const now = this.clock.now();
    // At most one answer per third of the interval: a peer cannot make us list our links in a loop.
    if (now - link.lastPeersAnswer < this.peerListInterval() / 3) return;
    link.lastPeersAnswer = now;
    const peers: ReportedPeer[] = [];
    for (const l of this.links.values()) {
      if (l === link) continue;
      if (peers.length >= LIMITS.peers) break;
      const rtt = l.peer.rtt;
      peers.push(rtt === undefined ? { id: l.peer.id } : { id: l.peer.id, rttMs: Math.min(LIMITS.peerRttMs, Math.round(rtt * 10) / 10) });
    }
    link.peer.send('PEERS', { peers });
  }

  // Kept for display only: a list is never used to dial, score or choose anyone.
  private learnPeers(link: Link, peers: readonly ReportedPeer[]): void {
    // An unasked list is dropped, so a peer cannot replace its report at will (the schema bounds its length).
    if (!link.awaitingPeers) return;
    link.awaitingPeers = false;
    link.peersAnswered = true;
    // This node knows its own links first hand; a claimed link to it, or a peer linked to itself, is noise.
    const seen = new Set([this.nodeId, link.peer.id]);
    const kept: ReportedPeer[] = [];
    for (const p of peers) {
      if (seen.has(p.id)) continue;
      seen.add(p.id);
      kept.push(p.rttMs === undefined ? { id: p.id } : { id: p.id, rttMs: p.rttMs });
    }
    link.peerList = { peers: kept, at: this.wallNow() };
  }

  // Bootstrap role: remember the member and introduce it to the others (and them to it via GET_ADDR).
  private registerMember(link: Link): void {
    if (link.listen.length === 0) return;
    const isNew = this.directory.register(link.peer.id, link.listen, this.wallNow());
    if (!isNew) return;
    for (const other of this.links.values()) {
      if (other !== link && other.listen.length > 0) other.peer.send('ADDR', { addresses: [...link.listen] });
    }
  }

  // ---- upkeep ----

  private scheduleTick(ms: number): void {
    if (this.state !== 'running') return;
    if (ms === 0) {
      if (this.tickSoon) return;
      this.tickSoon = true;
      this.cancelTick();
    }
    this.cancelTick = this.clock.setTimer(() => {
      this.tickSoon = false;
      this.tick();
    }, ms);
  }

  private tick(): void {
    if (this.state !== 'running') return;
    try {
      this.maintain();
    } catch (err) {
      this.log.warn({ err: String(err) }, 'peer-set upkeep failed');
    }
    this.scheduleTick(this.o.maintenanceIntervalMs ?? 1000);
  }

  private maintain(): void {
    const now = this.wallNow();
    for (const a of this.statics) {
      const e = this.book.get(a);
      if (e !== undefined && e.nextAttemptAt > now) continue;
      if (!this.dialing.has(a) && this.ownerOf(a) === undefined && !this.bans.addressBanned(a) && !this.partitionedFrom(a)) void this.dial(a, true);
    }
    const target = Math.min(this.o.targetOutbound ?? this.o.maxOutbound ?? 8, this.o.maxOutbound ?? 8);
    const have = this.count('outbound') + this.dialing.size;
    if (have < target) {
      // Undialable addresses stay in the book (peers may use them) but are never picked here.
      const exclude = (a: string): boolean => this.own.has(a) || this.dialing.has(a) || this.ownerOf(a) !== undefined || this.bans.addressBanned(a) || !this.dialable(a) || this.partitionedFrom(a);
      for (const a of this.book.candidates(target - have, exclude)) void this.dial(a, false);
      // Still short: ask a peer for more addresses (each peer at most once per interval).
      if (this.count('outbound') + this.dialing.size < target) {
        const gap = this.o.getAddrIntervalMs ?? 30_000;
        const cnow = this.clock.now();
        const ask = shuffle([...this.links.values()], this.random).find((l) => cnow - l.lastAddrAsk >= gap);
        if (ask !== undefined) this.askAddr(ask);
      }
    }
    if (this.o.bootstrap === true) for (const l of this.links.values()) this.directory.touch(l.peer.id, now);
    // Peer lists are asked again on schedule, but only of peers that answered before: an older node
    // that does not know GET_PEERS charges points for it, so it is asked once per link and no more.
    const asked = this.clock.now();
    for (const l of this.links.values()) if (asked - l.lastPeersAsk >= this.peerListInterval() && (l.peersAnswered || !l.peersAsked)) this.askPeers(l);
  }

  // ---- LAN ----

  private async startLan(opts: LanDiscoveryOptions): Promise<void> {
    const lan = new LanDiscovery(
      () => ({ network: this.o.network, chainId: this.o.chainId, genesisHash: this.o.genesisHash, nodeId: this.nodeId, listen: this.announced }),
      (nodeId, listen) => {
        if (this.bans.get('node', nodeId) !== undefined) return;
        let added = false;
        // Like a HELLO listen list, a beacon is a claim: the addresses go in without its node id (see ownerOf).
        for (const a of listen) if (!this.own.has(a) && !this.bans.addressBanned(a) && !this.book.has(a)) added = this.book.add(a, 'lan') !== undefined || added;
        if (added) this.scheduleTick(0);
      },
      opts,
      this.log,
    );
    try {
      await lan.start();
      this.lan = lan;
    } catch (err) {
      // LAN discovery is a convenience: a host without multicast still runs the node.
      this.log.warn({ err: String(err) }, 'lan discovery unavailable');
    }
  }

  /** Beacons sent and received by LAN discovery (undefined when it is off). */
  lanCounts(): { received: number; accepted: number; ignored: number } | undefined {
    return this.lan === undefined ? undefined : { ...this.lan.counts };
  }

  // ---- helpers ----

  // Why a TLS-only node will not dial an address (a plaintext one), or undefined.
  private tlsRefusal(address: string): string | undefined {
    const scheme = parseAddress(address)?.scheme;
    if (!this.tlsOnly || scheme === undefined || isTlsScheme(scheme)) return undefined;
    return `${address} is a plaintext address; this node only makes TLS links (use ${counterpartScheme(scheme)}://, or start the node with --insecure)`;
  }

  // An address this node could dial at all: a transport for its scheme, and TLS if required.
  private dialable(address: string): boolean {
    const scheme = parseAddress(address)?.scheme;
    return scheme !== undefined && this.transports[scheme] !== undefined && this.tlsRefusal(address) === undefined;
  }

  private count(direction: 'inbound' | 'outbound'): number {
    let n = 0;
    for (const l of this.links.values()) if (l.direction === direction) n++;
    return n;
  }

  // True if the address belongs to a node this node is partitioned from (its id is known from an earlier link).
  private partitionedFrom(address: string): boolean {
    if (this.blocked.size === 0) return false;
    const id = this.book.get(address)?.nodeId;
    return id !== undefined && this.blocked.has(id);
  }

  // The connected node an address belongs to, as far as dialing it showed: the link dialed to it, or the node met there
  // before. Not a peer's HELLO listen list: a peer claiming an honest node's address would keep us from dialing it.
  private ownerOf(address: string): string | undefined {
    for (const l of this.links.values()) if (l.dialed === address) return l.peer.id;
    const e = this.book.get(address);
    return e?.nodeId !== undefined && this.links.has(e.nodeId) ? e.nodeId : undefined;
  }

  private addClosedTraffic(conn: Connection): void {
    addTraffic(this.closedTraffic, conn.traffic);
  }

  /** Live bans (for an admin view). */
  banList(): Ban[] {
    return this.bans.list();
  }
}

/**
 * The duplicate tie-break: of two links between the same nodes, keep the one
 * dialed by the lower node id; both ends compute the same answer. Two links
 * dialed by the same node keep the older one.
 */
export function newWins(existing: 'inbound' | 'outbound', incoming: 'inbound' | 'outbound', selfId: string, remoteId: string): boolean {
  if (existing === incoming) return false;
  const dialerOfIncoming = incoming === 'outbound' ? selfId : remoteId;
  const dialerOfExisting = existing === 'outbound' ? selfId : remoteId;
  return dialerOfIncoming < dialerOfExisting;
}

function summary(l: Link): PeerSummary {
  return {
    id: l.peer.id,
    address: l.address,
    direction: l.direction,
    transport: l.peer.conn.scheme,
    rttMs: l.peer.rtt,
    score: l.peer.score,
    height: l.peer.hello.height,
    listen: l.listen,
    connectedAt: l.connectedAt,
  };
}

/**
 * A connection whose sends wait `delay()` ms before they go out, in order:
 * the latency a testnet's "slow" fault emulates (no `tc netem` needed). A
 * Proxy rather than a wrapper class, so whatever else a transport's
 * Connection offers passes through untouched. A queued message still goes
 * out if the socket is briefly full (it waits for drain, keeping order);
 * closing the link drops the queue, and DISCONNECT skips it, since the link
 * ends at once anyway.
 */
export function withLatency(conn: Connection, delay: () => number, clock: Clock): Connection {
  const queue: { value: unknown; due: number }[] = [];
  let cancelTimer: (() => void) | undefined;
  let waitingForDrain = false;
  let waiters: (() => void)[] = [];
  const settle = (): void => {
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  };
  const drop = (): void => {
    queue.length = 0;
    cancelTimer?.();
    cancelTimer = undefined;
    settle();
  };
  conn.once('close', drop);
  const pump = (): void => {
    cancelTimer = undefined;
    while (queue.length > 0) {
      const head = queue[0]!;
      const wait = head.due - clock.now();
      if (wait > 0) {
        cancelTimer = clock.setTimer(pump, wait);
        return;
      }
      if (conn.send(head.value) === 'full') {
        waitingForDrain = true;
        void conn.drained().then(() => {
          waitingForDrain = false;
          if (!conn.closed) pump();
        });
        return;
      }
      queue.shift();
    }
    settle();
  };
  const send = (value: unknown): SendResult => {
    if (conn.closed) return 'closed';
    const ms = delay();
    if ((ms <= 0 && queue.length === 0) || (value as { type?: unknown } | null)?.type === 'DISCONNECT') return conn.send(value);
    if (queue.length >= MAX_DELAYED_MESSAGES) return 'full';
    queue.push({ value, due: clock.now() + Math.max(0, ms) });
    if (cancelTimer === undefined && !waitingForDrain) pump();
    return 'ok';
  };
  const drained = async (): Promise<void> => {
    if (queue.length > 0) await new Promise<void>((r) => waiters.push(r));
    return conn.drained();
  };
  const close = (reason?: string, code?: number): void => {
    drop();
    conn.close(reason, code);
  };
  const own: Record<string, unknown> = { send, drained, close };
  return new Proxy(conn, {
    get(target, prop) {
      if (typeof prop === 'string' && Object.hasOwn(own, prop)) return own[prop];
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

function addTraffic(into: TrafficCounters, t: Readonly<TrafficCounters>): void {
  into.messagesIn += t.messagesIn;
  into.bytesIn += t.bytesIn;
  into.messagesOut += t.messagesOut;
  into.bytesOut += t.bytesOut;
}

function closedOf(c: Connection): Promise<void> {
  if (c.closeInfo !== undefined) return Promise.resolve();
  return new Promise((r) => c.once('close', () => r()));
}

/** The host part of `host:port` or `[v6]:port`. */
export function hostOf(hostPort: string): string {
  const m = /^\[([^\]]*)\]:\d+$/.exec(hostPort) ?? /^([^:]*):\d+$/.exec(hostPort);
  return (m?.[1] ?? hostPort).toLowerCase().replace(/^::ffff:/, '');
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

function unroutable(address: string): boolean {
  const a = parseAddress(address);
  return a === undefined || a.host === '0.0.0.0' || a.host === '::';
}

// A TLS-only node drops a plaintext link without a word; say what that may mean.
function plaintextHint(address: string): string {
  const scheme = parseAddress(address)?.scheme;
  return scheme === undefined || isTlsScheme(scheme) ? '' : ` (a TLS-only node closes plaintext links like this: try ${counterpartScheme(scheme)}://)`;
}

function short(id: string): string {
  return id.slice(0, 16);
}
