/** Known peer addresses with last-seen times and failure counts: the candidates for outbound dials. */
import { z } from 'zod';
import { formatAddress, parseAddress } from './address.ts';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.ts';
import { loadSaved, SaveQueue, type Persistence } from './persistence.ts';

/** Where an address was learned. */
export type AddressSource = 'static' | 'manual' | 'addr' | 'hello' | 'lan' | 'bootstrap';

/** One known address. Times are wall-clock ms since the epoch. */
export interface AddressEntry {
  readonly address: string;
  source: AddressSource;
  nodeId: string | undefined;
  readonly firstSeen: number;
  lastSeen: number;
  lastSuccess: number | undefined;
  lastAttempt: number | undefined;
  /** Consecutive failed dials or handshakes; reset by a success. */
  failures: number;
  /** No dial before this time (backoff). */
  nextAttemptAt: number;
}

/** Address book settings. */
export interface AddressBookOptions {
  /** Most addresses kept (default 2000). */
  readonly capacity?: number;
  /** Consecutive failures after which a learned address is forgotten (default 8; static/manual ones never are). */
  readonly maxFailures?: number;
  readonly backoff?: BackoffOptions;
  readonly random?: () => number;
}

const PINNED: ReadonlySet<AddressSource> = new Set(['static', 'manual']);
// A gossiped address not seen for this long is not offered to others as "good".
const FRESH_MS = 24 * 3600_000;

const stored = z.object({
  version: z.literal(1),
  entries: z
    .array(
      z.object({
        address: z.string().max(300),
        source: z.enum(['static', 'manual', 'addr', 'hello', 'lan', 'bootstrap']),
        nodeId: z.string().regex(/^[0-9a-f]{64}$/).optional(),
        firstSeen: z.number(),
        lastSeen: z.number(),
        lastSuccess: z.number().optional(),
        failures: z.number().int().min(0),
      }),
    )
    .max(100_000),
});

// One learned entry in the eviction heap, with its score when pushed: a later change pushes it again, and the
// copy whose score no longer matches is skipped when it surfaces.
interface Ranked {
  readonly score: number;
  readonly entry: AddressEntry;
}

/** A bounded, persisted address book. */
export class AddressBook {
  private readonly entries = new Map<string, AddressEntry>();
  // A max-heap of evictionScore over the learned entries, so that making room costs O(log n), not a scan of the
  // book: once it is full, every fresh address a peer sends evicts one.
  private heap: Ranked[] = [];
  private readonly capacity: number;
  private readonly maxFailures: number;
  private readonly backoff: BackoffOptions;
  private readonly random: () => number;
  private readonly saver: SaveQueue;

  constructor(
    private readonly persistence: Persistence | undefined,
    private readonly now: () => number,
    opts: AddressBookOptions = {},
    onError: (err: unknown) => void = () => {},
  ) {
    this.capacity = opts.capacity ?? 2000;
    this.maxFailures = opts.maxFailures ?? 8;
    this.backoff = opts.backoff ?? DEFAULT_BACKOFF;
    this.random = opts.random ?? Math.random;
    this.saver = new SaveQueue(persistence, () => this.snapshot(), onError);
  }

  get size(): number {
    return this.entries.size;
  }

  /** Loads a saved book; a malformed value is ignored (returns false). */
  async load(): Promise<boolean> {
    const saved = await loadSaved(this.persistence, stored);
    if (saved.kind !== 'ok') return saved.kind === 'none';
    for (const e of saved.value.entries.slice(0, this.capacity)) {
      const address = canonical(e.address);
      if (address === undefined || this.entries.has(address)) continue;
      this.entries.set(address, { ...e, address, nodeId: e.nodeId, lastSuccess: e.lastSuccess, lastAttempt: undefined, nextAttemptAt: 0 });
    }
    this.rebuildHeap();
    return true;
  }

  /**
   * Adds (or refreshes) an address; returns its canonical form, or undefined if malformed.
   * `nodeId` only fills an entry that names no node yet: a claim never replaces what a dial found (success()).
   */
  add(address: string, source: AddressSource, nodeId?: string): string | undefined {
    const a = canonical(address);
    if (a === undefined) return undefined;
    const now = this.now();
    const e = this.entries.get(a);
    if (e !== undefined) {
      const seen = e.lastSeen;
      e.lastSeen = now;
      if (PINNED.has(source) && !PINNED.has(e.source)) e.source = source;
      if (nodeId !== undefined && e.nodeId === undefined) e.nodeId = nodeId;
      if (now !== seen) this.rank(e);
    } else {
      if (this.entries.size >= this.capacity && !this.evict()) return undefined;
      const fresh: AddressEntry = { address: a, source, nodeId, firstSeen: now, lastSeen: now, lastSuccess: undefined, lastAttempt: undefined, failures: 0, nextAttemptAt: 0 };
      this.entries.set(a, fresh);
      this.rank(fresh);
    }
    this.saver.request();
    return a;
  }

  get(address: string): AddressEntry | undefined {
    const a = canonical(address);
    return a === undefined ? undefined : this.entries.get(a);
  }

  has(address: string): boolean {
    return this.get(address) !== undefined;
  }

  remove(address: string): void {
    const a = canonical(address);
    if (a !== undefined && this.entries.delete(a)) this.saver.request();
  }

  /** All entries (live objects; do not mutate). */
  all(): readonly AddressEntry[] {
    return [...this.entries.values()];
  }

  /** Records a dial attempt. */
  attempt(address: string): void {
    const e = this.get(address);
    if (e !== undefined) e.lastAttempt = this.now();
  }

  /** Records a completed handshake: resets the backoff. */
  success(address: string, nodeId: string): void {
    const e = this.get(address);
    if (e === undefined) return;
    const now = this.now();
    e.lastSuccess = now;
    e.lastSeen = now;
    e.failures = 0;
    e.nextAttemptAt = 0;
    e.nodeId = nodeId;
    this.rank(e);
    this.saver.request();
  }

  /** Records a failed dial or handshake; returns the backoff delay before the next attempt. */
  failure(address: string): number {
    const e = this.get(address);
    if (e === undefined) return 0;
    e.failures++;
    const delay = backoffDelay(e.failures, this.backoff, this.random);
    e.nextAttemptAt = this.now() + delay;
    if (e.failures >= this.maxFailures && !PINNED.has(e.source)) this.entries.delete(e.address);
    else this.rank(e);
    this.saver.request();
    return delay;
  }

  /** Up to n addresses ready to dial (backoff elapsed, not excluded), best first with some randomness. */
  candidates(n: number, exclude: (address: string) => boolean): string[] {
    const now = this.now();
    const ready = [...this.entries.values()].filter((e) => e.nextAttemptAt <= now && !exclude(e.address));
    // Rank: proven addresses first, then fewer failures, with a random tiebreak so all nodes do not pick the same ones.
    const ranked = ready.map((e) => ({ e, r: (e.lastSuccess !== undefined ? 0 : 10) + e.failures * 2 + this.random() * 3 }));
    ranked.sort((a, b) => a.r - b.r);
    return ranked.slice(0, n).map((x) => x.e.address);
  }

  /** Up to n shuffled addresses worth sharing: not failing, seen recently, not excluded. */
  good(n: number, exclude: (address: string) => boolean): string[] {
    const now = this.now();
    const ok = [...this.entries.values()].filter((e) => e.failures === 0 && now - Math.max(e.lastSeen, e.lastSuccess ?? 0) < FRESH_MS && !exclude(e.address)).map((e) => e.address);
    return shuffle(ok, this.random).slice(0, n);
  }

  /** Resolves once pending saves have been written. */
  flush(): Promise<void> {
    return this.saver.flush();
  }

  // Drops the least useful learned address to make room (the highest evictionScore); false if every entry is pinned.
  private evict(): boolean {
    for (let rebuilt = false; ; ) {
      const top = heapPop(this.heap);
      if (top === undefined) {
        // Nothing left to pop: every entry is pinned, unless a change escaped rank(); one rebuild settles which.
        if (rebuilt) return false;
        this.rebuildHeap();
        rebuilt = true;
        continue;
      }
      const e = top.entry;
      if (this.entries.get(e.address) !== e || PINNED.has(e.source) || evictionScore(e) !== top.score) continue;
      this.entries.delete(e.address);
      return true;
    }
  }

  // Files an entry's current score; called whenever lastSeen, lastSuccess or failures change.
  private rank(e: AddressEntry): void {
    if (PINNED.has(e.source)) return;
    heapPush(this.heap, { score: evictionScore(e), entry: e });
    // Superseded copies pile up as entries are refreshed; past twice the book, start over from the live entries.
    if (this.heap.length > 2 * this.entries.size + 64) this.rebuildHeap();
  }

  private rebuildHeap(): void {
    const heap: Ranked[] = [];
    for (const e of this.entries.values()) if (!PINNED.has(e.source)) heap.push({ score: evictionScore(e), entry: e });
    for (let i = (heap.length >> 1) - 1; i >= 0; i--) siftDown(heap, i);
    this.heap = heap;
  }

  private snapshot(): unknown {
    return {
      version: 1,
      entries: [...this.entries.values()].map((e) => ({
        address: e.address,
        source: e.source,
        ...(e.nodeId === undefined ? {} : { nodeId: e.nodeId }),
        firstSeen: e.firstSeen,
        lastSeen: e.lastSeen,
        ...(e.lastSuccess === undefined ? {} : { lastSuccess: e.lastSuccess }),
        failures: e.failures,
      })),
    };
  }
}

// Higher is worse: failures first, then never reached, then seen longest ago.
function evictionScore(e: AddressEntry): number {
  return e.failures * 1e13 + (e.lastSuccess === undefined ? 1e12 : 0) - e.lastSeen / 1e3;
}

function heapPush(heap: Ranked[], r: Ranked): void {
  let i = heap.push(r) - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    const p = heap[parent] as Ranked;
    if (p.score >= r.score) break;
    heap[i] = p;
    i = parent;
  }
  heap[i] = r;
}

function heapPop(heap: Ranked[]): Ranked | undefined {
  const top = heap[0];
  const last = heap.pop();
  if (top === undefined || last === undefined || heap.length === 0) return top;
  heap[0] = last;
  siftDown(heap, 0);
  return top;
}

function siftDown(heap: Ranked[], from: number): void {
  const r = heap[from] as Ranked;
  let i = from;
  for (;;) {
    let child = 2 * i + 1;
    if (child >= heap.length) break;
    const right = child + 1;
    if (right < heap.length && (heap[right] as Ranked).score > (heap[child] as Ranked).score) child = right;
    const c = heap[child] as Ranked;
    if (c.score <= r.score) break;
    heap[i] = c;
    i = child;
  }
  heap[i] = r;
}

/** The canonical form of an address string, or undefined if malformed. */
export function canonical(address: string): string | undefined {
  const a = parseAddress(address);
  return a === undefined ? undefined : formatAddress(a);
}

/** A shuffled copy (Fisher-Yates). */
export function shuffle<T>(items: readonly T[], random: () => number = Math.random): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}
