import { EventEmitter } from 'node:events';
import { blockFromJson, blockHash, headerFromJson, sameHeader, type Block, type BlockHeader, type Hash } from '../core/index.ts';
import type { Chain } from './chain.ts';
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
      } finally {
        const left = (this.checkingHeaders.get(peerId) ?? 1) - 1;
        if (left > 0) this.checkingHeaders.set(peerId, left);
        else this.checkingHeaders.delete(peerId);
      }
      if (!r.ok) {
        // A batch asked for ahead of one that failed meanwhile fails too, for that failure alone.
        if ((this.headerFailures.get(peerId) ?? 0) === failures) {
          this.headerFailures.set(peerId, failures + 1);
          this.net.penalize(peerId, 20, `bad header: ${r.error.message}`);
        }
      } else if (full) this.askHeaders(peerId);
    }
    this.fetchBodies();
    this.emit('progress', this.progress());
  }

  /**
   * Handles a BLOCKS answer. It settles the outstanding request that holds its
   * first block (an empty answer settles the oldest); whatever the peer left
   * out, perhaps to keep its answer small, is free to be asked again.
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
    const batches = this.batches.get(peerId) ?? [];
    const first = blocks[0] === undefined ? undefined : blockHash(blocks[0].header);
    const i = first === undefined ? (batches.length > 0 ? 0 : -1) : batches.findIndex((b) => b.hashes.includes(first));
    if (i < 0) return this.net.penalize(peerId, 5, 'blocks that were not asked for');
    const batch = batches.splice(i, 1)[0]!;
    const wanted: Block[] = [];
    let next = 0;
    for (const block of blocks) {
      // An answer follows the order asked for: a block whose header equals the one indexed
      // under the next hash asked for has that hash, without hashing its header again.
      const m = this.matchAsked(batch.hashes, next, block.header);
      if (m !== undefined) {
        next = m.at + 1;
        wanted.push({ ...block, header: m.entry.header });
      } else if (batch.hashes.includes(blockHash(block.header))) wanted.push(block);
      else this.net.penalize(peerId, 5, 'a block that was not asked for');
    }
    // The next batch is asked for before this one is checked, so the peer sends while we validate;
    // this batch's hashes stay marked as requested until it is in.
    this.fetchBodies();
    try {
      const results = await this.chain.submitBlocks(wanted, peerId);
      for (const r of results) if (r.status === 'invalid') this.net.penalize(peerId, 50, `invalid block: ${r.error.message}`);
    } finally {
      // Only now may what the peer left out, sent invalid, or we failed to store be asked again.
      this.release(batch.hashes);
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
        // A slow peer: its batch goes to someone else.
        this.release(batches.shift()!.hashes);
        this.net.penalize(peer, 1, 'block request timed out');
      }
    }
    const best = this.chain.index.bestHeader().height;
    for (const p of this.net.peers()) if (p.height > best) this.askHeaders(p.id);
    this.fetchBodies();
  }

  /** Forgets a departed peer's requests so they go elsewhere. */
  peerGone(peerId: string): void {
    this.headerRequests.delete(peerId);
    this.headerFailures.delete(peerId);
    for (const b of this.batches.get(peerId) ?? []) this.release(b.hashes);
    this.batches.delete(peerId);
    this.fetchBodies();
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

  private fetchBodies(): void {
    if (!this.asking) return;
    const load = (id: string): number => this.batches.get(id)?.length ?? 0;
    let free = 0;
    for (const p of this.net.peers()) free += Math.max(0, this.o.requestsPerPeer - load(p.id));
    if (free === 0) return;
    const want = this.missingBodies(free * this.o.blocksPerRequest);
    if (want.length === 0) return;
    const peers = [...this.net.peers()].sort((a, b) => load(a.id) - load(b.id));
    let i = 0;
    let progress = true;
    // Round-robin over peers so several download at once.
    while (i < want.length && progress) {
      progress = false;
      for (const p of peers) {
        if (i >= want.length) break;
        if (load(p.id) >= this.o.requestsPerPeer) continue;
        const batch = want.slice(i, i + this.o.blocksPerRequest);
        if (batch[batch.length - 1]!.height > p.height && p.height > 0) continue;
        if (!this.net.requestBlocks(p.id, batch.map((e) => e.hash))) continue;
        const sentAt = this.o.now();
        const hashes = batch.map((e) => e.hash);
        for (const h of hashes) this.blockRequests.set(h, { peer: p.id, sentAt });
        let list = this.batches.get(p.id);
        if (list === undefined) {
          list = [];
          this.batches.set(p.id, list);
        }
        list.push({ hashes, sentAt });
        i += batch.length;
        progress = true;
      }
    }
  }
}
