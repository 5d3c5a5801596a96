/**
 * BFT blocks in the chain: a block joins only with a valid commit certificate
 * of more than 2/3 of the validators, only on top of the tip (finality), and a
 * bad certificate does not poison the block's hash. Plus the WAL on disk.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addressFromPublicKey, keyPairFromSeed, type KeyPair } from '../../src/crypto/index.ts';
import { assembleBlock, blockHash, buildGenesisBlock, signTx, unwrap, type Block, type Genesis, type JsonValue, type State } from '../../src/core/index.ts';
import { bftRules, Chain } from '../../src/chain/index.ts';
import { signProposal, signVote, Wal, type CommitCertificate } from '../../src/consensus/bft/index.ts';
import { MemoryStore } from '../../src/storage/index.ts';
import { bftGenesis } from '../helpers/chain-fixtures.ts';

const CHAIN = 'bft-fixture';
const vkeys: KeyPair[] = [11, 12, 13, 14].map((n) => keyPairFromSeed(Buffer.alloc(32, n)));
const outsider = keyPairFromSeed(Buffer.alloc(32, 99));
const wallet = keyPairFromSeed(Buffer.alloc(32, 21));
const T0 = 1_700_000_000_000;

function genesis(): Genesis {
  return bftGenesis({ chainId: CHAIN, timestamp: T0, validators: vkeys, funded: [{ address: addressFromPublicKey(wallet.publicKey), balance: '1000' }] });
}

/** A block on `parent` proposed by validator `by`, without a certificate. */
function propose(g: Genesis, parent: { hash: string; height: number; timestamp: number; state: State }, by = 0, nonce?: number): Block {
  const txs = nonce === undefined ? [] : [signTx({ kind: 'transfer', chainId: CHAIN, from: wallet.publicKey, nonce, fee: 1n, to: addressFromPublicKey(outsider.publicKey), amount: 5n }, wallet)];
  return unwrap(assembleBlock(parent.state, txs, { parentHash: parent.hash, parentHeight: parent.height, timestamp: parent.timestamp + 1000, proposer: vkeys[by]!.publicKey }, { chainId: CHAIN, params: g.params, consensus: g.consensus })).block;
}

/** Precommits by the given signers for the block. */
function certify(block: Block, signers: readonly KeyPair[], round = 0, chainId = CHAIN): CommitCertificate {
  const hash = blockHash(block.header);
  return {
    height: block.header.height,
    round,
    blockHash: hash,
    signatures: signers.map((k) => {
      const v = signVote(k, { type: 'precommit', height: block.header.height, round, blockHash: hash }, chainId);
      return { validator: v.validator, signature: v.signature };
    }),
  };
}

const withCert = (b: Block, c: CommitCertificate): Block => ({ ...b, commit: c as unknown as JsonValue });

async function open(): Promise<{ g: Genesis; chain: Chain }> {
  const g = genesis();
  const chain = await Chain.open(new MemoryStore(), g, bftRules(g), { now: () => T0 + 1_000_000 });
  return { g, chain };
}

const tipOf = (chain: Chain) => ({ hash: chain.tip.hash, height: chain.height, timestamp: chain.tip.header.timestamp, state: chain.state });

describe('BFT chain rules', () => {
  test('a block with precommits of 3 of 4 validators joins; its transactions apply', async () => {
    const { g, chain } = await open();
    const b = propose(g, tipOf(chain), 0, 0);
    const r = await chain.submitBlock(withCert(b, certify(b, vkeys.slice(0, 3))));
    assert.equal(r.status, 'connected');
    assert.equal(chain.state.account(addressFromPublicKey(outsider.publicKey)).balance, 5n);
  });

  test('missing, short, foreign, duplicated, forged or misdirected certificates are refused without poisoning the block', async () => {
    const { g, chain } = await open();
    const b = propose(g, tipOf(chain));
    const hash = blockHash(b.header);
    const other = propose(g, tipOf(chain), 1);
    const forged = certify(b, vkeys.slice(0, 3));
    const cases: [string, Block][] = [
      ['no certificate', b],
      ['2 of 4', withCert(b, certify(b, vkeys.slice(0, 2)))],
      ['an outsider counted', withCert(b, certify(b, [vkeys[0]!, vkeys[1]!, outsider]))],
      ['one validator twice', withCert(b, certify(b, [vkeys[0]!, vkeys[1]!, vkeys[1]!]))],
      ['another chain', withCert(b, certify(b, vkeys.slice(0, 3), 0, 'other-chain'))],
      ['another block', withCert(b, { ...certify(other, vkeys.slice(0, 3)) })],
      ['a flipped signature', withCert(b, { ...forged, signatures: forged.signatures.map((s, i) => (i === 0 ? { ...s, signature: (s.signature[0] === 'a' ? 'b' : 'a') + s.signature.slice(1) } : s)) })],
      ['not an object', { ...b, commit: 'yes' }],
    ];
    for (const [what, block] of cases) {
      const r = await chain.submitBlock(block);
      assert.equal(r.status, 'invalid', what);
      assert.equal(chain.height, 0, what);
    }
    // The hash is not marked: the same block with a good certificate still joins.
    assert.equal(chain.index.get(hash)?.invalid ?? false, false);
    assert.equal((await chain.submitBlock(withCert(b, certify(b, vkeys.slice(1))))).status, 'connected');
  });

  test('a proposer outside the validator set is refused', async () => {
    const { g, chain } = await open();
    const t = tipOf(chain);
    const b = unwrap(assembleBlock(t.state, [], { parentHash: t.hash, parentHeight: 0, timestamp: T0 + 1000, proposer: outsider.publicKey }, { chainId: CHAIN, params: g.params, consensus: g.consensus })).block;
    const r = await chain.submitBlock(withCert(b, certify(b, vkeys)));
    assert.equal(r.status, 'invalid');
    assert.equal(r.status === 'invalid' && r.error.code, 'BAD_PROPOSER');
  });

  test('finality: a certified block conflicting with a committed one is refused, and the chain never reorganises', async () => {
    const { g, chain } = await open();
    const t0 = tipOf(chain);
    const a = propose(g, t0, 0);
    const b = propose(g, t0, 1);
    assert.equal((await chain.submitBlock(withCert(a, certify(a, vkeys.slice(0, 3))))).status, 'connected');
    // Only possible if more than f validators equivocated; still never adopted.
    const r = await chain.submitBlock(withCert(b, certify(b, vkeys.slice(1))));
    assert.equal(r.status, 'invalid');
    assert.equal(r.status === 'invalid' && r.error.code, 'CONFLICTS_FINAL');
    const b2 = propose(g, { hash: blockHash(b.header), height: 1, timestamp: b.header.timestamp, state: t0.state }, 2);
    assert.notEqual((await chain.submitBlock(withCert(b2, certify(b2, vkeys.slice(1))))).status, 'connected');
    assert.equal(chain.tip.hash, blockHash(a.header));
  });

  test('a block ahead of the tip waits and joins once its parent does', async () => {
    const { g, chain } = await open();
    const a = propose(g, tipOf(chain), 0);
    const aState = unwrap(assembleBlock(chain.state, [], { parentHash: chain.tip.hash, parentHeight: 0, timestamp: a.header.timestamp, proposer: vkeys[0]!.publicKey }, { chainId: CHAIN, params: g.params, consensus: g.consensus })).state;
    const b = propose(g, { hash: blockHash(a.header), height: 1, timestamp: a.header.timestamp, state: aState }, 1);
    assert.equal((await chain.submitBlock(withCert(b, certify(b, vkeys.slice(0, 3))))).status, 'orphan');
    assert.equal((await chain.submitBlock(withCert(a, certify(a, vkeys.slice(0, 3))))).status, 'connected');
    assert.equal(chain.height, 2);
  });

  test('checkCandidate runs the full transition without connecting', async () => {
    const { g, chain } = await open();
    const good = propose(g, tipOf(chain), 0, 0);
    assert.ok(chain.checkCandidate(good).ok);
    const bad: Block = { ...good, header: { ...good.header, stateRoot: 'ab'.repeat(32) } };
    const r = chain.checkCandidate(bad);
    assert.ok(!r.ok && r.error.code === 'BAD_STATE_ROOT');
    assert.equal(chain.height, 0);
  });

  test('the genesis of a BFT network is block 0 with no proposer and no certificate', () => {
    const gb = buildGenesisBlock(genesis());
    assert.equal(gb.block.header.height, 0);
    assert.equal(gb.block.commit, undefined);
  });
});

describe('BFT write-ahead log', () => {
  test('what is appended is read back after a reopen; a torn last line is skipped', () => {
    const dir = mkdtempSync(join(tmpdir(), 'peerchain-wal-'));
    try {
      const file = join(dir, 'consensus', 'wal.ndjson');
      const { wal } = Wal.open(file);
      const v1 = signVote(vkeys[0]!, { type: 'prevote', height: 3, round: 0, blockHash: 'aa'.repeat(32) }, CHAIN);
      const v2 = signVote(vkeys[0]!, { type: 'precommit', height: 3, round: 0, blockHash: null }, CHAIN);
      const p = signProposal(vkeys[0]!, { height: 3, round: 1, blockHash: 'bb'.repeat(32), polRound: -1 }, CHAIN);
      wal.append({ vote: v1 });
      wal.append({ proposal: p });
      wal.append({ vote: v2 });
      wal.close();
      appendFileSync(file, '{"vote":{"type":"prev');
      const again = Wal.open(file);
      assert.deepEqual(again.contents.votes, [v1, v2]);
      assert.deepEqual(again.contents.proposals, [p]);
      assert.equal(again.contents.skipped, 1);
      again.wal.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('pruning drops committed heights atomically and keeps the rest', () => {
    const dir = mkdtempSync(join(tmpdir(), 'peerchain-wal-'));
    try {
      const file = join(dir, 'wal.ndjson');
      const lines: string[] = [];
      for (let h = 1; h <= 600; h++) lines.push(JSON.stringify({ vote: signVote(vkeys[1]!, { type: 'prevote', height: h, round: 0, blockHash: null }, CHAIN) }));
      writeFileSync(file, lines.join('\n') + '\n');
      const { wal } = Wal.open(file);
      wal.prune(590);
      assert.equal(wal.size, 11);
      wal.append({ vote: signVote(vkeys[1]!, { type: 'precommit', height: 600, round: 0, blockHash: null }, CHAIN) });
      wal.close();
      const text = readFileSync(file, 'utf8').trim().split('\n');
      assert.equal(text.length, 12);
      const reopened = Wal.open(file);
      assert.equal(reopened.contents.votes[0]!.height, 590);
      reopened.wal.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
