/** core/transition.ts and core/assemble.ts: the state-transition function, its named errors, and its invariants. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  applyBlock,
  applyTx,
  assembleBlock,
  bitsForLeadingZeroBits,
  blockHash,
  blockReward,
  blockSize,
  buildGenesisBlock,
  canonicalJson,
  ERR,
  historyHashOf,
  MAX_AMOUNT,
  noChanges,
  parseGenesis,
  signTx,
  stateEntryJson,
  txId,
  txRootOf,
  type AppliedBlock,
  type Block,
  type BlockContext,
  type BlockHeader,
  type CoinbaseTx,
  type ErrorCode,
  type Genesis,
  type JsonValue,
  type PowParams,
  type RecordEntry,
  type Result,
  type SignedTx,
  type State,
  type Tx,
  type UnsignedTx,
} from '../../src/core/index.ts';
import { addressFromPublicKey, keyPairFromSeed, type KeyPair } from '../../src/crypto/index.ts';

const KEYS = [1, 2, 3, 4].map((b) => keyPairFromSeed(Buffer.alloc(32, b)));
const ADDRS = KEYS.map((k) => addressFromPublicKey(k.publicKey));
const FRESH = addressFromPublicKey(keyPairFromSeed(Buffer.alloc(32, 99)).publicKey); // never funded
const OUTSIDER = keyPairFromSeed(Buffer.alloc(32, 50)); // funded, not an admitted member
const VALIDATOR = keyPairFromSeed(Buffer.alloc(32, 60));
const MINER = ADDRS[0]!;
const BITS = bitsForLeadingZeroBits(1);
const REWARD = 50n;
const FUNDS = 1000n;

function genesis(doc: unknown): Genesis {
  const r = parseGenesis(doc);
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

function powGenesis(params: Record<string, unknown> = {}, alloc = ADDRS.map((a) => ({ address: a, balance: FUNDS.toString() }))): Genesis {
  return genesis({
    network: 'public',
    chainId: 'powchain',
    timestamp: 0,
    consensus: { type: 'pow', targetBlockTimeMs: 1000, initialBits: BITS, powLimitBits: BITS, retargetInterval: 10, maxAdjustFactor: 4, reward: REWARD.toString(), halvingInterval: 0 },
    params,
    alloc,
  });
}

function bftGenesis(params: Record<string, unknown> = {}): Genesis {
  return genesis({
    network: 'private',
    chainId: 'bftchain',
    timestamp: 0,
    consensus: { type: 'bft', emptyBlockIntervalMs: 1000, timeoutProposeMs: 1000, timeoutVoteMs: 1000, governanceThreshold: { num: 1, den: 2 } },
    params,
    orgs: [{ name: 'acme', members: [{ name: 'v', nodeId: VALIDATOR.publicKey, validator: true }], accounts: ADDRS }],
    alloc: [...ADDRS, addressFromPublicKey(OUTSIDER.publicKey)].map((a) => ({ address: a, balance: FUNDS.toString() })),
  });
}

interface Chain {
  readonly g: Genesis;
  readonly ctx: BlockContext;
  state: State;
  height: number;
  hash: string;
}

function chainOf(g: Genesis): Chain {
  const gb = buildGenesisBlock(g);
  return { g, ctx: { chainId: g.chainId, params: g.params, consensus: g.consensus }, state: gb.state, height: 0, hash: gb.hash };
}

function assemble(c: Chain, txs: readonly SignedTx[]): AppliedBlock & { block: Block; skipped: SignedTx[] } {
  const r = assembleBlock(
    c.state,
    txs,
    { parentHash: c.hash, parentHeight: c.height, timestamp: 1000 * (c.height + 1), bits: BITS, coinbaseTo: MINER, proposer: VALIDATOR.publicKey },
    c.ctx,
  );
  if (!r.ok) assert.fail(`assembleBlock: ${r.error.code} ${r.error.message}`);
  return r.value;
}

/** Applies an assembled block and moves the chain forward. */
function extend(c: Chain, txs: readonly SignedTx[]): AppliedBlock & { block: Block } {
  const a = assemble(c, txs);
  const r = applyBlock(c.state, a.block, c.ctx);
  if (!r.ok) assert.fail(`applyBlock: ${r.error.code} ${r.error.message}`);
  c.state = r.value.state;
  c.height = a.block.header.height;
  c.hash = blockHash(a.block.header);
  return { ...r.value, block: a.block };
}

function transfer(c: Chain, k: KeyPair, nonce: number, to: string, amount: bigint, fee = 1n, chainId = c.g.chainId): SignedTx {
  return signTx({ kind: 'transfer', chainId, from: k.publicKey, nonce, fee, to, amount }, k);
}

function record(c: Chain, k: KeyPair, nonce: number, key: string, value: JsonValue, fee = 1n): SignedTx {
  return signTx({ kind: 'record', chainId: c.g.chainId, from: k.publicKey, nonce, fee, key, value }, k);
}

/** A block with these transactions, its txRoot recomputed (stateRoot left as in `base`). */
function withTxs(base: Block, txs: readonly Tx[], patch: Partial<BlockHeader> = {}): Block {
  return { header: { ...base.header, txRoot: txRootOf(txs), ...patch }, txs };
}

function expectError(r: Result<unknown>, code: ErrorCode, message?: RegExp): void {
  assert.equal(r.ok, false, `accepted, expected ${code}`);
  if (!r.ok) {
    assert.equal(r.error.code, code, r.error.message);
    if (message) assert.match(r.error.message, message);
  }
}

function coinbaseOf(b: Block): CoinbaseTx {
  const cb = b.txs[0];
  assert.ok(cb !== undefined && cb.kind === 'coinbase');
  return cb;
}

describe('blockReward', () => {
  test('constant without halving; halves every interval; zero after 64 halvings', () => {
    const pow = powGenesis().consensus as PowParams;
    assert.equal(blockReward(pow, 1), REWARD);
    assert.equal(blockReward(pow, 1_000_000), REWARD);
    const halving: PowParams = { ...pow, reward: 100n, halvingInterval: 10 };
    assert.equal(blockReward(halving, 9), 100n);
    assert.equal(blockReward(halving, 10), 50n);
    assert.equal(blockReward(halving, 25), 25n);
    assert.equal(blockReward(halving, 10 * 63), 0n);
    assert.equal(blockReward({ ...halving, reward: MAX_AMOUNT }, 10 * 63), 1n);
    assert.equal(blockReward({ ...halving, reward: MAX_AMOUNT }, 10 * 64), 0n);
  });
});

describe('applyBlock: valid blocks', () => {
  test('PoW: a transfer and a record; coinbase pays reward + fees; the header commits to the result', () => {
    const c = chainOf(powGenesis());
    const k1 = KEYS[1]!;
    const txs = [transfer(c, k1, 0, ADDRS[2]!, 100n, 3n), record(c, k1, 1, 'vin:1', { km: 5 }, 2n)];
    const a = assemble(c, txs);
    assert.equal(a.skipped.length, 0);
    assert.equal(coinbaseOf(a.block).amount, REWARD + 5n);
    assert.equal(coinbaseOf(a.block).height, 1);
    const r = applyBlock(c.state, a.block, c.ctx);
    assert.ok(r.ok);
    const s = r.value.state;
    assert.equal(a.block.header.stateRoot, s.root());
    assert.deepEqual(s.account(ADDRS[1]!), { balance: FUNDS - 105n, nonce: 2 });
    assert.deepEqual(s.account(ADDRS[2]!), { balance: FUNDS + 100n, nonce: 0 });
    assert.deepEqual(s.account(MINER), { balance: FUNDS + REWARD + 5n, nonce: 0 });
    assert.equal(r.value.fees, 5n);
    assert.deepEqual(r.value.txIds, a.block.txs.map(txId));
    const rec = s.record('vin:1');
    assert.ok(rec);
    assert.deepEqual(rec.value, { km: 5 });
    assert.equal(rec.owner, ADDRS[1]);
    assert.equal(rec.updates, 1);
    assert.equal(rec.height, 1);
    assert.equal(rec.txId, txId(txs[1]!));
  });

  test('BFT: the proposer receives the fees, nothing is minted', () => {
    const c = chainOf(bftGenesis());
    const a = extend(c, [transfer(c, KEYS[1]!, 0, FRESH, 10n, 4n)]);
    assert.equal(a.block.txs.length, 1);
    assert.equal(a.block.header.proposer, VALIDATOR.publicKey);
    assert.equal(a.block.header.bits, 0);
    assert.deepEqual(c.state.account(addressFromPublicKey(VALIDATOR.publicKey)), { balance: 4n, nonce: 0 });
    assert.deepEqual(c.state.account(FRESH), { balance: 10n, nonce: 0 });
    // Admitted accounts keep their organisation.
    assert.deepEqual(c.state.account(ADDRS[1]!), { balance: FUNDS - 14n, nonce: 1, org: 'acme' });
  });

  test('an empty PoW block pays exactly the reward; an empty BFT block changes nothing', () => {
    const p = chainOf(powGenesis());
    const before = p.state.account(MINER).balance;
    extend(p, []);
    assert.equal(p.state.account(MINER).balance, before + REWARD);
    const b = chainOf(bftGenesis());
    const root = b.state.root();
    extend(b, []);
    assert.equal(b.state.root(), root);
  });

  test('a transfer to oneself costs only the fee', () => {
    const c = chainOf(bftGenesis());
    extend(c, [transfer(c, KEYS[2]!, 0, ADDRS[2]!, 999n, 1n)]);
    assert.deepEqual(c.state.account(ADDRS[2]!), { balance: FUNDS - 1n, nonce: 1, org: 'acme' });
  });

  test('the miner cannot spend, in a block, the reward that block creates', () => {
    const c = chainOf(powGenesis());
    const tooMuch = transfer(c, KEYS[0]!, 0, ADDRS[1]!, FUNDS, 1n); // needs FUNDS + 1, has FUNDS (+ reward only after)
    const a = assemble(c, [tooMuch]);
    assert.equal(a.skipped.length, 1);
    expectError(applyBlock(c.state, withTxs(a.block, [a.block.txs[0]!, tooMuch]), c.ctx), ERR.INSUFFICIENT_FUNDS);
  });

  test('applyBlock is deterministic and pure', () => {
    const c = chainOf(powGenesis());
    const a = assemble(c, [transfer(c, KEYS[1]!, 0, ADDRS[3]!, 7n)]);
    const root = c.state.root();
    const r1 = applyBlock(c.state, a.block, c.ctx);
    const r2 = applyBlock(c.state, a.block, c.ctx);
    assert.ok(r1.ok && r2.ok);
    assert.equal(r1.value.state.root(), r2.value.state.root());
    assert.equal(c.state.root(), root);
    assert.deepEqual(c.state.account(ADDRS[1]!), { balance: FUNDS, nonce: 0 });
  });
});

describe('applyBlock: each named error', () => {
  const pow = chainOf(powGenesis());
  const k1 = KEYS[1]!;
  const good = transfer(pow, k1, 0, ADDRS[2]!, 10n);
  const base = assemble(pow, [good]).block;
  const cb = coinbaseOf(base);
  const apply = (b: Block, c: Chain = pow): Result<AppliedBlock> => applyBlock(c.state, b, c.ctx);

  test('the base block is valid', () => {
    assert.ok(apply(base).ok);
  });

  test('BAD_SIGNATURE: a signature from another transaction, or by another key', () => {
    const other = transfer(pow, k1, 0, ADDRS[2]!, 11n);
    const forged = { ...good, sig: other.sig };
    expectError(apply(withTxs(base, [cb, forged])), ERR.BAD_SIGNATURE, /^transaction 1 \([0-9a-f]{64}\): signature of/);
    const byOther = { ...transfer(pow, KEYS[2]!, 0, ADDRS[2]!, 10n), from: k1.publicKey };
    expectError(apply(withTxs(base, [cb, byOther])), ERR.BAD_SIGNATURE);
  });

  test('BAD_NONCE: a skipped or a reused nonce', () => {
    expectError(apply(withTxs(base, [cb, transfer(pow, k1, 1, ADDRS[2]!, 10n)])), ERR.BAD_NONCE, /nonce 1 is not the sender's next nonce 0/);
    expectError(apply(withTxs(base, [cb, good, transfer(pow, k1, 0, ADDRS[2]!, 12n)])), ERR.BAD_NONCE, /^transaction 2 /);
  });

  test('INSUFFICIENT_FUNDS: amount plus fee above the balance', () => {
    expectError(apply(withTxs(base, [cb, transfer(pow, k1, 0, ADDRS[2]!, FUNDS)])), ERR.INSUFFICIENT_FUNDS, /has 1000, needs 1001/);
    // A record costs its fee, from an account that has nothing.
    const poor = keyPairFromSeed(Buffer.alloc(32, 77));
    expectError(apply(withTxs(base, [cb, record(pow, poor, 0, 'k', 1)])), ERR.INSUFFICIENT_FUNDS);
  });

  test('FEE_TOO_LOW', () => {
    expectError(apply(withTxs(base, [cb, transfer(pow, k1, 0, ADDRS[2]!, 10n, 0n)])), ERR.FEE_TOO_LOW, /fee 0 is below the minimum 1/);
  });

  test('BAD_CHAIN_ID: a transaction, a coinbase or a header for another chain', () => {
    expectError(apply(withTxs(base, [cb, transfer(pow, k1, 0, ADDRS[2]!, 10n, 1n, 'otherchain')])), ERR.BAD_CHAIN_ID, /"otherchain"/);
    expectError(apply(withTxs(base, [{ ...cb, chainId: 'otherchain' }, good])), ERR.BAD_CHAIN_ID);
    expectError(apply(withTxs(base, base.txs, { chainId: 'otherchain' })), ERR.BAD_CHAIN_ID);
  });

  test('NOT_MEMBER in a membersOnly genesis; members are fine', () => {
    const bft = chainOf(bftGenesis());
    assert.equal(bft.g.params.membersOnly, true);
    const outsiderTx = transfer(bft, OUTSIDER, 0, ADDRS[1]!, 10n);
    const a = assemble(bft, [outsiderTx, transfer(bft, k1, 0, ADDRS[2]!, 10n)]);
    assert.deepEqual(a.skipped, [outsiderTx]);
    expectError(apply(withTxs(a.block, [outsiderTx]), bft), ERR.NOT_MEMBER, /is not an admitted member account/);
    expectError(applyTx(bft.state, outsiderTx, { chainId: bft.g.chainId, params: bft.g.params, height: 1 }), ERR.NOT_MEMBER);
    // Without membersOnly the same outsider may send.
    const open = chainOf(bftGenesis({ membersOnly: false }));
    assert.ok(applyTx(open.state, transfer(open, OUTSIDER, 0, ADDRS[1]!, 10n), { chainId: open.g.chainId, params: open.g.params, height: 1 }).ok);
  });

  test('BAD_COINBASE: inflated, missing, second, wrong height, or in a BFT block', () => {
    expectError(apply(withTxs(base, [{ ...cb, amount: cb.amount + 1n }, good])), ERR.BAD_COINBASE, /coinbase pays 52, the reward plus fees is 51/);
    expectError(apply(withTxs(base, [{ ...cb, amount: cb.amount - 1n }, good])), ERR.BAD_COINBASE);
    expectError(apply(withTxs(base, [good])), ERR.BAD_COINBASE, /must start with a coinbase/);
    expectError(apply(withTxs(base, [])), ERR.BAD_COINBASE);
    expectError(apply(withTxs(base, [cb, good, { ...cb, height: 2 }])), ERR.BAD_COINBASE, /second coinbase/);
    expectError(apply(withTxs(base, [{ ...cb, height: 2 }, good])), ERR.BAD_COINBASE, /height 2 is not the block height 1/);
    const bft = chainOf(bftGenesis());
    const empty = assemble(bft, []).block;
    expectError(apply(withTxs(empty, [{ kind: 'coinbase', chainId: bft.g.chainId, height: 1, to: ADDRS[0]!, amount: 0n }]), bft), ERR.BAD_COINBASE);
  });

  test('DUPLICATE_TX', () => {
    expectError(apply(withTxs(base, [cb, good, good])), ERR.DUPLICATE_TX);
    expectError(apply(withTxs(base, [cb, cb])), ERR.DUPLICATE_TX);
  });

  test('BAD_TX_ROOT: a transaction swapped after building', () => {
    const other = transfer(pow, k1, 0, ADDRS[3]!, 10n);
    expectError(apply({ header: base.header, txs: [cb, other] }), ERR.BAD_TX_ROOT, /does not match the transactions/);
    expectError(apply({ header: base.header, txs: [good, cb] }), ERR.BAD_TX_ROOT);
    expectError(apply({ header: base.header, txs: [cb] }), ERR.BAD_TX_ROOT);
  });

  test('BAD_STATE_ROOT', () => {
    expectError(apply({ ...base, header: { ...base.header, stateRoot: '00'.repeat(32) } }), ERR.BAD_STATE_ROOT, /does not match the state after the block/);
    // The root of the right state for another block does not fit either.
    const other = assemble(pow, [transfer(pow, k1, 0, ADDRS[2]!, 9n)]).block;
    expectError(apply({ ...base, header: { ...base.header, stateRoot: other.header.stateRoot } }), ERR.BAD_STATE_ROOT);
  });

  test('TOO_MANY_TXS', () => {
    const c = chainOf(powGenesis({ maxBlockTxs: 3 }));
    const txs = [0, 1, 2].map((i) => transfer(c, KEYS[i + 1]!, 0, ADDRS[0]!, 5n));
    const a = assemble(c, txs);
    assert.equal(a.block.txs.length, 3); // the coinbase and two transfers: assembleBlock respects the limit
    assert.ok(applyBlock(c.state, a.block, c.ctx).ok);
    expectError(applyBlock(c.state, withTxs(a.block, [a.block.txs[0]!, ...txs]), c.ctx), ERR.TOO_MANY_TXS, /4 transactions, the limit is 3/);
  });

  test('BLOCK_TOO_LARGE', () => {
    const c = chainOf(powGenesis({ maxBlockBytes: 2000 }));
    const small = assemble(c, [record(c, KEYS[1]!, 0, 'k', 'x'.repeat(100))]).block;
    assert.ok(blockSize(small) <= 2000);
    const big = record(c, KEYS[1]!, 0, 'k', 'x'.repeat(2000));
    expectError(applyBlock(c.state, withTxs(small, [small.txs[0]!, big]), c.ctx), ERR.BLOCK_TOO_LARGE, /bytes, the limit is 2000/);
  });

  test('OVERFLOW: amount plus fee, a credited balance, the coinbase payout', () => {
    // amount + fee above 2^64 - 1.
    expectError(apply(withTxs(base, [cb, transfer(pow, k1, 0, ADDRS[2]!, MAX_AMOUNT, 1n)])), ERR.OVERFLOW, /amount plus fee/);
    // A recipient near the top: total supply stays within range at genesis; rewards push past it.
    const rich = ADDRS[3]!;
    const c = chainOf(powGenesis({}, [
      { address: rich, balance: (MAX_AMOUNT - 1000n).toString() },
      { address: ADDRS[1]!, balance: '1000' },
    ]));
    extend(c, []); // the miner (ADDRS[0]) earns 50
    const payRich = transfer(c, KEYS[0]!, 0, rich, 49n);
    const a = assemble(c, [payRich]);
    assert.ok(applyBlock(c.state, a.block, c.ctx).ok); // rich + 49 still fits
    const c2 = chainOf(powGenesis({}, [
      { address: rich, balance: (MAX_AMOUNT - 10n).toString() },
      { address: ADDRS[1]!, balance: '10' },
    ]));
    const b0 = assemble(c2, []).block;
    // Paying rich 10 more from ADDRS[1] needs 11: not enough; pay the coinbase to rich instead.
    const cbToRich: CoinbaseTx = { ...coinbaseOf(b0), to: rich };
    expectError(applyBlock(c2.state, withTxs(b0, [cbToRich]), c2.ctx), ERR.OVERFLOW, /would exceed the largest amount/);
    extend(c2, []); // ADDRS[0] earns 50
    const b1 = assemble(c2, []).block;
    const tooRich = transfer(c2, KEYS[0]!, 0, rich, 20n);
    const cb1 = { ...coinbaseOf(b1), amount: coinbaseOf(b1).amount + 1n };
    expectError(applyBlock(c2.state, withTxs(b1, [cb1, tooRich]), c2.ctx), ERR.OVERFLOW, /balance of .* would exceed/);
  });

  test('applyTx names the same errors for a single transaction', () => {
    const ctx = { chainId: pow.g.chainId, params: pow.g.params, height: 1 };
    assert.ok(applyTx(pow.state, good, ctx).ok);
    expectError(applyTx(pow.state, { ...good, sig: '00'.repeat(64) }, ctx), ERR.BAD_SIGNATURE);
    expectError(applyTx(pow.state, transfer(pow, k1, 3, ADDRS[2]!, 1n), ctx), ERR.BAD_NONCE);
    expectError(applyTx(pow.state, transfer(pow, k1, 0, ADDRS[2]!, 1n, 0n), ctx), ERR.FEE_TOO_LOW);
    expectError(applyTx(pow.state, transfer(pow, k1, 0, ADDRS[2]!, 1n, 1n, 'other'), ctx), ERR.BAD_CHAIN_ID);
    // A cached signature check is honoured (the mempool passes one).
    expectError(applyTx(pow.state, good, { ...ctx, verifySignature: () => false }), ERR.BAD_SIGNATURE);
  });
});

describe('assembleBlock', () => {
  test('skips what does not apply, in order, and keeps what does', () => {
    const c = chainOf(powGenesis());
    const k1 = KEYS[1]!;
    const t0 = transfer(c, k1, 0, ADDRS[2]!, 10n);
    const dup = transfer(c, k1, 0, ADDRS[2]!, 11n); // reuses nonce 0
    const t1 = transfer(c, k1, 1, ADDRS[2]!, 10n);
    const gap = transfer(c, k1, 5, ADDRS[2]!, 10n);
    const broke = transfer(c, KEYS[2]!, 0, ADDRS[1]!, 5000n);
    const a = assemble(c, [t0, dup, t1, gap, broke]);
    assert.deepEqual(a.block.txs.slice(1), [t0, t1]);
    assert.deepEqual(a.skipped, [dup, gap, broke]);
    assert.equal(a.block.header.nonce, 0);
    assert.ok(applyBlock(c.state, a.block, c.ctx).ok);
  });

  test('a PoW block needs coinbaseTo', () => {
    const c = chainOf(powGenesis());
    assert.throws(() => assembleBlock(c.state, [], { parentHash: c.hash, parentHeight: 0, timestamp: 1 }, c.ctx), /coinbaseTo/);
  });

  test('stops adding transactions before the block byte limit', () => {
    const c = chainOf(powGenesis({ maxBlockBytes: 4000 }));
    const txs = [0, 1, 2, 3].map((i) => record(c, KEYS[i]!, 0, `k${i}`, 'x'.repeat(1200)));
    const r = assembleBlock(c.state, txs, { parentHash: c.hash, parentHeight: 0, timestamp: 1, bits: BITS, coinbaseTo: MINER }, c.ctx);
    assert.ok(r.ok, r.ok ? '' : r.error.message);
    assert.ok(blockSize(r.value.block) <= 4000);
    assert.ok(r.value.block.txs.length >= 2);
  });
});

// ---------------------------------------------------------------------------------------------
// Properties over random sequences of transfers and records among a few funded keys.

interface Op {
  readonly kind: 'transfer' | 'record';
  readonly from: number;
  readonly to: number; // index into ADDRS, or ADDRS.length for FRESH
  readonly amount: bigint;
  readonly fee: bigint;
  readonly key: number;
  readonly value: JsonValue;
  readonly nonceSkew: number;
  readonly endBlock: boolean;
}

const opArb: fc.Arbitrary<Op> = fc.record({
  kind: fc.constantFrom('transfer' as const, 'record' as const),
  from: fc.nat({ max: KEYS.length - 1 }),
  to: fc.nat({ max: ADDRS.length }),
  amount: fc.oneof(fc.bigInt(1n, 300n), fc.bigInt(1n, 2000n)),
  fee: fc.bigInt(0n, 4n),
  key: fc.nat({ max: 2 }),
  value: fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<JsonValue>,
  nonceSkew: fc.constantFrom(0, 0, 0, 0, 0, 0, -1, 1),
  endBlock: fc.boolean(),
});

interface ModelAccount {
  balance: bigint;
  nonce: number;
}

function balances(s: State): { total: bigint; all: bigint[] } {
  let total = 0n;
  const all: bigint[] = [];
  for (const e of s.entries()) {
    if (e.t === 'account') {
      total += e.account.balance;
      all.push(e.account.balance);
    }
  }
  return { total, all };
}

function snapshot(s: State): string {
  return canonicalJson([...s.entries()].map(stateEntryJson));
}

const seen = { accepted: 0, rejected: 0, records: 0, blocks: 0 };

function runProperty(kind: 'pow' | 'bft', ops: Op[]): void {
  const c = chainOf(kind === 'pow' ? powGenesis() : bftGenesis());
  const payee = kind === 'pow' ? MINER : addressFromPublicKey(VALIDATOR.publicKey);
  const model = new Map<string, ModelAccount>();
  const acct = (a: string): ModelAccount => {
    let m = model.get(a);
    if (m === undefined) {
      const s = c.state.account(a);
      m = { balance: s.balance, nonce: s.nonce };
      model.set(a, m);
    }
    return m;
  };
  const history = new Map<string, RecordEntry[]>();
  const addresses = [...ADDRS, FRESH];
  let pending: Op[] = [];
  const blocks: Op[][] = [];
  for (const op of ops) {
    pending.push(op);
    if (op.endBlock) {
      blocks.push(pending);
      pending = [];
    }
  }
  blocks.push(pending);

  for (const blockOps of blocks) {
    const parent = c.state;
    const parentRoot = parent.root();
    const parentSnapshot = snapshot(parent);
    const before = balances(parent);
    const accepted: SignedTx[] = [];
    const rejected: SignedTx[] = [];
    const senderCount = new Map<string, number>();
    let fees = 0n;
    const candidates = blockOps.map((op) => {
      const k = KEYS[op.from]!;
      const from = ADDRS[op.from]!;
      const m = acct(from);
      const nonce = Math.max(0, m.nonce + op.nonceSkew);
      const unsigned: UnsignedTx =
        op.kind === 'transfer'
          ? { kind: 'transfer', chainId: c.g.chainId, from: k.publicKey, nonce, fee: op.fee, to: addresses[op.to]!, amount: op.amount }
          : { kind: 'record', chainId: c.g.chainId, from: k.publicKey, nonce, fee: op.fee, key: `key${op.key}`, value: op.value };
      const tx = signTx(unsigned, k);
      const spend = (op.kind === 'transfer' ? op.amount : 0n) + op.fee;
      const ok = nonce === m.nonce && op.fee >= c.g.params.minFee && m.balance >= spend;
      if (ok) {
        m.balance -= spend;
        m.nonce += 1;
        if (op.kind === 'transfer') acct(addresses[op.to]!).balance += op.amount;
        fees += op.fee;
        senderCount.set(from, (senderCount.get(from) ?? 0) + 1);
        accepted.push(tx);
      } else {
        rejected.push(tx);
      }
      return tx;
    });
    // Payout last.
    acct(payee).balance += (kind === 'pow' ? REWARD : 0n) + fees;

    seen.accepted += accepted.length;
    seen.rejected += rejected.length;
    seen.blocks += 1;
    const a = assemble(c, candidates);
    const body = kind === 'pow' ? a.block.txs.slice(1) : a.block.txs;
    assert.deepEqual(body.map(txId), accepted.map(txId), 'assembleBlock chose what the model accepts');
    assert.deepEqual(a.skipped.map(txId), rejected.map(txId), 'assembleBlock skipped what the model rejects');
    assert.equal(parent.root(), parentRoot, 'assembleBlock left its input state alone');

    // Each applied transaction increments exactly one nonce, its sender's, by one.
    let running = parent;
    for (const tx of accepted) {
      const changes = noChanges();
      const r = applyTx(running, tx, { chainId: c.g.chainId, params: c.g.params, height: c.height + 1 }, changes);
      assert.ok(r.ok);
      const sender = addressFromPublicKey(tx.from);
      for (const [address, { before: b, after }] of changes.accounts) {
        assert.equal(after.nonce - (b?.nonce ?? 0), address === sender ? 1 : 0, 'nonce step');
      }
      assert.ok(changes.accounts.has(sender));
      running = r.value.state;
    }

    const r = applyBlock(parent, a.block, c.ctx);
    if (!r.ok) assert.fail(`${r.error.code}: ${r.error.message}`);
    const after = r.value.state;
    assert.equal(after.root(), a.block.header.stateRoot);
    // applyBlock never mutates its input state.
    assert.equal(parent.root(), parentRoot);
    assert.equal(snapshot(parent), parentSnapshot);
    // Value is conserved except for the block reward.
    const now = balances(after);
    assert.equal(now.total, before.total + (kind === 'pow' ? REWARD : 0n));
    // No balance is ever negative or above the maximum.
    for (const b of now.all) assert.ok(typeof b === 'bigint' && b >= 0n && b <= MAX_AMOUNT);
    // The state matches the model.
    for (const [address, m] of model) {
      const s = after.account(address);
      assert.equal(s.balance, m.balance, `balance of ${address}`);
      assert.equal(s.nonce, m.nonce, `nonce of ${address}`);
    }
    // Nonces move by exactly the number of applied transactions per sender.
    for (const [address, { before: b, after: x }] of r.value.changes.accounts) {
      assert.equal(x.nonce - (b?.nonce ?? 0), senderCount.get(address) ?? 0);
      assert.deepEqual(b, parent.hasAccount(address) ? parent.account(address) : undefined);
      assert.deepEqual(x, after.account(address));
    }
    for (const { key, entry } of r.value.changes.history) {
      const list = history.get(key) ?? [];
      list.push(entry);
      history.set(key, list);
    }
    // A skipped or reused nonce is rejected.
    const k0 = KEYS[1]!;
    const n0 = after.account(ADDRS[1]!).nonce;
    const txCtx = { chainId: c.g.chainId, params: c.g.params, height: c.height + 2 };
    expectError(applyTx(after, transfer(c, k0, n0 + 1, ADDRS[2]!, 1n), txCtx), ERR.BAD_NONCE);
    if (n0 > 0) expectError(applyTx(after, transfer(c, k0, n0 - 1, ADDRS[2]!, 1n), txCtx), ERR.BAD_NONCE);

    c.state = after;
    c.height += 1;
    c.hash = blockHash(a.block.header);
  }

  // Every record's history hash is the hash chain over the entries the changes reported.
  for (const [key, entries] of history) {
    seen.records += entries.length;
    const rec = c.state.record(key);
    assert.ok(rec !== undefined);
    assert.equal(rec.historyHash, historyHashOf(entries));
    assert.equal(rec.updates, entries.length);
    assert.equal(rec.owner, entries[0]!.from);
    assert.deepEqual(rec.value, entries[entries.length - 1]!.value);
    assert.equal(rec.txId, entries[entries.length - 1]!.txId);
  }
  for (const k of [0, 1, 2]) if (!history.has(`key${k}`)) assert.equal(c.state.record(`key${k}`), undefined);
}

describe('transition properties (random transfers and records)', () => {
  test('PoW: model agreement, value conserved + reward, no negative balance, sequential nonces, purity, history', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 14 }), (ops) => runProperty('pow', ops)),
      { numRuns: 60 },
    );
  });

  test('BFT: model agreement, value conserved exactly, no negative balance, sequential nonces, purity, history', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 14 }), (ops) => runProperty('bft', ops)),
      { numRuns: 60 },
    );
  });

  test('the random sequences exercised accepted and rejected transactions, records and many blocks', () => {
    assert.ok(seen.accepted > 100 && seen.rejected > 30 && seen.records > 30 && seen.blocks > 100, JSON.stringify(seen));
  });
});
