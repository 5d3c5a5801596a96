import { EventEmitter } from 'node:events';
import {
  applyBlock,
  blockHash,
  blockSize,
  blockSizeOf,
  buildGenesisBlock,
  ERR,
  fail,
  ok,
  txId,
  txIdBytes,
  txRootOf,
  verifyTxSignature,
  type AppliedBlock,
  type Result,
  type Block,
  type BlockContext,
  type BlockHeader,
  type Genesis,
  type Hash,
  type RuleError,
  type SignedTx,
  type State,
  type Tx,
} from '../core/index.ts';
import type { Store } from '../storage/index.ts';
import { BlockIndex, type IndexEntry } from './block-index.ts';
import type { ChainRules } from './rules.ts';
import { BoundedMap } from '../util/bounded.ts';

/** Outcome of offering a block to the chain. */
export type SubmitResult =
  | { readonly status: 'connected' | 'reorg' | 'side'; readonly hash: Hash }
  | { readonly status: 'duplicate'; readonly hash: Hash }
  | { readonly status: 'orphan'; readonly hash: Hash; readonly missing: Hash }
  | { readonly status: 'invalid'; readonly hash: Hash; readonly error: RuleError };

/** Outcome of offering headers (sync). */
export type HeadersResult =
  | { readonly ok: true; readonly added: IndexEntry[] }
  | { readonly ok: false; readonly index: number; readonly error: RuleError; readonly added: IndexEntry[] };

/** Typed chain events. */
export interface ChainEvents {
  /**
   * A block passed every check on its branch, state transition included, and
   * is about to be written: relaying it need not wait for the disk.
   */
  valid: [{ hash: Hash; block: Block }];
  /** A block joined the main chain. */
  connected: [{ hash: Hash; block: Block; state: State }];
  /** A block left the main chain in a reorganisation. */
  disconnected: [{ hash: Hash; block: Block }];
  /** The main chain switched branches. */
  reorg: [{ fork: Hash; disconnected: Block[]; connected: Block[] }];
  /** The tip changed. */
  tip: [{ hash: Hash; height: number }];
  /** A block broke a rule; `from` names the peer that sent it, if any. */
  invalid: [{ hash: Hash; error: RuleError; from?: string }];
  /**
   * Writing connected blocks failed: the chain in memory is ahead of the disk
   * and refuses every further change. The node must stop; restarted, it opens
   * at the last block the store holds and syncs the rest again.
   */
  storeFailed: [{ error: Error }];
}

/** Chain options; the clock is injected so tests and a simulator can move it. */
export interface ChainOptions {
  readonly now: () => number;
  /** Signature check for the transition (the node plugs in the mempool's cache). */
  readonly verifySignature?: BlockContext['verifySignature'];
  /**
   * Checks signatures ahead, off the event loop and on every core, so that
   * `verifySignature` then finds them passed (the node plugs in the same
   * cache). Undefined when there is nothing to check.
   */
  readonly prefetchSignatures?: (txs: readonly Tx[]) => Promise<void> | undefined;
  readonly maxOrphans?: number;
  /** Main-chain states kept in memory for fast reorganisations. */
  readonly snapshots?: number;
  /**
   * BFT: the most bytes an honest commit certificate adds to a block of the
   * height after a state (its validator set signing). A candidate must leave
   * that much of the size limit free, since the limit counts the certificate
   * once the block is decided; a certificate larger than that is refused
   * without marking the block invalid (it is not part of the block's hash).
   */
  readonly commitRoom?: (parent: State) => number;
}

/** A candidate this node checked (or built): its transition, kept to connect it without a second run. */
interface CheckedCandidate {
  readonly parent: State;
  readonly txs: readonly Tx[];
  readonly applied: AppliedBlock;
  /** Canonical size without a certificate. */
  readonly bytes: number;
}

// Candidates remembered: the current round's proposal and a few of earlier rounds.
const MAX_CHECKED = 4;

// Blocks connected per store write: one batch per sync answer, bounded in count and bytes for a long reorganisation.
const MAX_BATCH_BLOCKS = 256;
const MAX_BATCH_BYTES = 16 * 1024 * 1024;
// Batches connected in memory whose write is still out. The chain runs ahead
// of the disk by at most this much; a sync then overlaps checking the next
// batch with writing the last, and a relayed block is the tip (in the API, to
// the next block) without waiting for LevelDB's thread.
const MAX_WRITES_AHEAD = 2;

/** Thrown when the data directory does not fit the genesis or is inconsistent. */
export class ChainError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ChainError';
  }
}

/** Thrown for a change offered after close(): the node is stopping, nothing is wrong. */
export class ChainClosedError extends ChainError {
  constructor() {
    super('the chain is closed: the node is stopping');
    this.name = 'ChainClosedError';
  }
}

interface Orphan {
  readonly block: Block;
  readonly hash: Hash;
  readonly from?: string;
}

/**
 * The block tree and the main chain: validates blocks against their branch,
 * keeps the most-work valid branch as the main chain, reorganises when another
 * branch overtakes it, and keeps orphans until their parent arrives. All
 * mutations run one at a time.
 */
export class Chain extends EventEmitter<ChainEvents> {
  readonly index = new BlockIndex();
  readonly genesisHash: Hash;
  private current: State;
  private readonly snapshots = new Map<Hash, State>();
  private readonly orphans = new Map<Hash, Orphan>();
  private readonly orphansByParent = new Map<Hash, Set<Hash>>();
  private readonly bodies = new Map<Hash, Block>();
  private queue: Promise<unknown> = Promise.resolve();
  private readonly ctx: BlockContext;
  private readonly checked = new Map<Hash, CheckedCandidate>();
  /** Main-chain writes handed to the store and not yet done, oldest first. */
  private writes: Promise<void>[] = [];
  private storeFailure: Error | undefined;
  private closed = false;

  private constructor(
    private readonly store: Store,
    readonly genesis: Genesis,
    readonly rules: ChainRules,
    private readonly opts: ChainOptions,
    genesisHash: Hash,
    state: State,
  ) {
    super();
    this.genesisHash = genesisHash;
    this.current = state;
    this.ctx = { chainId: genesis.chainId, params: genesis.params, consensus: genesis.consensus, verifySignature: opts.verifySignature ?? rememberingVerifier() };
  }

  /**
   * Opens the chain on a store: writes genesis into an empty store, or checks
   * that the stored chain belongs to this genesis and that its state matches
   * the tip's state root.
   */
  static async open(store: Store, genesis: Genesis, rules: ChainRules, opts: ChainOptions): Promise<Chain> {
    const gb = buildGenesisBlock(genesis);
    let tip = await store.getTip();
    if (tip === undefined) {
      await store.writeGenesis(gb.hash, gb.block, gb.state);
      tip = { hash: gb.hash, height: 0 };
    } else {
      const stored = await store.getHashAtHeight(0);
      if (stored !== gb.hash) throw new ChainError(`the data directory holds another network (genesis ${stored ?? 'missing'}, expected ${gb.hash}); use another --data dir`);
    }
    const state = tip.height === 0 && tip.hash === gb.hash ? gb.state : await store.loadState();
    const chain = new Chain(store, genesis, rules, opts, gb.hash, state);
    let parent: IndexEntry | undefined;
    for (let h = 0; h <= tip.height; h++) {
      const hash = await store.getHashAtHeight(h);
      const block = hash === undefined ? undefined : await store.getBlock(hash);
      if (hash === undefined || block === undefined) throw new ChainError(`the store lacks the main-chain block at height ${h}`);
      const e = chain.index.add(hash, block.header, parent, h === 0 ? 0n : rules.work(block.header));
      chain.index.setHasBody(e);
      chain.index.main.push(e);
      parent = e;
    }
    const tipHeader = chain.index.tip().header;
    if (state.root() !== tipHeader.stateRoot) throw new ChainError(`stored state root ${state.root()} does not match the tip's ${tipHeader.stateRoot}`);
    chain.snapshots.set(tip.hash, state);
    return chain;
  }

  /** The main-chain tip entry. */
  get tip(): IndexEntry {
    return this.index.tip();
  }

  /** The main-chain height. */
  get height(): number {
    return this.index.tip().height;
  }

  /** The state at the tip. */
  get state(): State {
    return this.current;
  }

  /** Number of blocks waiting for their parent. */
  get orphanCount(): number {
    return this.orphans.size;
  }

  /** A block by hash, from memory or the store. */
  async getBlock(hash: Hash): Promise<Block | undefined> {
    return this.bodies.get(hash) ?? this.store.getBlock(hash);
  }

  /** A recently seen block from memory only (gossip serves from here without I/O). */
  cachedBlock(hash: Hash): Block | undefined {
    return this.bodies.get(hash);
  }

  /** True if the hash is indexed or waiting as an orphan. */
  knows(hash: Hash): boolean {
    return this.index.get(hash) !== undefined || this.orphans.has(hash);
  }

  /** Offers a block (mined here or received from `from`). */
  submitBlock(block: Block, from?: string): Promise<SubmitResult> {
    return this.serialAfterChecks(block.txs, () => this.submitNow(block, from));
  }

  /**
   * Offers several blocks (a sync batch): a run extending the tip is connected
   * and written as one. Their signatures are checked on other cores at once,
   * while the blocks offered before are still being connected.
   */
  submitBlocks(blocks: readonly Block[], from?: string): Promise<SubmitResult[]> {
    return this.serialAfterChecks(blocks.flatMap((b) => b.txs), () => this.submitManyNow(blocks, from));
  }

  /** Offers a run of headers in order (sync): each is checked and indexed without its body. */
  addHeaders(headers: readonly BlockHeader[], from?: string): Promise<HeadersResult> {
    return this.serial(async () => {
      const added: IndexEntry[] = [];
      for (let i = 0; i < headers.length; i++) {
        const h = headers[i]!;
        const hash = blockHash(h);
        const known = this.index.get(hash);
        if (known !== undefined) {
          if (known.invalid) return { ok: false, index: i, error: { code: ERR.BAD_PREV_HASH, message: `header ${hash} is known to be invalid` }, added };
          continue;
        }
        const parent = this.index.get(h.prevHash);
        if (parent === undefined) return { ok: false, index: i, error: { code: ERR.BAD_PREV_HASH, message: `header ${hash} does not link to a known block` }, added };
        if (parent.invalid) return { ok: false, index: i, error: { code: ERR.BAD_PREV_HASH, message: `header ${hash} builds on an invalid block` }, added };
        const r = this.rules.checkHeader(h, parent, this.index, this.opts.now());
        if (!r.ok) {
          this.emit('invalid', { hash, error: r.error, from });
          return { ok: false, index: i, error: r.error, added };
        }
        added.push(this.index.add(hash, h, parent, this.rules.work(h)));
      }
      return { ok: true, added };
    });
  }

  /** The hashes of main-chain headers after the first locator hash we share, up to `limit`. */
  headersAfter(locator: readonly Hash[], limit: number, stop?: Hash): BlockHeader[] {
    let start = 0;
    for (const h of locator) {
      const e = this.index.get(h);
      if (e !== undefined && this.index.isMain(e)) {
        start = e.height + 1;
        break;
      }
    }
    const out: BlockHeader[] = [];
    for (let h = start; h < this.index.main.length && out.length < limit; h++) {
      const e = this.index.main[h]!;
      out.push(e.header);
      if (e.hash === stop) break;
    }
    return out;
  }

  /**
   * Resolves once every block connected so far is on disk (as far as the
   * store goes: LevelDB's log, without fsync); rejects if a write failed.
   * Anything acknowledged to a user as stored waits for this.
   */
  async persisted(): Promise<void> {
    await Promise.all(this.writes);
    if (this.storeFailure !== undefined) throw this.storeFailure;
  }

  /** The store write that failed, if one did (the chain then takes no more changes). */
  get failure(): Error | undefined {
    return this.storeFailure;
  }

  /**
   * Takes no more changes and waits for those under way and their writes, so
   * that the store can be closed: a change still waiting (a sync batch whose
   * signatures were being checked) would otherwise meet a closed store and
   * be taken for a store failure.
   */
  async close(): Promise<void> {
    this.closed = true;
    await this.queue;
    await Promise.allSettled(this.writes);
  }

  /** Throws once closed, or once a store write failed: memory is ahead of a disk that can no longer follow in order. */
  private refuseIfFailed(): void {
    if (this.closed) throw new ChainClosedError();
    if (this.storeFailure !== undefined) throw new ChainError(`the store failed, no more changes: ${this.storeFailure.message}`);
  }

  /**
   * Takes its turn in the queue now, and runs `fn` there once the signatures
   * of `txs` were checked ahead (prefetchSignatures), so calls keep their order.
   */
  private serialAfterChecks<T>(txs: readonly Tx[], fn: () => Promise<T>): Promise<T> {
    const checking = this.opts.prefetchSignatures?.(txs);
    return this.serial(checking === undefined ? fn : () => checking.then(fn));
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const guarded = (): Promise<T> => {
      this.refuseIfFailed();
      return fn();
    };
    const run = this.queue.then(guarded, guarded);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private submitNow(block: Block, from?: string): Promise<SubmitResult> {
    return this.submitManyNow([block], from).then((r) => r[0]!);
  }

  /**
   * Checks each block and indexes its body, then moves the main chain once to
   * the best branch they make, so that a run of blocks extending the tip is
   * written in one batch. Under finality each block must wait for the one
   * before to be committed, so they go one at a time.
   */
  private async submitManyNow(blocks: readonly Block[], from?: string): Promise<SubmitResult[]> {
    this.refuseIfFailed();
    if (this.rules.final === true && blocks.length > 1) {
      const out: SubmitResult[] = [];
      for (const b of blocks) out.push(...(await this.submitManyNow([b], from)));
      return out;
    }
    const results: SubmitResult[] = [];
    const admitted: { i: number; hash: Hash; entry: IndexEntry; block: Block }[] = [];
    let best: IndexEntry | undefined;
    for (const block of blocks) {
      const a = this.admit(block, from);
      if ('status' in a) {
        results.push(a);
        continue;
      }
      admitted.push({ i: results.length, hash: a.hash, entry: a.entry, block });
      results.push({ status: 'side', hash: a.hash });
      for (const c of a.candidates) if (!c.invalid && (best === undefined || c.work > best.work)) best = c;
    }
    if (admitted.length === 0) return results;
    const wins = best !== undefined && best.work > this.tip.work;
    // Blocks that simply extend the tip are stored by connectBlocks' batch; any
    // other block is kept on its own so a later reorganisation can use it.
    const extending = new Set<Hash>();
    if (wins) {
      let e: IndexEntry | undefined = best;
      while (e !== undefined && !this.index.isMain(e)) e = e.parent;
      if (e === this.tip) for (let x: IndexEntry | undefined = best; x !== undefined && x !== this.tip; x = x.parent) extending.add(x.hash);
    }
    for (const a of admitted) if (!extending.has(a.hash)) await this.store.putBlock(a.hash, a.block);
    let failure: RuleError | undefined;
    // The run's bodies go along: they are on disk only once switchTo has written them.
    if (wins) {
      try {
        failure = await this.switchTo(best!, from, new Map(admitted.map((a) => [a.hash, a.block])));
      } catch (err) {
        // The write failed: keep the bodies the index says we have, as side blocks, if the disk lets us.
        for (const a of admitted) if (extending.has(a.hash) && !this.index.isMain(a.entry)) await this.store.putBlock(a.hash, a.block).catch(() => undefined);
        throw err;
      }
    }
    for (const a of admitted) {
      if (a.entry.invalid) results[a.i] = { status: 'invalid', hash: a.hash, error: failure ?? { code: ERR.BAD_STATE_ROOT, message: 'block failed validation' } };
      else if (this.index.isMain(a.entry)) results[a.i] = { status: extending.has(a.hash) ? 'connected' : 'reorg', hash: a.hash };
    }
    for (const a of admitted) await this.adoptOrphans(a.hash);
    return results;
  }

  /**
   * The checks a block passes before its body is kept: known, tx root,
   * finality, header rules, signatures, body rules. Returns a result when it
   * stops there, or its index entry and the chain tips its body completes.
   */
  private admit(block: Block, from?: string): SubmitResult | { hash: Hash; entry: IndexEntry; candidates: readonly IndexEntry[] } {
    const hash = blockHash(block.header);
    let entry = this.index.get(hash);
    if (entry?.invalid) return { status: 'invalid', hash, error: { code: ERR.BAD_PREV_HASH, message: 'block is known to be invalid' } };
    if (entry?.hasBody || this.orphans.has(hash)) return { status: 'duplicate', hash };
    // A body that does not match its header's tx root says nothing about the
    // header: refuse it without marking the hash invalid, or anyone could
    // poison a valid block by sending its header with other transactions.
    if (txRootOf(block.txs) !== block.header.txRoot) {
      this.emit('invalid', { hash, error: TX_ROOT_MISMATCH, from });
      return { status: 'invalid', hash, error: TX_ROOT_MISMATCH };
    }
    if (this.rules.final === true) {
      const gated = this.finalityGate(block, hash, entry, from);
      if (gated !== undefined) return gated;
    }
    if (entry === undefined) {
      const parent = this.index.get(block.header.prevHash);
      if (parent === undefined) {
        this.addOrphan({ block, hash, from });
        return { status: 'orphan', hash, missing: block.header.prevHash };
      }
      if (parent.invalid) return this.reject(hash, { code: ERR.BAD_PREV_HASH, message: `parent ${parent.hash} is invalid` }, from);
      const r = this.rules.checkHeader(block.header, parent, this.index, this.opts.now());
      if (!r.ok) return this.reject(hash, r.error, from);
      entry = this.index.add(hash, block.header, parent, this.rules.work(block.header));
    }
    // A signature is not covered by the hash either: a bad one condemns this
    // copy of the body, not the block. Checked here, before the body is kept,
    // so that a copy with one signature altered cannot get a real block's hash
    // marked invalid. (The checks are remembered: applying the block later
    // does not repeat them.)
    const badSig = this.badSignature(block);
    if (badSig !== undefined) {
      this.emit('invalid', { hash, error: badSig, from });
      return { status: 'invalid', hash, error: badSig };
    }
    const body = this.rules.checkBody(block, entry.parent!);
    if (!body.ok) {
      this.index.markInvalid(entry);
      return this.reject(hash, body.error, from);
    }
    this.remember(hash, block);
    return { hash, entry, candidates: this.index.setHasBody(entry) };
  }

  /**
   * Under finality a block joins only on top of the tip: one below it conflicts
   * with a committed block, one further ahead waits with the orphans. Its
   * certificate is checked here, against the tip's state. A bad certificate
   * does not mark the hash invalid, since the hash does not cover it: anyone
   * could otherwise poison a committed block by sending it with a bad one.
   */
  private finalityGate(block: Block, hash: Hash, entry: IndexEntry | undefined, from?: string): SubmitResult | undefined {
    const parent = entry?.parent ?? this.index.get(block.header.prevHash);
    if (parent === undefined) return undefined;
    if (parent !== this.tip) {
      if (this.index.isMain(parent)) {
        const error: RuleError = { code: ERR.CONFLICTS_FINAL, message: `block ${hash} conflicts with the committed block at height ${parent.height + 1}` };
        this.emit('invalid', { hash, error, from });
        return { status: 'invalid', hash, error };
      }
      this.addOrphan({ block, hash, from });
      return { status: 'orphan', hash, missing: parent.hash };
    }
    const c = this.rules.checkCommit?.(block, this.current);
    if (c !== undefined && !c.ok) {
      this.emit('invalid', { hash, error: c.error, from });
      return { status: 'invalid', hash, error: c.error };
    }
    const room = this.opts.commitRoom?.(this.current);
    if (room !== undefined && block.commit !== undefined) {
      const extra = commitBytes(block);
      if (extra > room) {
        // Padding in the certificate must not get a real block marked invalid for its size.
        const error: RuleError = { code: ERR.BAD_COMMIT, message: `commit certificate adds ${extra} bytes, more than the ${room} a certificate of this validator set needs` };
        this.emit('invalid', { hash, error, from });
        return { status: 'invalid', hash, error };
      }
    }
    return undefined;
  }

  /**
   * Checks a candidate child of the tip without connecting it: header rules and
   * the full transition against the tip's state (what a BFT validator runs
   * before it prevotes a proposal).
   */
  checkCandidate(block: Block): Result<void> {
    const tip = this.tip;
    if (block.header.prevHash !== tip.hash) return fail(ERR.BAD_PREV_HASH, `block builds on ${block.header.prevHash}, the tip is ${tip.hash}`);
    const h = this.rules.checkHeader(block.header, tip, this.index, this.opts.now());
    if (!h.ok) return h;
    const b = this.rules.checkBody(block, tip);
    if (!b.ok) return b;
    const parent = this.current;
    const bytes = bodyBytes(block);
    const room = this.opts.commitRoom?.(parent) ?? 0;
    if (bytes + room > this.genesis.params.maxBlockBytes) {
      return fail(ERR.BLOCK_TOO_LARGE, `block is ${bytes} bytes; with room for its commit certificate (${room}) it exceeds the limit of ${this.genesis.params.maxBlockBytes}`);
    }
    const r = applyBlock(parent, block, this.ctx);
    if (!r.ok) return r;
    this.keepChecked(blockHash(block.header), { parent, txs: block.txs, applied: r.value, bytes });
    return ok(undefined);
  }

  /**
   * Records the transition of a block this node built on the tip (its own
   * proposal), so that connecting it once decided does not apply it again.
   */
  noteCandidate(block: Block, parent: State, applied: AppliedBlock): void {
    if (parent !== this.current || applied.state.root() !== block.header.stateRoot) return;
    this.keepChecked(blockHash(block.header), { parent, txs: block.txs, applied, bytes: bodyBytes(block) });
  }

  private keepChecked(hash: Hash, c: CheckedCandidate): void {
    this.checked.delete(hash);
    this.checked.set(hash, c);
    while (this.checked.size > MAX_CHECKED) this.checked.delete(this.checked.keys().next().value!);
  }

  /**
   * The transition of a block checked earlier on exactly this parent state
   * with exactly these transactions (ids and signatures: a block hash does not
   * cover signatures), if its size with the certificate it now carries is
   * within the limit; else undefined, and the block is applied in full.
   */
  private reuseChecked(hash: Hash, block: Block, parent: State): Result<AppliedBlock> | undefined {
    const c = this.checked.get(hash);
    if (c === undefined) return undefined;
    this.checked.delete(hash);
    if (c.parent !== parent || !sameTxs(c.txs, block.txs)) return undefined;
    if (c.bytes + (block.commit === undefined ? 0 : commitBytes(block)) > this.genesis.params.maxBlockBytes) return undefined;
    return ok(c.applied);
  }

  /**
   * Checks that a body is the one its header commits to: the tx root, and
   * every sender signature (which no hash covers). A failure condemns this
   * copy of the body, never the block: a BFT engine drops such a copy of a
   * proposal and waits for a true one, as admit does for a block.
   */
  checkBodyCopy(block: Block): Result<void> {
    if (txRootOf(block.txs) !== block.header.txRoot) return fail(TX_ROOT_MISMATCH.code, TX_ROOT_MISMATCH.message);
    const bad = this.badSignature(block);
    return bad === undefined ? ok(undefined) : fail(bad.code, bad.message);
  }

  private badSignature(block: Block): RuleError | undefined {
    const verify = this.ctx.verifySignature!;
    for (let i = 0; i < block.txs.length; i++) {
      const tx = block.txs[i]!;
      // Coinbase and evidence carry no sender signature (evidence's votes are checked by the transition).
      if (tx.kind === 'coinbase' || tx.kind === 'evidence') continue;
      const id = txIdBytes(tx);
      if (!verify(tx, id)) return { code: ERR.BAD_SIGNATURE, message: `transaction ${i} (${id.toString('hex')}): signature does not verify` };
    }
    return undefined;
  }

  private reject(hash: Hash, error: RuleError, from?: string): SubmitResult {
    this.emit('invalid', { hash, error, from });
    return { status: 'invalid', hash, error };
  }

  /** Makes `target` the tip: disconnect back to the fork point, connect its branch. */
  private async switchTo(target: IndexEntry, from?: string, incoming?: ReadonlyMap<Hash, Block>): Promise<RuleError | undefined> {
    const branch: IndexEntry[] = [];
    let fork: IndexEntry | undefined = target;
    while (fork !== undefined && !this.index.isMain(fork)) {
      branch.unshift(fork);
      fork = fork.parent;
    }
    if (fork === undefined) throw new ChainError('branch does not join the main chain');
    // The store disconnects its own tip: it must be this chain's tip, so every
    // write handed over must have landed first (and one that failed stops here).
    if (this.tip !== fork) await this.persisted();
    const disconnected: Block[] = [];
    while (this.tip !== fork) {
      const { hash, block } = await this.store.disconnectTip();
      this.index.main.pop();
      disconnected.push(block);
      this.emit('disconnected', { hash, block });
    }
    if (disconnected.length > 0) this.current = this.snapshots.get(fork.hash) ?? (await this.store.loadState());
    const connected: Block[] = [];
    let failure: RuleError | undefined;
    // Blocks are applied ahead of the store and written in batches; the chain
    // in memory moves only once a batch is on disk.
    let pending: { e: IndexEntry; block: Block; applied: AppliedBlock }[] = [];
    const flush = async (): Promise<void> => {
      if (pending.length === 0) return;
      const batch = pending;
      pending = [];
      pendingBytes = 0;
      for (const { e, block } of batch) this.emit('valid', { hash: e.hash, block });
      // The store writes batches in order and its reads wait for the writes
      // handed to it, so memory may move now: the disk holds a prefix of this
      // chain at every instant, and a killed process reopens at its end.
      this.track(this.store.connectBlocks(batch.map((p) => ({ block: p.block, hash: p.e.hash, txIds: p.applied.txIds, changes: p.applied.changes }))));
      for (const { e, block, applied } of batch) {
        this.current = applied.state;
        this.index.main.push(e);
        this.snapshot(e.hash, applied.state);
        connected.push(block);
      }
      for (const { e, block, applied } of batch) this.emit('connected', { hash: e.hash, block, state: applied.state });
      while (this.writes.length >= MAX_WRITES_AHEAD) await this.writes[0];
      // A write failed: stop connecting (the caller sees the error, not 'connected').
      if (this.storeFailure !== undefined) throw this.storeFailure;
    };
    let pendingBytes = 0;
    let state = this.current;
    for (const e of branch) {
      const block = incoming?.get(e.hash) ?? this.bodies.get(e.hash) ?? (await this.store.getBlock(e.hash));
      if (block === undefined) throw new ChainError(`body of ${e.hash} vanished from the store`);
      const r = this.reuseChecked(e.hash, block, state) ?? applyBlock(state, block, this.ctx);
      if (!r.ok) {
        this.index.markInvalid(e);
        this.emit('invalid', { hash: e.hash, error: r.error, from });
        failure = r.error;
        break;
      }
      pending.push({ e, block, applied: r.value });
      pendingBytes += bodyBytes(block);
      state = r.value.state;
      if (pending.length >= MAX_BATCH_BLOCKS || pendingBytes >= MAX_BATCH_BYTES) await flush();
    }
    await flush();
    if (failure !== undefined) {
      // Fall back to the best branch still valid (often the one just left).
      const best = this.index.bestCandidate();
      if (best !== this.tip) await this.switchTo(best);
    }
    if (disconnected.length > 0 && connected.length > 0) this.emit('reorg', { fork: fork.hash, disconnected: disconnected.reverse(), connected });
    if (connected.length > 0 || disconnected.length > 0) this.emit('tip', { hash: this.tip.hash, height: this.tip.height });
    return failure;
  }

  /** Follows a main-chain write: done, it leaves the list; failed, the chain stops taking changes. */
  private track(write: Promise<void>): void {
    const w: Promise<void> = write.then(
      () => {
        this.writes.splice(this.writes.indexOf(w), 1);
      },
      (err: unknown) => {
        this.writes.splice(this.writes.indexOf(w), 1);
        if (this.storeFailure !== undefined) return;
        this.storeFailure = err instanceof Error ? err : new Error(String(err));
        this.emit('storeFailed', { error: this.storeFailure });
      },
    );
    this.writes.push(w);
  }

  private snapshot(hash: Hash, state: State): void {
    this.snapshots.set(hash, state);
    const max = this.opts.snapshots ?? 64;
    while (this.snapshots.size > max) this.snapshots.delete(this.snapshots.keys().next().value!);
  }

  private remember(hash: Hash, block: Block): void {
    this.bodies.set(hash, block);
    while (this.bodies.size > 256) this.bodies.delete(this.bodies.keys().next().value!);
  }

  private addOrphan(o: Orphan): void {
    const max = this.opts.maxOrphans ?? 256;
    if (this.orphans.size >= max) {
      // Drop the oldest: the pool must stay bounded whatever peers send.
      const oldest = this.orphans.values().next().value!;
      this.dropOrphan(oldest);
    }
    this.orphans.set(o.hash, o);
    let set = this.orphansByParent.get(o.block.header.prevHash);
    if (set === undefined) {
      set = new Set();
      this.orphansByParent.set(o.block.header.prevHash, set);
    }
    set.add(o.hash);
  }

  private dropOrphan(o: Orphan): void {
    this.orphans.delete(o.hash);
    const set = this.orphansByParent.get(o.block.header.prevHash);
    set?.delete(o.hash);
    if (set?.size === 0) this.orphansByParent.delete(o.block.header.prevHash);
  }

  private async adoptOrphans(parentHash: Hash): Promise<void> {
    const children = this.orphansByParent.get(parentHash);
    if (children === undefined) return;
    this.orphansByParent.delete(parentHash);
    for (const h of children) {
      const o = this.orphans.get(h);
      if (o === undefined) continue;
      this.orphans.delete(h);
      // submitNow adopts this child's own orphans in turn.
      await this.submitNow(o.block, o.from);
    }
  }

  /** Transactions of blocks a reorganisation dropped, for the mempool to take back. */
  static droppedTxs(disconnected: readonly Block[]): SignedTx[] {
    return disconnected.flatMap((b) => b.txs.filter((t): t is SignedTx => t.kind !== 'coinbase' && t.kind !== 'evidence'));
  }
}

/** Canonical size of a block without its certificate (blockSizeOf: without encoding every transaction again). */
function bodyBytes(block: Block): number {
  return blockSizeOf({ header: block.header, txs: block.txs });
}

/**
 * A signature check that remembers what passed (id and signature), for a chain
 * given no verifier of its own: a body's signatures are checked before it is
 * kept and then again when it is applied.
 */
function rememberingVerifier(capacity = 20_000): (tx: SignedTx, id: Buffer) => boolean {
  const passed = new BoundedMap<string, string>(capacity);
  return (tx, id) => {
    const hex = id.toString('hex');
    if (passed.get(hex) === tx.sig) return true;
    if (!verifyTxSignature(tx, id)) return false;
    passed.set(hex, tx.sig);
    return true;
  };
}

const TX_ROOT_MISMATCH: RuleError = { code: ERR.BAD_TX_ROOT, message: 'transactions do not match the header tx root' };

/** Bytes a block's commit certificate adds to its canonical size. */
function commitBytes(block: Block): number {
  if (block.commit === undefined) return 0;
  return blockSize({ header: block.header, txs: [], commit: block.commit }) - blockSize({ header: block.header, txs: [] });
}

/** True if two transaction lists are the same transactions with the same signatures, in order. */
function sameTxs(a: readonly Tx[], b: readonly Tx[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x === y) continue;
    if (txId(x) !== txId(y)) return false;
    if (x.kind !== y.kind) return false;
    if ('sig' in x && 'sig' in y && x.sig !== y.sig) return false;
  }
  return true;
}
