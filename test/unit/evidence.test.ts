/**
 * Equivocation evidence on chain (core/evidence.ts): an evidence transaction
 * applies only with two validly signed, conflicting votes of one current
 * validator for one slot, in canonical order, once; it writes the
 * ~evidence/... record; it round-trips through JSON exactly; a proposer's
 * assembly puts pending evidence in its block.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { addressFromPublicKey, keyPairFromSeed, type KeyPair } from '../../src/crypto/index.ts';
import {
  applyBlock,
  assembleBlock,
  buildGenesisBlock,
  evidenceKey,
  evidenceTx,
  MAX_EVIDENCE_PER_BLOCK,
  parseGenesis,
  signVote,
  txFromJson,
  txId,
  txToJson,
  unwrap,
  DEFAULT_PARAMS,
  type Block,
  type EvidenceTx,
  type Genesis,
  type State,
} from '../../src/core/index.ts';

const CHAIN = 'evidence-net';
const vkeys: KeyPair[] = [31, 32, 33, 34].map((n) => keyPairFromSeed(Buffer.alloc(32, n)));
const outsider = keyPairFromSeed(Buffer.alloc(32, 77));
const H = (c: string): string => c.repeat(64);

const genesis: Genesis = unwrap(
  parseGenesis({
    network: 'private',
    chainId: CHAIN,
    timestamp: 1_700_000_000_000,
    consensus: { type: 'bft', emptyBlockIntervalMs: 1000, timeoutProposeMs: 1000, timeoutVoteMs: 1000, governanceThreshold: { num: 1, den: 2 } },
    orgs: [{ name: 'org1', members: vkeys.map((k, i) => ({ name: `v${i}`, nodeId: k.publicKey, validator: true })) }],
  }),
);
const gb = buildGenesisBlock(genesis);
const ctx = { chainId: CHAIN, params: genesis.params, consensus: genesis.consensus };

function equivocation(k: KeyPair, height = 0, round = 0, a: string | null = H('a'), b: string | null = H('b')): EvidenceTx {
  return evidenceTx(CHAIN, signVote(k, { type: 'prevote', height, round, blockHash: a }, CHAIN), signVote(k, { type: 'prevote', height, round, blockHash: b }, CHAIN));
}

/** A BFT block on genesis holding `txs`, assembled (so roots are right) or raw. */
function blockWith(txs: EvidenceTx[], state: State = gb.state): { block: Block; r: ReturnType<typeof assembleBlock> } {
  const r = assembleBlock(state, [], { parentHash: gb.hash, parentHeight: 0, timestamp: genesis.timestamp + 1000, proposer: vkeys[0]!.publicKey, evidence: txs }, ctx);
  return { block: r.ok ? r.value.block : { header: gb.block.header, txs: [] }, r };
}

describe('evidence transactions', () => {
  test('a proposer puts valid evidence in its block; applying it writes the record', () => {
    const e = equivocation(vkeys[2]!);
    const { block, r } = blockWith([e]);
    assert.ok(r.ok);
    assert.equal(block.txs.length, 1);
    const applied = unwrap(applyBlock(gb.state, block, ctx));
    const rec = applied.state.record(evidenceKey(e.voteA));
    assert.ok(rec !== undefined);
    assert.deepEqual((rec.value as { validator: string }).validator, vkeys[2]!.publicKey);
  });

  test('the same equivocation is recorded once; the order of the votes does not make a second one', () => {
    const e = equivocation(vkeys[1]!);
    const swapped = evidenceTx(CHAIN, e.voteB, e.voteA);
    assert.equal(txId(swapped), txId(e), 'one equivocation, one id');
    const first = unwrap(applyBlock(gb.state, blockWith([e]).block, ctx));
    // Offered again on top: assembly skips it, and a block that carries it anyway is invalid.
    const again = assembleBlock(first.state, [], { parentHash: gb.hash, parentHeight: 0, timestamp: genesis.timestamp + 2000, proposer: vkeys[0]!.publicKey, evidence: [e] }, ctx);
    assert.ok(again.ok);
    assert.equal(again.value.block.txs.length, 0);
  });

  test('refused: an outsider, agreeing votes, a bad signature, the wrong order, different slots, evidence from the future', () => {
    const bad: [string, EvidenceTx][] = [
      ['not a validator', equivocation(outsider)],
      ['the votes agree', { ...equivocation(vkeys[0]!), voteB: equivocation(vkeys[0]!).voteA }],
      ['a flipped signature', (() => {
        const e = equivocation(vkeys[0]!);
        const sig = e.voteB.signature;
        return { ...e, voteB: { ...e.voteB, signature: (sig[0] === 'a' ? 'b' : 'a') + sig.slice(1) } };
      })()],
      ['wrong order', (() => {
        const e = equivocation(vkeys[0]!);
        return { ...e, voteA: e.voteB, voteB: e.voteA };
      })()],
      ['different rounds', { ...equivocation(vkeys[0]!), voteB: signVote(vkeys[0]!, { type: 'prevote', height: 0, round: 1, blockHash: H('b') }, CHAIN) }],
      ['from a height not yet below the block', equivocation(vkeys[0]!, 1)],
    ];
    for (const [what, e] of bad) {
      const r = blockWith([e]);
      assert.ok(r.r.ok, what);
      assert.equal(r.block.txs.length, 0, `${what}: assembly leaves it out`);
      // Forced into a block, the block is invalid.
      const forced: Block = { header: { ...r.block.header }, txs: [e] };
      const applied = applyBlock(gb.state, forced, ctx);
      assert.ok(!applied.ok, what);
    }
  });

  test('nil against a block is evidence too; at most MAX_EVIDENCE_PER_BLOCK per block', () => {
    const nilVsBlock = equivocation(vkeys[3]!, 0, 2, null, H('c'));
    assert.equal(nilVsBlock.voteA.blockHash, null, 'nil sorts first');
    assert.ok(blockWith([nilVsBlock]).block.txs.length === 1);
    const many = Array.from({ length: MAX_EVIDENCE_PER_BLOCK + 4 }, (_, i) => equivocation(vkeys[i % 4]!, 0, i));
    assert.equal(blockWith(many).block.txs.length, MAX_EVIDENCE_PER_BLOCK);
  });

  test('JSON round trip is exact; extra or missing vote fields are refused', () => {
    const e = equivocation(vkeys[0]!);
    const j = JSON.parse(JSON.stringify(txToJson(e))) as Record<string, unknown>;
    const back = unwrap(txFromJson(j, DEFAULT_PARAMS));
    assert.equal(txId(back), txId(e));
    const extra = { ...j, voteA: { ...(j.voteA as object), note: 'x' } };
    assert.equal(txFromJson(extra, DEFAULT_PARAMS).ok, false);
    const missing = { ...j, voteB: { ...(j.voteB as object), signature: undefined } };
    assert.equal(txFromJson(JSON.parse(JSON.stringify(missing)), DEFAULT_PARAMS).ok, false);
    assert.equal(txFromJson({ ...j, sig: 'ab'.repeat(64) }, DEFAULT_PARAMS).ok, false);
  });

  test('a proof-of-work chain takes no evidence', () => {
    const pow = unwrap(
      parseGenesis({
        network: 'public',
        chainId: CHAIN,
        timestamp: 1,
        consensus: { type: 'pow', targetBlockTimeMs: 1000, initialBits: 0x207fffff, powLimitBits: 0x207fffff, retargetInterval: 10, maxAdjustFactor: 4, reward: '50', halvingInterval: 0 },
      }),
    );
    const pgb = buildGenesisBlock(pow);
    const r = assembleBlock(pgb.state, [], { parentHash: pgb.hash, parentHeight: 0, timestamp: 2, bits: 0x207fffff, coinbaseTo: addressFromPublicKey(vkeys[0]!.publicKey), evidence: [equivocation(vkeys[0]!)] }, { chainId: CHAIN, params: pow.params, consensus: pow.consensus });
    assert.ok(r.ok);
    assert.equal(r.value.block.txs.filter((t) => t.kind === 'evidence').length, 0);
  });
});
