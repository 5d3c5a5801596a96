/**
 * Gossip: INV announces ids, GET_DATA asks for what a node lacks, TX/TXS/BLOCK
 * (or NOT_FOUND) answer. Only accepted items are relayed; a bounded seen-set
 * stops re-broadcast storms; each id is requested from one peer at a time.
 * A transaction's id does not cover its signature, so a copy of one that
 * proves bad leaves the id unseen, and the other peers that offered it while
 * it was checked are asked for theirs. Each peer gets a share of the ids in
 * flight, and ids it was asked for and let time out cost it a little, so made-up
 * announcements cannot crowd out everyone else's.
 * Received transactions are accepted in short slices of the event loop, so a
 * burst of them (each a signature check) never holds up the messages behind
 * it, consensus votes and proposals above all.
 */
import { systemClock, type Clock } from './clock.ts';
import { LIMITS, type PayloadOf } from './messages.ts';
import { LruSet } from './lru.ts';
import { silentLogger, type P2PLogger } from './logger.ts';
import type { P2PNetwork, PeerDisconnected } from './network.ts';

/** What gossip carries. */
export type InvKind = 'block' | 'tx';

/** The layer above's inventory: what this node holds. */
export interface InventoryProvider {
  has(kind: InvKind, id: string): boolean;
  /** The body (a JSON object) of an item, or undefined if it is not held. */
  get(kind: InvKind, id: string): unknown;
}

/** What the layer above made of a received body. */
export type AcceptResult = 'accepted' | 'duplicate' | 'rejected';

/** Validates and stores a received body. */
export type Acceptor = (kind: InvKind, id: string, body: unknown, fromPeerId: string) => Promise<AcceptResult>;

/** Gossip settings. */
export interface GossipOptions {
  readonly provider: InventoryProvider;
  readonly accept: Acceptor;
  /** The id of a body (tx id, block hash), or undefined if it is malformed: the wire does not carry it. */
  readonly idOf: (kind: InvKind, body: unknown) => string | undefined;
  /** Ids remembered as seen (default 50 000). */
  readonly seenCapacity?: number;
  /** How long a GET_DATA may go unanswered before another announcer is asked (default 10 s). */
  readonly requestTimeoutMs?: number;
  /** Most ids in flight at once (default 10 000); beyond it new announcements wait in their announcer's deferred list. */
  readonly maxInFlight?: number;
  /**
   * Most transaction ids in flight from one announcing peer (default 1000),
   * and never more than an even split of maxInFlight among the connected
   * peers, so that neither one peer nor a handful can take the whole table.
   * Beyond it that peer's new announcements wait (bounded) and are asked for
   * as its requests settle. Block ids have a small share of their own.
   */
  readonly maxInFlightPerPeer?: number;
  /**
   * Blocks whose JSON is at most this many bytes are pushed whole to peers
   * instead of announced (default 256 KiB; 0 announces every block): it saves
   * the INV/GET_DATA round trip on every hop, which is most of a new block's
   * propagation time.
   */
  readonly pushBlocksUpTo?: number;
  /** Points a sender loses for a rejected item (default tx 20, block 50). */
  readonly rejectPoints?: Partial<Record<InvKind, number>>;
  readonly clock?: Clock;
  readonly log?: P2PLogger;
}

/** Gossip counters, for metrics and tests. */
export interface GossipStats {
  invIn: number;
  requested: number;
  bodiesIn: number;
  accepted: number;
  duplicates: number;
  rejected: number;
  served: number;
  notFound: number;
  timeouts: number;
}

/** An id asked of a peer, or whose body (asked for or not) is being checked. */
interface Request {
  /** The peer asked for the body; once processing, the one asked, or the sender of a body nobody was asked for. */
  peer: string;
  /** Other peers that announced the id or sent a copy: who to ask next. */
  readonly announcers: string[];
  cancel: () => void;
  /** The body arrived and the acceptor is running: no more re-requests. */
  processing: boolean;
  /** The GET_DATA went out to `peer`: if no answer comes, that is the peer's doing. */
  asked: boolean;
}

const MAX_ANNOUNCERS = 8;
// Ids each peer is known to hold, so we do not announce them back.
const PEER_KNOWN = 4096;
// Most transactions in one TXS answer: some 100-200 KB of JSON for transfers,
// a frame a receiver parses in a millisecond or two.
const TXS_BATCH = 500;
// Longest run of transaction acceptance (signature checks) before the event
// loop gets to read the sockets again: what a consensus message may wait per
// hop. Shorter slices starve acceptance when the loop is busy with other work
// (each turn of the loop grants one slice), and a gap in a sender's nonces
// keeps all of its later transactions out of blocks.
const TX_SLICE_MS = 15;
// Transactions waiting for acceptance beyond which new ones are accepted at
// once: the queue stays bounded and a flood slows its own reading down.
const MAX_QUEUED_TXS = 20_000;
// Ids one peer announced past its share of the in-flight table, kept to ask for later.
const MAX_DEFERRED_PER_PEER = 5000;
// Ids a peer was asked for and let time out (neither sent nor said NOT_FOUND for) per misbehaviour point: a share
// of made-up announcements costs its peer 10 points a timeout, an honest peer slow now and then next to nothing.
const UNDELIVERED_PER_POINT = 100;
// Block ids one peer may have in flight, apart from its transaction ids: a flood of transactions from an honest peer
// must not keep its announcement of a new block out, and an honest peer has few blocks to announce at a time.
const BLOCKS_IN_FLIGHT_PER_PEER = 16;

/** A received transaction body waiting for its slice. */
interface QueuedTx {
  readonly id: string;
  readonly body: Record<string, unknown>;
  readonly from: string;
}

/** Gossip over a P2PNetwork. */
export class Gossip {
  readonly stats: GossipStats = { invIn: 0, requested: 0, bodiesIn: 0, accepted: 0, duplicates: 0, rejected: 0, served: 0, notFound: 0, timeouts: 0 };
  private readonly seen: LruSet<string>;
  private readonly inFlight = new Map<string, Request>();
  /** Requests in inFlight still waiting for their body: what maxInFlight bounds (bodies being checked do not count). */
  private awaiting = 0;
  /** Per kind and peer (keyed as `key(kind, peer)`): ids it announced past its share, oldest first. */
  private readonly deferred = new Map<string, string[]>();
  private readonly pulls = new Map<string, { kind: InvKind; peer: string }>();
  private pullScheduled = false;
  /** Per kind and peer (keyed as `key(kind, peer)`): the awaiting requests asked of it, its part of the table. */
  private readonly owed = new Map<string, number>();
  /** Per peer: ids it let time out since it was last charged a point. */
  private readonly overdue = new Map<string, number>();
  /** Blocks from peers being checked now: relayed the moment they are known valid. */
  private readonly accepting = new Set<string>();
  private readonly known = new Map<string, LruSet<string>>();
  private readonly outbox = new Map<string, Record<InvKind, string[]>>();
  private flushScheduled = false;
  /** This node's own new transactions, pushed whole to every peer at the next flush. */
  private pushTxs: string[] = [];
  /** Peers already known to hold some of pushTxs. */
  private pushSkip = new Map<string, Set<string>>();
  private txQueue: (QueuedTx | undefined)[] = [];
  private txHead = 0;
  /** The bodies in txQueue by id, for readers that need one before its turn (a compact proposal). */
  private readonly queuedById = new Map<string, Record<string, unknown>>();
  private txDrainScheduled = false;
  private stopped = false;
  private readonly clock: Clock;
  private readonly log: P2PLogger;
  private readonly off: (() => void)[] = [];

  constructor(
    private readonly net: P2PNetwork,
    private readonly o: GossipOptions,
  ) {
    this.seen = new LruSet(o.seenCapacity ?? 50_000);
    this.clock = o.clock ?? systemClock;
    this.log = o.log ?? silentLogger;
  }

  /** Subscribes to the network's messages. */
  start(): this {
    const on = <E extends 'INV' | 'GET_DATA' | 'NOT_FOUND' | 'TX' | 'TXS' | 'BLOCK'>(e: E, fn: (p: PayloadOf<E>, id: string) => void): void => {
      const f = fn as (...a: unknown[]) => void;
      this.net.on(e, f as never);
      this.off.push(() => this.net.off(e, f as never));
    };
    on('INV', (p, from) => this.onInv(p.kind, p.ids, from));
    on('GET_DATA', (p, from) => this.onGetData(p.kind, p.ids, from));
    on('NOT_FOUND', (p, from) => this.onNotFound(p.kind, p.ids, from));
    on('TX', (p, from) => this.onBody('tx', p.tx, from));
    on('TXS', (p, from) => {
      for (const tx of p.txs) this.onBody('tx', tx, from);
    });
    on('BLOCK', (p, from) => this.onBody('block', p.block, from));
    const gone = (d: PeerDisconnected): void => this.onPeerGone(d.id);
    this.net.on('peer:disconnected', gone);
    this.off.push(() => this.net.off('peer:disconnected', gone));
    return this;
  }

  /** Unsubscribes and cancels pending requests. */
  stop(): void {
    this.stopped = true;
    for (const f of this.off.splice(0)) f();
    for (const r of this.inFlight.values()) r.cancel();
    this.inFlight.clear();
    this.awaiting = 0;
    this.owed.clear();
    this.deferred.clear();
    this.pulls.clear();
    this.overdue.clear();
    this.txQueue = [];
    this.txHead = 0;
    this.queuedById.clear();
  }

  /** The body of a transaction received and waiting for acceptance, if any. */
  queuedTx(id: string): Record<string, unknown> | undefined {
    return this.queuedById.get(id);
  }

  /** Makes known an item this node accepted on its own (a mined block, a submitted tx) to every peer: pushed whole if small, else by INV. */
  announce(kind: InvKind, id: string): void {
    this.seen.add(key(kind, id));
    this.relay(kind, id, undefined, kind === 'tx');
  }

  /**
   * Relays a block that came by gossip as soon as it is known valid, before
   * this node has finished storing it; a no-op for any other block (sync
   * batches are not relayed) and for peers that already have it.
   */
  relayValid(id: string): void {
    if (this.accepting.has(key('block', id))) this.relay('block', id, undefined);
  }

  /** True if the id was seen recently. */
  hasSeen(kind: InvKind, id: string): boolean {
    return this.seen.has(key(kind, id));
  }

  private onInv(kind: InvKind, ids: readonly string[], from: string): void {
    this.stats.invIn++;
    for (const id of ids) this.knownBy(from).add(key(kind, id));
    this.ask(kind, ids, from);
  }

  /**
   * Asks `from` for the announced ids this node lacks, within its share of
   * the in-flight table. Ids past the share wait in its deferred list and are
   * asked for as its requests settle: each id is announced once per link, so
   * an honest peer relaying a burst must not lose the rest, and what a peer
   * makes up still cannot take the places of other peers' announcements.
   */
  private ask(kind: InvKind, ids: readonly string[], from: string): void {
    const max = this.o.maxInFlight ?? 10_000;
    let room = this.share(kind) - (this.owed.get(key(kind, from)) ?? 0);
    const want: string[] = [];
    const asked: Request[] = [];
    for (const id of ids) {
      const k = key(kind, id);
      const r = this.inFlight.get(k);
      if (r !== undefined) {
        // Asked of another peer, or being checked: whoever else has it is asked should that come to nothing.
        addAnnouncer(r, from);
        continue;
      }
      if (this.seen.has(k) || this.o.provider.has(kind, id)) continue;
      if (room <= 0 || this.awaiting >= max) {
        this.defer(kind, from, id);
        continue;
      }
      const q: Request = { peer: from, announcers: [], cancel: this.timer(kind, id), processing: false, asked: true };
      this.inFlight.set(k, q);
      this.owe(kind, q);
      room--;
      want.push(id);
      asked.push(q);
    }
    if (want.length > 0) {
      this.stats.requested += want.length;
      // Not sent (a full send buffer): the peer is not to blame if no answer comes.
      if (this.net.send(from, 'GET_DATA', { kind, ids: want }) !== 'ok') for (const q of asked) q.asked = false;
    }
  }

  /** Ids of a kind one peer may have in flight; for transactions, less than maxInFlightPerPeer when so many peers are connected that it would not fit. */
  private share(kind: InvKind): number {
    if (kind === 'block') return BLOCKS_IN_FLIGHT_PER_PEER;
    const peers = Math.max(1, this.net.peerIds().length);
    return Math.min(this.o.maxInFlightPerPeer ?? 1000, Math.max(1, Math.floor((this.o.maxInFlight ?? 10_000) / peers)));
  }

  /** Counts a request as waiting for its body from r.peer. */
  private owe(kind: InvKind, r: Request): void {
    this.awaiting++;
    const p = key(kind, r.peer);
    this.owed.set(p, (this.owed.get(p) ?? 0) + 1);
  }

  /** Stops counting a waiting request against r.peer (its body came, or it is asked elsewhere or dropped). */
  private release(kind: InvKind, r: Request): void {
    this.awaiting--;
    const p = key(kind, r.peer);
    const n = (this.owed.get(p) ?? 0) - 1;
    if (n > 0) this.owed.set(p, n);
    else this.owed.delete(p);
    if (this.deferred.has(p)) this.schedulePull(kind, r.peer);
  }

  /** Keeps an id a peer announced past its share, to ask for later (bounded: the oldest go first). */
  private defer(kind: InvKind, peer: string, id: string): void {
    const p = key(kind, peer);
    let list = this.deferred.get(p);
    if (list === undefined) this.deferred.set(p, (list = []));
    list.push(id);
    if (list.length > MAX_DEFERRED_PER_PEER * 1.5) list.splice(0, list.length - MAX_DEFERRED_PER_PEER);
  }

  /** Asks for a peer's deferred ids once the current work is done (many requests settle together). */
  private schedulePull(kind: InvKind, peer: string): void {
    this.pulls.set(key(kind, peer), { kind, peer });
    if (this.pullScheduled) return;
    this.pullScheduled = true;
    queueMicrotask(() => {
      this.pullScheduled = false;
      if (this.stopped) return;
      const pulls = [...this.pulls.values()];
      this.pulls.clear();
      for (const { kind: k, peer: from } of pulls) {
        const p = key(k, from);
        const list = this.deferred.get(p);
        if (list === undefined) continue;
        const room = this.share(k) - (this.owed.get(p) ?? 0);
        if (room <= 0) continue;
        const take = list.splice(0, room);
        if (list.length === 0) this.deferred.delete(p);
        this.ask(k, take, from);
      }
    });
  }

  /** Counts an id a peer was asked for and let time out; every UNDELIVERED_PER_POINT of them cost it a point. */
  private undelivered(peer: string): void {
    const n = (this.overdue.get(peer) ?? 0) + 1;
    if (n < UNDELIVERED_PER_POINT) {
      this.overdue.set(peer, n);
      return;
    }
    this.overdue.delete(peer);
    this.net.penalize(peer, 1, 'announced ids not delivered');
  }

  private onGetData(kind: InvKind, ids: readonly string[], from: string): void {
    const missing: string[] = [];
    let blocked = false;
    // Transactions go out several to a frame (TXS), blocks one to a frame; a lone transaction as TX.
    const batch: { id: string; body: Record<string, unknown> }[] = [];
    const flushTxs = (): void => {
      if (batch.length === 0) return;
      const r = batch.length === 1 ? this.net.send(from, 'TX', { tx: batch[0]!.body }) : this.net.send(from, 'TXS', { txs: batch.map((b) => b.body) });
      if (r === 'ok') {
        this.stats.served += batch.length;
        for (const b of batch) this.knownBy(from).add(key(kind, b.id));
      } else if (r === 'too-large' && batch.length > 1) {
        // Large transactions: send each in its own frame.
        for (const b of batch) {
          if (blocked) missing.push(b.id);
          else if (this.net.send(from, 'TX', { tx: b.body }) === 'ok') {
            this.stats.served++;
            this.knownBy(from).add(key(kind, b.id));
          } else {
            blocked = true;
            missing.push(b.id);
          }
        }
      } else {
        // A full send buffer: say NOT_FOUND for the rest so the peer asks someone else.
        blocked = r !== 'too-large';
        for (const b of batch) missing.push(b.id);
      }
      batch.length = 0;
    };
    for (const id of ids) {
      const body: unknown = blocked ? undefined : this.o.provider.get(kind, id);
      if (!isObject(body)) {
        missing.push(id);
        continue;
      }
      if (kind === 'tx') {
        batch.push({ id, body });
        if (batch.length >= Math.min(TXS_BATCH, LIMITS.txsPerMessage)) flushTxs();
        continue;
      }
      const r: string = this.net.send(from, 'BLOCK', { block: body });
      if (r === 'ok') {
        this.stats.served++;
        this.knownBy(from).add(key(kind, id));
      } else {
        // A full send buffer: say NOT_FOUND for the rest so the peer asks someone else.
        blocked = r !== 'too-large';
        missing.push(id);
      }
    }
    flushTxs();
    if (missing.length > 0) {
      this.stats.notFound += missing.length;
      this.net.send(from, 'NOT_FOUND', { kind, ids: missing.slice(0, LIMITS.invIds) });
    }
  }

  private onNotFound(kind: InvKind, ids: readonly string[], from: string): void {
    for (const id of ids) {
      const r = this.inFlight.get(key(kind, id));
      if (r !== undefined && r.peer === from && !r.processing) this.retry(kind, id, r);
    }
  }

  private onBody(kind: InvKind, body: Record<string, unknown>, from: string): void {
    this.stats.bodiesIn++;
    const id = this.o.idOf(kind, body);
    if (id === undefined) {
      this.net.penalize(from, this.o.rejectPoints?.[kind] ?? defaultReject[kind], `malformed ${kind}`);
      return;
    }
    const k = key(kind, id);
    this.knownBy(from).add(k);
    const r = this.inFlight.get(k);
    if (r?.processing === true) {
      // Another copy of what is being checked: if that one proves a bad copy of a transaction, this sender is asked for its own.
      addAnnouncer(r, from);
      return;
    }
    if (this.seen.has(k)) {
      // A late copy of something already handled (or this node's own): any request still out for it is answered.
      if (r !== undefined) this.forget(kind, k, r);
      return;
    }
    if (r === undefined) {
      this.inFlight.set(k, { peer: from, announcers: [], cancel: noop, processing: true, asked: false });
    } else {
      r.cancel();
      this.release(kind, r);
      r.processing = true;
    }
    this.seen.add(k);
    if (kind === 'tx' && this.txQueue.length - this.txHead < MAX_QUEUED_TXS) {
      this.txQueue.push({ id, body, from });
      this.queuedById.set(id, body);
      if (!this.txDrainScheduled) {
        this.txDrainScheduled = true;
        setImmediate(() => this.drainTxs());
      }
      return;
    }
    void this.acceptBody(kind, id, body, from);
  }

  /** Accepts queued transactions for one slice, then lets the event loop read the sockets. */
  private drainTxs(): void {
    this.txDrainScheduled = false;
    if (this.stopped) return;
    const until = performance.now() + TX_SLICE_MS;
    while (this.txHead < this.txQueue.length) {
      const t = this.txQueue[this.txHead]!;
      this.txQueue[this.txHead++] = undefined;
      this.queuedById.delete(t.id);
      void this.acceptBody('tx', t.id, t.body, t.from);
      if (performance.now() >= until) break;
    }
    if (this.txHead >= this.txQueue.length) {
      this.txQueue = [];
      this.txHead = 0;
      return;
    }
    if (this.txHead > 4096) {
      this.txQueue = this.txQueue.slice(this.txHead);
      this.txHead = 0;
    }
    this.txDrainScheduled = true;
    setImmediate(() => this.drainTxs());
  }

  private async acceptBody(kind: InvKind, id: string, body: Record<string, unknown>, from: string): Promise<void> {
    const k = key(kind, id);
    let result: AcceptResult;
    if (kind === 'block') this.accepting.add(k);
    try {
      result = await this.o.accept(kind, id, body, from);
    } catch (err) {
      // The acceptor failed (not the item): forget it so a later announcement can retry.
      this.seen.delete(k);
      this.inFlight.delete(k);
      // Stopping meanwhile (the node closes its chain) is not a failure.
      if (!this.stopped) this.log.warn({ kind, id, err: String(err) }, 'gossip acceptor failed');
      return;
    } finally {
      this.accepting.delete(k);
    }
    if (result === 'rejected') {
      this.stats.rejected++;
      this.log.info({ kind, id, peer: from.slice(0, 16) }, 'peer sent an invalid item');
      // Each bad copy costs its sender, so forgetting the id below cannot have us check copies for free.
      this.net.penalize(from, this.o.rejectPoints?.[kind] ?? defaultReject[kind], `invalid ${kind}`);
      // A transaction's id does not cover its signature: a bad copy says nothing of the real one. Forget the id, so a
      // later copy or announcement is taken, and ask the peers that offered it meanwhile (their copies were dropped
      // while this one was checked). A block stays seen, as before: a bad copy leaves its header indexed, for sync.
      if (kind === 'tx') {
        this.seen.delete(k);
        if (this.askOthers(kind, id, from)) return;
      }
      this.inFlight.delete(k);
      return;
    }
    this.inFlight.delete(k);
    if (result === 'accepted') {
      this.stats.accepted++;
      this.relay(kind, id, from);
    } else {
      this.stats.duplicates++;
    }
  }

  /** After a bad copy from `from`: asks the next peer that announced the id or sent a copy; false if none is left. */
  private askOthers(kind: InvKind, id: string, from: string): boolean {
    const r = this.inFlight.get(key(kind, id));
    if (r === undefined || !r.processing || this.stopped) return false;
    // The peer asked, if another sent the bad copy unasked: its answer was dropped while that copy was checked.
    if (r.peer !== from) r.announcers.unshift(r.peer);
    for (let i = r.announcers.indexOf(from); i >= 0; i = r.announcers.indexOf(from)) r.announcers.splice(i, 1);
    r.processing = false;
    return this.askNext(kind, id, r);
  }

  /** Drops a request still waiting for its body. */
  private forget(kind: InvKind, k: string, r: Request): void {
    r.cancel();
    if (!r.processing) this.release(kind, r);
    this.inFlight.delete(k);
  }

  private onPeerGone(peerId: string): void {
    this.known.delete(peerId);
    for (const kind of ['tx', 'block'] as const) this.deferred.delete(key(kind, peerId));
    this.outbox.delete(peerId);
    this.overdue.delete(peerId);
    for (const [k, r] of this.inFlight) {
      const i = r.announcers.indexOf(peerId);
      if (i >= 0) r.announcers.splice(i, 1);
      if (r.peer === peerId && !r.processing) {
        const [kind, id] = split(k);
        this.retry(kind, id, r);
      }
    }
  }

  // Ask the next announcer still connected, or give up until someone announces the id again.
  private retry(kind: InvKind, id: string, r: Request): void {
    r.cancel();
    this.release(kind, r);
    if (!this.askNext(kind, id, r)) this.inFlight.delete(key(kind, id));
  }

  /** Asks the next announcer of r still connected for the body (r must not be waiting already); false if none is left. */
  private askNext(kind: InvKind, id: string, r: Request): boolean {
    const live = new Set(this.net.peerIds());
    let next: string | undefined;
    while (r.announcers.length > 0 && next === undefined) {
      const a = r.announcers.shift() as string;
      if (live.has(a)) next = a;
    }
    if (next === undefined) return false;
    r.peer = next;
    r.cancel = this.timer(kind, id);
    // Past its share too: the id holds a place in the table already, and this is who has it.
    this.owe(kind, r);
    this.stats.requested++;
    r.asked = this.net.send(next, 'GET_DATA', { kind, ids: [id] }) === 'ok';
    return true;
  }

  private timer(kind: InvKind, id: string): () => void {
    return this.clock.setTimer(() => {
      const r = this.inFlight.get(key(kind, id));
      if (r === undefined || r.processing) return;
      this.stats.timeouts++;
      // A NOT_FOUND would have cost nothing (an honest peer's transaction may have left its pool): silence costs a little.
      if (r.asked) this.undelivered(r.peer);
      this.retry(kind, id, r);
    }, this.o.requestTimeoutMs ?? 10_000);
  }

  /**
   * Queues an INV to every peer not known to hold the id, sent in batches once
   * the current work is done. A small block is pushed whole instead, and so is
   * a transaction this node admitted itself (`pushTx`): nobody else can have
   * it yet, and the INV/GET_DATA round trip would only delay it.
   */
  private relay(kind: InvKind, id: string, except: string | undefined, pushTx = false): void {
    const k = key(kind, id);
    const push = kind === 'block' ? this.pushable(id) : undefined;
    // One payload object for every peer: the transport then encodes it once.
    const pushed = push === undefined ? undefined : { block: push };
    for (const peer of this.net.peerIds()) {
      if (peer === except) continue;
      const known = this.knownBy(peer);
      if (known.has(k)) {
        if (pushTx) this.skipPush(peer, id);
        continue;
      }
      known.add(k);
      if (pushTx) continue;
      if (pushed !== undefined && this.net.send(peer, 'BLOCK', pushed) === 'ok') continue;
      this.queueInv(peer, kind, id);
    }
    if (pushTx) this.pushTxs.push(id);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      // A microtask: everything the current task relays goes out together, and nothing waits for the next turn of the loop.
      queueMicrotask(() => this.flush());
    }
  }

  private queueInv(peer: string, kind: InvKind, id: string): void {
    let box = this.outbox.get(peer);
    if (box === undefined) this.outbox.set(peer, (box = { block: [], tx: [] }));
    box[kind].push(id);
  }

  private skipPush(peer: string, id: string): void {
    let s = this.pushSkip.get(peer);
    if (s === undefined) this.pushSkip.set(peer, (s = new Set()));
    s.add(id);
  }

  /** The body of a block small enough to push whole, or undefined to announce it. */
  private pushable(id: string): Record<string, unknown> | undefined {
    const limit = this.o.pushBlocksUpTo ?? 256 * 1024;
    if (limit <= 0) return undefined;
    const body = this.o.provider.get('block', id);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
    return JSON.stringify(body).length <= limit ? (body as Record<string, unknown>) : undefined;
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.pushTxs.length > 0) this.flushPushedTxs();
    for (const [peer, box] of this.outbox) {
      for (const kind of ['block', 'tx'] as const) {
        const ids = box[kind];
        for (let i = 0; i < ids.length; i += LIMITS.invIds) this.net.send(peer, 'INV', { kind, ids: ids.slice(i, i + LIMITS.invIds) });
      }
    }
    this.outbox.clear();
  }

  /** Sends this node's own new transactions whole (TXS) to every peer; what a peer cannot take now is announced instead. */
  private flushPushedTxs(): void {
    const ids = this.pushTxs;
    const skip = this.pushSkip;
    this.pushTxs = [];
    this.pushSkip = new Map();
    const items: { id: string; body: Record<string, unknown> }[] = [];
    for (const id of ids) {
      const body = this.o.provider.get('tx', id);
      if (isObject(body)) items.push({ id, body });
    }
    const chunk = (list: typeof items): { ids: string[]; payload: { txs: Record<string, unknown>[] } }[] => {
      const out: { ids: string[]; payload: { txs: Record<string, unknown>[] } }[] = [];
      for (let i = 0; i < list.length; i += TXS_BATCH) {
        const part = list.slice(i, i + TXS_BATCH);
        out.push({ ids: part.map((p) => p.id), payload: { txs: part.map((p) => p.body) } });
      }
      return out;
    };
    // The same frames for every peer (encoded once by the transport), unless a peer already holds some.
    const shared = chunk(items);
    for (const peer of this.net.peerIds()) {
      const s = skip.get(peer);
      const frames = s === undefined ? shared : chunk(items.filter((it) => !s.has(it.id)));
      let full = false;
      for (const f of frames) {
        const r: string = full ? 'full' : f.ids.length === 1 ? this.net.send(peer, 'TX', { tx: f.payload.txs[0]! }) : this.net.send(peer, 'TXS', f.payload);
        if (r === 'ok') {
          this.stats.served += f.ids.length;
          continue;
        }
        full = r !== 'too-large';
        for (const id of f.ids) this.queueInv(peer, 'tx', id);
      }
    }
  }

  private knownBy(peer: string): LruSet<string> {
    let s = this.known.get(peer);
    if (s === undefined) this.known.set(peer, (s = new LruSet(PEER_KNOWN)));
    return s;
  }
}

const defaultReject: Record<InvKind, number> = { tx: 20, block: 50 };

const noop = (): void => {};

/** Adds a peer to the ones to ask next for an id, once, within MAX_ANNOUNCERS. */
function addAnnouncer(r: Request, peer: string): void {
  if (r.peer !== peer && !r.announcers.includes(peer) && r.announcers.length < MAX_ANNOUNCERS) r.announcers.push(peer);
}

function key(kind: InvKind, id: string): string {
  return kind === 'tx' ? `t${id}` : `b${id}`;
}

function split(k: string): [InvKind, string] {
  return [k[0] === 't' ? 'tx' : 'block', k.slice(1)];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
