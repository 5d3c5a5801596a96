import { genesisValidators, validatorsForHeight, type Genesis, type State } from '../../core/index.ts';
import type { PublicKeyHex } from '../../crypto/index.ts';

/** The ordered list of validator node ids for a height; order fixes proposer rotation. */
export class ValidatorSet {
  readonly ids: readonly PublicKeyHex[];
  private readonly index: ReadonlyMap<PublicKeyHex, number>;

  constructor(ids: readonly PublicKeyHex[]) {
    if (ids.length === 0) throw new Error('a validator set needs at least one validator');
    const index = new Map<PublicKeyHex, number>();
    ids.forEach((id, i) => {
      if (index.has(id)) throw new Error(`validator ${id} is listed twice`);
      index.set(id, i);
    });
    this.ids = [...ids];
    this.index = index;
  }

  /** Number of validators. */
  get size(): number {
    return this.ids.length;
  }

  /** Votes needed for "more than 2/3 of the validators": floor(2n/3) + 1. */
  get quorum(): number {
    return Math.floor((2 * this.ids.length) / 3) + 1;
  }

  /** The most faulty validators tolerated: f = floor((n - 1) / 3). */
  get maxFaulty(): number {
    return Math.floor((this.ids.length - 1) / 3);
  }

  /** f + 1: enough votes that at least one comes from an honest validator. */
  get skipThreshold(): number {
    return this.maxFaulty + 1;
  }

  /** True if id is a validator. */
  has(id: PublicKeyHex): boolean {
    return this.index.has(id);
  }

  /** Position of id in the list, or -1. */
  indexOf(id: PublicKeyHex): number {
    return this.index.get(id) ?? -1;
  }

  /** The proposer of (height, round): round-robin, so a silent proposer costs one round only. */
  proposer(height: number, round: number): PublicKeyHex {
    return this.ids[(height + round) % this.ids.length] as PublicKeyHex;
  }
}

/**
 * The validators that sign the child of a block, read from that block's state
 * (the ~membership record, which governance changes). A state without the
 * record (a store written before it existed) falls back to genesis.
 */
export function validatorSetFor(state: State, genesis: Genesis): ValidatorSet {
  // Asked for every consensus message: read the record once per state.
  const cached = setByState.get(state);
  if (cached !== undefined) return cached;
  const ids = validatorsForHeight(state);
  const set = new ValidatorSet(ids.length > 0 ? ids : genesisValidators(genesis));
  setByState.set(state, set);
  return set;
}

const setByState = new WeakMap<State, ValidatorSet>();
