/** core/membership.ts and core/governance.ts: membership in the state, governance transactions, activation heights. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import {
  applyAction,
  applyBlock,
  applyTx,
  assembleBlock,
  blockHash,
  buildGenesisBlock,
  canonicalJson,
  ERR,
  GOV_SCHEDULED_KEY,
  GOVERNANCE_DELAY,
  memberIds,
  MEMBERSHIP_KEY,
  membershipOf,
  noChanges,
  orgOfNode,
  parseGenesis,
  proposalId,
  proposalKey,
  proposalOf,
  scheduledChanges,
  signTx,
  SYSTEM_ADDRESS,
  thresholdMet,
  txFromJson,
  txId,
  txToJson,
  validatorIds,
  validatorsForHeight,
  type AppliedBlock,
  type Block,
  type BlockContext,
  type ErrorCode,
  type Genesis,
  type GovernAction,
  type GovernTx,
  type Membership,
  type Result,
  type SignedTx,
  type State,
  type TxContext,
} from '../../src/core/index.ts';
import { addressFromPublicKey, keyPairFromSeed, type KeyPair } from '../../src/crypto/index.ts';
import { Mempool, DEFAULT_MEMPOOL } from '../../src/mempool/index.ts';
import { signVote, ValidatorSet, verifyCommit, type CommitCertificate } from '../../src/consensus/bft/index.ts';

const key = (n: number): KeyPair => keyPairFromSeed(Buffer.alloc(32, n));
/** The admitted account of org i (0-based). */
const ORG_ACCOUNT = Array.from({ length: 6 }, (_, i) => key(100 + i));
/** The genesis validator of org i. */
const ORG_VALIDATOR = Array.from({ length: 6 }, (_, i) => key(10 + i));
/** Nodes that are not in genesis. */
const NEW_NODE = Array.from({ length: 6 }, (_, i) => key(40 + i));
const OUTSIDER = key(99);
const addr = (k: KeyPair): string => addressFromPublicKey(k.publicKey);
const orgName = (i: number): string => `org${i + 1}`;

interface NetOptions {
  orgs: number;
  threshold?: { num: number; den: number };
  membersOnly?: boolean;
  /** Validators per org (default 1): ORG_VALIDATOR[org], then keys from seeds 60 + 6*org + j. */
  validatorsPerOrg?: number;
  orgKeys?: boolean;
}

function validatorKey(org: number, j: number): KeyPair {
  return j === 0 ? ORG_VALIDATOR[org]! : key(60 + 6 * org + j);
}

function bftGenesis(o: NetOptions): Genesis {
  const orgs = Array.from({ length: o.orgs }, (_, i) => ({
    name: orgName(i),
    ...(o.orgKeys === true ? { orgKey: key(200 + i).publicKey } : {}),
    members: Array.from({ length: o.validatorsPerOrg ?? 1 }, (_, j) => ({ name: `${orgName(i)}-v${j + 1}`, nodeId: validatorKey(i, j).publicKey, validator: true })),
    accounts: [addr(ORG_ACCOUNT[i]!)],
  }));
  const r = parseGenesis({
    network: o.orgs === 1 ? 'private' : 'consortium',
    chainId: 'govnet',
    timestamp: 1_700_000_000_000,
    consensus: { type: 'bft', emptyBlockIntervalMs: 1000, timeoutProposeMs: 1000, timeoutVoteMs: 1000, governanceThreshold: o.threshold ?? { num: 1, den: 2 } },
    params: o.membersOnly === undefined ? {} : { membersOnly: o.membersOnly },
    alloc: [...ORG_ACCOUNT.slice(0, o.orgs), OUTSIDER].map((k) => ({ address: addr(k), balance: '1000000' })),
    orgs,
  });
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

/** A chain under construction: states[h] is the state after block h. */
class Net {
  readonly g: Genesis;
  readonly ctx: BlockContext;
  readonly states: State[];
  readonly blocks: Block[];
  readonly hashes: string[];
  constructor(o: NetOptions) {
    this.g = bftGenesis(o);
    this.ctx = { chainId: this.g.chainId, params: this.g.params, consensus: this.g.consensus };
    const gb = buildGenesisBlock(this.g);
    this.states = [gb.state];
    this.blocks = [gb.block];
    this.hashes = [gb.hash];
  }
  get height(): number {
    return this.states.length - 1;
  }
  get state(): State {
    return this.states[this.height]!;
  }
  txCtx(): TxContext {
    return { chainId: this.g.chainId, params: this.g.params, height: this.height + 1, consensus: this.g.consensus };
  }
  /** A signed govern transaction by org i's account, with the next free nonce (offset for several in one block). */
  govern(org: number, action: GovernAction, nonceOffset = 0, signer: KeyPair = ORG_ACCOUNT[org]!): GovernTx {
    const nonce = this.state.account(addr(signer)).nonce + nonceOffset;
    return signTx({ kind: 'govern', chainId: this.g.chainId, from: signer.publicKey, nonce, fee: 1n, action }, signer);
  }
  /** Produces the next block with exactly these transactions (all must apply). */
  produce(txs: SignedTx[] = []): AppliedBlock {
    const proposer = validatorsForHeight(this.state)[0]!;
    const parent = this.blocks[this.height]!;
    const r = assembleBlock(this.state, txs, { parentHash: this.hashes[this.height]!, parentHeight: this.height, timestamp: parent.header.timestamp + 1000, proposer }, this.ctx);
    if (!r.ok) throw new Error(r.error.message);
    assert.deepEqual(
      r.value.skipped.map((t) => txId(t)),
      [],
      `skipped: ${r.value.skipped.map((t) => { const x = applyTx(this.state, t, this.txCtx()); return x.ok ? 'ok' : x.error.message; }).join('; ')}`,
    );
    this.states.push(r.value.state);
    this.blocks.push(r.value.block);
    this.hashes.push(blockHash(r.value.block.header));
    return r.value;
  }
  /** Produces blocks until the state after block h exists. */
  until(h: number): void {
    while (this.height < h) this.produce();
  }
}

function expectFail<T>(r: Result<T>, code: ErrorCode, pattern?: RegExp, what = ''): void {
  assert.equal(r.ok, false, `${what}: expected a failure`);
  if (!r.ok) {
    assert.equal(r.error.code, code, `${what}: ${r.error.message}`);
    if (pattern !== undefined) assert.match(r.error.message, pattern, what);
  }
}

const addValidator = (org: number, node: KeyPair, name?: string): GovernAction => ({ op: 'add-validator', org: orgName(org), nodeId: node.publicKey, ...(name === undefined ? {} : { name }) });

describe('membership in the state', () => {
  test('genesis writes ~membership in document order; validators and members follow it', () => {
    const net = new Net({ orgs: 3, validatorsPerOrg: 2 });
    const m = membershipOf(net.state)!;
    assert.deepEqual(
      m.orgs.map((o) => o.name),
      ['org1', 'org2', 'org3'],
    );
    assert.deepEqual(validatorIds(m), [0, 1, 2].flatMap((o) => [validatorKey(o, 0).publicKey, validatorKey(o, 1).publicKey]));
    assert.deepEqual(memberIds(m), validatorIds(m));
    assert.equal(orgOfNode(m, validatorKey(1, 1).publicKey)?.org.name, 'org2');
    assert.equal(orgOfNode(m, OUTSIDER.publicKey), undefined);
    assert.deepEqual(validatorsForHeight(net.state), validatorIds(m));
    const rec = net.state.record(MEMBERSHIP_KEY)!;
    assert.equal(rec.owner, SYSTEM_ADDRESS);
    assert.equal(rec.updates, 0, 'the store keeps no history for genesis, so the chain of history starts after it');
  });

  test('a public network has no membership and no validators from the state', () => {
    const g = parseGenesis({
      network: 'public',
      chainId: 'pub',
      timestamp: 0,
      consensus: { type: 'pow', targetBlockTimeMs: 1000, initialBits: 0x207fffff, powLimitBits: 0x207fffff, retargetInterval: 10, maxAdjustFactor: 4, reward: '50', halvingInterval: 0 },
    });
    assert.ok(g.ok);
    const s = buildGenesisBlock(g.value).state;
    assert.equal(membershipOf(s), undefined);
    assert.deepEqual(validatorsForHeight(s), []);
  });
});

describe('the govern transaction: JSON form and structure', () => {
  const net = new Net({ orgs: 1 });
  test('round trip through JSON keeps the id and the signature; name only when set', () => {
    for (const action of [addValidator(0, NEW_NODE[0]!, 'n0'), addValidator(0, NEW_NODE[0]!), { op: 'remove-member' as const, org: 'org1', nodeId: NEW_NODE[1]!.publicKey }]) {
      const tx = net.govern(0, action);
      const json = JSON.parse(JSON.stringify(txToJson(tx))) as unknown;
      const back = txFromJson(json, net.g.params);
      assert.ok(back.ok, back.ok ? '' : back.error.message);
      assert.deepEqual(back.value, tx);
      assert.equal(txId(back.value), txId(tx));
      assert.equal('name' in (txToJson(tx) as { action: object }).action, action.name !== undefined);
    }
  });

  test('strict structure: unknown fields, bad op, bad node id, name on a removal', () => {
    const good = txToJson(net.govern(0, addValidator(0, NEW_NODE[0]!))) as Record<string, any>;
    const cases: [string, Record<string, unknown>, ErrorCode, RegExp][] = [
      ['extra tx field', { ...good, amount: '5' }, ERR.MALFORMED, /unknown field "amount"/],
      ['extra action field', { ...good, action: { ...good.action, validator: true } }, ERR.MALFORMED, /unknown field "validator"/],
      ['missing nodeId', { ...good, action: { op: 'add-member', org: 'org1' } }, ERR.MALFORMED, /missing field "nodeId"/],
      ['action not an object', { ...good, action: 'add' }, ERR.MALFORMED, /JSON object/],
      ['unknown op', { ...good, action: { ...good.action, op: 'add-admin' } }, ERR.BAD_GOVERNANCE_ACTION, /one of add-member, remove-member/],
      ['uppercase node id', { ...good, action: { ...good.action, nodeId: good.action.nodeId.toUpperCase() } }, ERR.BAD_GOVERNANCE_ACTION, /lowercase hex/],
      ['empty org', { ...good, action: { ...good.action, org: '' } }, ERR.BAD_GOVERNANCE_ACTION, /organisation name/],
      ['name on remove', { ...good, action: { op: 'remove-validator', org: 'org1', nodeId: good.action.nodeId, name: 'x' } }, ERR.BAD_GOVERNANCE_ACTION, /takes no name/],
      ['name too long', { ...good, action: { ...good.action, name: 'x'.repeat(65) } }, ERR.BAD_GOVERNANCE_ACTION, /1-64/],
    ];
    for (const [what, json, code, pattern] of cases) {
      const r = txFromJson(json, net.g.params);
      assert.equal(r.ok, false, what);
      if (!r.ok) {
        assert.equal(r.error.code, code, `${what}: ${r.error.message}`);
        assert.match(r.error.message, pattern, what);
      }
    }
  });

  test('the proposal id is the same for every org and depends only on the action', () => {
    const a = addValidator(0, NEW_NODE[0]!, 'n0');
    assert.equal(proposalId(a), proposalId({ name: 'n0', nodeId: NEW_NODE[0]!.publicKey, org: 'org1', op: 'add-validator' }));
    assert.notEqual(proposalId(a), proposalId(addValidator(0, NEW_NODE[0]!)));
    assert.notEqual(proposalId(a), proposalId({ ...a, op: 'add-member' }));
    assert.match(proposalId(a), /^[0-9a-f]{64}$/);
  });
});

describe('reserved record keys', () => {
  const net = new Net({ orgs: 1 });
  const signer = ORG_ACCOUNT[0]!;
  for (const k of ['~membership', '~gov/scheduled', '~anything']) {
    test(`a record transaction may not write ${k}`, () => {
      const tx = signTx({ kind: 'record', chainId: net.g.chainId, from: signer.publicKey, nonce: 0, fee: 1n, key: k, value: { orgs: [] } }, signer);
      expectFail(txFromJson(txToJson(tx), net.g.params), ERR.RECORD_KEY, /reserved for membership and governance/);
      // A transaction built in code, past the parser, is refused by the transition too.
      expectFail(applyTx(net.state, tx, net.txCtx()), ERR.RECORD_KEY, /reserved/);
    });
  }
  test('keys with ~ elsewhere are ordinary', () => {
    const tx = signTx({ kind: 'record', chainId: net.g.chainId, from: signer.publicKey, nonce: 0, fee: 1n, key: 'a~b', value: 1 }, signer);
    assert.ok(applyTx(net.state, tx, net.txCtx()).ok);
  });
});

describe('approvals and the threshold', () => {
  test('thresholdMet is strictly more than num/den', () => {
    const half = { num: 1, den: 2 };
    const twoThirds = { num: 2, den: 3 };
    const table: [number, number, { num: number; den: number }, boolean][] = [
      [1, 1, half, true],
      [1, 2, half, false],
      [2, 2, half, true],
      [1, 3, half, false],
      [2, 3, half, true],
      [2, 4, half, false],
      [3, 4, half, true],
      [2, 5, half, false],
      [3, 5, half, true],
      [2, 3, twoThirds, false],
      [3, 3, twoThirds, true],
    ];
    for (const [a, n, t, want] of table) assert.equal(thresholdMet(a, n, t), want, `${a} of ${n} at ${t.num}/${t.den}`);
  });

  for (const [orgs, needed] of [
    [1, 1],
    [3, 2],
    [5, 3],
  ] as const) {
    test(`${needed}-of-${orgs} organisations approve; fewer leave the proposal pending`, () => {
      const net = new Net({ orgs });
      const action = addValidator(0, NEW_NODE[0]!, 'newbie');
      const id = proposalId(action);
      for (let i = 0; i < needed; i++) {
        net.produce([net.govern(i, action)]);
        const p = proposalOf(net.state, id)!;
        assert.deepEqual(p.approvals, Array.from({ length: i + 1 }, (_, k) => orgName(k)));
        assert.equal(p.proposedAt, net.height - i);
        if (i + 1 < needed) {
          assert.equal(p.status, 'pending');
          assert.equal(p.activatesAt, undefined);
          assert.deepEqual(scheduledChanges(net.state), []);
        } else {
          assert.equal(p.status, 'approved');
          assert.equal(p.activatesAt, net.height + GOVERNANCE_DELAY);
          assert.deepEqual(scheduledChanges(net.state), [{ activatesAt: net.height + GOVERNANCE_DELAY, id }]);
        }
      }
      net.until(proposalOf(net.state, id)!.activatesAt!);
      assert.ok(validatorsForHeight(net.state).includes(NEW_NODE[0]!.publicKey));
      assert.equal(proposalOf(net.state, id)!.status, 'applied');
      assert.deepEqual(scheduledChanges(net.state), []);
    });
  }

  test('a configurable threshold: 2/3 of 3 organisations needs all 3', () => {
    const net = new Net({ orgs: 3, threshold: { num: 2, den: 3 } });
    const action = addValidator(2, NEW_NODE[0]!);
    net.produce([net.govern(0, action), net.govern(1, action)]);
    assert.equal(proposalOf(net.state, proposalId(action))!.status, 'pending');
    net.produce([net.govern(2, action)]);
    assert.equal(proposalOf(net.state, proposalId(action))!.status, 'approved');
  });

  test('approvals from several organisations in one block count in order', () => {
    const net = new Net({ orgs: 5 });
    const action = addValidator(4, NEW_NODE[0]!);
    net.produce([net.govern(3, action), net.govern(1, action), net.govern(0, action)]);
    const p = proposalOf(net.state, proposalId(action))!;
    assert.deepEqual(p.approvals, ['org4', 'org2', 'org1']);
    assert.equal(p.status, 'approved');
  });

  test('a second approval by the same organisation is refused, in a block and at the mempool', () => {
    const net = new Net({ orgs: 3 });
    const action = addValidator(0, NEW_NODE[0]!);
    net.produce([net.govern(0, action)]);
    const again = net.govern(0, action);
    expectFail(applyTx(net.state, again, net.txCtx()), ERR.DUPLICATE_APPROVAL, /"org1" has already approved/);
    const pool = new Mempool({ chainId: net.g.chainId, params: net.g.params, ...DEFAULT_MEMPOOL, now: () => 0 });
    expectFail(pool.add(again, net.state), ERR.DUPLICATE_APPROVAL, /already approved/);
    assert.equal(pool.size, 0);
    // Another org's approval is admitted.
    assert.ok(pool.add(net.govern(1, action), net.state).ok);
  });

  test('an approved proposal waiting for activation takes no more approvals', () => {
    const net = new Net({ orgs: 3 });
    const action = addValidator(0, NEW_NODE[0]!);
    net.produce([net.govern(0, action), net.govern(1, action)]);
    expectFail(applyTx(net.state, net.govern(2, action), net.txCtx()), ERR.DUPLICATE_APPROVAL, /already approved; it takes effect at height/);
  });

  test('an account outside every organisation cannot take part', () => {
    const net = new Net({ orgs: 2, membersOnly: false });
    const tx = net.govern(0, addValidator(0, NEW_NODE[0]!), 0, OUTSIDER);
    expectFail(applyTx(net.state, tx, net.txCtx()), ERR.NOT_MEMBER, /belongs to no organisation/);
    const pool = new Mempool({ chainId: net.g.chainId, params: net.g.params, ...DEFAULT_MEMPOOL, now: () => 0 });
    expectFail(pool.add(tx, net.state), ERR.NOT_MEMBER);
  });

  test('a public (PoW) network refuses governance', () => {
    const net = new Net({ orgs: 1 });
    const tx = net.govern(0, addValidator(0, NEW_NODE[0]!));
    const pow = { type: 'pow', targetBlockTimeMs: 1000, initialBits: 0x207fffff, powLimitBits: 0x207fffff, retargetInterval: 10, maxAdjustFactor: 4, reward: 50n, halvingInterval: 0 } as const;
    expectFail(applyTx(net.state, tx, { ...net.txCtx(), consensus: pow }), ERR.GOVERNANCE_DISABLED, /proof of work/);
    expectFail(applyTx(net.state, tx, { ...net.txCtx(), consensus: undefined }), ERR.GOVERNANCE_DISABLED);
  });

  test('after a change is applied, the same action can be proposed again as a new round', () => {
    const net = new Net({ orgs: 1 });
    const add = addValidator(0, NEW_NODE[0]!);
    const remove: GovernAction = { op: 'remove-validator', org: 'org1', nodeId: NEW_NODE[0]!.publicKey };
    net.produce([net.govern(0, add)]);
    net.until(net.height + GOVERNANCE_DELAY);
    net.produce([net.govern(0, remove)]);
    net.until(net.height + GOVERNANCE_DELAY);
    assert.equal(validatorsForHeight(net.state).includes(NEW_NODE[0]!.publicKey), false);
    net.produce([net.govern(0, add)]);
    const p = proposalOf(net.state, proposalId(add))!;
    assert.equal(p.status, 'approved');
    assert.equal(p.proposedAt, net.height);
  });
});

describe('activation height', () => {
  test('the set read after block h-1 for h = activatesAt includes the new validator; the one for h-1 does not', () => {
    const net = new Net({ orgs: 3 });
    net.produce();
    const action = addValidator(1, NEW_NODE[0]!, 'org2-v2');
    net.produce([net.govern(0, action)]);
    net.produce([net.govern(2, action)]);
    const approvedAt = net.height;
    const h = proposalOf(net.state, proposalId(action))!.activatesAt!;
    assert.equal(h, approvedAt + GOVERNANCE_DELAY);
    net.until(h + 1);
    const setFor = (height: number): string[] => validatorsForHeight(net.states[height - 1]!);
    assert.equal(setFor(h - 1).includes(NEW_NODE[0]!.publicKey), false);
    assert.equal(setFor(h).includes(NEW_NODE[0]!.publicKey), true);
    assert.equal(setFor(h + 1).includes(NEW_NODE[0]!.publicKey), true);
    // Document order: the new validator joins its org's member list, after org2's first validator.
    assert.deepEqual(setFor(h), [ORG_VALIDATOR[0]!.publicKey, ORG_VALIDATOR[1]!.publicKey, NEW_NODE[0]!.publicKey, ORG_VALIDATOR[2]!.publicKey]);
    assert.deepEqual(orgOfNode(membershipOf(net.states[h - 1]!)!, NEW_NODE[0]!.publicKey)?.member, { name: 'org2-v2', nodeId: NEW_NODE[0]!.publicKey, validator: true, bootstrap: false });
  });

  test('a governance transaction adds a validator and blocks after its activation height carry its signature', () => {
    const net = new Net({ orgs: 1, validatorsPerOrg: 3 });
    const newcomer = NEW_NODE[0]!;
    net.produce([net.govern(0, addValidator(0, newcomer, 'v4'))]);
    const h = proposalOf(net.state, proposalId(addValidator(0, newcomer, 'v4')))!.activatesAt!;
    net.until(h + 2);
    const signers = [validatorKey(0, 0), validatorKey(0, 1), validatorKey(0, 2), newcomer];
    /** Every willing signer that is in the set for `height` precommits its block. */
    const commitFor = (height: number): { cert: CommitCertificate; set: ValidatorSet } => {
      const set = new ValidatorSet(validatorsForHeight(net.states[height - 1]!));
      const blockHash = net.hashes[height]!;
      const signatures = signers
        .filter((k) => set.has(k.publicKey))
        .map((k) => ({ validator: k.publicKey, signature: signVote(k, { type: 'precommit', height, round: 0, blockHash }, net.g.chainId).signature }));
      return { cert: { height, round: 0, blockHash, signatures }, set };
    };
    for (let height = 1; height <= h + 2; height++) {
      const { cert, set } = commitFor(height);
      const signed = cert.signatures.some((s) => s.validator === newcomer.publicKey);
      assert.equal(signed, height >= h, `height ${height}: the newcomer signs from ${h} on`);
      assert.equal(set.size, height >= h ? 4 : 3);
      assert.deepEqual(verifyCommit(cert, set, net.g.chainId, { height }), { ok: true });
    }
    // Before activation its signature is not a validator's: a certificate carrying it is refused.
    const before = h - 1;
    const set = new ValidatorSet(validatorsForHeight(net.states[before - 1]!));
    const blockHash = net.hashes[before]!;
    const forged = { height: before, round: 0, blockHash, signatures: signers.map((k) => ({ validator: k.publicKey, signature: signVote(k, { type: 'precommit', height: before, round: 0, blockHash }, net.g.chainId).signature })) };
    const r = verifyCommit(forged, set, net.g.chainId);
    assert.equal(r.ok, false);
    assert.match(r.ok ? '' : r.reason, /is not a validator/);
  });

  test('activation writes history: the membership change is made by no transaction', () => {
    const net = new Net({ orgs: 1 });
    net.produce([net.govern(0, addValidator(0, NEW_NODE[0]!))]);
    // Approved at 1, activates at 3: applied at the end of block 2.
    const b = net.produce();
    const rec = net.state.record(MEMBERSHIP_KEY)!;
    assert.equal(rec.updates, 1);
    assert.equal(rec.height, net.height);
    const entries = b.changes.history.filter((e) => e.key === MEMBERSHIP_KEY);
    assert.equal(entries.length, 1);
    assert.equal(entries[0]!.entry.from, SYSTEM_ADDRESS);
    assert.equal(entries[0]!.entry.txId, '0'.repeat(64));
    assert.equal(b.changes.records.get(MEMBERSHIP_KEY)!.before!.updates, 0);
    assert.deepEqual(net.state.record(GOV_SCHEDULED_KEY)!.value, []);
  });
});

describe('what a change may do', () => {
  const net = new Net({ orgs: 2, validatorsPerOrg: 1, orgKeys: true });
  const m = membershipOf(net.state)!;
  const v1 = ORG_VALIDATOR[0]!.publicKey;
  const v2 = ORG_VALIDATOR[1]!.publicKey;
  const fresh = NEW_NODE[0]!.publicKey;
  const ok = (r: Result<Membership>): Membership => {
    assert.ok(r.ok, r.ok ? '' : r.error.message);
    return r.value;
  };

  test('refusals name the reason', () => {
    const cases: [string, GovernAction, RegExp][] = [
      ['unknown org', { op: 'add-member', org: 'nope', nodeId: fresh }, /unknown organisation "nope" \(the organisations are "org1", "org2"\)/],
      ['add an existing member', { op: 'add-member', org: 'org1', nodeId: v1 }, /already a member of "org1"/],
      ['add to the wrong org', { op: 'add-validator', org: 'org2', nodeId: v1 }, /is a member of "org1", not of "org2"/],
      ['promote a validator', { op: 'add-validator', org: 'org1', nodeId: v1 }, /already a validator/],
      ['remove a validator that is not one', { op: 'remove-validator', org: 'org1', nodeId: fresh }, /not a member of "org1"/],
      ['remove a member of another org', { op: 'remove-member', org: 'org2', nodeId: v1 }, /member of "org1", not of "org2"/],
    ];
    for (const [what, action, pattern] of cases) expectFail(applyAction(m, action), ERR.BAD_GOVERNANCE_ACTION, pattern, what);
  });

  test('the last validator can be neither demoted nor removed', () => {
    const one = ok(applyAction(m, { op: 'remove-validator', org: 'org2', nodeId: v2 }));
    assert.deepEqual(validatorIds(one), [v1]);
    expectFail(applyAction(one, { op: 'remove-validator', org: 'org1', nodeId: v1 }), ERR.BAD_GOVERNANCE_ACTION, /last validator/);
    expectFail(applyAction(one, { op: 'remove-member', org: 'org1', nodeId: v1 }), ERR.BAD_GOVERNANCE_ACTION, /last validator/);
    expectFail(applyAction(one, { op: 'remove-validator', org: 'org2', nodeId: v2 }), ERR.BAD_GOVERNANCE_ACTION, /is not a validator/);
    // A non-validator member can still go.
    const gone = ok(applyAction(one, { op: 'remove-member', org: 'org2', nodeId: v2 }));
    assert.deepEqual(memberIds(gone), [v1]);
  });

  test('add-member, then add-validator promotes; add-validator of a new node adds it as a validator', () => {
    const a = ok(applyAction(m, { op: 'add-member', org: 'org2', nodeId: fresh, name: 'm' }));
    assert.deepEqual(orgOfNode(a, fresh)?.member, { name: 'm', nodeId: fresh, validator: false, bootstrap: false });
    assert.deepEqual(validatorIds(a), [v1, v2]);
    expectFail(applyAction(a, { op: 'add-validator', org: 'org2', nodeId: fresh, name: 'other' }), ERR.BAD_GOVERNANCE_ACTION, /leave out the name or use "m"/);
    const b = ok(applyAction(a, { op: 'add-validator', org: 'org2', nodeId: fresh }));
    assert.deepEqual(validatorIds(b), [v1, v2, fresh]);
    const c = ok(applyAction(m, { op: 'add-validator', org: 'org1', nodeId: fresh }));
    assert.deepEqual(validatorIds(c), [v1, fresh, v2]);
    assert.equal(orgOfNode(c, fresh)?.member.name, `node-${fresh.slice(0, 8)}`);
  });

  test('removing a member of an org with an org key revokes its certificates; re-adding clears that', () => {
    const a = ok(applyAction(m, { op: 'add-member', org: 'org1', nodeId: fresh }));
    const b = ok(applyAction(a, { op: 'remove-member', org: 'org1', nodeId: fresh }));
    assert.deepEqual(b.orgs[0]!.revoked, [fresh]);
    const c = ok(applyAction(b, { op: 'add-member', org: 'org1', nodeId: fresh }));
    assert.equal(c.orgs[0]!.revoked, undefined);
    // A node that is only certified (not listed) is removed by revoking it.
    const d = ok(applyAction(m, { op: 'remove-member', org: 'org2', nodeId: fresh }));
    assert.deepEqual(d.orgs[1]!.revoked, [fresh]);
    expectFail(applyAction(d, { op: 'remove-member', org: 'org2', nodeId: fresh }), ERR.BAD_GOVERNANCE_ACTION, /already revoked/);
    const noKeys = membershipOf(new Net({ orgs: 2 }).state)!;
    expectFail(applyAction(noKeys, { op: 'remove-member', org: 'org2', nodeId: fresh }), ERR.BAD_GOVERNANCE_ACTION, /has no org key/);
  });

  test('invalid actions are refused at proposal time', () => {
    expectFail(applyTx(net.state, net.govern(0, { op: 'add-member', org: 'org1', nodeId: v2 }), net.txCtx()), ERR.BAD_GOVERNANCE_ACTION, /member of "org2", not of "org1"/);
  });

  test('a change that became invalid before activation is rejected, and the block is still valid', () => {
    const n = new Net({ orgs: 1, validatorsPerOrg: 2 });
    const [a, b] = [validatorKey(0, 0).publicKey, validatorKey(0, 1).publicKey];
    const rmA: GovernAction = { op: 'remove-validator', org: 'org1', nodeId: a };
    const rmB: GovernAction = { op: 'remove-validator', org: 'org1', nodeId: b };
    // Each is valid alone when approved; together they would leave no validator.
    n.produce([n.govern(0, rmA), n.govern(0, rmB, 1)]);
    n.until(n.height + GOVERNANCE_DELAY);
    assert.equal(proposalOf(n.state, proposalId(rmA))!.status, 'applied');
    const pb = proposalOf(n.state, proposalId(rmB))!;
    assert.equal(pb.status, 'rejected');
    assert.match(pb.reason!, /last validator/);
    assert.deepEqual(validatorsForHeight(n.state), [b]);
  });
});

describe('determinism', () => {
  /** Replays net's blocks from genesis with applyBlock (the validating path) and returns each state root. */
  function replay(net: Net): string[] {
    let s = buildGenesisBlock(net.g).state;
    const roots = [s.root()];
    for (let h = 1; h <= net.height; h++) {
      const r = applyBlock(s, net.blocks[h]!, net.ctx);
      assert.ok(r.ok, r.ok ? '' : r.error.message);
      s = r.value.state;
      roots.push(s.root());
    }
    return roots;
  }

  test('a govern transaction changes the state root; replaying the blocks reaches the same roots', () => {
    const net = new Net({ orgs: 3 });
    const action = addValidator(1, NEW_NODE[0]!);
    net.produce([net.govern(0, action)]);
    net.produce([net.govern(1, action)]);
    net.until(net.height + GOVERNANCE_DELAY + 1);
    const roots = net.states.map((s) => s.root());
    assert.deepEqual(replay(net), roots);
    assert.deepEqual(replay(net), roots);
    // Approved in block 2, so it activates at 4 and is applied at the end of block 3. Empty
    // blocks pay no fees, so only that activation changes the root between them.
    assert.notEqual(roots[1], roots[0]);
    assert.notEqual(roots[3], roots[2], 'the activation at the end of block 3 changes the state');
    assert.equal(roots[4], roots[3], 'an empty block with nothing due changes nothing');
    const other = new Net({ orgs: 3 });
    other.produce([other.govern(0, action)]);
    assert.equal(other.state.root(), roots[1]);
  });

  test('property: random governance never leaves zero validators, and replays give the same roots', () => {
    const ops = ['add-member', 'remove-member', 'add-validator', 'remove-validator'] as const;
    let applied = 0;
    const scenario = fc.integer({ min: 1, max: 3 }).chain((orgs) => {
      // A small pool of nodes, so that different orgs often approve the same action.
      const txArb = fc.record({ op: fc.constantFrom(...ops), org: fc.nat({ max: orgs - 1 }), node: fc.nat({ max: orgs + 1 }), signer: fc.nat({ max: orgs - 1 }) });
      return fc.record({ orgs: fc.constant(orgs), blocks: fc.array(fc.array(txArb, { maxLength: 5 }), { minLength: 1, maxLength: 12 }) });
    });
    fc.assert(
      fc.property(scenario, ({ orgs, blocks }) => {
        const net = new Net({ orgs, orgKeys: true });
        const nodes = [...ORG_VALIDATOR.slice(0, orgs), ...NEW_NODE.slice(0, 2)];
        for (const wanted of blocks) {
          // Keep only what applies, in order, as a block producer does.
          const offsets = [0, 0, 0];
          let s = net.state;
          const txs: SignedTx[] = [];
          for (const t of wanted) {
            const tx = net.govern(t.signer, { op: t.op, org: orgName(t.org), nodeId: nodes[t.node]!.publicKey }, offsets[t.signer]);
            const r = applyTx(s, tx, net.txCtx(), noChanges());
            if (!r.ok) continue;
            s = r.value.state;
            offsets[t.signer]!++;
            txs.push(tx);
          }
          net.produce(txs);
          assert.ok(validatorsForHeight(net.state).length >= 1);
        }
        net.until(net.height + GOVERNANCE_DELAY);
        assert.ok(validatorsForHeight(net.state).length >= 1);
        assert.deepEqual(scheduledChanges(net.state), []);
        applied += net.state.record(MEMBERSHIP_KEY)!.updates;
        const roots = net.states.map((x) => x.root());
        assert.deepEqual(replay(net), roots);
        assert.deepEqual(replay(net), roots);
      }),
      { numRuns: 60 },
    );
    assert.ok(applied > 20, `only ${applied} membership changes were applied over all runs; the property tests too little`);
  });
});

describe('reserved records are ordinary records to the API', () => {
  test('the proposal record holds action, approvals, proposedAt, status and activatesAt', () => {
    const net = new Net({ orgs: 1 });
    const action = addValidator(0, NEW_NODE[0]!, 'n');
    const tx = net.govern(0, action);
    net.produce([tx]);
    const rec = net.state.record(proposalKey(proposalId(action)))!;
    assert.deepEqual(rec.value, { action: { op: 'add-validator', org: 'org1', nodeId: NEW_NODE[0]!.publicKey, name: 'n' }, approvals: ['org1'], proposedAt: 1, status: 'approved', activatesAt: 1 + GOVERNANCE_DELAY });
    assert.equal(rec.txId, txId(tx));
    assert.equal(rec.owner, addr(ORG_ACCOUNT[0]!));
    assert.equal(proposalKey(proposalId(action)), `~gov/${proposalId(action)}`);
  });
});

describe('docs/protocol.md', () => {
  test('the govern example in section 7 is what the code produces', () => {
    const doc = readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8');
    const alice = keyPairFromSeed(Buffer.alloc(32, 1));
    const bob = keyPairFromSeed(Buffer.alloc(32, 2));
    const action: GovernAction = { op: 'add-validator', org: 'org2', nodeId: bob.publicKey, name: 'org2-validator3' };
    const tx = signTx({ kind: 'govern', chainId: 'peerchain-vectors', from: alice.publicKey, nonce: 0, fee: 1n, action }, alice);
    const unsigned = { ...(txToJson(tx) as Record<string, unknown>) };
    delete unsigned.sig;
    for (const line of [
      `action (canonical): ${canonicalJson(action)}`,
      `proposal id: ${proposalId(action)}`,
      `signed bytes (canonical JSON, UTF-8): ${canonicalJson(unsigned)}`,
      `id: ${txId(tx)}`,
      `sig: ${tx.sig}`,
    ]) {
      assert.ok(doc.includes(line), `docs/protocol.md lacks: ${line}`);
    }
  });
});
