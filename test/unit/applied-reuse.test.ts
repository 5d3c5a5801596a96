/**
 * A block is applied once per node: the transition a BFT validator computed
 * when it checked a proposal (or built its own) is reused when the decided
 * block connects, only for the same parent state and the same signatures. A
 * proposal leaves room for the commit certificate it gains once decided, so a
 * full block still connects. assembleBlock builds in one pass what applyBlock
 * computes, and blockSizeOf agrees with blockSize.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { addressFromPublicKey, keyPairFromSeed, type KeyPair } from '../../src/crypto/index.ts';
import {
  applyBlock,
  applyTx,
  assembleBlock,
  blockHash,
  blockSize,
  blockSizeOf,
  buildGenesisBlock,
  canonicalJson,
  headerCanon,
  headerCanonBytes,
  txRootOf,
  signTx,
  txToJson,
  unwrap,
  verifyTxSignature,
  type Block,
  type BlockContext,
  type Genesis,
  type JsonValue,
  type SignedTx,
  type State,
  type Tx,
} from '../../src/core/index.ts';
import { bftRules, Chain } from '../../src/chain/index.ts';
import { signVote } from '../../src/consensus/bft/index.ts';
import { MemoryStore } from '../../src/storage/index.ts';
import { commitRoomFor, PeerchainNode } from '../../src/node/node.ts';
import { createLogger } from '../../src/node/logger.ts';
import { keys as powKeys, addrs as powAddrs, powGenesis, CHAIN_ID as POW_CHAIN } from '../helpers/chain-fixtures.ts';
import { bftGenesis } from '../helpers/chain-fixtures.ts';

const CHAIN = 'reuse-fixture';
const T0 = 1_700_000_000_000;
const vkeys = [51, 52, 53, 54].map((n) => keyPairFromSeed(Buffer.alloc(32, n)));
const wallets = [61, 62, 63].map((n) => keyPairFromSeed(Buffer.alloc(32, n)));
const waddr = wallets.map((k) => addressFromPublicKey(k.publicKey));

function genesis(params: Record<string, unknown> = {}): Genesis {
  return bftGenesis({ chainId: CHAIN, timestamp: T0, validators: vkeys, funded: waddr.map((address) => ({ address, balance: '1000000' })), params });
}

function transfer(from: KeyPair, nonce: number, to: string, amount = 5n, chainId = CHAIN): SignedTx {
  return signTx({ kind: 'transfer', chainId, from: from.publicKey, nonce, fee: 1n, to, amount }, from);
}

function certify(b: Block, signers: readonly KeyPair[] = vkeys.slice(0, 3), extra: Record<string, unknown> = {}): Block {
  const hash = blockHash(b.header);
  const signatures = signers.map((k) => {
    const v = signVote(k, { type: 'precommit', height: b.header.height, round: 0, blockHash: hash }, CHAIN);
    return { validator: v.validator, signature: v.signature };
  });
  return { header: b.header, txs: b.txs, commit: { height: b.header.height, round: 0, blockHash: hash, signatures, ...extra } as unknown as JsonValue };
}

/** A chain whose signature checks are all counted (no cache: every call is a check). */
async function countingChain(g: Genesis): Promise<{ chain: Chain; calls: () => number }> {
  let n = 0;
  const chain = await Chain.open(new MemoryStore(), g, bftRules(g), {
    now: () => T0 + 1_000_000,
    commitRoom: commitRoomFor(g),
    verifySignature: (tx, id) => {
      n++;
      return verifyTxSignature(tx, id);
    },
  });
  return { chain, calls: () => n };
}

function propose(g: Genesis, chain: Chain, txs: SignedTx[], reserveBytes = 0): Block {
  return unwrap(
    assembleBlock(
      chain.state,
      txs,
      { parentHash: chain.tip.hash, parentHeight: chain.height, timestamp: chain.tip.header.timestamp + 1000, proposer: vkeys[0]!.publicKey, reserveBytes },
      { chainId: CHAIN, params: g.params, consensus: g.consensus, verifySignature: () => true },
    ),
  ).block;
}

describe('reusing a checked transition', () => {
  test('a checked proposal connects without being applied again', async () => {
    const g = genesis();
    const { chain, calls } = await countingChain(g);
    const txs = [0, 1, 2].map((n) => transfer(wallets[0]!, n, waddr[1]!));
    const block = propose(g, chain, txs);
    assert.ok(chain.checkCandidate(block).ok);
    assert.equal(calls(), 3);
    assert.equal((await chain.submitBlock(certify(block))).status, 'connected');
    // The signatures are looked at once more before the body is kept (a cache makes that free); the transition is not run again.
    assert.equal(calls(), 6, 'connecting checked the signatures once and did not apply the block a second time');
    assert.equal(chain.state.account(waddr[1]!).balance, 1_000_015n);
  });

  test('a block with the checked hash but another signature is not reused: it is refused, and the real one still joins', async () => {
    const g = genesis();
    const { chain } = await countingChain(g);
    const good = transfer(wallets[0]!, 0, waddr[1]!);
    const block = propose(g, chain, [good]);
    assert.ok(chain.checkCandidate(block).ok);
    const forgedTx: SignedTx = { ...good, sig: (good.sig[0] === 'a' ? 'b' : 'a') + good.sig.slice(1) };
    const forged = certify({ header: block.header, txs: [forgedTx] });
    const r = await chain.submitBlock(forged);
    assert.equal(r.status === 'invalid' && r.error.code, 'BAD_SIGNATURE');
    assert.equal((await chain.submitBlock(certify(block))).status, 'connected');
  });

  test('an oversized certificate is refused without marking the block, and the block then joins', async () => {
    const g = genesis();
    const { chain } = await countingChain(g);
    const block = propose(g, chain, [transfer(wallets[0]!, 0, waddr[1]!)]);
    assert.ok(chain.checkCandidate(block).ok);
    const padded = certify(block, vkeys.slice(0, 3), { padding: 'x'.repeat(10_000) });
    const r = await chain.submitBlock(padded);
    assert.equal(r.status === 'invalid' && r.error.code, 'BAD_COMMIT');
    assert.equal(chain.index.get(blockHash(block.header))?.invalid ?? false, false);
    assert.equal((await chain.submitBlock(certify(block))).status, 'connected');
  });

  test('noteCandidate: the proposer connects its own block with the transition it built', async () => {
    const g = genesis();
    const { chain, calls } = await countingChain(g);
    const txs = [0, 1].map((n) => transfer(wallets[2]!, n, waddr[0]!));
    const parent = chain.state;
    const built = unwrap(
      assembleBlock(parent, txs, { parentHash: chain.tip.hash, parentHeight: 0, timestamp: T0 + 1000, proposer: vkeys[0]!.publicKey }, { chainId: CHAIN, params: g.params, consensus: g.consensus, verifySignature: () => true }),
    );
    chain.noteCandidate(built.block, parent, built);
    let connectedState: State | undefined;
    chain.on('connected', ({ state }) => (connectedState = state));
    assert.equal((await chain.submitBlock(certify(built.block))).status, 'connected');
    assert.equal(connectedState, built.state, 'the very state the proposer computed');
    assert.equal(calls(), 2, 'only the signature look-up before the body is kept');
  });
});

describe('room for the commit certificate', () => {
  test('a proposal filled to the limit still connects once it carries its certificate', async () => {
    // A limit of a few transfers: a proposal filled up to it without room would be decided and never connect.
    const g = genesis({ maxBlockBytes: 4000 });
    const node = await PeerchainNode.create({ genesis: g, store: new MemoryStore(), key: vkeys[0]!, log: createLogger({ silent: true }) });
    try {
      for (let n = 0; n < 20; n++) assert.ok(node.submitTx(txToJson(transfer(wallets[n % 3]!, Math.floor(n / 3), waddr[(n + 1) % 3]!))).ok);
      const block = node.buildProposal(1)!;
      assert.ok(block.txs.length > 0);
      assert.ok(node.chain.checkCandidate(block).ok);
      const withCert = certify(block, vkeys); // all four validators: the widest honest certificate
      assert.ok(blockSize(withCert) <= g.params.maxBlockBytes, `${blockSize(withCert)} bytes with its certificate`);
      assert.equal((await node.submitBlock(withCert)).status, 'connected');
    } finally {
      await node.stop();
    }
  });

  test('a candidate within the limit but without room for a certificate is refused', async () => {
    const g = genesis({ maxBlockBytes: 4000 });
    const { chain } = await countingChain(g);
    const txs = Array.from({ length: 20 }, (_, n) => transfer(wallets[n % 3]!, Math.floor(n / 3), waddr[(n + 1) % 3]!));
    const full = propose(g, chain, txs); // no room reserved
    assert.ok(blockSize(full) <= 4000);
    assert.ok(unwrap(applyBlock(chain.state, full, { chainId: CHAIN, params: g.params, consensus: g.consensus })));
    const r = chain.checkCandidate(full);
    assert.equal(!r.ok && r.error.code, 'BLOCK_TOO_LARGE');
  });
});

describe('assembleBlock in one pass', () => {
  const g = genesis();
  const gb = buildGenesisBlock(g);
  const bftCtx: BlockContext = { chainId: CHAIN, params: g.params, consensus: g.consensus, verifySignature: () => true };
  const pg = powGenesis();
  const pgb = buildGenesisBlock(pg);
  const powCtx: BlockContext = { chainId: POW_CHAIN, params: pg.params, consensus: pg.consensus, verifySignature: () => true };

  // Random transfers among the funded wallets, some of them invalid (a nonce out of order, an overspend).
  const txsArb = (chainId: string, ks: readonly KeyPair[], to: readonly string[], rich: bigint) =>
    fc.array(fc.record({ from: fc.nat(ks.length - 1), to: fc.nat(to.length - 1), nonceSkew: fc.constantFrom(0, 0, 0, 0, 1, -1), big: fc.boolean() }), { maxLength: 40 }).map((specs) => {
      const nonces = ks.map(() => 0);
      return specs.map((s) => {
        const nonce = Math.max(0, nonces[s.from]! + s.nonceSkew);
        if (s.nonceSkew === 0) nonces[s.from]!++;
        return transfer(ks[s.from]!, nonce, to[s.to]!, s.big ? rich : 7n, chainId);
      });
    });

  function sameAsApply(parent: State, block: Block, built: ReturnType<typeof assembleBlock>, ctx: BlockContext): void {
    const b = unwrap(built);
    const again = unwrap(applyBlock(parent, block, ctx));
    assert.equal(b.state.root(), block.header.stateRoot);
    assert.equal(again.state.root(), b.state.root());
    assert.equal(again.fees, b.fees);
    assert.deepEqual(again.txIds, b.txIds);
    assert.deepEqual([...again.changes.accounts].sort(), [...b.changes.accounts].sort());
    assert.deepEqual(again.changes.records, b.changes.records);
    // And what applying the chosen transactions one by one, then the payout, gives.
    let st = parent;
    let fees = 0n;
    for (const tx of block.txs) {
      if (tx.kind === 'coinbase' || tx.kind === 'evidence') continue;
      const r = unwrap(applyTx(st, tx, { ...ctx, height: block.header.height }));
      st = r.state;
      fees += r.fee;
    }
    const cb = block.txs[0];
    const payee = cb?.kind === 'coinbase' ? cb.to : addressFromPublicKey(block.header.proposer);
    const payout = cb?.kind === 'coinbase' ? cb.amount : fees;
    if (payout > 0n) st = st.withAccount(payee, { ...st.account(payee), balance: st.account(payee).balance + payout });
    assert.equal(st.root(), b.state.root());
    assert.ok(blockSize(block) <= ctx.params.maxBlockBytes);
  }

  test('BFT: the assembled state is the state applyBlock computes for the block', () => {
    fc.assert(
      fc.property(txsArb(CHAIN, wallets, waddr, 600_000n), (txs) => {
        const built = assembleBlock(gb.state, txs, { parentHash: gb.hash, parentHeight: 0, timestamp: T0 + 1000, proposer: vkeys[1]!.publicKey }, bftCtx);
        sameAsApply(gb.state, unwrap(built).block, built, bftCtx);
      }),
      { numRuns: 40 },
    );
  });

  test('PoW: the same, with the coinbase paying reward plus fees', () => {
    fc.assert(
      fc.property(txsArb(POW_CHAIN, powKeys.slice(0, 2), powAddrs, 600_000n), (txs) => {
        const built = assembleBlock(pgb.state, txs, { parentHash: pgb.hash, parentHeight: 0, timestamp: T0 + 1000, bits: pg.consensus.type === 'pow' ? pg.consensus.initialBits : 0, coinbaseTo: powAddrs[2]! }, powCtx);
        const b = unwrap(built).block;
        assert.equal(b.txs[0]!.kind, 'coinbase');
        sameAsApply(pgb.state, b, built, powCtx);
      }),
      { numRuns: 40 },
    );
  });

  test('skipped transactions leave no trace', () => {
    // An overspend after a valid transfer from the same sender: skipped, and its sender's first write stands.
    const ok1 = transfer(wallets[0]!, 0, waddr[1]!, 10n);
    const over = transfer(wallets[0]!, 1, waddr[1]!, 10_000_000n);
    const ok2 = transfer(wallets[1]!, 0, waddr[2]!, 3n);
    const r = unwrap(assembleBlock(gb.state, [ok1, over, ok2], { parentHash: gb.hash, parentHeight: 0, timestamp: T0 + 1000, proposer: vkeys[1]!.publicKey }, bftCtx));
    assert.deepEqual(r.skipped, [over]);
    assert.deepEqual(r.block.txs, [ok1, ok2]);
    assert.equal(r.state.account(waddr[0]!).balance, 1_000_000n - 11n);
    assert.equal(r.changes.accounts.get(waddr[0]!)?.before?.balance, 1_000_000n);
  });
});

describe('txRootOf', () => {
  test('a list changed in place gets its new root, not the remembered one', () => {
    const a = transfer(wallets[0]!, 0, waddr[1]!);
    const b = transfer(wallets[1]!, 0, waddr[2]!);
    const c = transfer(wallets[2]!, 0, waddr[0]!);
    const list: Tx[] = [a, b];
    const first = txRootOf(list);
    assert.equal(txRootOf(list), first);
    assert.equal(txRootOf([a, b]), first);
    list[1] = c;
    assert.equal(txRootOf(list), txRootOf([a, c]));
    list.push(b);
    assert.equal(txRootOf(list), txRootOf([a, c, b]));
    assert.notEqual(txRootOf(list), first);
  });
});

describe('blockSizeOf', () => {
  test('agrees with blockSize for transfers, records with any text, a coinbase and a certificate', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.integer()), { maxLength: 8 }), fc.boolean(), (values, withCommit) => {
        const txs: Tx[] = [{ kind: 'coinbase', chainId: CHAIN, height: 1, to: waddr[0]!, amount: 50n }];
        values.forEach((v, i) => {
          txs.push(signTx({ kind: 'record', chainId: CHAIN, from: wallets[0]!.publicKey, nonce: i, fee: 1n, key: `k${i}`, value: { v, list: [v, i] } as JsonValue }, wallets[0]!));
          txs.push(transfer(wallets[1]!, i, waddr[2]!));
        });
        const block: Block = { header: propose(genesis(), { state: buildGenesisBlock(genesis()).state, tip: { hash: 'ab'.repeat(32), header: { timestamp: T0 } }, height: 0 } as unknown as Chain, []).header, txs };
        const b = withCommit ? certify(block) : block;
        assert.equal(blockSizeOf(b), blockSize(b));
        const json: Record<string, JsonValue> = { header: { ...b.header }, txs: b.txs.map((t) => txToJson(t) as JsonValue) };
        if (b.commit !== undefined) json.commit = b.commit;
        assert.equal(blockSize(b), Buffer.byteLength(canonicalJson(json), 'utf8'), 'the canonical JSON written out');
      }),
      { numRuns: 60 },
    );
  });

  test('counts a header as headerCanon writes it, whatever its fields hold', () => {
    const hex = fc.oneof(fc.constant('ab'.repeat(32)), fc.string({ minLength: 64, maxLength: 64, unit: fc.constantFrom(...'0123456789abcdef') }), fc.string(), fc.string({ unit: 'binary' }));
    const int = fc.oneof(fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER), fc.constant(-1), fc.double());
    fc.assert(
      fc.property(fc.record({ version: int, chainId: fc.oneof(fc.constant(CHAIN), fc.string(), fc.string({ unit: 'binary' })), height: int, prevHash: hex, timestamp: int, txRoot: hex, stateRoot: hex, bits: int, nonce: int, proposer: hex }), (h) => {
        if (![h.version, h.height, h.timestamp, h.bits, h.nonce].every(Number.isFinite)) return;
        assert.equal(headerCanonBytes(h), Buffer.byteLength(headerCanon(h), 'utf8'));
      }),
      { numRuns: 300 },
    );
  });

  test('a signature that is not 128 hex characters is measured in full', () => {
    const tx = transfer(wallets[0]!, 0, waddr[1]!);
    const odd: SignedTx = { ...tx, sig: 'é"' };
    const block: Block = { header: unwrap(assembleBlock(buildGenesisBlock(genesis()).state, [], { parentHash: 'ab'.repeat(32), parentHeight: 0, timestamp: T0 + 1, proposer: vkeys[0]!.publicKey }, { chainId: CHAIN, params: genesis().params, consensus: genesis().consensus })).block.header, txs: [tx, odd] };
    assert.equal(blockSizeOf(block), blockSize(block));
  });
});
