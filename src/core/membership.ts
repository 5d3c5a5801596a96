/**
 * Membership of a permissioned network, as every node reads it from the state.
 *
 * It lives in a reserved record (`~membership`) rather than only in genesis so
 * that governance can change it and every node, replaying the same blocks,
 * derives the same members and validators. Reserved keys start with `~`;
 * ordinary record transactions may not write them.
 */
import { addressFromPublicKey, ZERO_HASH } from '../crypto/index.ts';
import type { JsonValue } from './encoding.ts';
import type { State } from './state.ts';
import type { Address, Genesis, Member, PublicKeyHex, RecordState } from './types.ts';

/** Record keys starting with this are written only by genesis and governance. */
export const RESERVED_KEY_PREFIX = '~';
/** The record holding the current membership. */
export const MEMBERSHIP_KEY = '~membership';

/**
 * Owner and `from` of reserved-record writes no transaction made (genesis, and
 * changes applied when they activate): the address of the all-zero key, which
 * no one can sign for.
 */
// Spelled out rather than imported from block.ts: tx.ts imports this module, and block.ts imports tx.ts.
export const SYSTEM_ADDRESS: Address = addressFromPublicKey('0'.repeat(64));

/** An organisation as the state holds it: no accounts (those carry Account.org). */
export interface MembershipOrg {
  readonly name: string;
  readonly orgKey?: PublicKeyHex;
  readonly members: readonly Member[];
  /**
   * Nodes removed by governance: a member certificate from the org key no
   * longer admits them (a certificate cannot be recalled otherwise).
   */
  readonly revoked?: readonly PublicKeyHex[];
}

/** Everything about who may take part, in genesis document order. */
export interface Membership {
  readonly orgs: readonly MembershipOrg[];
}

/** True for record keys only genesis and governance may write. */
export function isReservedRecordKey(key: string): boolean {
  return key.startsWith(RESERVED_KEY_PREFIX);
}

/** The membership a genesis starts with, or undefined for a public network. */
export function genesisMembership(g: Genesis): Membership | undefined {
  if (g.orgs.length === 0) return undefined;
  return {
    orgs: g.orgs.map((o) => ({
      name: o.name,
      ...(o.orgKey === undefined ? {} : { orgKey: o.orgKey }),
      members: o.members.map((m) => ({ name: m.name, nodeId: m.nodeId, validator: m.validator, bootstrap: m.bootstrap })),
    })),
  };
}

/** The JSON value stored in `~membership`; optional fields only when set, so the bytes are canonical. */
export function membershipToJson(m: Membership): JsonValue {
  return {
    orgs: m.orgs.map((o) => {
      const j: { [k: string]: JsonValue } = {
        name: o.name,
        members: o.members.map((x) => ({ name: x.name, nodeId: x.nodeId, validator: x.validator, bootstrap: x.bootstrap })),
      };
      if (o.orgKey !== undefined) j.orgKey = o.orgKey;
      if (o.revoked !== undefined && o.revoked.length > 0) j.revoked = [...o.revoked];
      return j;
    }),
  };
}

function bad(detail: string): never {
  // Only genesis and governance write this record, so a bad shape is a bug or a damaged store.
  throw new Error(`state: record ${MEMBERSHIP_KEY} is malformed: ${detail}`);
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseMembership(v: JsonValue): Membership {
  if (!isObj(v) || !Array.isArray(v.orgs)) bad('expected {orgs: [...]}');
  return {
    orgs: v.orgs.map((o, i) => {
      if (!isObj(o) || typeof o.name !== 'string' || !Array.isArray(o.members)) bad(`orgs.${i} is not {name, members}`);
      if (o.orgKey !== undefined && typeof o.orgKey !== 'string') bad(`orgs.${i}.orgKey is not a string`);
      if (o.revoked !== undefined && (!Array.isArray(o.revoked) || !o.revoked.every((r) => typeof r === 'string'))) bad(`orgs.${i}.revoked is not a list of node ids`);
      const members = o.members.map((m, j): Member => {
        if (!isObj(m) || typeof m.name !== 'string' || typeof m.nodeId !== 'string' || typeof m.validator !== 'boolean' || typeof m.bootstrap !== 'boolean') {
          bad(`orgs.${i}.members.${j} is not {name, nodeId, validator, bootstrap}`);
        }
        return { name: m.name, nodeId: m.nodeId, validator: m.validator, bootstrap: m.bootstrap };
      });
      return {
        name: o.name,
        ...(typeof o.orgKey === 'string' ? { orgKey: o.orgKey } : {}),
        members,
        ...(Array.isArray(o.revoked) && o.revoked.length > 0 ? { revoked: o.revoked as string[] } : {}),
      };
    }),
  };
}

// Validator sets are read for every height and vote; parse each record version once.
const parsed = new WeakMap<RecordState, Membership>();

/** The membership in a state, or undefined when the network has none (public). */
export function membershipOf(state: State): Membership | undefined {
  const rec = state.record(MEMBERSHIP_KEY);
  if (rec === undefined) return undefined;
  let m = parsed.get(rec);
  if (m === undefined) {
    m = parseMembership(rec.value);
    parsed.set(rec, m);
  }
  return m;
}

/** The record a genesis writes for its membership: height 0, no transaction, no history entry. */
export function genesisMembershipRecord(m: Membership): RecordState {
  // The store writes no history for genesis, so `updates` starts at 0 and the
  // history chain at zero: entry k of the stored history is the k-th change.
  return { value: membershipToJson(m), owner: SYSTEM_ADDRESS, updates: 0, height: 0, txId: ZERO_HASH, historyHash: ZERO_HASH };
}

/** Validator node ids in document order (orgs, then members); this order fixes proposer rotation. */
export function validatorIds(m: Membership): PublicKeyHex[] {
  return m.orgs.flatMap((o) => o.members.filter((x) => x.validator).map((x) => x.nodeId));
}

/** Every listed member node id, validators included, in document order. */
export function memberIds(m: Membership): PublicKeyHex[] {
  return m.orgs.flatMap((o) => o.members.map((x) => x.nodeId));
}

/** The organisation listing a node, and the member entry, if any. */
export function orgOfNode(m: Membership, id: PublicKeyHex): { org: MembershipOrg; member: Member } | undefined {
  for (const org of m.orgs) {
    const member = org.members.find((x) => x.nodeId === id);
    if (member !== undefined) return { org, member };
  }
  return undefined;
}

/** An organisation by name. */
export function findOrg(m: Membership, name: string): MembershipOrg | undefined {
  return m.orgs.find((o) => o.name === name);
}

/**
 * The validators that sign block h, given the state after block h-1 (for
 * h = 1, the genesis state). Every node computes it from the same chain, so a
 * governance change takes effect at the same height everywhere. Empty for a
 * network without membership (public, PoW).
 */
export function validatorsForHeight(stateAfterParent: State): PublicKeyHex[] {
  const m = membershipOf(stateAfterParent);
  return m === undefined ? [] : validatorIds(m);
}
