import { z } from 'zod';
import { addressError, isPublicKeyHex, TAG, taggedHash, toHex } from '../crypto/index.ts';
import { addAmounts, formatAmount, MAX_AMOUNT, parseAmount } from './amount.ts';
import { BLOCK_VERSION, blockHash, NO_PROPOSER, txRootOf } from './block.ts';
import { canonicalBytes } from './encoding.ts';
import { ERR, fail, ok, type Result } from './errors.ts';
import { genesisMembership, genesisMembershipRecord, MEMBERSHIP_KEY } from './membership.ts';
import { decodeBits } from './pow.ts';
import { State } from './state.ts';
import { CHAIN_ID_RE } from './tx.ts';
import type { Account, Address, Block, ChainParams, Genesis, Hash, Org } from './types.ts';

/** Default limits; a genesis document may override any of them. */
export const DEFAULT_PARAMS: ChainParams = {
  minFee: 1n,
  maxBlockTxs: 5000,
  maxBlockBytes: 1024 * 1024,
  maxTxBytes: 16 * 1024,
  maxRecordKeyLength: 128,
  maxRecordValueBytes: 8 * 1024,
  maxFutureMs: 15_000,
  membersOnly: false,
};

const amount = z.string().refine((s) => parseAmount(s) !== undefined, 'must be a decimal string between 0 and 2^64-1');
const pubkey = z.string().refine(isPublicKeyHex, 'must be a 32-byte public key in lowercase hex');
const address = z.string().superRefine((s, c) => {
  const e = addressError(s);
  if (e !== undefined) c.addIssue({ code: 'custom', message: e });
});
const posInt = z.number().int().positive();
const u32 = z.number().int().min(0).max(0xffffffff);

const powSchema = z.strictObject({
  type: z.literal('pow'),
  targetBlockTimeMs: posInt,
  initialBits: u32.refine((b) => decodeBits(b) !== undefined, 'must encode a valid target'),
  powLimitBits: u32.refine((b) => decodeBits(b) !== undefined, 'must encode a valid target'),
  retargetInterval: posInt,
  maxAdjustFactor: z.number().int().min(2).max(16),
  reward: amount,
  halvingInterval: z.number().int().min(0),
});

const bftSchema = z.strictObject({
  type: z.literal('bft'),
  emptyBlockIntervalMs: posInt,
  timeoutProposeMs: posInt,
  timeoutVoteMs: posInt,
  governanceThreshold: z.strictObject({ num: posInt, den: posInt }).refine((t) => t.num < t.den, 'num must be below den'),
});

const paramsSchema = z.strictObject({
  minFee: amount.optional(),
  maxBlockTxs: posInt.optional(),
  maxBlockBytes: posInt.optional(),
  maxTxBytes: posInt.optional(),
  maxRecordKeyLength: z.number().int().min(1).max(1024).optional(),
  maxRecordValueBytes: posInt.optional(),
  maxFutureMs: posInt.optional(),
  membersOnly: z.boolean().optional(),
});

const memberSchema = z.strictObject({
  name: z.string().min(1).max(64),
  nodeId: pubkey,
  validator: z.boolean().default(false),
  bootstrap: z.boolean().default(false),
});

const orgSchema = z.strictObject({
  name: z.string().min(1).max(64),
  orgKey: pubkey.optional(),
  members: z.array(memberSchema),
  accounts: z.array(address).default([]),
});

const genesisSchema = z.strictObject({
  network: z.enum(['public', 'private', 'consortium']),
  chainId: z.string().regex(CHAIN_ID_RE, 'must be 1-32 characters of a-z, 0-9 and -'),
  timestamp: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  consensus: z.discriminatedUnion('type', [powSchema, bftSchema]),
  params: paramsSchema.default({}),
  alloc: z.array(z.strictObject({ address, balance: amount })).default([]),
  orgs: z.array(orgSchema).default([]),
});

/** The JSON form of a genesis document (what genesis.json holds). */
export type GenesisJson = z.input<typeof genesisSchema>;

/**
 * Parses and checks a genesis document. Every rule that would make two nodes
 * disagree about the network is checked here, with the offending path named.
 */
export function parseGenesis(json: unknown): Result<Genesis> {
  const r = genesisSchema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const where = issue.path.length > 0 ? issue.path.join('.') : '(root)';
    return fail(ERR.BAD_GENESIS, `genesis ${where}: ${issue.message}`);
  }
  const d = r.data;
  const p = d.params;
  const params: ChainParams = {
    minFee: p.minFee !== undefined ? parseAmount(p.minFee)! : DEFAULT_PARAMS.minFee,
    maxBlockTxs: p.maxBlockTxs ?? DEFAULT_PARAMS.maxBlockTxs,
    maxBlockBytes: p.maxBlockBytes ?? DEFAULT_PARAMS.maxBlockBytes,
    maxTxBytes: p.maxTxBytes ?? DEFAULT_PARAMS.maxTxBytes,
    maxRecordKeyLength: p.maxRecordKeyLength ?? DEFAULT_PARAMS.maxRecordKeyLength,
    maxRecordValueBytes: p.maxRecordValueBytes ?? DEFAULT_PARAMS.maxRecordValueBytes,
    maxFutureMs: p.maxFutureMs ?? DEFAULT_PARAMS.maxFutureMs,
    membersOnly: p.membersOnly ?? d.network !== 'public',
  };
  const consensus =
    d.consensus.type === 'pow' ? { ...d.consensus, reward: parseAmount(d.consensus.reward)! } : { ...d.consensus, governanceThreshold: { ...d.consensus.governanceThreshold } };
  if (d.network === 'public') {
    if (consensus.type !== 'pow') return fail(ERR.BAD_GENESIS, 'genesis consensus: a public network uses "pow"');
    if (d.orgs.length > 0) return fail(ERR.BAD_GENESIS, 'genesis orgs: a public network has no organisations');
    if (params.membersOnly) return fail(ERR.BAD_GENESIS, 'genesis params.membersOnly: a public network is open to everyone');
    if (decodeBits(consensus.initialBits)! > decodeBits(consensus.powLimitBits)!) return fail(ERR.BAD_GENESIS, 'genesis consensus.initialBits: easier than powLimitBits');
  } else {
    if (consensus.type !== 'bft') return fail(ERR.BAD_GENESIS, `genesis consensus: a ${d.network} network uses "bft"`);
    if (d.orgs.length === 0) return fail(ERR.BAD_GENESIS, `genesis orgs: a ${d.network} network needs at least one organisation`);
    if (d.network === 'private' && d.orgs.length !== 1) return fail(ERR.BAD_GENESIS, 'genesis orgs: a private network has exactly one organisation');
    if (!d.orgs.some((o) => o.members.some((m) => m.validator))) return fail(ERR.BAD_GENESIS, 'genesis orgs: no member is a validator');
  }
  const orgNames = new Set<string>();
  const nodeIds = new Set<string>();
  const accountOrg = new Map<Address, string>();
  for (const [i, o] of d.orgs.entries()) {
    if (orgNames.has(o.name)) return fail(ERR.BAD_GENESIS, `genesis orgs.${i}.name: "${o.name}" appears twice`);
    orgNames.add(o.name);
    for (const [j, m] of o.members.entries()) {
      if (nodeIds.has(m.nodeId)) return fail(ERR.BAD_GENESIS, `genesis orgs.${i}.members.${j}.nodeId: appears twice`);
      nodeIds.add(m.nodeId);
    }
    for (const [j, a] of o.accounts.entries()) {
      if (accountOrg.has(a)) return fail(ERR.BAD_GENESIS, `genesis orgs.${i}.accounts.${j}: ${a} is admitted twice`);
      accountOrg.set(a, o.name);
    }
  }
  const seen = new Set<Address>();
  let total = 0n;
  for (const [i, a] of d.alloc.entries()) {
    if (seen.has(a.address)) return fail(ERR.BAD_GENESIS, `genesis alloc.${i}: ${a.address} is allocated twice`);
    seen.add(a.address);
    const t = addAmounts(total, parseAmount(a.balance)!);
    if (t === undefined) return fail(ERR.BAD_GENESIS, `genesis alloc: the total exceeds ${formatAmount(MAX_AMOUNT)}`);
    total = t;
  }
  const orgs: Org[] = d.orgs.map((o) => ({ ...o, members: o.members.map((m) => ({ ...m })), accounts: [...o.accounts] }));
  return ok({
    network: d.network,
    chainId: d.chainId,
    timestamp: d.timestamp,
    consensus,
    params,
    alloc: d.alloc.map((a) => ({ address: a.address, balance: parseAmount(a.balance)! })),
    orgs,
  });
}

/** The normalised JSON form of a genesis: every default filled in, amounts as strings. */
export function genesisToJson(g: Genesis): GenesisJson {
  const c = g.consensus;
  return {
    network: g.network,
    chainId: g.chainId,
    timestamp: g.timestamp,
    consensus: c.type === 'pow' ? { ...c, reward: formatAmount(c.reward) } : { ...c, governanceThreshold: { ...c.governanceThreshold } },
    params: { ...g.params, minFee: formatAmount(g.params.minFee) },
    alloc: g.alloc.map((a) => ({ address: a.address, balance: formatAmount(a.balance) })),
    orgs: g.orgs.map((o) => {
      const j: GenesisJson['orgs'] extends (infer T)[] | undefined ? T : never = { name: o.name, members: o.members.map((m) => ({ ...m })), accounts: [...o.accounts] };
      if (o.orgKey !== undefined) j.orgKey = o.orgKey;
      return j;
    }),
  };
}

/** Hash of the normalised genesis document; the genesis block's prevHash. */
export function genesisDocumentHash(g: Genesis): Hash {
  return toHex(taggedHash(TAG.genesis, canonicalBytes(genesisToJson(g))));
}

/**
 * The state a genesis starts with: allocations, admitted member accounts and,
 * for a permissioned network, the `~membership` record governance changes later.
 */
export function genesisState(g: Genesis): State {
  const accounts = new Map<Address, Account>();
  for (const a of g.alloc) accounts.set(a.address, { balance: a.balance, nonce: 0 });
  for (const o of g.orgs) {
    for (const a of o.accounts) {
      const prev = accounts.get(a) ?? { balance: 0n, nonce: 0 };
      accounts.set(a, { ...prev, org: o.name });
    }
  }
  let s = State.empty();
  for (const [address, account] of accounts) s = s.withAccount(address, account);
  const membership = genesisMembership(g);
  if (membership !== undefined) s = s.withRecord(MEMBERSHIP_KEY, genesisMembershipRecord(membership));
  return s;
}

/** The genesis block with its state and hash: the same bytes on every node. */
export interface GenesisBlock {
  readonly block: Block;
  readonly hash: Hash;
  readonly state: State;
}

/**
 * Builds block 0 from a genesis document. Its prevHash is the hash of the whole
 * normalised document, so consensus parameters, members and validators are all
 * part of the network's identity, not just the allocations.
 */
export function buildGenesisBlock(g: Genesis): GenesisBlock {
  const state = genesisState(g);
  const header = {
    version: BLOCK_VERSION,
    chainId: g.chainId,
    height: 0,
    prevHash: genesisDocumentHash(g),
    timestamp: g.timestamp,
    txRoot: txRootOf([]),
    stateRoot: state.root(),
    bits: g.consensus.type === 'pow' ? g.consensus.initialBits : 0,
    nonce: 0,
    proposer: NO_PROPOSER,
  };
  const block: Block = { header, txs: [] };
  return { block, hash: blockHash(header), state };
}

/** Validator node ids of a permissioned genesis, in document order (after governance, read validatorsForHeight). */
export function genesisValidators(g: Genesis): string[] {
  return g.orgs.flatMap((o) => o.members.filter((m) => m.validator).map((m) => m.nodeId));
}

/** Every member node id of a permissioned genesis. */
export function genesisMembers(g: Genesis): string[] {
  return g.orgs.flatMap((o) => o.members.map((m) => m.nodeId));
}
