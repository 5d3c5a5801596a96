import {
  addAmounts,
  checkGovernTx,
  ERR,
  fail,
  formatAmount,
  ok,
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
} from '../core/index.ts';

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
}

export const DEFAULT_MEMPOOL = { maxTxs: 20_000, maxNonceGap: 64, expiryMs: 3 * 60 * 60 * 1000, replaceBumpPercent: 10 } as const;

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
  /** Ids whose signature this pool has verified, so block validation can skip them. */
  private readonly verified = new Set<Hash>();

  constructor(private readonly opts: MempoolOptions) {}

  /** Number of pending transactions. */
  get size(): number {
    return this.byId.size;
  }

  /** A pending transaction by id. */
  get(id: Hash): PoolEntry | undefined {
    return this.byId.get(id);
  }

  /** True if the id is pending. */
  has(id: Hash): boolean {
    return this.byId.has(id);
  }

  /** True if this pool verified the signature of that id (a cache for block checks). */
  isVerified(id: Hash): boolean {
    return this.verified.has(id);
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
    // The sender must afford every pending transaction with this one in place.
    let spend = 0n;
    const all = new Map(queue ?? []);
    const size = txSize(tx);
    const entry: PoolEntry = { tx, id, sender, size, addedAt: this.opts.now() };
    all.set(tx.nonce, entry);
    for (const e of all.values()) {
      const s = addAmounts(spend, e.tx.kind === 'transfer' ? e.tx.amount + e.tx.fee : e.tx.fee);
      if (s === undefined) return fail(ERR.OVERFLOW, 'pending spending exceeds the largest amount');
      spend = s;
    }
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
    // Verify last: it is the expensive check.
    if (!verifyTxSignature(tx, idBytes)) return fail(ERR.BAD_SIGNATURE, `signature of ${id} does not verify`);
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
    this.verified.add(id);
    return ok({ id, removed });
  }

  /**
   * Candidates for the next block: each sender's consecutive run of nonces
   * from its account nonce, merged by fee rate (a greedy pick of the best
   * head among senders, so nonce order always holds within a sender).
   */
  select(state: State, max: number): SignedTx[] {
    const heads: { run: PoolEntry[]; i: number }[] = [];
    for (const [sender, queue] of this.bySender) {
      let n = state.account(sender).nonce;
      const run: PoolEntry[] = [];
      for (let e = queue.get(n); e !== undefined; e = queue.get(++n)) run.push(e);
      if (run.length > 0) heads.push({ run, i: 0 });
    }
    const out: SignedTx[] = [];
    while (out.length < max && heads.length > 0) {
      let best = 0;
      for (let k = 1; k < heads.length; k++) {
        if (compareFeeRate(heads[k]!.run[heads[k]!.i]!, heads[best]!.run[heads[best]!.i]!) > 0) best = k;
      }
      const h = heads[best]!;
      out.push(h.run[h.i]!.tx);
      h.i++;
      if (h.i >= h.run.length) heads.splice(best, 1);
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
   * Re-checks every pending transaction against a new state (after a block
   * or a reorganisation): drops used nonces, expired entries, and queues the
   * sender can no longer pay for. Returns what was dropped and why.
   */
  revalidate(state: State): { entry: PoolEntry; reason: RemovalReason }[] {
    const dropped: { entry: PoolEntry; reason: RemovalReason }[] = [];
    const now = this.opts.now();
    for (const [sender, queue] of [...this.bySender]) {
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
    let q = this.bySender.get(e.sender);
    if (q === undefined) {
      q = new Map();
      this.bySender.set(e.sender, q);
    }
    q.set(e.tx.nonce, e);
  }

  private delete(e: PoolEntry): void {
    this.byId.delete(e.id);
    this.verified.delete(e.id);
    const q = this.bySender.get(e.sender);
    if (q !== undefined) {
      q.delete(e.tx.nonce);
      if (q.size === 0) this.bySender.delete(e.sender);
    }
  }
}
