/**
 * The BFT engine: drives one state machine per height with real timers, a WAL
 * and the node's chain and mempool, behind a small host interface.
 *
 * The state machine decides; the engine only carries messages in and actions
 * out. It also decides WHEN a height starts: at once when transactions are
 * waiting, when the empty-block interval has passed since the tip, or as soon
 * as another validator shows (with a signed message) that it has started.
 */
import { blockHash, type Block, type BftParams, type Hash, type Result } from '../../core/index.ts';
import type { KeyPair, PublicKeyHex } from '../../crypto/index.ts';
import { BftStateMachine, type BftAction, type Step } from './state-machine.ts';
import { signProposal, signVote, verifyProposal, verifyVote, type CommitCertificate, type Evidence, type Proposal, type Vote } from './types.ts';
import type { ValidatorSet } from './validators.ts';
import type { Wal } from './wal.ts';

/** A consensus message as it travels between nodes (a proposal carries its block). */
export type BftWire = { readonly kind: 'proposal'; readonly proposal: Proposal; readonly block: Block } | { readonly kind: 'vote'; readonly vote: Vote };

/** The little the engine needs from a logger. */
export interface BftLog {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

/** What the engine needs from the node around it. */
export interface BftHost {
  readonly chainId: string;
  readonly keys: KeyPair;
  readonly params: Pick<BftParams, 'emptyBlockIntervalMs' | 'timeoutProposeMs' | 'timeoutVoteMs'>;
  readonly log: BftLog;
  /** The chain tip; consensus runs for the height after it. */
  tip(): { readonly height: number; readonly hash: Hash; readonly timestamp: number };
  /** The validator set for the height after the tip (read from the tip's state). */
  validators(): ValidatorSet;
  /** Transactions waiting to be committed. */
  pendingTxs(): number;
  /** Builds this node's proposal for the height after the tip, or undefined if it cannot. */
  buildBlock(height: number): Block | undefined;
  /** Full validation of a candidate child of the tip. */
  checkBlock(block: Block): Result<void>;
  /**
   * Checks that a body is the one its header commits to (tx root and sender
   * signatures, which no hash covers): a failure condemns the copy, not the block.
   */
  checkBody(block: Block): Result<void>;
  /** Hands a decided block with its certificate to the chain. */
  commit(block: Block): Promise<void>;
  /** Sends to every peer but `except`. */
  broadcast(message: BftWire, except?: string): void;
  /** Sends to one peer. */
  sendTo(peer: string, message: BftWire): void;
  /** Peers that are validators (by node id). */
  validatorPeers(): readonly string[];
  /** A validator signed two conflicting votes. */
  onEvidence(evidence: Evidence): void;
  readonly now?: () => number;
  /** Test-only fault modes (see BftFault). */
  readonly fault?: BftFault;
  /** The height, round or step changed (for the event stream and explorer). */
  onStatus?(s: { readonly height: number; readonly round: number; readonly step: string }): void;
  /** Ends the process at once (the crash fault). */
  crash?(): void;
}

/**
 * Faults a test can switch on, to show that honest nodes survive them:
 * - byzantine: this validator equivocates. It sends conflicting proposals to
 *   different halves of its peers, or an invalid block to all, and signs a
 *   conflicting vote beside each of its votes. Its WAL is bypassed.
 * - crashAfterPrecommitAt: the process dies right after it signs (and logs)
 *   its first non-nil precommit at that height.
 */
export interface BftFault {
  readonly byzantine?: boolean;
  readonly crashAfterPrecommitAt?: number;
}

/** Consensus status for the API and explorer. */
export interface BftStatus {
  readonly height: number;
  readonly round: number;
  readonly step: Step | 'waiting';
  readonly validator: boolean;
  readonly validators: readonly PublicKeyHex[];
  readonly proposer: PublicKeyHex | undefined;
  readonly lockedRound: number;
  readonly prevotes: readonly { validator: PublicKeyHex; blockHash: Hash | null }[];
  readonly precommits: readonly { validator: PublicKeyHex; blockHash: Hash | null }[];
  readonly lastCommit: { readonly height: number; readonly round: number; readonly signers: number } | undefined;
}

// Bounds on what peers can make us hold.
const MAX_FUTURE = 2000;
// A validator's messages for later heights kept: a proposal and its votes over a few rounds.
const MAX_FUTURE_PER_VALIDATOR = 64;
// Signers outside the current set (a validator the next block may add): fewer each, and a pool of their own.
const MAX_FUTURE_PER_STRANGER = 16;
const MAX_FUTURE_STRANGERS = 256;
const MAX_FUTURE_STRANGERS_PER_LINK = 32;
const MAX_BLOCKS = 64;
const MAX_SEEN = 20_000;
// A validator prevotes for a proposal once it has checked it, which for a full
// block on a loaded machine takes a few hundred ms. Relay the proposal only to
// validator peers that have shown no sign of it by then (half the propose
// timeout, at least RELAY_DELAY_MS): every copy a peer already holds costs it
// a full decode of the block before consensus can tell it is a duplicate, and
// in a full mesh, every validator gets the proposal from its proposer anyway.
// A validator not linked to the proposer still gets it well within its own
// propose timeout.
const RELAY_DELAY_MS = 250;

/** One validator's (or follower's) consensus loop. */
export class BftEngine {
  private machine: BftStateMachine | undefined;
  private heightV = 0;
  private started = false;
  private stopped = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  private waitTimer: NodeJS.Timeout | undefined;
  private blocks = new Map<Hash, Block>();
  /** The signed proposal of each block in `blocks` that arrived or left with one (for BFT_GET_PROPOSAL). */
  private proposalOf = new Map<Hash, Proposal>();
  private validity = new Map<Hash, boolean>();
  private future: { msg: BftWire; from?: string }[] = [];
  /** Messages kept in `future`, per signing validator, and their signatures. */
  private futureBy = new Map<PublicKeyHex, number>();
  private futureSigs = new Set<string>();
  /** Messages kept in `future` whose signers are outside the current set, in all and per link they came by. */
  private futureStrangers = 0;
  private strangersFrom = new Map<string, number>();
  private readonly seen = new Set<string>();
  /** What this node signed and sent at the current height, re-sent to peers that connect later. */
  private sent: BftWire[] = [];
  /** Validators known to hold a proposed block (they sent it or voted for it): block hash -> ids. */
  private holders = new Map<string, Set<string>>();
  private votes: Vote[];
  private proposals: Proposal[];
  private lastCommit: BftStatus['lastCommit'];
  private reported: { height: number; round: number; step: string } | undefined;
  /** Votes this process signed (not restored from the WAL). */
  private readonly signedHere = new Set<string>();
  private readonly now: () => number;

  constructor(
    private readonly host: BftHost,
    private readonly wal: Wal | undefined,
    signed: { readonly votes: readonly Vote[]; readonly proposals: readonly Proposal[] },
  ) {
    this.votes = [...signed.votes];
    this.proposals = [...signed.proposals];
    this.now = host.now ?? Date.now;
  }

  /** The height consensus is running for. */
  get height(): number {
    return this.heightV;
  }

  /** Starts the loop for the height after the tip. */
  start(): void {
    this.advance();
  }

  /** Stops timers; nothing is sent afterwards. */
  stop(): void {
    this.stopped = true;
    this.clearTimers();
  }

  /** The chain's tip moved (a commit here, or a block from a peer): go on to the next height. */
  onTip(): void {
    this.advance();
  }

  /** Transactions arrived: a waiting height starts now. */
  onTxs(): void {
    if (!this.started && this.machine !== undefined) this.begin();
  }

  /** A peer connected: give it what we said at this height, so a late link does not stall a round. */
  onPeerConnected(peer: string): void {
    for (const m of this.sent) this.host.sendTo(peer, m);
  }

  /**
   * True if a proposal (still undecoded) was seen before, noting that its
   * sender holds it: the caller can skip decoding its block.
   */
  seenProposal(proposal: { readonly signature?: unknown; readonly height?: unknown; readonly blockHash?: unknown }, from: string): boolean {
    if (typeof proposal.signature !== 'string' || !this.seen.has(proposal.signature)) return false;
    if (proposal.height === this.heightV && typeof proposal.blockHash === 'string') this.holderSet(proposal.blockHash).add(from);
    return true;
  }

  /** A proposal of the current height this node holds with its block (sent or received), for a peer that asks for it whole. */
  heldProposal(blockHash: Hash): { proposal: Proposal; block: Block } | undefined {
    const proposal = this.proposalOf.get(blockHash);
    const block = this.blocks.get(blockHash);
    return proposal === undefined || block === undefined || proposal.height !== this.heightV ? undefined : { proposal, block };
  }

  /** Handles a consensus message from a peer; returns false if it was provably bad (the caller penalises). */
  onMessage(msg: BftWire, from: string): boolean {
    if (this.stopped) return true;
    const sig = msg.kind === 'vote' ? msg.vote.signature : msg.proposal.signature;
    if (this.seen.has(sig)) {
      // Whoever sends us a proposal again holds it: no need to relay it there.
      if (msg.kind === 'proposal' && msg.proposal.height === this.heightV) this.holderSet(msg.proposal.blockHash).add(from);
      return true;
    }
    if (msg.kind === 'proposal' && blockHash(msg.block.header) !== msg.proposal.blockHash) return false;
    const h = heightOf(msg);
    if (h < this.heightV) return true;
    const m = this.machine;
    if (h > this.heightV || m === undefined) return this.keepForLater(msg, h, from);
    const validators = this.host.validators();
    if (msg.kind === 'vote') {
      if (!validators.has(msg.vote.validator) || !verifyVote(msg.vote, this.host.chainId)) return false;
      if (!m.keeps(msg.vote.validator, msg.vote.round)) {
        // Too far ahead for this validator's share of rounds: the machine holds it (bounded) until
        // its round is near; it is not relayed, so one validator cannot flood the others through us.
        this.remember(sig);
        if (!this.started) this.begin();
        this.handle(m.onVote(msg.vote));
        return true;
      }
    } else {
      const p = msg.proposal;
      // Only the scheduled proposer of a round may propose in it.
      if (p.proposer !== validators.proposer(h, p.round) || !verifyProposal(p, this.host.chainId)) return false;
      // The first proposal of a round counts (a second is its proposer's fault); far rounds wait.
      if (m.proposalIn(p.round) !== undefined || !m.keeps(p.proposer, p.round)) return true;
      // The proposal signs the header only. A copy whose transactions are not
      // the ones the header commits to is refused as a copy: its signature is
      // not marked seen and no verdict is kept for the hash, so the true body
      // can still come (from the proposer or an honest relay).
      const body = this.host.checkBody(msg.block);
      if (!body.ok) {
        this.host.log.warn({ height: h, round: p.round, from, code: body.error.code }, `a copy of a proposal with a body its header does not commit to: ${body.error.message}`);
        return false;
      }
    }
    this.remember(sig);
    if (!this.started) this.begin();
    this.deliver(msg, from);
    return true;
  }

  /** Consensus status for the API. */
  status(): BftStatus {
    const m = this.machine;
    const validators = this.machine !== undefined ? this.host.validators() : undefined;
    const votes = m !== undefined && this.started ? m.votesIn(m.round) : { prevotes: [], precommits: [] };
    return {
      height: this.heightV,
      round: m?.round ?? 0,
      step: this.started && m !== undefined ? m.step : 'waiting',
      validator: validators?.has(this.host.keys.publicKey) ?? false,
      validators: validators?.ids ?? [],
      proposer: validators?.proposer(this.heightV, m?.round ?? 0),
      lockedRound: m?.lock.round ?? -1,
      prevotes: votes.prevotes,
      precommits: votes.precommits,
      lastCommit: this.lastCommit,
    };
  }

  private deliver(msg: BftWire, from: string | undefined): void {
    const m = this.machine!;
    if (msg.kind === 'proposal') {
      this.keepBlock(msg.block);
      this.proposalOf.set(msg.proposal.blockHash, msg.proposal);
      const holders = this.holderSet(msg.proposal.blockHash);
      holders.add(msg.proposal.proposer);
      if (from !== undefined) holders.add(from);
      this.handle(m.onProposal(msg.proposal));
      this.relayProposal(msg, from);
    } else {
      this.noteHolder(msg.vote);
      this.handle(m.onVote(msg.vote));
      // Votes are small: pass each new one on so validators not linked to its signer hear it.
      if (this.isValidator()) this.host.broadcast(msg, from);
    }
  }

  /**
   * Keeps a message of a later height (we are behind, or others finished
   * first) for when we get there. The validator set of that height is not
   * known yet, so its membership is checked when the height begins. Only
   * signed messages are kept, a bounded number per signer, so nobody can
   * crowd out the others' or start a height early with junk.
   */
  private keepForLater(msg: BftWire, h: number, from: string): boolean {
    if (h > this.heightV + 2) return true;
    const sig = msg.kind === 'vote' ? msg.vote.signature : msg.proposal.signature;
    if (this.futureSigs.has(sig)) return true;
    const signer = signerOf(msg);
    // A signer outside the current set may be a validator the next block adds: its messages are
    // kept too, from a small pool of their own, so strangers cannot crowd out the set's.
    const member = this.host.validators().has(signer);
    const n = this.futureBy.get(signer) ?? 0;
    if (n >= (member ? MAX_FUTURE_PER_VALIDATOR : MAX_FUTURE_PER_STRANGER) || this.future.length >= MAX_FUTURE) return true;
    // Keys cost nothing: each link gets a share of the strangers' pool, so no one peer can fill it.
    const fromLink = this.strangersFrom.get(from) ?? 0;
    if (!member && (this.futureStrangers >= MAX_FUTURE_STRANGERS || fromLink >= MAX_FUTURE_STRANGERS_PER_LINK)) return true;
    const signed = msg.kind === 'vote' ? verifyVote(msg.vote, this.host.chainId) : verifyProposal(msg.proposal, this.host.chainId);
    if (!signed) return false;
    this.futureBy.set(signer, n + 1);
    if (!member) {
      this.futureStrangers++;
      this.strangersFrom.set(from, fromLink + 1);
    }
    this.futureSigs.add(sig);
    this.future.push({ msg, from });
    return true;
  }

  private advance(): void {
    if (this.stopped) return;
    const tip = this.host.tip();
    const h = tip.height + 1;
    if (h <= this.heightV) return;
    this.clearTimers();
    this.heightV = h;
    this.started = false;
    this.sent = [];
    this.holders = new Map();
    this.validity = new Map();
    for (const [hash, b] of this.blocks) if (b.header.height < h) this.blocks.delete(hash);
    for (const hash of this.proposalOf.keys()) if (!this.blocks.has(hash)) this.proposalOf.delete(hash);
    this.votes = this.votes.filter((v) => v.height >= h);
    this.proposals = this.proposals.filter((p) => p.height >= h);
    this.wal?.prune(h - 1);
    const validators = this.host.validators();
    this.machine = new BftStateMachine({
      chainId: this.host.chainId,
      validators,
      keys: this.host.keys,
      params: this.host.params,
      isValid: (hash, height) => this.isValid(hash, height),
      signedVotes: this.votes,
      signedProposals: this.proposals,
    });
    const resuming = this.votes.some((v) => v.height === h);
    // Only a signed message of a validator of this height's set starts it early.
    const waiting = this.future.some((f) => heightOf(f.msg) === h && validators.has(signerOf(f.msg)));
    if (resuming || waiting || this.host.pendingTxs() > 0) {
      this.begin();
      return;
    }
    const wait = Math.max(0, tip.timestamp + this.host.params.emptyBlockIntervalMs - this.now());
    this.waitTimer = setTimeout(() => {
      this.waitTimer = undefined;
      this.begin();
    }, wait);
    this.reportStatus();
  }

  private begin(): void {
    if (this.started || this.stopped || this.machine === undefined) return;
    if (this.waitTimer !== undefined) clearTimeout(this.waitTimer);
    this.waitTimer = undefined;
    this.started = true;
    this.host.log.debug({ height: this.heightV }, 'consensus height started');
    this.handle(this.machine.start(this.heightV));
    const pending = this.future;
    this.future = [];
    this.futureBy = new Map();
    this.futureSigs = new Set();
    this.futureStrangers = 0;
    this.strangersFrom = new Map();
    for (const f of pending) {
      const h = heightOf(f.msg);
      if (h === this.heightV) this.onMessage(f.msg, f.from ?? '');
      else if (h > this.heightV) this.keepForLater(f.msg, h, f.from ?? '');
    }
  }

  /** Tells the host when height, round or step moved since it was last told. */
  private reportStatus(): void {
    if (this.host.onStatus === undefined) return;
    const m = this.machine;
    const now = { height: this.heightV, round: m?.round ?? 0, step: this.started && m !== undefined ? m.step : 'waiting' };
    const last = this.reported;
    if (last !== undefined && last.height === now.height && last.round === now.round && last.step === now.step) return;
    this.reported = now;
    this.host.onStatus(now);
  }

  private handle(actions: readonly BftAction[]): void {
    this.handleActions(actions);
    this.reportStatus();
  }

  private handleActions(actions: readonly BftAction[]): void {
    for (const a of actions) {
      if (this.stopped) return;
      switch (a.kind) {
        case 'wal':
          // On disk before it can be sent: the next action broadcasts it.
          this.wal?.append({ vote: a.vote });
          this.votes.push(a.vote);
          this.signedHere.add(a.vote.signature);
          break;
        case 'broadcast': {
          const m = a.message;
          if (m.kind === 'proposal') {
            const block = this.blocks.get(m.proposal.blockHash);
            if (block === undefined) break;
            if (m.proposal.proposer === this.host.keys.publicKey && !this.proposals.some((p) => p.signature === m.proposal.signature)) {
              this.wal?.append({ proposal: m.proposal });
              this.proposals.push(m.proposal);
            }
            if (this.host.fault?.byzantine === true) this.byzantinePropose(m.proposal, block);
            else this.send({ kind: 'proposal', proposal: m.proposal, block });
          } else {
            if (this.host.fault?.byzantine === true) this.byzantineVote(m.vote);
            else this.send({ kind: 'vote', vote: m.vote });
            const crashAt = this.host.fault?.crashAfterPrecommitAt;
            if (crashAt === m.vote.height && m.vote.type === 'precommit' && m.vote.blockHash !== null && this.signedHere.has(m.vote.signature)) {
              this.host.log.warn({ height: crashAt }, 'fault: crashing right after a precommit');
              this.host.crash?.();
            }
          }
          break;
        }
        case 'schedule-timeout': {
          const fire = (): void => {
            // A stale timeout (another height or round by now) is ignored by the machine.
            if (!this.stopped && this.machine !== undefined) this.handle(this.machine.onTimeout(a.timeout, a.height, a.round));
          };
          const t = setTimeout(() => {
            this.timers.delete(t);
            // Timers run before the event loop reads the sockets: a proposal that
            // has already reached this machine when its propose timeout expires is
            // read and checked first (the timeout acts one turn later). A silent
            // proposer still times out.
            if (a.timeout === 'propose') setImmediate(fire);
            else fire();
          }, a.delayMs);
          this.timers.add(t);
          break;
        }
        case 'propose-request': {
          const block = this.host.buildBlock(a.height);
          if (block === undefined) break;
          const hash = blockHash(block.header);
          this.keepBlock(block);
          this.validity.set(hash, true);
          this.handle(this.machine!.propose(a.height, a.round, hash));
          break;
        }
        case 'commit':
          this.onDecided(a.blockHash, a.certificate);
          break;
        case 'evidence':
          this.host.log.warn({ validator: a.evidence.voteA.validator, height: a.evidence.voteA.height, round: a.evidence.voteA.round }, 'equivocation: a validator signed two conflicting votes');
          this.host.onEvidence(a.evidence);
          break;
      }
    }
  }

  private onDecided(hash: Hash, certificate: CommitCertificate): void {
    const body = this.blocks.get(hash);
    this.lastCommit = { height: certificate.height, round: certificate.round, signers: certificate.signatures.length };
    if (body === undefined) {
      // Others hold it and announce it once they commit; gossip or sync brings it.
      this.host.log.info({ height: certificate.height, hash }, 'decided a block whose body has not arrived yet');
      return;
    }
    const block: Block = { header: body.header, txs: body.txs, commit: certificate as unknown as Block['commit'] };
    this.host.log.info({ height: certificate.height, round: certificate.round, txs: body.txs.length, signers: certificate.signatures.length }, 'committed a block');
    this.host.commit(block).catch((e: unknown) => {
      // Stopping meanwhile is not a failure.
      if (!this.stopped) this.host.log.warn({ err: e instanceof Error ? e.message : String(e) }, 'commit failed');
    });
  }

  private send(m: BftWire): void {
    if (m.kind === 'proposal') this.proposalOf.set(m.proposal.blockHash, m.proposal);
    this.remember(m.kind === 'vote' ? m.vote.signature : m.proposal.signature);
    this.sent.push(m);
    this.host.broadcast(m);
  }

  // ---- test-only faults ----

  /** Halves of the peers, for sending each a different story. */
  private halves(): [string[], string[]] {
    const peers = [...this.host.validatorPeers()].sort();
    const cut = Math.ceil(peers.length / 2);
    return [peers.slice(0, cut), peers.slice(cut)];
  }

  private byzantinePropose(p: Proposal, block: Block): void {
    this.sent.push({ kind: 'proposal', proposal: p, block });
    const [a, b] = this.halves();
    if (p.height % 2 === 0) {
      // An invalid block, to everyone: a state root that is not the block's.
      const bad: Block = { header: { ...block.header, stateRoot: 'ff'.repeat(32) }, txs: block.txs };
      const badP = signProposal(this.host.keys, { height: p.height, round: p.round, blockHash: blockHash(bad.header), polRound: -1 }, this.host.chainId);
      for (const peer of [...a, ...b]) this.host.sendTo(peer, { kind: 'proposal', proposal: badP, block: bad });
      return;
    }
    // Two valid but different blocks for the same round, one to each half.
    const other: Block = { header: { ...block.header, timestamp: block.header.timestamp + 1 }, txs: block.txs };
    const otherP = signProposal(this.host.keys, { height: p.height, round: p.round, blockHash: blockHash(other.header), polRound: p.polRound }, this.host.chainId);
    this.keepBlock(other);
    for (const peer of a) this.host.sendTo(peer, { kind: 'proposal', proposal: p, block });
    for (const peer of b) this.host.sendTo(peer, { kind: 'proposal', proposal: otherP, block: other });
  }

  private byzantineVote(v: Vote): void {
    this.sent.push({ kind: 'vote', vote: v });
    // The same slot, another value: nil for a block vote, a made-up block for a nil vote.
    const twin = signVote(this.host.keys, { type: v.type, height: v.height, round: v.round, blockHash: v.blockHash === null ? 'ee'.repeat(32) : null }, this.host.chainId);
    const [a, b] = this.halves();
    for (const peer of a) this.host.sendTo(peer, { kind: 'vote', vote: v });
    for (const peer of b) this.host.sendTo(peer, { kind: 'vote', vote: twin });
  }

  private isValidator(): boolean {
    return this.host.validators().has(this.host.keys.publicKey);
  }

  private isValid(hash: Hash, height: number): boolean {
    const cached = this.validity.get(hash);
    if (cached !== undefined) return cached;
    const block = this.blocks.get(hash);
    if (block === undefined) return false;
    let ok = block.header.height === height && this.host.validators().has(block.header.proposer);
    if (ok) {
      const r = this.host.checkBlock(block);
      if (!r.ok) this.host.log.warn({ height, hash, code: r.error.code }, `proposed block is invalid: ${r.error.message}`);
      ok = r.ok;
    }
    this.validity.set(hash, ok);
    return ok;
  }

  /**
   * Keeps a proposed block's body, dropping the oldest beyond MAX_BLOCKS but
   * never one this height may still commit (see `needed`): a validator that
   * proposes in many rounds must not push the decided body out.
   */
  private keepBlock(block: Block): void {
    const hash = blockHash(block.header);
    this.blocks.delete(hash);
    this.blocks.set(hash, block);
    if (this.blocks.size <= MAX_BLOCKS) return;
    for (const h of [...this.blocks.keys()]) {
      if (this.blocks.size <= MAX_BLOCKS) break;
      if (this.needed(h)) continue;
      this.blocks.delete(h);
      this.proposalOf.delete(h);
    }
  }

  /**
   * True for a body this height may still commit: the one locked or valid
   * here, the current round's proposal, or one that more than f validators
   * voted for (so at least one honest validator saw it valid).
   */
  private needed(hash: Hash): boolean {
    const m = this.machine;
    if (m === undefined) return false;
    if (m.lock.value === hash || m.validHash === hash || m.proposalIn(m.round) === hash) return true;
    return m.backers(hash) >= this.host.validators().skipThreshold;
  }

  private holderSet(blockHash: Hash): Set<string> {
    let s = this.holders.get(blockHash);
    if (s === undefined) {
      s = new Set();
      this.holders.set(blockHash, s);
    }
    return s;
  }

  private noteHolder(v: Vote): void {
    // A vote for a block shows its signer has the proposal that carries it.
    if (v.blockHash !== null) this.holderSet(v.blockHash).add(v.validator);
  }

  private relayProposal(msg: Extract<BftWire, { kind: 'proposal' }>, from: string | undefined): void {
    if (!this.isValidator()) return;
    const round = msg.proposal.round;
    const delay = Math.max(RELAY_DELAY_MS, Math.floor((this.host.params.timeoutProposeMs + round * Math.ceil(this.host.params.timeoutProposeMs / 2)) / 2));
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (this.stopped || msg.proposal.height !== this.heightV) return;
      const holders = this.holders.get(msg.proposal.blockHash) ?? new Set<string>();
      for (const peer of this.host.validatorPeers()) if (peer !== from && !holders.has(peer)) this.host.sendTo(peer, msg);
    }, delay);
    this.timers.add(t);
  }

  private remember(sig: string): void {
    this.seen.add(sig);
    if (this.seen.size > MAX_SEEN) {
      // Old signatures are for past heights, which are ignored anyway.
      let drop = this.seen.size - MAX_SEEN / 2;
      for (const s of this.seen) {
        if (drop-- <= 0) break;
        this.seen.delete(s);
      }
    }
  }

  private clearTimers(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (this.waitTimer !== undefined) clearTimeout(this.waitTimer);
    this.waitTimer = undefined;
  }
}

/** The height a message is for. */
function heightOf(msg: BftWire): number {
  return msg.kind === 'vote' ? msg.vote.height : msg.proposal.height;
}

/** The validator that signed a message. */
function signerOf(msg: BftWire): PublicKeyHex {
  return msg.kind === 'vote' ? msg.vote.validator : msg.proposal.proposer;
}
