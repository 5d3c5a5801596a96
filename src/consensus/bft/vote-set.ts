/** Vote bookkeeping: counting toward +2/3 and catching equivocation. Signatures are checked by the caller. */
import type { Hash, PublicKeyHex } from '../../crypto/index.ts';
import type { Evidence, Vote, VoteType } from './types.ts';
import type { ValidatorSet } from './validators.ts';

export type AddVoteResult =
  | { readonly kind: 'added' }
  | { readonly kind: 'duplicate' }
  | { readonly kind: 'equivocation'; readonly evidence: Evidence }
  | { readonly kind: 'rejected'; readonly reason: string };

const NIL = 'nil';
const keyOf = (h: Hash | null): string => h ?? NIL;

/** The votes of one (height, round, type). */
export class VoteSet {
  private readonly byValidator = new Map<PublicKeyHex, Vote>();
  private readonly counts = new Map<string, number>();
  private readonly equivocators = new Set<PublicKeyHex>();

  constructor(
    readonly height: number,
    readonly round: number,
    readonly type: VoteType,
    private readonly validators: ValidatorSet,
  ) {}

  /** Adds a vote; only the first vote of a validator counts, a conflicting second one is evidence. */
  add(vote: Vote): AddVoteResult {
    if (vote.height !== this.height || vote.round !== this.round || vote.type !== this.type) return { kind: 'rejected', reason: 'wrong height, round or type' };
    if (!this.validators.has(vote.validator)) return { kind: 'rejected', reason: 'not a validator' };
    const prior = this.byValidator.get(vote.validator);
    if (prior === undefined) {
      this.byValidator.set(vote.validator, vote);
      const k = keyOf(vote.blockHash);
      this.counts.set(k, (this.counts.get(k) ?? 0) + 1);
      return { kind: 'added' };
    }
    if (prior.blockHash === vote.blockHash) return { kind: 'duplicate' };
    // Report each equivocator once; counting its second vote too would let it be in two quorums.
    if (this.equivocators.has(vote.validator)) return { kind: 'duplicate' };
    this.equivocators.add(vote.validator);
    return { kind: 'equivocation', evidence: { voteA: prior, voteB: vote } };
  }

  /** Number of distinct validators that voted. */
  get size(): number {
    return this.byValidator.size;
  }

  /** Votes for blockHash (null = nil). */
  count(blockHash: Hash | null): number {
    return this.counts.get(keyOf(blockHash)) ?? 0;
  }

  /** True if more than 2/3 voted for blockHash (null = nil). */
  hasTwoThirdsFor(blockHash: Hash | null): boolean {
    return this.count(blockHash) >= this.validators.quorum;
  }

  /** True if more than 2/3 voted at all, for anything. */
  hasTwoThirdsAny(): boolean {
    return this.byValidator.size >= this.validators.quorum;
  }

  /** The value with +2/3 (a hash, or null for nil), or undefined if none. */
  twoThirdsMajority(): Hash | null | undefined {
    for (const [k, n] of this.counts) if (n >= this.validators.quorum) return k === NIL ? null : k;
    return undefined;
  }

  /** The counted votes for blockHash, in validator-set order. */
  votesFor(blockHash: Hash | null): Vote[] {
    return [...this.byValidator.values()]
      .filter((v) => v.blockHash === blockHash)
      .sort((a, b) => this.validators.indexOf(a.validator) - this.validators.indexOf(b.validator));
  }

  /** The counted vote of a validator, if any. */
  voteOf(validator: PublicKeyHex): Vote | undefined {
    return this.byValidator.get(validator);
  }

  /** Validators that voted in this set. */
  voters(): IterableIterator<PublicKeyHex> {
    return this.byValidator.keys();
  }
}

/** All prevotes and precommits of one height, by round. */
export class HeightVotes {
  private readonly rounds = new Map<number, { prevote: VoteSet; precommit: VoteSet }>();

  constructor(
    readonly height: number,
    private readonly validators: ValidatorSet,
  ) {}

  /** The vote set of (round, type), created empty on first use. */
  get(round: number, type: VoteType): VoteSet {
    let r = this.rounds.get(round);
    if (r === undefined) {
      r = { prevote: new VoteSet(this.height, round, 'prevote', this.validators), precommit: new VoteSet(this.height, round, 'precommit', this.validators) };
      this.rounds.set(round, r);
    }
    return r[type];
  }

  /** Adds a vote to its round's set. */
  add(vote: Vote): AddVoteResult {
    if (vote.height !== this.height) return { kind: 'rejected', reason: 'wrong height' };
    return this.get(vote.round, vote.type).add(vote);
  }

  /** Rounds that have any votes, ascending. */
  roundsSeen(): number[] {
    return [...this.rounds.keys()].sort((a, b) => a - b);
  }

  /** Distinct validators with any vote in round: f+1 of them in a higher round make us skip ahead. */
  votersInRound(round: number): number {
    const r = this.rounds.get(round);
    if (r === undefined) return 0;
    const s = new Set<PublicKeyHex>(r.prevote.voters());
    for (const v of r.precommit.voters()) s.add(v);
    return s.size;
  }
}
