/**
 * Equivocation evidence on chain: two valid votes by one validator for the
 * same height, round and type but different blocks. A proposer includes it as
 * an unsigned `evidence` transaction (the votes' own signatures are the
 * proof); applying it writes the reserved record
 * `~evidence/<validator>/<height>/<round>/<type>`, so the accusation is part
 * of the state every node agrees on, readable through the records API, and
 * can be recorded only once.
 */
import { ERR, fail, ok, type Result } from './errors.ts';
import type { RecordWriter } from './governance.ts';
import { recordAfterWrite } from './state.ts';
import type { EvidenceTx, Hash, JsonValue, RecordEntry } from './types.ts';
import { SYSTEM_ADDRESS, membershipOf, validatorIds } from './membership.ts';
import { isWellFormedVote, verifyVote, voteFields, type Vote } from './votes.ts';

/** Prefix of evidence records. */
export const EVIDENCE_PREFIX = '~evidence/';

/** At most this many evidence transactions in one block: a bound on the signature checks they cost. */
export const MAX_EVIDENCE_PER_BLOCK = 16;

/** The record key of the evidence against one validator's slot. */
export function evidenceKey(v: Pick<Vote, 'validator' | 'height' | 'round' | 'type'>): string {
  return `${EVIDENCE_PREFIX}${v.validator}/${v.height}/${v.round}/${v.type}`;
}

/**
 * The two votes in canonical order (nil first, then by block hash), so that
 * one equivocation has exactly one transaction and one id however it was seen.
 */
export function orderVotes(a: Vote, b: Vote): [Vote, Vote] {
  const k = (v: Vote): string => v.blockHash ?? '';
  return k(a) <= k(b) ? [voteFields(a), voteFields(b)] : [voteFields(b), voteFields(a)];
}

/** Builds the evidence transaction for two conflicting votes. */
export function evidenceTx(chainId: string, a: Vote, b: Vote): EvidenceTx {
  const [voteA, voteB] = orderVotes(a, b);
  return { kind: 'evidence', chainId, voteA, voteB };
}

/** Checks the shape of an evidence transaction: one validator, one slot, two different blocks, canonical order. */
export function checkEvidenceShape(tx: EvidenceTx): Result<void> {
  const { voteA: a, voteB: b } = tx;
  if (!isWellFormedVote(a) || !isWellFormedVote(b)) return fail(ERR.BAD_EVIDENCE, 'evidence holds two well-formed votes');
  if (a.validator !== b.validator) return fail(ERR.BAD_EVIDENCE, 'the two votes are by different validators');
  if (a.height !== b.height || a.round !== b.round || a.type !== b.type) return fail(ERR.BAD_EVIDENCE, 'the two votes are for different heights, rounds or types');
  if (a.blockHash === b.blockHash) return fail(ERR.BAD_EVIDENCE, 'the two votes agree: that is not equivocation');
  if ((a.blockHash ?? '') > (b.blockHash ?? '')) return fail(ERR.BAD_EVIDENCE, 'votes are not in canonical order (nil first, then by block hash)');
  return ok(undefined);
}

/**
 * Applies an evidence transaction: both signatures valid for this chain, the
 * accused a validator of the current set, and this slot not accused before;
 * then records it. Evidence pays no fee and moves no funds.
 */
export function applyEvidenceTx(w: RecordWriter, tx: EvidenceTx, txId: Hash, height: number): Result<void> {
  const shape = checkEvidenceShape(tx);
  if (!shape.ok) return shape;
  if (!verifyVote(tx.voteA, tx.chainId) || !verifyVote(tx.voteB, tx.chainId)) return fail(ERR.BAD_EVIDENCE, 'a vote in the evidence has a bad signature');
  if (tx.voteA.height >= height) return fail(ERR.BAD_EVIDENCE, `evidence from height ${tx.voteA.height} cannot be in block ${height}`);
  const m = membershipOf(w.state);
  if (m === undefined || !validatorIds(m).includes(tx.voteA.validator)) return fail(ERR.BAD_EVIDENCE, `${tx.voteA.validator} is not a validator`);
  const key = evidenceKey(tx.voteA);
  if (w.state.record(key) !== undefined) return fail(ERR.BAD_EVIDENCE, 'this equivocation is already on chain');
  const value: JsonValue = { validator: tx.voteA.validator, height: tx.voteA.height, round: tx.voteA.round, type: tx.voteA.type, blockHashes: [tx.voteA.blockHash, tx.voteB.blockHash], includedAt: height };
  const entry: RecordEntry = { height, txId, from: SYSTEM_ADDRESS, value };
  w.setRecord(key, recordAfterWrite(undefined, entry), entry);
  return ok(undefined);
}
