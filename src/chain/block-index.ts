import type { BlockHeader, Hash } from '../core/index.ts';

/** What the node knows about one block (header always, body maybe). */
export interface IndexEntry {
  readonly hash: Hash;
  readonly header: BlockHeader;
  readonly height: number;
  readonly parent: IndexEntry | undefined;
  /** Cumulative work from genesis through this block. */
  readonly work: bigint;
  /** The body is stored. */
  hasBody: boolean;
  /** This block and every ancestor have bodies: it can become the tip. */
  chainHasBodies: boolean;
  /** The block, or an ancestor, broke a rule. */
  invalid: boolean;
  readonly children: IndexEntry[];
}

/**
 * Every header the node has accepted, linked to its parent, with cumulative
 * work; plus the main chain as an array by height for O(1) lookups.
 */
export class BlockIndex {
  private readonly byHash = new Map<Hash, IndexEntry>();
  /** main[h] is the main-chain entry at height h. */
  readonly main: IndexEntry[] = [];
  private bestHeaderEntry: IndexEntry | undefined;

  /** Adds a header whose parent is already indexed (or the genesis, with none). */
  add(hash: Hash, header: BlockHeader, parent: IndexEntry | undefined, work: bigint): IndexEntry {
    const existing = this.byHash.get(hash);
    if (existing !== undefined) return existing;
    const e: IndexEntry = {
      hash,
      header,
      height: header.height,
      parent,
      work: (parent?.work ?? 0n) + work,
      hasBody: false,
      chainHasBodies: false,
      invalid: parent?.invalid ?? false,
      children: [],
    };
    parent?.children.push(e);
    this.byHash.set(hash, e);
    if (!e.invalid && (this.bestHeaderEntry === undefined || e.work > this.bestHeaderEntry.work)) this.bestHeaderEntry = e;
    return e;
  }

  /** An entry by hash. */
  get(hash: Hash): IndexEntry | undefined {
    return this.byHash.get(hash);
  }

  /** Number of indexed headers. */
  get size(): number {
    return this.byHash.size;
  }

  /** The main-chain tip. */
  tip(): IndexEntry {
    const t = this.main[this.main.length - 1];
    if (t === undefined) throw new Error('block index: no genesis');
    return t;
  }

  /** True if the entry is on the main chain. */
  isMain(e: IndexEntry): boolean {
    return this.main[e.height] === e;
  }

  /** The ancestor of e at a lower or equal height. */
  ancestor(e: IndexEntry, height: number): IndexEntry | undefined {
    if (height > e.height || height < 0) return undefined;
    let cur: IndexEntry | undefined = e;
    while (cur !== undefined && cur.height > height) {
      // Once the walk reaches the main chain, jump straight to the height.
      if (this.isMain(cur)) return this.main[height];
      cur = cur.parent;
    }
    return cur;
  }

  /** Marks an entry and all its descendants invalid. */
  markInvalid(e: IndexEntry): void {
    const stack = [e];
    while (stack.length > 0) {
      const x = stack.pop()!;
      x.invalid = true;
      stack.push(...x.children);
    }
  }

  /**
   * Records that e's body is stored and propagates "chain has bodies" down to
   * descendants whose bodies were already there. Returns entries that became
   * candidates for the tip.
   */
  setHasBody(e: IndexEntry): IndexEntry[] {
    e.hasBody = true;
    if (e.parent !== undefined && !e.parent.chainHasBodies) return [];
    const out: IndexEntry[] = [];
    const stack = [e];
    while (stack.length > 0) {
      const x = stack.pop()!;
      if (!x.hasBody || x.chainHasBodies) continue;
      x.chainHasBodies = true;
      out.push(x);
      stack.push(...x.children);
    }
    return out;
  }

  /** The best candidate tip, by a full scan (used after a failed reorganisation). */
  bestCandidate(): IndexEntry {
    let best = this.tip();
    for (const e of this.byHash.values()) {
      if (e.chainHasBodies && !e.invalid && e.work > best.work) best = e;
    }
    return best;
  }

  /** The most-work valid header (bodies or not): where sync is heading. */
  bestHeader(): IndexEntry {
    const b = this.bestHeaderEntry;
    if (b !== undefined && !b.invalid && b.work >= this.tip().work) return b;
    let best = this.tip();
    for (const e of this.byHash.values()) if (!e.invalid && e.work > best.work) best = e;
    this.bestHeaderEntry = best;
    return best;
  }

  /** A block locator: the tip, then back 1, 2, 4, 8... blocks, ending with genesis. */
  locator(from: IndexEntry = this.tip()): Hash[] {
    const out: Hash[] = [];
    let step = 1;
    let e: IndexEntry | undefined = from;
    while (e !== undefined) {
      out.push(e.hash);
      if (e.height === 0) break;
      if (out.length >= 10) step *= 2;
      e = this.ancestor(e, Math.max(0, e.height - step));
    }
    return out;
  }
}
