import { addressFromPublicKey } from '../crypto/index.ts';
import { addAmounts, formatAmount, subAmounts } from './amount.ts';
import { blockFrameBytes, blockSize, NO_PROPOSER, txRootOf } from './block.ts';
import { ERR, fail, ok, type Result } from './errors.ts';
import { applyEvidenceTx, MAX_EVIDENCE_PER_BLOCK } from './evidence.ts';
import { activateScheduled, applyGovernTx } from './governance.ts';
import { isReservedRecordKey } from './membership.ts';
import { State, recordAfterWrite } from './state.ts';
import { reservedKeyMessage, txIdBytes, txSize, verifyTxSignature } from './tx.ts';
import type { Account, Address, Block, ChainParams, ConsensusParams, EvidenceTx, Hash, PowParams, RecordEntry, RecordState, SignedTx, Tx } from './types.ts';

/** What applying transactions changed: before and after values, and new history entries. */
export interface StateChanges {
  readonly accounts: Map<Address, { before: Account | undefined; after: Account }>;
  readonly records: Map<string, { before: RecordState | undefined; after: RecordState }>;
  readonly history: { key: string; entry: RecordEntry }[];
}

/** An empty change set. */
export function noChanges(): StateChanges {
  return { accounts: new Map(), records: new Map(), history: [] };
}

/** Everything about the chain a transaction's validity depends on. */
export interface TxContext {
  readonly chainId: string;
  readonly params: ChainParams;
  /** Height of the block the transaction goes into. */
  readonly height: number;
  /**
   * Consensus parameters: governance transactions need them (the approval
   * threshold, and PoW refuses governance). Without them a govern transaction
   * is refused rather than judged with a guessed threshold.
   */
  readonly consensus?: ConsensusParams;
  /**
   * Signature check; callers that already verified a transaction (the mempool)
   * pass a cached check here. Defaults to a full Ed25519 verification.
   */
  readonly verifySignature?: (tx: SignedTx, id: Buffer) => boolean;
}

/** The block reward at a height: halves every halvingInterval blocks when that is set. */
export function blockReward(pow: PowParams, height: number): bigint {
  if (pow.halvingInterval <= 0) return pow.reward;
  const halvings = Math.floor(height / pow.halvingInterval);
  return halvings >= 64 ? 0n : pow.reward >> BigInt(halvings);
}

/**
 * The state while transactions apply, and what they changed. Account writes
 * wait in a map and go into the trie once per account (when the full state is
 * asked for), not once per write: a block touches the same accounts many
 * times, and each trie update hashes a path. The trie's root depends only on
 * its entries, so the result is the same. A scratch tracker (a parent given)
 * reads through its parent's writes and hands its own back with absorb().
 */
class Tracker {
  private base: State;
  private pending = new Map<Address, Account>();

  constructor(
    state: State,
    readonly changes: StateChanges | undefined,
    private parent: Tracker | undefined = undefined,
  ) {
    this.base = state;
  }

  /** The full state so far. */
  get state(): State {
    if (this.parent !== undefined) {
      // The parent's writes first, ours on top; from now on this tracker holds everything itself.
      this.base = this.parent.state;
      this.parent = undefined;
    }
    if (this.pending.size > 0) {
      let s = this.base;
      for (const [address, account] of this.pending) s = s.withAccount(address, account);
      this.base = s;
      this.pending = new Map();
    }
    return this.base;
  }

  account(address: Address): Account {
    return this.pending.get(address) ?? (this.parent !== undefined ? this.parent.account(address) : this.base.account(address));
  }

  hasAccount(address: Address): boolean {
    return this.pending.has(address) || (this.parent !== undefined ? this.parent.hasAccount(address) : this.base.hasAccount(address));
  }

  setAccount(address: Address, after: Account): void {
    if (this.changes !== undefined) {
      const prev = this.changes.accounts.get(address);
      const before = prev !== undefined ? prev.before : this.hasAccount(address) ? this.account(address) : undefined;
      this.changes.accounts.set(address, { before, after });
    }
    this.pending.set(address, after);
  }

  setRecord(key: string, after: RecordState, entry: RecordEntry): void {
    const state = this.state;
    if (this.changes !== undefined) {
      const prev = this.changes.records.get(key);
      this.changes.records.set(key, { before: prev !== undefined ? prev.before : state.record(key), after });
      this.changes.history.push({ key, entry });
    }
    this.base = state.withRecord(key, after);
  }

  /** Takes over the writes of a scratch tracker made on this one (its changes are folded in by the caller). */
  absorb(scratch: Tracker): void {
    if (scratch.parent === this) {
      for (const [address, account] of scratch.pending) this.pending.set(address, account);
    } else {
      // The scratch folded our writes into its own state: it is now the whole truth.
      this.base = scratch.base;
      this.pending = new Map(scratch.pending);
    }
  }
}

function applySigned(t: Tracker, tx: SignedTx, id: Buffer, idHex: Hash, ctx: TxContext): Result<bigint> {
  if (tx.chainId !== ctx.chainId) return fail(ERR.BAD_CHAIN_ID, `transaction is for chain "${tx.chainId}", this is "${ctx.chainId}"`);
  if (tx.fee < ctx.params.minFee) return fail(ERR.FEE_TOO_LOW, `fee ${formatAmount(tx.fee)} is below the minimum ${formatAmount(ctx.params.minFee)}`);
  const verifyFn = ctx.verifySignature ?? verifyTxSignature;
  if (!verifyFn(tx, id)) return fail(ERR.BAD_SIGNATURE, `signature of ${idHex} does not verify`);
  const sender = addressFromPublicKey(tx.from);
  const acct = t.account(sender);
  if (ctx.params.membersOnly && acct.org === undefined) return fail(ERR.NOT_MEMBER, `sender ${sender} is not an admitted member account`);
  if (tx.nonce !== acct.nonce) return fail(ERR.BAD_NONCE, `nonce ${tx.nonce} is not the sender's next nonce ${acct.nonce}`);
  const spend = tx.kind === 'transfer' ? addAmounts(tx.amount, tx.fee) : tx.fee;
  if (spend === undefined) return fail(ERR.OVERFLOW, 'amount plus fee exceeds the largest amount');
  const left = subAmounts(acct.balance, spend);
  if (left === undefined) return fail(ERR.INSUFFICIENT_FUNDS, `sender ${sender} has ${formatAmount(acct.balance)}, needs ${formatAmount(spend)}`);
  t.setAccount(sender, { ...acct, balance: left, nonce: acct.nonce + 1 });
  if (tx.kind === 'transfer') {
    const to = t.account(tx.to);
    const credited = addAmounts(to.balance, tx.amount);
    if (credited === undefined) return fail(ERR.OVERFLOW, `balance of ${tx.to} would exceed the largest amount`);
    t.setAccount(tx.to, { ...to, balance: credited });
  } else if (tx.kind === 'record') {
    // txFromJson refuses these keys too; this guards transactions built in code.
    if (isReservedRecordKey(tx.key)) return fail(ERR.RECORD_KEY, reservedKeyMessage(tx.key));
    const entry: RecordEntry = { height: ctx.height, txId: idHex, from: sender, value: tx.value };
    t.setRecord(tx.key, recordAfterWrite(t.state.record(tx.key), entry), entry);
  } else {
    const r = applyGovernTx(t, tx, idHex, sender, ctx.height, ctx.consensus);
    if (!r.ok) return r;
  }
  return ok(tx.fee);
}

/**
 * Applies one signed transaction to a state: the check the mempool makes.
 * Returns the new state and the fee, or the rule the transaction breaks.
 */
export function applyTx(state: State, tx: SignedTx, ctx: TxContext, changes?: StateChanges): Result<{ state: State; fee: bigint }> {
  const t = new Tracker(state, changes);
  const id = txIdBytes(tx);
  const r = applySigned(t, tx, id, id.toString('hex'), ctx);
  return r.ok ? ok({ state: t.state, fee: r.value }) : r;
}

/** Everything about the chain a block's transition depends on. */
export interface BlockContext {
  readonly chainId: string;
  readonly params: ChainParams;
  readonly consensus: ConsensusParams;
  readonly verifySignature?: (tx: SignedTx, id: Buffer) => boolean;
}

/** The result of applying a block. */
export interface AppliedBlock {
  readonly state: State;
  readonly changes: StateChanges;
  readonly txIds: Hash[];
  readonly fees: bigint;
}

/**
 * The state-transition function: applies a block's transactions to the parent
 * state, checking the block's size, its transaction root, the coinbase (PoW)
 * or fee payout (BFT), every transaction, and that the header's state root is
 * the root of the result. Pure: the input state is untouched.
 * Header rules that need chain context (height, parent, time, proof) are in
 * header-rules.ts.
 */
export function applyBlock(parent: State, block: Block, ctx: BlockContext): Result<AppliedBlock> {
  const r = computeBlockState(parent, block, ctx);
  if (!r.ok) return r;
  const stateRoot = r.value.state.root();
  if (stateRoot !== block.header.stateRoot) return fail(ERR.BAD_STATE_ROOT, `stateRoot ${block.header.stateRoot} does not match the state after the block (${stateRoot})`);
  return r;
}

const SIG_HEX = /^[0-9a-f]{128}$/;

/**
 * blockSize without encoding every transaction again: the canonical size of
 * the block without transactions, plus each transaction's canonical size
 * (known since its id was computed) and the commas between them. A
 * transaction whose signature is not 128 lowercase hex characters (never one
 * from the wire) sends the block through the full measurement.
 */
export function blockSizeOf(block: Block): number {
  let n = blockFrameBytes(block);
  for (const tx of block.txs) {
    if ('sig' in tx && !SIG_HEX.test(tx.sig)) return blockSize(block);
    n += txSize(tx);
  }
  return n;
}

/** Applies a signed transaction or an evidence transaction; returns the fee (evidence pays none). */
function applyBody(t: Tracker, tx: SignedTx | EvidenceTx, id: Buffer, idHex: Hash, ctx: TxContext): Result<bigint> {
  if (tx.kind !== 'evidence') return applySigned(t, tx, id, idHex, ctx);
  if (ctx.consensus?.type !== 'bft') return fail(ERR.BAD_EVIDENCE, 'evidence transactions belong to BFT networks');
  if (tx.chainId !== ctx.chainId) return fail(ERR.BAD_CHAIN_ID, `evidence is for chain "${tx.chainId}", this is "${ctx.chainId}"`);
  const r = applyEvidenceTx(t, tx, idHex, ctx.height);
  return r.ok ? ok(0n) : r;
}

/** applyBlock without the final state-root comparison: what a block producer runs to learn the root. */
export function computeBlockState(parent: State, block: Block, ctx: BlockContext): Result<AppliedBlock> {
  const { header, txs } = block;
  if (header.chainId !== ctx.chainId) return fail(ERR.BAD_CHAIN_ID, `block is for chain "${header.chainId}", this is "${ctx.chainId}"`);
  if (txs.length > ctx.params.maxBlockTxs) return fail(ERR.TOO_MANY_TXS, `block has ${txs.length} transactions, the limit is ${ctx.params.maxBlockTxs}`);
  const size = blockSizeOf(block);
  if (size > ctx.params.maxBlockBytes) return fail(ERR.BLOCK_TOO_LARGE, `block is ${size} bytes, the limit is ${ctx.params.maxBlockBytes}`);
  const ids = txs.map((tx) => txIdBytes(tx));
  const txIds = ids.map((b) => b.toString('hex'));
  if (new Set(txIds).size !== txIds.length) return fail(ERR.DUPLICATE_TX, 'block contains the same transaction twice');
  const root = txRootOf(txs);
  if (root !== header.txRoot) return fail(ERR.BAD_TX_ROOT, `txRoot ${header.txRoot} does not match the transactions (${root})`);

  const pow = ctx.consensus.type === 'pow' ? ctx.consensus : undefined;
  let first = 0;
  if (pow !== undefined) {
    const cb = txs[0];
    if (cb === undefined || cb.kind !== 'coinbase') return fail(ERR.BAD_COINBASE, 'a PoW block must start with a coinbase transaction');
    if (cb.height !== header.height) return fail(ERR.BAD_COINBASE, `coinbase height ${cb.height} is not the block height ${header.height}`);
    if (cb.chainId !== ctx.chainId) return fail(ERR.BAD_CHAIN_ID, `coinbase is for chain "${cb.chainId}"`);
    first = 1;
  }
  const t = new Tracker(parent, noChanges());
  const txCtx: TxContext = { chainId: ctx.chainId, params: ctx.params, height: header.height, consensus: ctx.consensus, verifySignature: ctx.verifySignature };
  let fees = 0n;
  let evidence = 0;
  for (let i = first; i < txs.length; i++) {
    const tx = txs[i]!;
    if (tx.kind === 'coinbase') return fail(ERR.BAD_COINBASE, pow === undefined ? `transaction ${i} is a coinbase; BFT blocks have none` : `transaction ${i} is a second coinbase`);
    if (tx.kind === 'evidence' && ++evidence > MAX_EVIDENCE_PER_BLOCK) return fail(ERR.BAD_EVIDENCE, `more than ${MAX_EVIDENCE_PER_BLOCK} evidence transactions in one block`);
    const r = applyBody(t, tx, ids[i]!, txIds[i]!, txCtx);
    if (!r.ok) return fail(r.error.code, `transaction ${i} (${txIds[i]}): ${r.error.message}`);
    const f = addAmounts(fees, r.value);
    if (f === undefined) return fail(ERR.OVERFLOW, 'total fees exceed the largest amount');
    fees = f;
  }
  const done = finishBlock(t, ctx, header.height, header.proposer, fees, pow === undefined ? undefined : txs[0]);
  if (!done.ok) return done;
  return ok({ state: t.state, changes: t.changes!, txIds, fees });
}

/**
 * The end of every block's transition: the payout (PoW: the coinbase must pay
 * exactly the reward plus the fees; BFT: the fees go to the proposer), then
 * scheduled governance changes take effect.
 */
function finishBlock(t: Tracker, ctx: BlockContext, height: number, proposer: string, fees: bigint, coinbase: Tx | undefined): Result<void> {
  // Payout last, so a miner cannot spend a reward inside the block that creates it.
  let payee: Address | undefined;
  let payout = fees;
  if (ctx.consensus.type === 'pow') {
    const cb = coinbase;
    const expected = addAmounts(blockReward(ctx.consensus, height), fees);
    if (expected === undefined) return fail(ERR.OVERFLOW, 'reward plus fees exceeds the largest amount');
    if (cb === undefined || cb.kind !== 'coinbase' || cb.amount !== expected) {
      return fail(ERR.BAD_COINBASE, `coinbase pays ${cb !== undefined && cb.kind === 'coinbase' ? formatAmount(cb.amount) : '?'}, the reward plus fees is ${formatAmount(expected)}`);
    }
    payee = cb.to;
    payout = expected;
  } else if (proposer !== NO_PROPOSER) {
    payee = addressFromPublicKey(proposer);
  }
  if (payee !== undefined && payout > 0n) {
    const acct = t.account(payee);
    const credited = addAmounts(acct.balance, payout);
    if (credited === undefined) return fail(ERR.OVERFLOW, `balance of ${payee} would exceed the largest amount`);
    t.setAccount(payee, { ...acct, balance: credited });
  }
  // Last of all, so a change approved in this very block is scheduled before it is looked for.
  // Proof of Work refuses governance transactions, so nothing is ever scheduled there: skipping
  // the lookup saves a state read per block, which showed in sync profiles.
  if (ctx.consensus.type === 'bft') activateScheduled(t, height);
  return ok(undefined);
}

/**
 * A block built one transaction at a time, for producers: each transaction
 * either applies (on top of the ones before it) or leaves no trace, and
 * finish() runs the end of the transition. The result is what
 * computeBlockState gives for the chosen transactions, from a single pass.
 */
export class BlockBuilder {
  private readonly t: Tracker;
  private readonly txCtx: TxContext;
  private feesV = 0n;

  constructor(
    parent: State,
    private readonly ctx: BlockContext,
    readonly height: number,
  ) {
    this.t = new Tracker(parent, noChanges());
    this.txCtx = { chainId: ctx.chainId, params: ctx.params, height, consensus: ctx.consensus, verifySignature: ctx.verifySignature };
  }

  /** The fees of the transactions added so far. */
  get fees(): bigint {
    return this.feesV;
  }

  /** Applies one more transaction; on failure the block is as it was before the call. */
  tryAdd(tx: SignedTx | EvidenceTx): Result<bigint> {
    // A scratch tracker: a transaction that fails halfway must not leave its first writes behind.
    const scratch = new Tracker(State.empty(), noChanges(), this.t);
    const id = txIdBytes(tx);
    const r = applyBody(scratch, tx, id, id.toString('hex'), this.txCtx);
    if (!r.ok) return r;
    const fees = addAmounts(this.feesV, r.value);
    if (fees === undefined) return fail(ERR.OVERFLOW, 'total fees exceed the largest amount');
    this.feesV = fees;
    // Fold the scratch changes in, keeping the value each entry had before the block.
    const into = this.t.changes!;
    const from = scratch.changes!;
    for (const [a, c] of from.accounts) {
      const prev = into.accounts.get(a);
      into.accounts.set(a, { before: prev !== undefined ? prev.before : c.before, after: c.after });
    }
    for (const [k, c] of from.records) {
      const prev = into.records.get(k);
      into.records.set(k, { before: prev !== undefined ? prev.before : c.before, after: c.after });
    }
    for (const h of from.history) into.history.push(h);
    this.t.absorb(scratch);
    return r;
  }

  /**
   * The block's final state once its transactions (`txs`, coinbase first for
   * PoW, exactly those added) are in: payout and governance activation.
   */
  finish(txs: readonly Tx[], proposer: string): Result<AppliedBlock> {
    const done = finishBlock(this.t, this.ctx, this.height, proposer, this.feesV, this.ctx.consensus.type === 'pow' ? txs[0] : undefined);
    if (!done.ok) return done;
    return ok({ state: this.t.state, changes: this.t.changes!, txIds: txs.map((tx) => txIdBytes(tx).toString('hex')), fees: this.feesV });
  }
}
