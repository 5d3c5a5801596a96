/**
 * The Tendermint consensus algorithm (Buchman, Kwon, Milosevic, "The latest
 * gossip on BFT consensus", arXiv 1807.04938) as a pure state machine: inputs
 * are messages, timeouts and the caller's block, outputs are actions. It does
 * no I/O, keeps no clock and draws no randomness, so a test can drive it.
 *
 * Why two honest validators never commit different blocks at one height
 * (n validators, at most f = floor((n-1)/3) faulty, quorum q = floor(2n/3)+1):
 * - Quorum intersection: two sets of q validators overlap in at least
 *   2q - n >= f + 1 validators, so at least one honest validator is in both.
 * - Within a round: an honest validator prevotes (and precommits) at most once
 *   per round, so +2/3 prevotes (or precommits) for A and for B != A in the same
 *   round would need an honest validator to vote twice. Impossible.
 * - Across rounds, locking: a commit of A in round r needs q precommits for A;
 *   an honest precommitter first saw q prevotes for A in r and LOCKED on
 *   (A, r). A locked validator prevotes only A in later rounds, unless shown
 *   q prevotes for another value B in a round r' with r < r' (a proof of lock,
 *   polRound). Such a q-set for B in r' > r would intersect the honest lockers
 *   of A; by induction over rounds none of them prevoted B, so it cannot
 *   exist. Hence no round r' > r gets q prevotes, nor q precommits, for B.
 * - Restarts: a validator writes every vote to its WAL before sending it and,
 *   rebuilt from the WAL, re-sends its old vote instead of signing a conflicting
 *   one, and restores its lock from its last non-nil precommit; so a crash
 *   cannot make it "forget" and vote twice, which would break the above.
 */
import type { BftParams } from '../../core/index.ts';
import type { Hash, KeyPair, PublicKeyHex } from '../../crypto/index.ts';
import { signProposal, signVote, verifyProposal, verifyVote, type CommitCertificate, type Evidence, type Proposal, type Vote, type VoteType } from './types.ts';
import type { ValidatorSet } from './validators.ts';
import { HeightVotes } from './vote-set.ts';

export type Step = 'idle' | 'propose' | 'prevote' | 'precommit' | 'decided';
export type TimeoutKind = 'propose' | 'prevote' | 'precommit';

/** A consensus message as gossiped between validators. */
export type BftMessage = { readonly kind: 'proposal'; readonly proposal: Proposal } | { readonly kind: 'vote'; readonly vote: Vote };

/** What the machine asks its host to do, in order. */
export type BftAction =
  | { readonly kind: 'wal'; readonly vote: Vote }
  | { readonly kind: 'broadcast'; readonly message: BftMessage }
  | { readonly kind: 'schedule-timeout'; readonly timeout: TimeoutKind; readonly height: number; readonly round: number; readonly delayMs: number }
  | { readonly kind: 'propose-request'; readonly height: number; readonly round: number }
  | { readonly kind: 'commit'; readonly height: number; readonly round: number; readonly blockHash: Hash; readonly certificate: CommitCertificate }
  | { readonly kind: 'evidence'; readonly evidence: Evidence };

export interface BftMachineOptions {
  readonly chainId: string;
  readonly validators: ValidatorSet;
  /** This node's key; a node outside the validator set only follows. */
  readonly keys: KeyPair;
  readonly params: Pick<BftParams, 'timeoutProposeMs' | 'timeoutVoteMs'>;
  /** The caller's verdict on a proposed block (it holds the block body and the state). */
  readonly isValid: (blockHash: Hash, height: number) => boolean;
  /** Votes this node signed before (read from its WAL), so a restart never contradicts them. */
  readonly signedVotes?: readonly Vote[];
  /** Proposals this node signed before (WAL): it never signs a second one for the same round. */
  readonly signedProposals?: readonly Proposal[];
}

// Messages for the next height are kept for when we get there (validators finish
// a height at slightly different times); bounded so a peer cannot fill memory.
const MAX_FUTURE_MESSAGES = 10_000;

// Rounds beyond the next one for which one validator's messages are kept:
// enough for the f+1 round-skip rule to learn where the others are, few enough
// that a validator signing messages for far rounds cannot make us hold (and
// scan on every message) any number of them. Tendermint bounds it likewise.
const MAX_FAR_ROUNDS = 4;
// Messages of one validator for rounds beyond those, held (not dropped) until
// the node gets near: a node catching up after a reconnect hears each peer's
// history once, and must still reach the round the others wait in. The
// highest rounds are kept, since they say where a validator is now.
const MAX_HELD_PER_VALIDATOR = 64;

const walKey = (height: number, round: number, type: VoteType): string => `${height}/${round}/${type}`;
const roundOf = (m: BftMessage): number => (m.kind === 'vote' ? m.vote.round : m.proposal.round);

/** One validator's Tendermint state machine. */
export class BftStateMachine {
  private readonly opts: BftMachineOptions;
  private readonly signed = new Map<string, Vote>();

  private heightV = 0;
  private roundV = 0;
  private stepV: Step = 'idle';
  private lockedValue: Hash | null = null;
  private lockedRound = -1;
  private validValue: Hash | null = null;
  private validRound = -1;

  private votes: HeightVotes;
  private proposals = new Map<number, Proposal>();
  private prevoteTimeoutDone = new Set<number>();
  private precommitTimeoutDone = new Set<number>();
  private polUpdateDone = new Set<number>();
  private proposedIn = new Set<number>();
  /** Per validator, the rounds beyond the next one it has messages kept for (see MAX_FAR_ROUNDS). */
  private farRounds = new Map<PublicKeyHex, Set<number>>();
  /** Per validator, messages for rounds further still, held until they are near (see MAX_HELD_PER_VALIDATOR). */
  private held = new Map<PublicKeyHex, BftMessage[]>();
  private replaying = false;
  private future: BftMessage[] = [];
  private out: BftAction[] = [];

  constructor(opts: BftMachineOptions) {
    this.opts = opts;
    for (const v of opts.signedVotes ?? []) if (v.validator === opts.keys.publicKey) this.signed.set(walKey(v.height, v.round, v.type), v);
    this.votes = new HeightVotes(0, opts.validators);
  }

  /** Current height. */
  get height(): number {
    return this.heightV;
  }
  /** Current round. */
  get round(): number {
    return this.roundV;
  }
  /** Current step. */
  get step(): Step {
    return this.stepV;
  }
  /** The lock (value and round), -1 if none. */
  get lock(): { readonly value: Hash | null; readonly round: number } {
    return { value: this.lockedValue, round: this.lockedRound };
  }

  /** Who voted what in a round (for status pages), without their signatures. */
  votesIn(round: number): { readonly prevotes: { validator: PublicKeyHex; blockHash: Hash | null }[]; readonly precommits: { validator: PublicKeyHex; blockHash: Hash | null }[] } {
    const pick = (type: VoteType) => {
      const set = this.votes.get(round, type);
      const out: { validator: PublicKeyHex; blockHash: Hash | null }[] = [];
      for (const v of set.voters()) out.push({ validator: v, blockHash: set.voteOf(v)?.blockHash ?? null });
      return out;
    };
    return { prevotes: pick('prevote'), precommits: pick('precommit') };
  }

  /** Starts consensus for a height (the previous one committed and applied by the caller). */
  start(height: number): BftAction[] {
    if (!Number.isSafeInteger(height) || height < 1) throw new Error('height is a positive integer');
    if (height <= this.heightV) throw new Error(`already at height ${this.heightV}`);
    this.heightV = height;
    this.votes = new HeightVotes(height, this.opts.validators);
    this.proposals = new Map();
    this.prevoteTimeoutDone = new Set();
    this.precommitTimeoutDone = new Set();
    this.polUpdateDone = new Set();
    this.farRounds = new Map();
    this.held = new Map();
    this.proposedIn = new Set((this.opts.signedProposals ?? []).filter((p) => p.height === height && p.proposer === this.opts.keys.publicKey).map((p) => p.round));
    this.lockedValue = null;
    this.lockedRound = -1;
    this.validValue = null;
    this.validRound = -1;
    // Restore what the WAL says we did at this height: our votes count, our
    // last non-nil precommit is our lock, and we resume at our latest round.
    let startRound = 0;
    for (const v of this.signed.values()) {
      if (v.height !== height) continue;
      this.votes.add(v);
      startRound = Math.max(startRound, v.round);
      if (v.type === 'precommit' && v.blockHash !== null && v.round > this.lockedRound) {
        this.lockedRound = v.round;
        this.lockedValue = v.blockHash;
        this.validRound = v.round;
        this.validValue = v.blockHash;
      }
    }
    const pending = this.future;
    this.future = [];
    this.startRound(startRound);
    for (const m of pending) {
      if (m.kind === 'vote' && m.vote.height === height) this.acceptVote(m.vote);
      else if (m.kind === 'proposal' && m.proposal.height === height) this.acceptProposal(m.proposal);
      else if ((m.kind === 'vote' ? m.vote.height : m.proposal.height) > height) this.future.push(m);
    }
    return this.flush();
  }

  /** Handles a proposal from the network. */
  onProposal(proposal: Proposal): BftAction[] {
    if (proposal.height === this.heightV + 1 || (this.stepV === 'idle' && proposal.height > this.heightV)) this.defer({ kind: 'proposal', proposal });
    else if (proposal.height === this.heightV && this.stepV !== 'idle') this.acceptProposal(proposal);
    return this.flush();
  }

  /** Handles a vote from the network. */
  onVote(vote: Vote): BftAction[] {
    if (vote.height === this.heightV + 1 || (this.stepV === 'idle' && vote.height > this.heightV)) this.defer({ kind: 'vote', vote });
    else if (vote.height === this.heightV && this.stepV !== 'idle') this.acceptVote(vote);
    return this.flush();
  }

  /**
   * True if a message of `validator` for `round` of this height would be
   * kept: any round up to the next one, and a few further ones per validator.
   */
  keeps(validator: PublicKeyHex, round: number): boolean {
    if (round <= this.roundV + 1) return true;
    const far = this.farRounds.get(validator);
    if (far === undefined || far.has(round)) return true;
    // Rounds we have since reached are no longer far.
    for (const r of far) if (r <= this.roundV + 1) far.delete(r);
    return far.size < MAX_FAR_ROUNDS;
  }

  /** The block of the proposal held for this round of the height (the first one counts), if any. */
  proposalIn(round: number): Hash | undefined {
    return this.proposals.get(round)?.blockHash;
  }

  /** The block this node would re-propose (the last one it saw +2/3 prevotes for), if any. */
  get validHash(): Hash | null {
    return this.validValue;
  }

  /** Distinct validators that voted for `blockHash` at this height, in any round. */
  backers(blockHash: Hash): number {
    const who = new Set<PublicKeyHex>();
    for (const r of this.votes.roundsSeen()) {
      for (const type of ['prevote', 'precommit'] as const) for (const v of this.votes.get(r, type).votesFor(blockHash)) who.add(v.validator);
    }
    return who.size;
  }

  /** Handles a message of either kind. */
  onMessage(m: BftMessage): BftAction[] {
    return m.kind === 'vote' ? this.onVote(m.vote) : this.onProposal(m.proposal);
  }

  /** A timeout scheduled earlier has fired; stale ones are ignored. */
  onTimeout(kind: TimeoutKind, height: number, round: number): BftAction[] {
    if (height === this.heightV && round === this.roundV && this.stepV !== 'decided') {
      if (kind === 'propose' && this.stepV === 'propose') this.castVote('prevote', null);
      else if (kind === 'prevote' && this.stepV === 'prevote') this.castVote('precommit', null);
      else if (kind === 'precommit') this.startRound(round + 1);
      this.progress();
    }
    return this.flush();
  }

  /** The caller's answer to a propose-request: the hash of the block it built. */
  propose(height: number, round: number, blockHash: Hash): BftAction[] {
    if (height === this.heightV && round === this.roundV && this.stepV === 'propose' && this.isProposer(round) && !this.proposedIn.has(round)) {
      this.sendProposal(blockHash, -1);
      this.progress();
    }
    return this.flush();
  }

  private isProposer(round: number): boolean {
    return this.opts.validators.proposer(this.heightV, round) === this.opts.keys.publicKey;
  }

  private defer(m: BftMessage): void {
    if (this.future.length < MAX_FUTURE_MESSAGES) this.future.push(m);
  }

  private flush(): BftAction[] {
    const out = this.out;
    this.out = [];
    return out;
  }

  private timeoutMs(kind: TimeoutKind, round: number): number {
    // Timeouts grow with the round so that, once the network is timely again,
    // some round is long enough for everyone to hear from everyone.
    const base = kind === 'propose' ? this.opts.params.timeoutProposeMs : this.opts.params.timeoutVoteMs;
    return base + round * Math.ceil(base / 2);
  }

  private schedule(kind: TimeoutKind, round: number): void {
    this.out.push({ kind: 'schedule-timeout', timeout: kind, height: this.heightV, round, delayMs: this.timeoutMs(kind, round) });
  }

  // Paper lines 11-21.
  private startRound(round: number): void {
    this.roundV = round;
    this.stepV = 'propose';
    if (this.isProposer(round) && !this.proposedIn.has(round)) {
      if (this.validValue !== null) this.sendProposal(this.validValue, this.validRound);
      else this.out.push({ kind: 'propose-request', height: this.heightV, round });
    }
    // The proposer schedules it too: if its host never answers, the round still moves on.
    this.schedule('propose', round);
    this.progress();
    this.replayHeld();
  }

  private sendProposal(blockHash: Hash, polRound: number): void {
    this.proposedIn.add(this.roundV);
    const p = signProposal(this.opts.keys, { height: this.heightV, round: this.roundV, blockHash, polRound }, this.opts.chainId);
    this.proposals.set(this.roundV, p);
    this.out.push({ kind: 'broadcast', message: { kind: 'proposal', proposal: p } });
  }

  private acceptProposal(p: Proposal): void {
    if (this.proposals.has(p.round)) return; // first one counts; a second is the proposer's fault
    if (p.proposer !== this.opts.validators.proposer(p.height, p.round)) return;
    if (!verifyProposal(p, this.opts.chainId)) return;
    if (!this.keeps(p.proposer, p.round)) return this.hold(p.proposer, { kind: 'proposal', proposal: p });
    this.noteRound(p.proposer, p.round);
    this.proposals.set(p.round, p);
    this.progress();
  }

  private acceptVote(v: Vote): void {
    // Checked before it is held too: a forged vote must not push a validator's real ones out.
    if (!this.opts.validators.has(v.validator) || !verifyVote(v, this.opts.chainId)) return;
    if (!this.keeps(v.validator, v.round)) return this.hold(v.validator, { kind: 'vote', vote: v });
    this.noteRound(v.validator, v.round);
    const r = this.votes.add(v);
    if (r.kind === 'equivocation') this.out.push({ kind: 'evidence', evidence: r.evidence });
    if (r.kind === 'added') this.progress();
  }

  /** Holds a message of a round too far ahead to keep now; beyond the bound, the lowest round goes. */
  private hold(validator: PublicKeyHex, m: BftMessage): void {
    let list = this.held.get(validator);
    if (list === undefined) this.held.set(validator, (list = []));
    list.push(m);
    if (list.length <= MAX_HELD_PER_VALIDATOR) return;
    let lowest = 0;
    for (let i = 1; i < list.length; i++) if (roundOf(list[i]!) < roundOf(list[lowest]!)) lowest = i;
    list.splice(lowest, 1);
  }

  /** Takes the held messages the current round now lets in (each may move the round on, letting in more). */
  private replayHeld(): void {
    if (this.replaying || this.held.size === 0) return;
    this.replaying = true;
    try {
      for (let again = true; again; ) {
        again = false;
        for (const [validator, list] of this.held) {
          const near = list.filter((m) => this.keeps(validator, roundOf(m)));
          if (near.length === 0) continue;
          const rest = list.filter((m) => !near.includes(m));
          if (rest.length > 0) this.held.set(validator, rest);
          else this.held.delete(validator);
          for (const m of near) {
            if (m.kind === 'vote') this.acceptVote(m.vote);
            else this.acceptProposal(m.proposal);
          }
          again = true;
        }
      }
    } finally {
      this.replaying = false;
    }
  }

  private noteRound(validator: PublicKeyHex, round: number): void {
    if (round <= this.roundV + 1) return;
    let far = this.farRounds.get(validator);
    if (far === undefined) this.farRounds.set(validator, (far = new Set()));
    far.add(round);
  }

  /** Signs (WAL first) and sends a vote, unless the WAL holds a different one for the same slot. */
  private castVote(type: VoteType, blockHash: Hash | null): void {
    this.stepV = type;
    if (!this.opts.validators.has(this.opts.keys.publicKey)) return;
    const key = walKey(this.heightV, this.roundV, type);
    let vote = this.signed.get(key);
    if (vote === undefined) {
      vote = signVote(this.opts.keys, { type, height: this.heightV, round: this.roundV, blockHash }, this.opts.chainId);
      this.signed.set(key, vote);
      this.out.push({ kind: 'wal', vote });
    }
    // Either the new vote or, after a restart, exactly what we said before.
    this.out.push({ kind: 'broadcast', message: { kind: 'vote', vote } });
    this.votes.add(vote);
    if (type === 'precommit' && vote.blockHash !== null && vote.round > this.lockedRound) {
      // Keeps the lock consistent with what we actually signed.
      this.lockedRound = vote.round;
      this.lockedValue = vote.blockHash;
    }
  }

  /** Applies every rule whose condition now holds, until none does. */
  private progress(): void {
    for (let guard = 0; guard < 1000 && this.stepV !== 'decided' && this.stepV !== 'idle'; guard++) {
      if (!this.ruleStep()) return;
    }
  }

  private ruleStep(): boolean {
    const h = this.heightV;
    const vs = this.opts.validators;
    const valid = (b: Hash): boolean => this.opts.isValid(b, h);

    // Lines 49-54: +2/3 precommits for a block in any round decide it. The
    // paper also asks for the proposal; we do not, because the q precommits
    // include honest ones that saw and checked it, and the host fetches the body.
    for (const r of this.votes.roundsSeen()) {
      const pc = this.votes.get(r, 'precommit');
      const m = pc.twoThirdsMajority();
      if (typeof m === 'string') {
        const certificate: CommitCertificate = { height: h, round: r, blockHash: m, signatures: pc.votesFor(m).map((v) => ({ validator: v.validator, signature: v.signature })) };
        this.stepV = 'decided';
        this.out.push({ kind: 'commit', height: h, round: r, blockHash: m, certificate });
        return false;
      }
    }

    // Lines 55-56: f+1 validators in a higher round include an honest one, so catch up.
    for (const r of this.votes.roundsSeen()) {
      if (r > this.roundV && this.votes.votersInRound(r) >= vs.skipThreshold) {
        this.startRound(r);
        return true;
      }
    }

    const round = this.roundV;
    const p = this.proposals.get(round);
    const prevotes = this.votes.get(round, 'prevote');

    if (this.stepV === 'propose' && p !== undefined) {
      // Lines 22-27: a fresh proposal.
      if (p.polRound === -1) {
        const ok = valid(p.blockHash) && (this.lockedRound === -1 || this.lockedValue === p.blockHash);
        this.castVote('prevote', ok ? p.blockHash : null);
        return true;
      }
      // Lines 28-33: a re-proposal backed by +2/3 prevotes in polRound.
      if (p.polRound < round && this.votes.get(p.polRound, 'prevote').hasTwoThirdsFor(p.blockHash)) {
        const ok = valid(p.blockHash) && (this.lockedRound <= p.polRound || this.lockedValue === p.blockHash);
        this.castVote('prevote', ok ? p.blockHash : null);
        return true;
      }
    }

    // Lines 34-35.
    if (this.stepV === 'prevote' && prevotes.hasTwoThirdsAny() && !this.prevoteTimeoutDone.has(round)) {
      this.prevoteTimeoutDone.add(round);
      this.schedule('prevote', round);
      return true;
    }

    // Lines 36-43: +2/3 prevotes for the proposal: lock and precommit it.
    if ((this.stepV === 'prevote' || this.stepV === 'precommit') && p !== undefined && !this.polUpdateDone.has(round) && prevotes.hasTwoThirdsFor(p.blockHash) && valid(p.blockHash)) {
      this.polUpdateDone.add(round);
      if (this.stepV === 'prevote') {
        this.lockedValue = p.blockHash;
        this.lockedRound = round;
        this.castVote('precommit', p.blockHash);
      }
      this.validValue = p.blockHash;
      this.validRound = round;
      return true;
    }

    // Lines 44-46.
    if (this.stepV === 'prevote' && prevotes.hasTwoThirdsFor(null)) {
      this.castVote('precommit', null);
      return true;
    }

    // Lines 47-48.
    if (this.votes.get(round, 'precommit').hasTwoThirdsAny() && !this.precommitTimeoutDone.has(round)) {
      this.precommitTimeoutDone.add(round);
      this.schedule('precommit', round);
      return true;
    }
    return false;
  }
}
