/**
 * Governance of a permissioned network: organisations approve membership and
 * validator-set changes with signed `govern` transactions.
 *
 * A proposal is identified by the tagged hash of its canonical action, so the
 * organisations approving "add validator X to acme" all name the same one
 * without coordinating an id. Its state is the reserved record
 * `~gov/<proposalId>`. When more than threshold.num/threshold.den of the
 * organisations have approved, the change is scheduled for
 * `activatesAt = approval height + GOVERNANCE_DELAY` and listed in
 * `~gov/scheduled`. At the end of block activatesAt - 1 it is applied to
 * `~membership`, so the validator set read from the state after that block,
 * which signs block activatesAt, includes it. All of it is state, so every
 * node replaying the same blocks reaches the same membership at the same height.
 */
import { taggedHash, toHex, ZERO_HASH } from '../crypto/index.ts';
import { canonicalBytes, type JsonValue } from './encoding.ts';
import { ERR, fail, ok, type Result } from './errors.ts';
import { findOrg, MEMBERSHIP_KEY, membershipOf, membershipToJson, orgOfNode, SYSTEM_ADDRESS, type Membership, type MembershipOrg } from './membership.ts';
import { recordAfterWrite, type State } from './state.ts';
import { governActionFromJson, governActionToJson } from './tx.ts';
import type { Address, ConsensusParams, GovernAction, GovernTx, Hash, Member, PublicKeyHex, RecordEntry, RecordState } from './types.ts';

/** Blocks between the approval of a change and the first block it governs. */
export const GOVERNANCE_DELAY = 2;
/** Prefix of proposal records: `~gov/<proposalId>`. */
export const GOV_PREFIX = '~gov/';
/** The record listing approved changes not yet applied, in approval order. */
export const GOV_SCHEDULED_KEY = '~gov/scheduled';
/** Domain tag of proposal ids. */
export const PROPOSAL_TAG = 'peerchain:gov:proposal:v1';

/** Where a proposal stands. `applied` and `rejected` end a round; approving again starts a new one. */
export type ProposalStatus = 'pending' | 'approved' | 'applied' | 'rejected';

/** The value of a `~gov/<id>` record. */
export interface Proposal {
  readonly action: GovernAction;
  /** Names of the organisations that approved, in approval order. */
  readonly approvals: readonly string[];
  /** Height of the block holding the round's first approval. */
  readonly proposedAt: number;
  readonly status: ProposalStatus;
  /** Set once approved: the first height whose validators include the change. */
  readonly activatesAt?: number;
  /** Set when rejected: why the change no longer applied at activation. */
  readonly reason?: string;
}

/** One entry of `~gov/scheduled`. */
export interface ScheduledChange {
  readonly activatesAt: number;
  readonly id: Hash;
}

/** Where governance writes records: the transition's change tracker. */
export interface RecordWriter {
  readonly state: State;
  setRecord(key: string, after: RecordState, entry: RecordEntry): void;
}

/** The proposal id of an action: tagged SHA-256 of its canonical JSON. */
export function proposalId(action: GovernAction): Hash {
  return toHex(taggedHash(PROPOSAL_TAG, canonicalBytes(governActionToJson(action))));
}

/** The record key of a proposal. */
export function proposalKey(id: Hash): string {
  return GOV_PREFIX + id;
}

function proposalToJson(p: Proposal): JsonValue {
  const j: { [k: string]: JsonValue } = { action: governActionToJson(p.action), approvals: [...p.approvals], proposedAt: p.proposedAt, status: p.status };
  if (p.activatesAt !== undefined) j.activatesAt = p.activatesAt;
  if (p.reason !== undefined) j.reason = p.reason;
  return j;
}

function corrupt(key: string, detail: string): never {
  // Only governance writes these records, so a bad shape is a bug or a damaged store.
  throw new Error(`state: record ${key} is malformed: ${detail}`);
}

/** A proposal's state, if any organisation ever approved it. */
export function proposalOf(state: State, id: Hash): Proposal | undefined {
  const key = proposalKey(id);
  const rec = state.record(key);
  if (rec === undefined) return undefined;
  const v = rec.value as Record<string, unknown>;
  const action = governActionFromJson(v.action);
  if (!action.ok) corrupt(key, action.error.message);
  if (!Array.isArray(v.approvals) || typeof v.proposedAt !== 'number' || typeof v.status !== 'string') corrupt(key, 'expected {action, approvals, proposedAt, status}');
  return {
    action: action.value,
    approvals: v.approvals as string[],
    proposedAt: v.proposedAt,
    status: v.status as ProposalStatus,
    ...(typeof v.activatesAt === 'number' ? { activatesAt: v.activatesAt } : {}),
    ...(typeof v.reason === 'string' ? { reason: v.reason } : {}),
  };
}

/** Approved changes waiting for their activation height, in approval order. */
export function scheduledChanges(state: State): ScheduledChange[] {
  const rec = state.record(GOV_SCHEDULED_KEY);
  if (rec === undefined) return [];
  if (!Array.isArray(rec.value)) corrupt(GOV_SCHEDULED_KEY, 'expected a list');
  return rec.value.map((e) => {
    const o = e as Record<string, unknown> | null;
    if (o === null || typeof o.activatesAt !== 'number' || typeof o.id !== 'string') corrupt(GOV_SCHEDULED_KEY, 'expected [{activatesAt, id}]');
    return { activatesAt: o.activatesAt, id: o.id };
  });
}

/** True when `approvals` of `orgs` organisations is strictly more than num/den of them. */
export function thresholdMet(approvals: number, orgs: number, threshold: { readonly num: number; readonly den: number }): boolean {
  return approvals * threshold.den > threshold.num * orgs;
}

function validatorCount(m: Membership): number {
  let n = 0;
  for (const o of m.orgs) for (const x of o.members) if (x.validator) n++;
  return n;
}

function withOrg(m: Membership, name: string, change: (o: MembershipOrg) => MembershipOrg): Membership {
  return { orgs: m.orgs.map((o) => (o.name === name ? change(o) : o)) };
}

/** The org with a node added to its members and, if it was revoked, no longer revoked. */
function admit(o: MembershipOrg, member: Member): MembershipOrg {
  const { revoked: prev, ...rest } = o;
  const revoked = (prev ?? []).filter((r) => r !== member.nodeId);
  // An empty list is left out, so the record's bytes do not depend on history.
  return { ...rest, members: [...o.members, member], ...(revoked.length > 0 ? { revoked } : {}) };
}

function short(id: PublicKeyHex): string {
  return id.slice(0, 16) + '...';
}

/** The name a joining node gets when the action names none. */
export function defaultMemberName(nodeId: PublicKeyHex): string {
  return `node-${nodeId.slice(0, 8)}`;
}

/**
 * Checks an action against a membership and returns the membership with the
 * change made. The same function runs when a change is approved and when it
 * activates, so the two can never disagree about what is valid.
 */
export function applyAction(m: Membership, a: GovernAction): Result<Membership> {
  const org = findOrg(m, a.org);
  if (org === undefined) return fail(ERR.BAD_GOVERNANCE_ACTION, `unknown organisation "${a.org}" (the organisations are ${m.orgs.map((o) => `"${o.name}"`).join(', ')})`);
  const at = orgOfNode(m, a.nodeId);
  if (at !== undefined && at.org.name !== a.org) return fail(ERR.BAD_GOVERNANCE_ACTION, `node ${short(a.nodeId)} is a member of "${at.org.name}", not of "${a.org}"`);
  const mine = at?.member;
  const lastValidator = mine?.validator === true && validatorCount(m) === 1;
  switch (a.op) {
    case 'add-member':
    case 'add-validator': {
      const validator = a.op === 'add-validator';
      if (mine === undefined) {
        const member: Member = { name: a.name ?? defaultMemberName(a.nodeId), nodeId: a.nodeId, validator, bootstrap: false };
        return ok(withOrg(m, a.org, (o) => admit(o, member)));
      }
      if (!validator) return fail(ERR.BAD_GOVERNANCE_ACTION, `node ${short(a.nodeId)} is already a member of "${a.org}" (as "${mine.name}")`);
      if (mine.validator) return fail(ERR.BAD_GOVERNANCE_ACTION, `node ${short(a.nodeId)} ("${mine.name}") is already a validator`);
      if (a.name !== undefined && a.name !== mine.name) return fail(ERR.BAD_GOVERNANCE_ACTION, `node ${short(a.nodeId)} is already member "${mine.name}" of "${a.org}"; leave out the name or use "${mine.name}"`);
      return ok(withOrg(m, a.org, (o) => ({ ...o, members: o.members.map((x) => (x.nodeId === a.nodeId ? { ...x, validator: true } : x)) })));
    }
    case 'remove-member': {
      if (mine === undefined) {
        // Not listed, but it may hold a member certificate from the org key: removing it revokes that.
        if (org.orgKey === undefined) return fail(ERR.BAD_GOVERNANCE_ACTION, `node ${short(a.nodeId)} is not a member of "${a.org}" (and "${a.org}" has no org key, so no certificate can admit it)`);
        if (org.revoked?.includes(a.nodeId) === true) return fail(ERR.BAD_GOVERNANCE_ACTION, `node ${short(a.nodeId)} is not a member of "${a.org}" and its certificates are already revoked`);
        return ok(withOrg(m, a.org, (o) => ({ ...o, revoked: [...(o.revoked ?? []), a.nodeId] })));
      }
      if (lastValidator) return fail(ERR.BAD_GOVERNANCE_ACTION, `node ${short(a.nodeId)} ("${mine.name}") is the last validator; removing it would leave no one to sign blocks`);
      return ok(
        withOrg(m, a.org, (o) => ({
          ...o,
          members: o.members.filter((x) => x.nodeId !== a.nodeId),
          // A certificate the org key signed earlier must not readmit a removed node.
          ...(o.orgKey !== undefined ? { revoked: [...(o.revoked ?? []), a.nodeId] } : {}),
        })),
      );
    }
    case 'remove-validator': {
      if (mine === undefined) return fail(ERR.BAD_GOVERNANCE_ACTION, `node ${short(a.nodeId)} is not a member of "${a.org}"`);
      if (!mine.validator) return fail(ERR.BAD_GOVERNANCE_ACTION, `node ${short(a.nodeId)} ("${mine.name}") is not a validator`);
      if (lastValidator) return fail(ERR.BAD_GOVERNANCE_ACTION, `node ${short(a.nodeId)} ("${mine.name}") is the last validator; removing it would leave no one to sign blocks`);
      return ok(withOrg(m, a.org, (o) => ({ ...o, members: o.members.map((x) => (x.nodeId === a.nodeId ? { ...x, validator: false } : x)) })));
    }
  }
}

/** What a govern transaction would do, as far as the state alone decides. */
export interface GovernCheck {
  readonly membership: Membership;
  /** The sender's organisation: the one this transaction approves for. */
  readonly org: string;
  readonly id: Hash;
  /** The proposal's current round, or undefined when this approval starts a new one. */
  readonly round: Proposal | undefined;
}

/**
 * The state rules of a govern transaction that do not need the consensus
 * parameters: the network has membership, the sender's account belongs to an
 * organisation that has not approved this round yet, the proposal is not
 * already approved, and the action is valid now. The mempool runs this at
 * admission so a doomed approval is refused with its reason, not dropped later.
 */
export function checkGovernTx(state: State, tx: GovernTx, sender: Address): Result<GovernCheck> {
  const m = membershipOf(state);
  if (m === undefined) return fail(ERR.GOVERNANCE_DISABLED, 'governance transactions are for private and consortium networks; this network has no organisations');
  const org = state.account(sender).org;
  if (org === undefined || findOrg(m, org) === undefined) return fail(ERR.NOT_MEMBER, `sender ${sender} belongs to no organisation; only an organisation's admitted accounts may approve governance`);
  const id = proposalId(tx.action);
  const prev = proposalOf(state, id);
  const round = prev !== undefined && (prev.status === 'pending' || prev.status === 'approved') ? prev : undefined;
  if (round?.status === 'approved') return fail(ERR.DUPLICATE_APPROVAL, `proposal ${id} is already approved; it takes effect at height ${round.activatesAt}`);
  if (round?.approvals.includes(org) === true) return fail(ERR.DUPLICATE_APPROVAL, `organisation "${org}" has already approved proposal ${id} (approvals so far: ${round.approvals.join(', ')})`);
  const r = applyAction(m, tx.action);
  if (!r.ok) return r;
  return ok({ membership: m, org, id, round });
}

function write(w: RecordWriter, key: string, value: JsonValue, height: number, txId: Hash, from: Address): void {
  const entry: RecordEntry = { height, txId, from, value };
  w.setRecord(key, recordAfterWrite(w.state.record(key), entry), entry);
}

/**
 * Applies a govern transaction (its fee and nonce already taken): records the
 * sender's organisation's approval and, when that passes the threshold,
 * schedules the change for height + GOVERNANCE_DELAY.
 */
export function applyGovernTx(w: RecordWriter, tx: GovernTx, txId: Hash, sender: Address, height: number, consensus: ConsensusParams | undefined): Result<void> {
  if (consensus?.type === 'pow') return fail(ERR.GOVERNANCE_DISABLED, 'governance transactions are for private and consortium (BFT) networks; this network uses proof of work');
  if (consensus === undefined) return fail(ERR.GOVERNANCE_DISABLED, 'governance needs the consensus parameters, and this check was given none');
  const c = checkGovernTx(w.state, tx, sender);
  if (!c.ok) return c;
  const { membership, org, id, round } = c.value;
  const approvals = [...(round?.approvals ?? []), org];
  const approved = thresholdMet(approvals.length, membership.orgs.length, consensus.governanceThreshold);
  const proposal: Proposal = {
    action: tx.action,
    approvals,
    proposedAt: round?.proposedAt ?? height,
    status: approved ? 'approved' : 'pending',
    ...(approved ? { activatesAt: height + GOVERNANCE_DELAY } : {}),
  };
  write(w, proposalKey(id), proposalToJson(proposal), height, txId, sender);
  if (approved) {
    const scheduled = [...scheduledChanges(w.state), { activatesAt: height + GOVERNANCE_DELAY, id }];
    write(w, GOV_SCHEDULED_KEY, scheduled.map((s) => ({ activatesAt: s.activatesAt, id: s.id })), height, txId, sender);
  }
  return ok(undefined);
}

/**
 * Runs at the end of block `height`: applies every scheduled change that
 * activates at height + 1, in approval order, each checked again against the
 * membership as it is by then. A change that no longer applies is marked
 * rejected with the reason instead of failing the block. No transaction made
 * these writes, so they carry a zero txId and the system address.
 */
export function activateScheduled(w: RecordWriter, height: number): void {
  const scheduled = scheduledChanges(w.state);
  // `<=` rather than `===`: nothing due is ever skipped, even if a delay changed.
  const due = scheduled.filter((s) => s.activatesAt <= height + 1);
  if (due.length === 0) return;
  let m = membershipOf(w.state);
  for (const s of due) {
    const p = proposalOf(w.state, s.id);
    if (p === undefined) continue;
    const r = m === undefined ? fail<Membership>(ERR.GOVERNANCE_DISABLED, 'the network has no membership') : applyAction(m, p.action);
    if (r.ok) {
      m = r.value;
      write(w, MEMBERSHIP_KEY, membershipToJson(m), height, ZERO_HASH, SYSTEM_ADDRESS);
      write(w, proposalKey(s.id), proposalToJson({ ...p, status: 'applied' }), height, ZERO_HASH, SYSTEM_ADDRESS);
    } else {
      write(w, proposalKey(s.id), proposalToJson({ ...p, status: 'rejected', reason: r.error.message }), height, ZERO_HASH, SYSTEM_ADDRESS);
    }
  }
  const rest = scheduled.filter((s) => s.activatesAt > height + 1);
  write(w, GOV_SCHEDULED_KEY, rest.map((s) => ({ activatesAt: s.activatesAt, id: s.id })), height, ZERO_HASH, SYSTEM_ADDRESS);
}
