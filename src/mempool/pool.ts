import {
  checkGovernTx,
  MAX_AMOUNT,
  ERR,
  fail,
  formatAmount,
  ok,
  txId,
  txIdBytes,
  txSender,
  txSize,
  verifyTxSignature,
  type Address,
  type ChainParams,
  type Hash,
  type Result,
  type SignedTx,
  type State,
  type Tx,
} from '../core/index.ts';
import { isHex, verifyAsync } from '../crypto/index.ts';
import { BoundedMap } from '../util/bounded.ts';

/** Mempool limits and policy. */
export interface MempoolOptions {
  readonly chainId: string;
  readonly params: ChainParams;
  /** Most transactions held; beyond it the cheapest (by fee rate) is evicted. */
  readonly maxTxs: number;
  /** How far past the account's next nonce a transaction may be queued. */
  readonly maxNonceGap: number;
  /** A pending transaction older than this is dropped. */
  readonly expiryMs: number;
  /** A replacement must pay at least this many percent more fee. */
  readonly replaceBumpPercent: number;
  /** The clock, injected so tests control time. */
  readonly now: () => number;
  /**
   * Signatures already checked on this node (shared with the chain, so a
   * transaction is verified once whichever of pool, proposal check or block
   * connection sees it first). Absent: the pool keeps its own.
   */
  readonly verified?: VerifiedTxCache;
}

export const DEFAULT_MEMPOOL = { maxTxs: 20_000, maxNonceGap: 64, expiryMs: 3 * 60 * 60 * 1000, replaceBumpPercent: 10 } as const;

/**
 * Default capacity of a VerifiedTxCache: the default pool (20 000) plus the
 * transactions of the blocks being proposed and connected meanwhile, with room
 * to spare. An entry is two strings the transaction already holds, so 50 000
 * entries cost a few MB.
 */
export const DEFAULT_VERIFIED_CAPACITY = 50_000;

/**
 * A bounded memory of (transaction id, signature) pairs whose Ed25519 check
 * passed. Keyed by both: a transaction's id does not cover its signature, so
 * the same id with another signature is a different claim that must be
 * checked on its own. A verified signature never becomes invalid, so
 * forgetting (oldest first, beyond capacity) only costs a second check.
 */
export class VerifiedTxCache {
  private readonly sigs: BoundedMap<Hash, string>;

  constructor(readonly capacity: number = DEFAULT_VERIFIED_CAPACITY) {
    this.sigs = new BoundedMap(capacity);
  }

  /** Number of remembered pairs. */
  get size(): number {
    return this.sigs.size;
  }

  /** True if this exact signature of this id was verified. */
  has(id: Hash, sig: string): boolean {
    return this.sigs.get(id) === sig;
  }

  /** Remembers that the signature of this id verified. */
  add(id: Hash, sig: string): void {
    this.sigs.touch(id, sig);
  }

  /** Verifies a transaction's signature unless this exact pair passed before; remembers a pass. */
  verify(tx: SignedTx, id: Buffer, idHex: Hash = id.toString('hex')): boolean {
    if (this.sigs.get(idHex) === tx.sig) return true;
    if (!verifyTxSignature(tx, id)) return false;
    this.add(idHex, tx.sig);
    return true;
  }

  /**
   * Checks, on the thread pool and so on every core, the signatures of `txs`
   * not yet known to pass, and remembers those that pass: the synchronous
   * `verify` that admission and block checks call then finds them (a failure
   * is left for that call to find and report). Undefined when there is
   * nothing to check, so that a caller need not wait a turn.
   */
  prefetch(txs: readonly Tx[]): Promise<void> | undefined {
    const jobs: Promise<void>[] = [];
    let asked: Set<Hash> | undefined;
    for (const tx of txs) {
      if (tx.kind === 'coinbase' || tx.kind === 'evidence') continue;
      const id = txIdBytes(tx);
      const idHex = txId(tx);
      const sig = tx.sig;
      if (this.sigs.get(idHex) === sig || !isHex(sig, 64)) continue;
      // The same pair twice in one call (a block and its copy) is checked once.
      asked ??= new Set();
      const k = idHex + sig;
      if (asked.has(k)) continue;
      asked.add(k);
      jobs.push(
        verifyAsync(tx.from, id, Buffer.from(sig, 'hex')).then((passed) => {
          if (passed) this.add(idHex, sig);
        }),
      );
    }
    if (jobs.length === 0) return undefined;
    return Promise.all(jobs).then(() => undefined);
  }
}

/** A transaction waiting in the pool. */
export interface PoolEntry {
  readonly tx: SignedTx;
  readonly id: Hash;
  readonly sender: Address;
  readonly size: number;
  readonly addedAt: number;
}

/** Why entries left the pool (for events and metrics). */
export type RemovalReason = 'mined' | 'replaced' | 'evicted' | 'expired' | 'invalid';

/** a's fee rate (fee per byte) compared with b's: negative when a pays less per byte. */
export function compareFeeRate(a: PoolEntry, b: PoolEntry): number {
  const l = a.tx.fee * BigInt(b.size);
  const r = b.tx.fee * BigInt(a.size);
  return l < r ? -1 : l > r ? 1 : 0;
}

/**
 * Pending transactions. Admission checks a transaction against the current
 * state plus the sender's earlier pending transactions; per account the pool
 * keeps a nonce-ordered queue with a bounded gap; blocks draw from it by fee
 * rate; after every block or reorganisation `revalidate` drops what no
 * longer applies.
 */
export class Mempool {
  private readonly byId = new Map<Hash, PoolEntry>();
  private readonly bySender = new Map<Address, Map<number, PoolEntry>>();
  /** What each sender's queue spends in all (amounts and fees). */
  private readonly spending = new Map<Address, bigint>();
  private governCount = 0;
  /** Signatures checked on this node (see MempoolOptions.verified). */
  readonly verified: VerifiedTxCache;

  constructor(private readonly opts: MempoolOptions) {
    this.verified = opts.verified ?? new VerifiedTxCache();
  }

  /** Number of pending transactions. */
  get size(): number {
    return this.byId.size;
  }

  /** True if a governance transaction is pending (its validity depends on more than its sender's account). */
  get hasGovernance(): boolean {
    return this.governCount > 0;
  }

  /** A pending transaction by id. */
  get(id: Hash): PoolEntry | undefined {
    return this.byId.get(id);
  }

  /** True if the id is pending. */
  has(id: Hash): boolean {
    return this.byId.has(id);
  }

  /** True if this signature of that id was verified on this node (a cache for block checks). */
  isVerified(id: Hash, sig: string): boolean {
    return this.verified.has(id, sig);
  }

  /**
   * Admits a structurally valid transaction if it applies on top of the state
   * and the sender's pending queue. Returns the id and what it displaced.
   */
  add(tx: SignedTx, state: State): Result<{ id: Hash; removed: { entry: PoolEntry; reason: RemovalReason }[] }> {
    const idBytes = txIdBytes(tx);
    const id = idBytes.toString('hex');
    if (this.byId.has(id)) return fail(ERR.ALREADY_KNOWN, `transaction ${id} is already pending`);
    if (tx.chainId !== this.opts.chainId) return fail(ERR.BAD_CHAIN_ID, `transaction is for chain "${tx.chainId}", this is "${this.opts.chainId}"`);
    if (tx.fee < this.opts.params.minFee) return fail(ERR.FEE_TOO_LOW, `fee ${formatAmount(tx.fee)} is below the minimum ${formatAmount(this.opts.params.minFee)}`);
    const sender = txSender(tx);
    const acct = state.account(sender);
    if (this.opts.params.membersOnly && acct.org === undefined) return fail(ERR.NOT_MEMBER, `sender ${sender} is not an admitted member account`);
    if (tx.nonce < acct.nonce) return fail(ERR.BAD_NONCE, `nonce ${tx.nonce} is already used; the sender's next nonce is ${acct.nonce}`);
    if (tx.nonce > acct.nonce + this.opts.maxNonceGap) return fail(ERR.NONCE_GAP, `nonce ${tx.nonce} is more than ${this.opts.maxNonceGap} ahead of the sender's next nonce ${acct.nonce}`);
    const queue = this.bySender.get(sender);
    const existing = queue?.get(tx.nonce);
    if (existing !== undefined) {
      const bump = existing.tx.fee + (existing.tx.fee * BigInt(this.opts.replaceBumpPercent)) / 100n;
      const need = bump > existing.tx.fee ? bump : existing.tx.fee + 1n;
      if (tx.fee < need) return fail(ERR.REPLACEMENT_UNDERPRICED, `a transaction with nonce ${tx.nonce} is pending; a replacement must pay a fee of at least ${formatAmount(need)}`);
    }
    // The sender must afford every pending transaction with this one in place
    // (the sum of its queue is kept up to date, so this costs the same for a long queue).
    const size = txSize(tx);
    const entry: PoolEntry = { tx, id, sender, size, addedAt: this.opts.now() };
    const spend = (this.spending.get(sender) ?? 0n) - (existing !== undefined ? costOf(existing) : 0n) + costOf(entry);
    if (spend > MAX_AMOUNT) return fail(ERR.OVERFLOW, 'pending spending exceeds the largest amount');
    if (spend > acct.balance) return fail(ERR.INSUFFICIENT_FUNDS, `sender ${sender} has ${formatAmount(acct.balance)}, pending transactions need ${formatAmount(spend)}`);
    // A govern transaction that cannot apply would never leave the pool and would hold up the sender's later nonces.
    if (tx.kind === 'govern') {
      const g = checkGovernTx(state, tx, sender);
      if (!g.ok) return g;
    }
    if (this.byId.size >= this.opts.maxTxs && existing === undefined) {
      const victim = this.cheapestTail();
      if (victim === undefined || compareFeeRate(victim, entry) >= 0) return fail(ERR.MEMPOOL_FULL, 'the mempool is full and this transaction pays less per byte than any it could displace');
    }
    // Verify last: it is the expensive check (skipped if a proposal check already made it).
    if (!this.verified.verify(tx, idBytes, id)) return fail(ERR.BAD_SIGNATURE, `signature of ${id} does not verify`);
    const removed: { entry: PoolEntry; reason: RemovalReason }[] = [];
    if (existing !== undefined) {
      this.delete(existing);
      removed.push({ entry: existing, reason: 'replaced' });
    } else if (this.byId.size >= this.opts.maxTxs) {
      const victim = this.cheapestTail()!;
      this.delete(victim);
      removed.push({ entry: victim, reason: 'evicted' });
    }
    this.insert(entry);
    return ok({ id, removed });
  }

  /**
   * Candidates for the next block: each sender's consecutive run of nonces
   * from its account nonce, merged by fee rate (a greedy pick of the best
   * head among senders, so nonce order always holds within a sender).
   */
  select(state: State, max: number): SignedTx[] {
    const heads: SenderRun[] = [];
    for (const [sender, queue] of this.bySender) {
      let n = state.account(sender).nonce;
      const run: PoolEntry[] = [];
      for (let e = queue.get(n); e !== undefined; e = queue.get(++n)) run.push(e);
      if (run.length > 0) heads.push({ run, i: 0, order: heads.length });
    }
    // A heap of the runs by their head's fee rate, ties to the earlier sender:
    // the same picks as scanning every head for each pick, in O(log senders).
    const heap = new RunHeap(heads);
    const out: SignedTx[] = [];
    while (out.length < max) {
      const h = heap.top();
      if (h === undefined) break;
      out.push(h.run[h.i]!.tx);
      h.i++;
      if (h.i >= h.run.length) heap.pop();
      else heap.siftTop();
    }
    return out;
  }

  /** The next nonce a sender should use, past its consecutive pending nonces, and how many it has pending. */
  pendingNonce(sender: Address, accountNonce: number): { next: number; count: number } {
    const q = this.bySender.get(sender);
    let next = accountNonce;
    while (q?.has(next) === true) next++;
    return { next, count: q?.size ?? 0 };
  }

  /** Ids of up to max pending transactions (to announce to a new peer). */
  ids(max: number): Hash[] {
    const out: Hash[] = [];
    for (const id of this.byId.keys()) {
      if (out.length >= max) break;
      out.push(id);
    }
    return out;
  }

  /** Every pending entry, highest fee rate first. */
  list(): PoolEntry[] {
    return [...this.byId.values()].sort((a, b) => compareFeeRate(b, a));
  }

  /** Removes entries by id (e.g. those a new block included). */
  removeIds(ids: Iterable<Hash>): PoolEntry[] {
    const out: PoolEntry[] = [];
    for (const id of ids) {
      const e = this.byId.get(id);
      if (e !== undefined) {
        this.delete(e);
        out.push(e);
      }
    }
    return out;
  }

  /**
   * Re-checks pending transactions against a new state (after a block or a
   * reorganisation): drops used nonces, expired entries, and queues the
   * sender can no longer pay for. Returns what was dropped and why. `only`
   * limits the pass to those senders' queues (the caller vouches that no
   * other account changed in a way that can invalidate a pending transaction).
   */
  revalidate(state: State, only?: ReadonlySet<Address>): { entry: PoolEntry; reason: RemovalReason }[] {
    const dropped: { entry: PoolEntry; reason: RemovalReason }[] = [];
    const now = this.opts.now();
    const senders = only === undefined ? [...this.bySender.keys()] : [...only].filter((a) => this.bySender.has(a));
    for (const sender of senders) {
      const queue = this.bySender.get(sender)!;
      const acct = state.account(sender);
      let spend = 0n;
      for (const nonce of [...queue.keys()].sort((a, b) => a - b)) {
        const e = queue.get(nonce)!;
        let reason: RemovalReason | undefined;
        if (nonce < acct.nonce) reason = 'mined';
        else if (nonce > acct.nonce + this.opts.maxNonceGap) reason = 'invalid';
        else if (now - e.addedAt > this.opts.expiryMs) reason = 'expired';
        else if (this.opts.params.membersOnly && acct.org === undefined) reason = 'invalid';
        else if (e.tx.kind === 'govern' && !checkGovernTx(state, e.tx, sender).ok) reason = 'invalid';
        else {
          const s = spend + (e.tx.kind === 'transfer' ? e.tx.amount + e.tx.fee : e.tx.fee);
          if (s > acct.balance) reason = 'invalid';
          else spend = s;
        }
        if (reason !== undefined) {
          this.delete(e);
          dropped.push({ entry: e, reason });
        }
      }
    }
    return dropped;
  }

  private cheapestTail(): PoolEntry | undefined {
    // Only a sender's highest nonce can go without stranding the ones after it.
    let worst: PoolEntry | undefined;
    for (const queue of this.bySender.values()) {
      let tail: PoolEntry | undefined;
      for (const e of queue.values()) if (tail === undefined || e.tx.nonce > tail.tx.nonce) tail = e;
      if (tail !== undefined && (worst === undefined || compareFeeRate(tail, worst) < 0)) worst = tail;
    }
    return worst;
  }

  private insert(e: PoolEntry): void {
    this.byId.set(e.id, e);
    if (e.tx.kind === 'govern') this.governCount++;
    let q = this.bySender.get(e.sender);
    if (q === undefined) {
      q = new Map();
      this.bySender.set(e.sender, q);
    }
    q.set(e.tx.nonce, e);
    this.spending.set(e.sender, (this.spending.get(e.sender) ?? 0n) + costOf(e));
  }

  private delete(e: PoolEntry): void {
    if (this.byId.delete(e.id) && e.tx.kind === 'govern') this.governCount--;
    const q = this.bySender.get(e.sender);
    if (q !== undefined) {
      q.delete(e.tx.nonce);
      if (q.size === 0) {
        this.bySender.delete(e.sender);
        this.spending.delete(e.sender);
      } else {
        this.spending.set(e.sender, (this.spending.get(e.sender) ?? 0n) - costOf(e));
      }
    }
  }
}

/** What a pending transaction takes from its sender's balance. */
function costOf(e: PoolEntry): bigint {
  return e.tx.kind === 'transfer' ? e.tx.amount + e.tx.fee : e.tx.fee;
}

/** One sender's consecutive pending run while a block is being filled. */
interface SenderRun {
  readonly run: PoolEntry[];
  i: number;
  /** Position among the senders, for ties. */
  readonly order: number;
}

/** A binary max-heap of sender runs: higher head fee rate first, then lower order. */
class RunHeap {
  constructor(private readonly items: SenderRun[]) {
    for (let k = (items.length >> 1) - 1; k >= 0; k--) this.down(k);
  }

  top(): SenderRun | undefined {
    return this.items[0];
  }

  /** Removes the top. */
  pop(): void {
    const last = this.items.pop()!;
    if (this.items.length > 0) {
      this.items[0] = last;
      this.down(0);
    }
  }

  /** The top's head changed: restore the order. */
  siftTop(): void {
    this.down(0);
  }

  private before(a: SenderRun, b: SenderRun): boolean {
    const c = compareFeeRate(a.run[a.i]!, b.run[b.i]!);
    return c > 0 || (c === 0 && a.order < b.order);
  }

  private down(k: number): void {
    const items = this.items;
    const n = items.length;
    for (;;) {
      const l = 2 * k + 1;
      if (l >= n) return;
      const r = l + 1;
      const c = r < n && this.before(items[r]!, items[l]!) ? r : l;
      if (!this.before(items[c]!, items[k]!)) return;
      const t = items[k]!;
      items[k] = items[c]!;
      items[c] = t;
      k = c;
    }
  }
}
