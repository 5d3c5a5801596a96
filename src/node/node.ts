import { EventEmitter } from 'node:events';
import { bftRules, Chain, ChainClosedError, expectedBitsAfter, powRules, type ChainRules } from '../chain/index.ts';
import {
  assembleBlock,
  blockHash,
  blockSize,
  ERR,
  fail,
  medianTimePast,
  ok,
  txFromJson,
  txId,
  evidenceKey,
  type Address,
  type Block,
  type BlockHeader,
  type EvidenceTx,
  type Genesis,
  type Hash,
  type Result,
  type SignedTx,
  type State,
  type Tx,
} from '../core/index.ts';
import { addressFromPublicKey, type KeyPair } from '../crypto/index.ts';
import { DEFAULT_MEMPOOL, Mempool, VerifiedTxCache, type RemovalReason } from '../mempool/index.ts';
import { Miner } from '../consensus/pow/miner.ts';
import { validatorSetFor } from '../consensus/bft/validators.ts';
import type { Store } from '../storage/index.ts';
import type { Logger } from './logger.ts';

/** Typed node events: what the API's event stream and the explorer show. */
export interface NodeEvents {
  block: [{ hash: Hash; height: number; txs: number; timestamp: number; minedHere: boolean }];
  reorg: [{ fork: Hash; disconnected: Hash[]; connected: Hash[] }];
  tx: [{ id: Hash; kind: string; from: 'api' | 'peer' | 'reorg' }];
  txRemoved: [{ id: Hash; reason: RemovalReason }];
  invalidBlock: [{ hash: Hash; code: string; message: string; from?: string }];
  mined: [{ hash: Hash; height: number }];
  /** BFT: the height, round or step moved (emitted by the runtime's consensus engine). */
  consensus: [{ height: number; round: number; step: string }];
}

/**
 * Most transactions a BFT proposer puts in one block. Every validator must
 * receive, decode and check a proposal within the propose timeout (1 s by
 * default) on a machine that is also admitting and relaying transactions: a
 * block that takes longer fails its round, and the next proposer, with a
 * fuller pool, builds a bigger one. Decoding and checking take some 20 us per
 * transaction whose signature the validator has verified already, and a
 * signature check (~100 us) for each it has not seen yet; 2000 transactions
 * cost 40-250 ms on an idle core and at most a few times that on a loaded
 * 2-core machine running four validators, within the timeout. And the cap
 * rarely limits a block: at 3000 tx/s heights take well under a second.
 */
export const MAX_PROPOSAL_TXS = 2000;

/** Longest gap between full passes over the mempool (expiry, governance). */
const FULL_REVALIDATE_MS = 1000;

/** Evidence kept for proposals at most; more is dropped oldest first. */
const MAX_PENDING_EVIDENCE = 256;

/** How a node is put together. */
export interface NodeOptions {
  readonly genesis: Genesis;
  readonly store: Store;
  readonly key: KeyPair;
  readonly log: Logger;
  /** Mine continuously with this many processes (0 = in-process); undefined = do not mine unless asked. */
  readonly mine?: { readonly threads: number; readonly continuous: boolean; readonly coinbase?: Address };
  readonly now?: () => number;
  readonly mempool?: { maxTxs?: number; maxNonceGap?: number; expiryMs?: number; replaceBumpPercent?: number };
}

/** A snapshot of the node for `GET /api/status`. */
export interface NodeStatus {
  network: string;
  chainId: string;
  genesisHash: Hash;
  nodeId: string;
  address: Address;
  height: number;
  tip: Hash;
  tipTimestamp: number;
  work: string;
  mempool: number;
  orphans: number;
  consensus: string;
  mining: boolean;
  hashRate: number;
}

/**
 * The composition root: store, chain, mempool and miner wired together.
 * Consensus decides (chain rules, miner), this class only connects events:
 * a connected block cleans the mempool, a reorganisation puts dropped
 * transactions back, and a new tip or new transactions refresh the mining
 * template.
 */
export class PeerchainNode extends EventEmitter<NodeEvents> {
  readonly chain: Chain;
  readonly mempool: Mempool;
  readonly genesis: Genesis;
  readonly key: KeyPair;
  readonly address: Address;
  private miner: Miner | undefined;
  private readonly now: () => number;
  private readonly evidence = new Map<Hash, EvidenceTx>();
  private template: { header: BlockHeader; txs: Block['txs'] } | undefined;
  private readonly minedHashes = new Set<Hash>();
  private retemplateTimer: NodeJS.Timeout | undefined;
  private requested: { left: number; hashes: Hash[]; resolve: (h: Hash[]) => void; reject: (e: Error) => void }[] = [];
  private continuous: boolean;
  private stopped = false;
  /** Senders whose accounts blocks changed since the last mempool pass; 'all' after anything wider. */
  private touched: Set<Address> | 'all' = 'all';
  private lastFullRevalidate = 0;

  private constructor(
    private readonly opts: NodeOptions,
    chain: Chain,
    mempool: Mempool,
    /** Bytes a proposal leaves free for its commit certificate. */
    private readonly commitRoom: (state: State) => number,
  ) {
    super();
    this.chain = chain;
    this.mempool = mempool;
    this.genesis = opts.genesis;
    this.key = opts.key;
    this.address = addressFromPublicKey(opts.key.publicKey);
    this.now = opts.now ?? Date.now;
    this.continuous = opts.mine?.continuous ?? false;
    this.wire();
  }

  /** Opens the chain on the store and builds the node (nothing runs until start). */
  static async create(opts: NodeOptions): Promise<PeerchainNode> {
    const now = opts.now ?? Date.now;
    const rules: ChainRules = opts.genesis.consensus.type === 'pow' ? powRules(opts.genesis) : bftRules(opts.genesis);
    // One memory of verified signatures for pool and chain: whichever sees a
    // transaction first (admission, a proposal's check, a block) verifies it.
    const verified = new VerifiedTxCache();
    const commitRoom = opts.genesis.consensus.type === 'bft' ? commitRoomFor(opts.genesis) : () => 0;
    const chain = await Chain.open(opts.store, opts.genesis, rules, {
      now,
      verifySignature: (tx, id) => verified.verify(tx, id),
      prefetchSignatures: (txs) => verified.prefetch(txs),
      commitRoom: opts.genesis.consensus.type === 'bft' ? commitRoom : undefined,
    });
    const mempool = new Mempool({ chainId: opts.genesis.chainId, params: opts.genesis.params, ...DEFAULT_MEMPOOL, ...opts.mempool, now, verified });
    return new PeerchainNode(opts, chain, mempool, commitRoom);
  }

  /** Starts mining if configured. */
  start(): void {
    if (this.opts.mine !== undefined) {
      this.miner = new Miner(this.opts.mine.threads, this.now);
      this.miner.on('found', (h) =>
        this.onMined(h).catch((err: unknown) => {
          // After a store failure, or once stopping, a block found meanwhile is simply dropped.
          if (this.chain.failure === undefined && !(err instanceof ChainClosedError)) this.opts.log.error({ err: String(err) }, 'could not connect a mined block');
        }),
      );
      // Worker processes start with the first template (at once when mining continuously).
      if (this.continuous) this.retemplate();
    }
    this.opts.log.info({ height: this.chain.height, tip: this.chain.tip.hash, mining: this.continuous }, 'node started');
  }

  /** Stops mining and closes the store. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retemplateTimer !== undefined) clearTimeout(this.retemplateTimer);
    await this.miner?.stop();
    for (const r of this.requested) r.resolve(r.hashes);
    this.requested = [];
    await this.chain.close();
    await this.opts.store.close();
  }

  /** The node's store, for reads the chain does not cache (history, tx index). */
  get store(): Store {
    return this.opts.store;
  }

  /** True if this node may mine (started with mining allowed). */
  get canMine(): boolean {
    return this.miner !== undefined;
  }

  /** Turns continuous mining on or off. */
  setMining(on: boolean): void {
    this.continuous = on;
    if (on) this.retemplate();
    else if (this.requested.length === 0) this.miner?.pause();
  }

  /** Mines the next n blocks here and resolves with their hashes. */
  mineBlocks(n: number): Promise<Hash[]> {
    if (this.miner === undefined) return Promise.reject(new Error('mining is not enabled on this node (start it with --mine)'));
    return new Promise((resolve, reject) => {
      this.requested.push({ left: n, hashes: [], resolve, reject });
      this.retemplate();
    });
  }

  /** Admits a transaction given as untrusted JSON (API or peer). */
  submitTx(json: unknown, from: 'api' | 'peer' = 'api'): Result<{ id: Hash }> {
    const parsed = txFromJson(json, this.genesis.params);
    return parsed.ok ? this.admitTx(parsed.value, from) : parsed;
  }

  /**
   * Admits transactions given as untrusted JSON, each on its own and in order,
   * as submitTx would; their signatures are checked first, at once on every
   * core (the thread pool), so a batch costs the event loop little of it.
   */
  async submitTxs(jsons: readonly unknown[], from: 'api' | 'peer' = 'api'): Promise<Result<{ id: Hash }>[]> {
    const parsed = jsons.map((j) => txFromJson(j, this.genesis.params));
    const fresh: Tx[] = [];
    for (const p of parsed) if (p.ok && !this.mempool.has(txId(p.value))) fresh.push(p.value);
    const checking = this.mempool.verified.prefetch(fresh);
    if (checking !== undefined) await checking;
    return parsed.map((p) => (p.ok ? this.admitTx(p.value, from) : p));
  }

  /** Admits a transaction already parsed (structure checked) by txFromJson. */
  admitTx(tx: Tx, from: 'api' | 'peer' = 'api'): Result<{ id: Hash }> {
    if (tx.kind === 'coinbase') return fail(ERR.BAD_COINBASE, 'a coinbase cannot be submitted; miners create it');
    if (tx.kind === 'evidence') return fail(ERR.BAD_EVIDENCE, 'evidence cannot be submitted; validators gossip it and proposers put it in blocks');
    const id = txId(tx);
    const r = this.mempool.add(tx, this.chain.state);
    if (!r.ok) return r;
    for (const d of r.value.removed) this.emit('txRemoved', { id: d.entry.id, reason: d.reason });
    this.emit('tx', { id, kind: tx.kind, from });
    this.scheduleRetemplate();
    return ok({ id });
  }

  /**
   * Builds this node's BFT proposal on the tip: the best-paying transactions
   * that fit, fees to this node, undefined if assembly fails.
   */
  buildProposal(height: number): Block | undefined {
    const tip = this.chain.tip;
    if (height !== tip.height + 1 || this.genesis.consensus.type !== 'bft') return undefined;
    const state = this.chain.state;
    const max = Math.min(this.genesis.params.maxBlockTxs, MAX_PROPOSAL_TXS);
    const r = assembleBlock(
      state,
      this.mempool.select(state, max),
      {
        parentHash: tip.hash,
        parentHeight: tip.height,
        timestamp: Math.max(this.now(), tip.header.timestamp + 1),
        proposer: this.key.publicKey,
        maxTxs: max,
        reserveBytes: this.commitRoom(state),
        evidence: [...this.evidence.values()],
      },
      // Every pool transaction was verified on admission.
      { chainId: this.genesis.chainId, params: this.genesis.params, consensus: this.genesis.consensus, verifySignature: () => true },
    );
    if (!r.ok) {
      this.opts.log.error({ code: r.error.code }, `cannot assemble a proposal: ${r.error.message}`);
      return undefined;
    }
    // Once decided, the block connects with this transition instead of a second run.
    this.chain.noteCandidate(r.value.block, state, r.value);
    return r.value.block;
  }

  /** Keeps equivocation evidence for this node's next proposals, until a block records it. */
  addEvidence(tx: EvidenceTx): void {
    const id = txId(tx);
    if (this.evidence.has(id) || this.chain.state.record(evidenceKey(tx.voteA)) !== undefined) return;
    this.evidence.set(id, tx);
    // Bounded: a flood of accusations cannot grow memory; recorded ones leave on connect.
    while (this.evidence.size > MAX_PENDING_EVIDENCE) this.evidence.delete(this.evidence.keys().next().value!);
  }

  /** Offers a block (from a peer or the miner). */
  async submitBlock(block: Block, from?: string): Promise<Awaited<ReturnType<Chain['submitBlock']>>> {
    return this.chain.submitBlock(block, from);
  }

  /** The node's status. */
  status(): NodeStatus {
    const tip = this.chain.tip;
    return {
      network: this.genesis.network,
      chainId: this.genesis.chainId,
      genesisHash: this.chain.genesisHash,
      nodeId: this.key.publicKey,
      address: this.address,
      height: tip.height,
      tip: tip.hash,
      tipTimestamp: tip.header.timestamp,
      work: tip.work.toString(),
      mempool: this.mempool.size,
      orphans: this.chain.orphanCount,
      consensus: this.genesis.consensus.type,
      mining: this.continuous || this.requested.length > 0,
      hashRate: Math.round(this.miner?.hashRate() ?? 0),
    };
  }

  private wire(): void {
    this.chain.on('connected', ({ hash, block }) => {
      for (const tx of block.txs) if (tx.kind === 'evidence') this.evidence.delete(txId(tx));
      const ids = block.txs.map(txId);
      this.mempool.removeIds(ids);
      this.noteTouched(block.txs);
      this.emit('block', { hash, height: block.header.height, txs: block.txs.length, timestamp: block.header.timestamp, minedHere: false });
    });
    this.chain.on('reorg', ({ fork, disconnected, connected }) => {
      this.touched = 'all';
      const state = this.chain.state;
      const back: SignedTx[] = Chain.droppedTxs(disconnected);
      for (const tx of back) {
        const r = this.mempool.add(tx, state);
        if (r.ok) this.emit('tx', { id: r.value.id, kind: tx.kind, from: 'reorg' });
      }
      this.opts.log.warn({ fork, dropped: disconnected.length, added: connected.length, txsBack: back.length }, 'chain reorganised');
      this.emit('reorg', { fork, disconnected: disconnected.map((b) => blockHash(b.header)), connected: connected.map((b) => blockHash(b.header)) });
    });
    this.chain.on('tip', () => {
      // A full pass (expiry, governance) at most once a second; in between,
      // only the queues of senders the new blocks charged can have gone bad:
      // a pool of thousands is not re-checked for every block.
      // Pending governance depends on proposals and sets that change at later
      // heights too (activation): while any is pending, every pass is full.
      const now = this.now();
      const full = this.touched === 'all' || this.mempool.hasGovernance || now - this.lastFullRevalidate >= FULL_REVALIDATE_MS;
      if (full) this.lastFullRevalidate = now;
      const dropped = this.mempool.revalidate(this.chain.state, full ? undefined : (this.touched as Set<Address>));
      this.touched = new Set();
      for (const d of dropped) this.emit('txRemoved', { id: d.entry.id, reason: d.reason });
      this.retemplate();
    });
    this.chain.on('invalid', ({ hash, error, from }) => {
      this.opts.log.warn({ hash, code: error.code, from }, `invalid block: ${error.message}`);
      this.emit('invalidBlock', { hash, code: error.code, message: error.message, from });
    });
  }

  /** Records whose pending transactions a connected block's transactions can invalidate. */
  private noteTouched(txs: readonly Tx[]): void {
    if (this.touched === 'all') return;
    for (const tx of txs) {
      // Transfers and records only charge their sender (a credit never
      // invalidates); governance and evidence can change membership, validators
      // and proposals: re-check everyone.
      if (tx.kind === 'transfer' || tx.kind === 'record') this.touched.add(addressFromPublicKey(tx.from));
      else if (tx.kind !== 'coinbase') {
        this.touched = 'all';
        return;
      }
    }
  }

  private wantsMining(): boolean {
    return !this.stopped && this.miner !== undefined && (this.continuous || this.requested.length > 0);
  }

  private scheduleRetemplate(): void {
    if (!this.wantsMining() || this.retemplateTimer !== undefined) return;
    // New transactions arrive in bursts; rebuild the template at most every 250 ms.
    this.retemplateTimer = setTimeout(() => {
      this.retemplateTimer = undefined;
      this.retemplate();
    }, 250);
  }

  private retemplate(): void {
    if (!this.wantsMining()) {
      this.miner?.pause();
      return;
    }
    const pow = this.genesis.consensus;
    if (pow.type !== 'pow') return;
    const tip = this.chain.tip;
    const recent: number[] = [];
    for (let e: typeof tip | undefined = tip, i = 0; e !== undefined && i < 11; e = e.parent, i++) recent.unshift(e.header.timestamp);
    const timestamp = Math.max(this.now(), medianTimePast(recent) + 1);
    const state = this.chain.state;
    const candidates = this.mempool.select(state, this.genesis.params.maxBlockTxs - 1);
    const r = assembleBlock(
      state,
      candidates,
      { parentHash: tip.hash, parentHeight: tip.height, timestamp, bits: expectedBitsAfter(pow, tip, this.chain.index), coinbaseTo: this.opts.mine?.coinbase ?? this.address },
      { chainId: this.genesis.chainId, params: this.genesis.params, consensus: pow, verifySignature: () => true },
    );
    if (!r.ok) {
      this.opts.log.error({ code: r.error.code }, `cannot assemble a block: ${r.error.message}`);
      return;
    }
    this.template = { header: r.value.block.header, txs: r.value.block.txs };
    this.miner!.setTemplate(r.value.block.header);
  }

  /** True while `hash` is this node's own newly mined block being connected (it may be announced once valid). */
  isMining(hash: Hash): boolean {
    return this.minedHashes.has(hash);
  }

  private async onMined(header: BlockHeader): Promise<void> {
    const t = this.template;
    if (t === undefined || t.header.prevHash !== header.prevHash || t.header.txRoot !== header.txRoot) return;
    const block: Block = { header, txs: t.txs };
    const hash = blockHash(header);
    this.minedHashes.add(hash);
    const r = await this.chain.submitBlock(block).finally(() => this.minedHashes.delete(hash));
    if (r.status === 'connected' || r.status === 'reorg') {
      this.opts.log.info({ height: header.height, hash, txs: t.txs.length }, 'mined a block');
      this.emit('mined', { hash, height: header.height });
      const req = this.requested[0];
      if (req !== undefined) {
        req.hashes.push(hash);
        if (--req.left <= 0) {
          this.requested.shift();
          // Answered once stored: a caller told "mined" must find the blocks after a crash.
          this.chain.persisted().then(
            () => req.resolve(req.hashes),
            (e: unknown) => req.reject(new Error(`mined blocks could not be stored: ${e instanceof Error ? e.message : String(e)}`)),
          );
        }
      }
    }
    this.retemplate();
  }
}

/**
 * The most bytes a commit certificate of the validator set after a state adds
 * to a block: every validator's precommit, and height and round at their
 * widest. Memoised per state and per set size.
 */
export function commitRoomFor(genesis: Genesis): (state: State) => number {
  const bySize = new Map<number, number>();
  const byState = new WeakMap<State, number>();
  return (state) => {
    const known = byState.get(state);
    if (known !== undefined) return known;
    const n = validatorSetFor(state, genesis).size;
    let room = bySize.get(n);
    if (room === undefined) {
      const wide = Number.MAX_SAFE_INTEGER;
      const header: BlockHeader = { version: 0, chainId: genesis.chainId, height: 0, prevHash: '0'.repeat(64), timestamp: 0, txRoot: '0'.repeat(64), stateRoot: '0'.repeat(64), bits: 0, nonce: 0, proposer: '0'.repeat(64) };
      const commit = { height: wide, round: wide, blockHash: 'f'.repeat(64), signatures: Array.from({ length: n }, () => ({ validator: 'f'.repeat(64), signature: 'f'.repeat(128) })) };
      room = blockSize({ header, txs: [], commit }) - blockSize({ header, txs: [] });
      bySize.set(n, room);
    }
    byState.set(state, room);
    return room;
  };
}
