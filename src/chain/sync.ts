import { EventEmitter } from 'node:events';
import { blockFromJson, blockHash, headerFromJson, sameHeader, type Block, type BlockHeader, type Hash } from '../core/index.ts';
import { BoundedMap } from '../util/bounded.ts';
import { ChainClosedError, type Chain } from './chain.ts';
import { blamesSender } from './rules.ts';
import type { IndexEntry } from './block-index.ts';

/** What sync needs from the network: peers, requests, and penalties. */
export interface SyncNetwork {
  /** Connected peers with the best height they claimed. */
  peers(): readonly { readonly id: string; readonly height: number }[];
  /** Sends a request; false when the peer is gone or its buffer is full. */
  requestHeaders(peerId: string, locator: Hash[], limit: number): boolean;
  requestBlocks(peerId: string, hashes: Hash[]): boolean;
  penalize(peerId: string, points: number, reason: string): void;
}

/** Sync tuning. */
export interface SyncOptions {
  readonly now: () => number;
  /** Headers asked for per request (the protocol allows up to 2000). */
  readonly headersPerRequest?: number;
  /** Bodies asked for per request. */
  readonly blocksPerRequest?: number;
  /** Requests in flight per peer. */
  readonly requestsPerPeer?: number;
  /** How far ahead of the tip bodies are fetched. */
  readonly window?: number;
  /** A request unanswered this long goes to another peer. */
  readonly timeoutMs?: number;
}

/** Progress, for the terminal bar and metrics. */
export interface SyncProgress {
  readonly syncing: boolean;
  readonly height: number;
  readonly target: number;
  readonly inFlight: number;
}

/** Sync events. */
export interface SyncEvents {
  progress: [SyncProgress];
}

interface Request {
  readonly peer: string;
  readonly sentAt: number;
}

// How long a peer that failed to deliver a block is passed over for it, while another peer can be asked.
const PASS_OVER_MS = 60_000;
// Past this many peers that failed one block, the oldest is forgotten: the memory stays bounded per block.
const FAILED_PEERS_PER_BLOCK = 8;
// A little, for an answer with a gap: an honest peer serves every block it has, in the order asked.
const GAP_POINTS = 1;

/**
 * The peers that lately failed to deliver a block: left it out of an answer
 * or let the request time out. Asked again at once, the same peer could keep
 * the block from ever arriving, so it goes to another peer when there is one.
 */
class DeliveryFailures {
  private readonly byHash: BoundedMap<Hash, { peers: string[]; until: number }>;

  constructor(capacity: number) {
    this.byHash = new BoundedMap(capacity);
  }

  /** Notes that a peer failed to deliver these blocks. */
  note(peer: string, hashes: readonly Hash[], now: number): void {
    for (const h of hashes) {
      const f = this.byHash.get(h);
      const peers = f === undefined || f.until <= now ? [] : f.peers.filter((p) => p !== peer);
      peers.push(peer);
      if (peers.length > FAILED_PEERS_PER_BLOCK) peers.shift();
      this.byHash.touch(h, { peers, until: now + PASS_OVER_MS });
    }
  }

  /** True if the peer lately failed to deliver one of these blocks. */
  failed(peer: string, hashes: readonly Hash[], now: number): boolean {
    return hashes.some((h) => {
      const f = this.byHash.get(h);
      return f !== undefined && f.until > now && f.peers.includes(peer);
    });
  }

  /** Forgets blocks that arrived. */
  delivered(hashes: Iterable<Hash>): void {
    for (const h of hashes) this.byHash.delete(h);
  }
}

/**
 * Headers-first block download. Headers come from a block locator, are
 * checked (link, time, proof of work, target) and indexed; then bodies are
 * fetched in batches from every peer that has them, several requests at a
 * time, re-requested from another peer on timeout. Blocks may arrive in any
 * order: the chain connects each one once its parent's body is there. Nothing
 * ever asks for a whole chain in one message.
 */
export class Synchronizer extends EventEmitter<SyncEvents> {
  /** The one outstanding headers request per peer, with the peer's failure count when it was sent. */
  private readonly headerRequests = new Map<string, Request & { readonly failures: number }>();
  /** Header batches that failed their checks, per peer: an answer asked for before a failure cannot link. */
  private readonly headerFailures = new Map<string, number>();
  /** Header batches being checked, per peer: the next one is asked for ahead only while none is. */
  private readonly checkingHeaders = new Map<string, number>();
  private readonly blockRequests = new Map<Hash, Request>();
  /** Outstanding body requests per peer, oldest first. */
  private readonly batches = new Map<string, { hashes: Hash[]; sentAt: number }[]>();
  /**
   * Body requests that timed out, per peer, oldest first. Their blocks went
   * to other peers, but the peer still holds the request and answers it in
   * turn: asked for more meanwhile, it would hold more than it lets a peer
   * have waiting (and drop and charge us for the rest). So they count
   * against its load until answered, or until twice the timeout has passed.
   */
  private readonly late = new Map<string, { hashes: Hash[]; sentAt: number }[]>();
  private readonly failures: DeliveryFailures;
  private readonly o: Required<SyncOptions>;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private path: { best: IndexEntry; entries: IndexEntry[]; start: number; scanFrom: number } | undefined;

  constructor(
    private readonly chain: Chain,
    private readonly net: SyncNetwork,
    opts: SyncOptions,
  ) {
    super();
    this.o = { headersPerRequest: 2000, blocksPerRequest: 64, requestsPerPeer: 4, window: 2048, timeoutMs: 10_000, ...opts };
    // Failures matter only for blocks within the window; twice that leaves room for a window that moved.
    this.failures = new DeliveryFailures(2 * this.o.window);
  }

  /** Starts the periodic check (new peers, timeouts). */
  start(intervalMs = 500): void {
    this.timer = setInterval(() => this.tick(), intervalMs);
    this.timer.unref();
    this.tick();
  }

  /** Stops the periodic check; nothing more is asked of peers. */
  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearInterval(this.timer);
  }

  /** False once stopped, or once the chain can take no more blocks (its store failed). */
  private get asking(): boolean {
    return !this.stopped && this.chain.failure === undefined;
  }

  /** Current progress. */
  progress(): SyncProgress {
    const target = Math.max(this.chain.index.bestHeader().height, ...this.net.peers().map((p) => p.height), this.chain.height);
    return { syncing: target > this.chain.height, height: this.chain.height, target, inFlight: this.blockRequests.size };
  }

  /** Asks a peer for headers now (e.g. after it announced a block we cannot place). */
  askHeaders(peerId: string, after?: Hash): void {
    if (this.headerRequests.has(peerId) || !this.asking) return;
    const locator = this.chain.index.locator(this.chain.index.bestHeader());
    if (after !== undefined) locator.unshift(after);
    if (this.net.requestHeaders(peerId, locator, this.o.headersPerRequest)) {
      this.headerRequests.set(peerId, { peer: peerId, sentAt: this.o.now(), failures: this.headerFailures.get(peerId) ?? 0 });
    }
  }

  /** Handles a HEADERS answer. */
  async onHeaders(peerId: string, raw: readonly unknown[]): Promise<void> {
    const asked = this.headerRequests.get(peerId);
    if (asked === undefined) return this.net.penalize(peerId, 5, 'unsolicited headers');
    this.headerRequests.delete(peerId);
    const failures = this.headerFailures.get(peerId) ?? 0;
    // Asked for ahead of a batch that then failed: it follows headers we refused and cannot link. Not the peer's fault twice.
    if (asked.failures !== failures) return;
    const headers: BlockHeader[] = [];
    for (const r of raw) {
      const h = headerFromJson(r);
      if (!h.ok) return this.net.penalize(peerId, 20, `malformed header: ${h.error.message}`);
      headers.push(h.value);
    }
    if (headers.length > 0) {
      // A full batch means the peer has more. While no other batch of this peer is being checked,
      // ask for the next one now, after this one's last header, so the peer answers while we
      // check; one batch ahead at most, so downloading never runs far ahead of checking.
      const full = headers.length >= this.o.headersPerRequest;
      const checking = this.checkingHeaders.get(peerId) ?? 0;
      if (full && checking === 0) this.askHeaders(peerId, blockHash(headers[headers.length - 1]!));
      this.checkingHeaders.set(peerId, checking + 1);
      let r: Awaited<ReturnType<Chain['addHeaders']>>;
      try {
        r = await this.chain.addHeaders(headers, peerId);
      } catch (err) {
        // The node is stopping: nothing more to do, and nothing wrong.
        if (err instanceof ChainClosedError) return;
        throw err;
      } finally {
        const left = (this.checkingHeaders.get(peerId) ?? 1) - 1;
        if (left > 0) this.checkingHeaders.set(peerId, left);
        else this.checkingHeaders.delete(peerId);
      }
      if (!r.ok) {
        // A batch asked for ahead of one that failed meanwhile fails too, for that failure alone.
        if ((this.headerFailures.get(peerId) ?? 0) === failures) {
          this.headerFailures.set(peerId, failures + 1);
          if (blamesSender(r.error.code)) this.net.penalize(peerId, 20, `bad header: ${r.error.message}`);
        }
      } else if (full) this.askHeaders(peerId);
    }
    this.fetchBodies();
    this.emit('progress', this.progress());
  }

  /**
   * Handles a BLOCKS answer. It settles the outstanding request that holds its
   * first block (an empty answer settles the oldest); whatever the peer left
   * out, perhaps to keep its answer small, is free to be asked again, of
   * another peer when one can serve it.
   */
  async onBlocks(peerId: string, raw: readonly unknown[]): Promise<void> {
    const blocks: Block[] = [];
    for (const r of raw) {
      const b = blockFromJson(r, this.chain.genesis.params);
      if (!b.ok) {
        this.net.penalize(peerId, 20, `malformed block: ${b.error.message}`);
        continue;
      }
      blocks.push(b.value);
    }
    const first = blocks[0] === undefined ? undefined : blockHash(blocks[0].header);
    // A peer answers in the order asked, so a request that timed out (older) is answered before one
    // asked since: look there first. Its blocks are still taken; it was released and judged already.
    const late = settle(this.late.get(peerId), first);
    const batch = late ?? settle(this.batches.get(peerId), first);
    if (batch === undefined) return this.net.penalize(peerId, 5, 'blocks that were not asked for');
    const wanted: Block[] = [];
    const delivered = new Set<Hash>();
    let next = 0;
    for (const block of blocks) {
      // An answer follows the order asked for: a block whose header equals the one indexed
      // under the next hash asked for has that hash, without hashing its header again.
      const m = this.matchAsked(batch.hashes, next, block.header);
      if (m !== undefined) {
        next = m.at + 1;
        delivered.add(m.entry.hash);
        wanted.push({ ...block, header: m.entry.header });
        continue;
      }
      const hash = blockHash(block.header);
      if (batch.hashes.includes(hash)) {
        delivered.add(hash);
        wanted.push(block);
      } else this.net.penalize(peerId, 5, 'a block that was not asked for');
    }
    if (late === undefined) this.judgeDelivery(peerId, batch.hashes, delivered);
    // The next batch is asked for before this one is checked, so the peer sends while we validate;
    // this batch's hashes stay marked as requested until it is in.
    this.fetchBodies();
    try {
      const results = await this.chain.submitBlocks(wanted, peerId);
      for (const r of results) if (r.status === 'invalid' && blamesSender(r.error.code)) this.net.penalize(peerId, 50, `invalid block: ${r.error.message}`);
    } catch (err) {
      if (err instanceof ChainClosedError) return;
      throw err;
    } finally {
      // Only now may what the peer left out, sent invalid, or we failed to store be asked again.
      if (late === undefined) this.release(batch.hashes);
    }
    this.fetchBodies();
    this.emit('progress', this.progress());
  }

  /** Periodic work: ask peers ahead of us for headers, expire slow requests, fetch bodies. */
  tick(): void {
    const now = this.o.now();
    for (const [peer, req] of this.headerRequests) {
      if (now - req.sentAt > this.o.timeoutMs) this.headerRequests.delete(peer);
    }
    for (const [peer, batches] of this.batches) {
      while (batches.length > 0 && now - batches[0]!.sentAt > this.o.timeoutMs) {
        // A slow peer: its batch goes to someone else, but still waits at the peer (see `late`).
        const b = batches.shift()!;
        this.failures.note(peer, b.hashes, now);
        this.release(b.hashes);
        this.net.penalize(peer, 1, 'block request timed out');
        let late = this.late.get(peer);
        if (late === undefined) this.late.set(peer, (late = []));
        late.push(b);
      }
    }
    for (const [peer, late] of this.late) {
      // Unanswered twice as long: the peer dropped it (or is hopeless); its room is free again.
      while (late.length > 0 && now - late[0]!.sentAt > 2 * this.o.timeoutMs) late.shift();
      if (late.length === 0) this.late.delete(peer);
    }
    const best = this.chain.index.bestHeader().height;
    for (const p of this.net.peers()) if (p.height > best) this.askHeaders(p.id);
    this.fetchBodies(true);
  }

  /** Forgets a departed peer's requests so they go elsewhere. */
  peerGone(peerId: string): void {
    this.headerRequests.delete(peerId);
    this.headerFailures.delete(peerId);
    for (const b of this.batches.get(peerId) ?? []) this.release(b.hashes);
    this.batches.delete(peerId);
    this.late.delete(peerId);
    this.fetchBodies();
  }

  /**
   * Notes the blocks a peer failed to deliver, so that they go to another
   * peer. An answer may stop short to stay under its size limit, and the rest
   * is simply asked for again; an empty answer (an honest peer on another
   * branch lacks our blocks) or one with a gap is a failure, and a gap costs
   * a little.
   */
  private judgeDelivery(peerId: string, asked: readonly Hash[], delivered: ReadonlySet<Hash>): void {
    this.failures.delivered(delivered);
    if (delivered.size === asked.length) return;
    const prefix = delivered.size > 0 && asked.slice(0, delivered.size).every((h) => delivered.has(h));
    if (prefix) return;
    this.failures.note(peerId, asked.filter((h) => !delivered.has(h)), this.o.now());
    if (delivered.size > 0) this.net.penalize(peerId, GAP_POINTS, 'an answer that skipped blocks asked for');
  }

  /** Forgets requests; a hash still without its body may be asked for again, so the scan for missing bodies starts over. */
  private release(hashes: readonly Hash[]): void {
    for (const h of hashes) {
      this.blockRequests.delete(h);
      if (this.path !== undefined && this.chain.index.get(h)?.hasBody !== true) this.path.scanFrom = 0;
    }
  }

  /** The first asked hash from position `from` on whose indexed header equals `header`: its position and entry. */
  private matchAsked(hashes: readonly Hash[], from: number, header: BlockHeader): { at: number; entry: IndexEntry } | undefined {
    for (let j = from; j < hashes.length; j++) {
      const e = this.chain.index.get(hashes[j]!);
      if (e !== undefined && sameHeader(e.header, header)) return { at: j, entry: e };
    }
    return undefined;
  }

  /**
   * The entries from the first one whose chain lacks bodies up to the best
   * header. Kept between calls and extended as headers arrive: walking back
   * from the best header on every answer cost time quadratic in the chain
   * being synced. "Chain has bodies" spreads from the front, so the entries
   * that gained it are dropped from the front.
   */
  private bodiesPath(): { readonly entries: readonly IndexEntry[]; readonly start: number; scanFrom: number } {
    const best = this.chain.index.bestHeader();
    let p = this.path;
    if (p !== undefined && p.best !== best) {
      const ext: IndexEntry[] = [];
      let e: IndexEntry | undefined = best;
      while (e !== undefined && e !== p.best && e.height > p.best.height) {
        ext.push(e);
        e = e.parent;
      }
      if (e === p.best) {
        for (let i = ext.length - 1; i >= 0; i--) p.entries.push(ext[i]!);
        p.best = best;
      } else p = undefined;
    }
    if (p === undefined) {
      const entries: IndexEntry[] = [];
      for (let e: IndexEntry | undefined = best; e !== undefined && !e.chainHasBodies; e = e.parent) entries.push(e);
      p = { best, entries: entries.reverse(), start: 0, scanFrom: 0 };
    }
    while (p.start < p.entries.length && p.entries[p.start]!.chainHasBodies) p.start++;
    if (p.start >= 1024) {
      p.entries = p.entries.slice(p.start);
      p.scanFrom = Math.max(0, p.scanFrom - p.start);
      p.start = 0;
    }
    this.path = p;
    return p;
  }

  /** Up to `limit` entries within the window whose bodies are neither here nor asked for. */
  private missingBodies(limit: number): IndexEntry[] {
    const p = this.bodiesPath();
    const { entries, start } = p;
    const out: IndexEntry[] = [];
    // Entries before scanFrom were all here or asked for at the last scan: skip them.
    let i = Math.max(start, p.scanFrom);
    let settled = true;
    for (; i < entries.length && i < start + this.o.window && out.length < limit; i++) {
      const x = entries[i]!;
      if (!x.hasBody && !this.blockRequests.has(x.hash)) {
        out.push(x);
        settled = false;
      } else if (settled) p.scanFrom = i + 1;
    }
    return out;
  }

  /**
   * Asks peers for the missing bodies within the window, as many batches as
   * they have room for. A batch only peers that failed to deliver it could
   * serve waits for the periodic check (`retryFailed`): asked again at once,
   * a peer answering empty would keep both sides busy for nothing.
   */
  private fetchBodies(retryFailed = false): void {
    if (!this.asking) return;
    const peers = this.net.peers();
    let free = 0;
    for (const p of peers) free += Math.max(0, this.o.requestsPerPeer - this.load(p.id));
    if (free === 0) return;
    const want = this.missingBodies(free * this.o.blocksPerRequest);
    const now = this.o.now();
    // One batch per request, each to the least loaded peer at that moment, so several download at once.
    for (let i = 0; i < want.length; i += this.o.blocksPerRequest) {
      const batch = want.slice(i, i + this.o.blocksPerRequest);
      this.askForBodies(peers, batch, now, retryFailed);
    }
  }

  /**
   * Asks the least loaded peer with room that can hold the batch. A peer that
   * lately failed to deliver one of its blocks is passed over while another
   * could serve it, even if that one is busy now: the batch waits for it.
   */
  private askForBodies(peers: readonly { readonly id: string; readonly height: number }[], batch: readonly IndexEntry[], now: number, retryFailed: boolean): void {
    const top = batch[batch.length - 1]!.height;
    const hashes = batch.map((e) => e.hash);
    const able = peers.filter((p) => p.height === 0 || p.height >= top);
    const fresh = able.filter((p) => !this.failures.failed(p.id, hashes, now));
    if (fresh.length === 0 && !retryFailed) return;
    const choice = (fresh.length > 0 ? fresh : able).filter((p) => this.load(p.id) < this.o.requestsPerPeer).sort((a, b) => this.load(a.id) - this.load(b.id));
    for (const p of choice) {
      if (!this.net.requestBlocks(p.id, hashes)) continue;
      for (const h of hashes) this.blockRequests.set(h, { peer: p.id, sentAt: now });
      let list = this.batches.get(p.id);
      if (list === undefined) {
        list = [];
        this.batches.set(p.id, list);
      }
      list.push({ hashes, sentAt: now });
      return;
    }
  }

  /** Body requests outstanding at a peer, timed out or not. */
  private load(peerId: string): number {
    return (this.batches.get(peerId)?.length ?? 0) + (this.late.get(peerId)?.length ?? 0);
  }
}

/**
 * Takes from `list` the request an answer settles: the one holding its first
 * block, or the oldest for an empty answer.
 */
function settle(list: { hashes: Hash[]; sentAt: number }[] | undefined, first: Hash | undefined): { hashes: Hash[]; sentAt: number } | undefined {
  if (list === undefined || list.length === 0) return undefined;
  const i = first === undefined ? 0 : list.findIndex((b) => b.hashes.includes(first));
  return i < 0 ? undefined : list.splice(i, 1)[0];
}
