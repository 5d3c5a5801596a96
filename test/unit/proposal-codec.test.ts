/**
 * BFT proposals on the wire (node/proposal-codec.ts): the compact form names
 * signed transactions by id and carries evidence whole; a receiver rebuilds
 * the exact block from its mempool or from gossip's queue of received bodies,
 * reports the first id it cannot resolve, never uses a body whose id differs,
 * and refuses malformed payloads. The whole form needs no local bodies. Both
 * forms pass the BFT_PROPOSAL wire schema.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { addressFromPublicKey, keyPairFromSeed, type KeyPair } from '../../src/crypto/index.ts';
import { blockHash, evidenceTx, ERR, signTx, signVote, txId, txToJson, type Block, type EvidenceTx, type SignedTx, type Tx } from '../../src/core/index.ts';
import { signProposal, type Proposal } from '../../src/consensus/bft/index.ts';
import { parseMessage, type Gossip, type PayloadOf } from '../../src/p2p/index.ts';
import { MemoryStore } from '../../src/storage/index.ts';
import { PeerchainNode } from '../../src/node/node.ts';
import { createLogger } from '../../src/node/logger.ts';
import { ProposalCodec } from '../../src/node/proposal-codec.ts';
import { bftGenesis } from '../helpers/chain-fixtures.ts';

type Payload = PayloadOf<'BFT_PROPOSAL'>;

const CHAIN = 'codec-net';
const T0 = 1_700_000_000_000;
const vkeys: KeyPair[] = [41, 42, 43, 44].map((n) => keyPairFromSeed(Buffer.alloc(32, n)));
const wallets: KeyPair[] = [51, 52].map((n) => keyPairFromSeed(Buffer.alloc(32, n)));
const payee = addressFromPublicKey(keyPairFromSeed(Buffer.alloc(32, 53)).publicKey);
const genesis = bftGenesis({ chainId: CHAIN, timestamp: T0, validators: vkeys, funded: wallets.map((w) => ({ address: addressFromPublicKey(w.publicKey), balance: '1000000' })) });
const HEX64 = /^[0-9a-f]{64}$/;

const opened: PeerchainNode[] = [];
after(async () => {
  for (const n of opened) await n.stop();
});

/** A BFT node of validator 0 with an empty mempool, clock fixed a minute after genesis. */
async function makeNode(): Promise<PeerchainNode> {
  const node = await PeerchainNode.create({ genesis, store: new MemoryStore(), key: vkeys[0]!, log: createLogger({ silent: true }), now: () => T0 + 60_000 });
  opened.push(node);
  return node;
}

/** A stand-in for gossip: only queuedTx, answered from a map the test fills. */
function fakeGossip(queued = new Map<string, Record<string, unknown>>()): { gossip: Gossip; queued: Map<string, Record<string, unknown>> } {
  return { gossip: { queuedTx: (id: string) => queued.get(id) } as unknown as Gossip, queued };
}

function transfer(w: number, nonce: number, amount = 10n, fee = 1n): SignedTx {
  const k = wallets[w]!;
  return signTx({ kind: 'transfer', chainId: CHAIN, from: k.publicKey, nonce, fee, to: payee, amount }, k);
}

/** Three transfers from two senders. */
const TXS: SignedTx[] = [transfer(0, 0), transfer(0, 1, 20n), transfer(1, 0, 30n, 2n)];

function admit(node: PeerchainNode, txs: readonly Tx[]): void {
  for (const tx of txs) {
    const r = node.submitTx(txToJson(tx));
    assert.ok(r.ok, `admission failed: ${r.ok ? '' : r.error.message}`);
  }
}

function proposalFor(block: Block): Proposal {
  return signProposal(vkeys[0]!, { height: block.header.height, round: 0, blockHash: blockHash(block.header), polRound: -1 }, CHAIN);
}

/** As the payload arrives from a peer: through JSON text. */
const wire = (p: Payload): Payload => JSON.parse(JSON.stringify(p)) as Payload;

const ids = (b: Block): string[] => b.txs.map((t) => txId(t));

function assertSameBlock(r: ReturnType<ProposalCodec['decode']>, block: Block): void {
  assert.equal(r.status, 'ok', r.status === 'ok' ? '' : `decode: ${JSON.stringify(r)}`);
  if (r.status !== 'ok') return;
  assert.equal(blockHash(r.block.header), blockHash(block.header));
  assert.deepEqual(ids(r.block), ids(block));
}

/** A proposer node holding TXS, its proposal block at height 1, and its codec. */
async function proposer(): Promise<{ node: PeerchainNode; codec: ProposalCodec; block: Block; proposal: Proposal }> {
  const node = await makeNode();
  admit(node, TXS);
  const block = node.buildProposal(1);
  assert.ok(block !== undefined, 'buildProposal returned undefined');
  assert.equal(block.txs.length, TXS.length, 'the proposal should hold every admitted transfer');
  return { node, codec: new ProposalCodec(node, fakeGossip().gossip, genesis), block, proposal: proposalFor(block) };
}

describe('ProposalCodec', () => {
  test('compact lists signed transfers by id and round-trips through JSON to the same block', async () => {
    const { codec, block, proposal } = await proposer();
    const payload = codec.compact(proposal, block);
    assert.equal(payload.block, undefined);
    assert.ok(payload.compact !== undefined);
    assert.deepEqual(payload.proposal, { ...proposal });
    assert.equal(payload.compact.txs.length, block.txs.length);
    for (const t of payload.compact.txs) assert.ok(typeof t === 'string' && HEX64.test(t), `expected a 64-hex id, got ${JSON.stringify(t)}`);
    assert.deepEqual(payload.compact.txs, ids(block));
    // Ids, not bodies: much smaller than the whole form.
    assert.ok(JSON.stringify(payload).length < JSON.stringify(ProposalCodec.whole(proposal, block)).length);
    assertSameBlock(codec.decode(wire(payload)), block);
  });

  test('the whole form decodes to the same block, also on a node with an empty mempool', async () => {
    const { codec, block, proposal } = await proposer();
    const payload = ProposalCodec.whole(proposal, block);
    assert.equal(payload.compact, undefined);
    assert.ok(payload.block !== undefined);
    assertSameBlock(codec.decode(wire(payload)), block);
    const empty = await makeNode();
    assert.equal(empty.mempool.size, 0);
    assertSameBlock(new ProposalCodec(empty, fakeGossip().gossip, genesis).decode(wire(payload)), block);
  });

  test('a compact proposal on a node lacking a tx is missing that id; a queued body with that id fills it; a wrong body does not', async () => {
    const { codec, block, proposal } = await proposer();
    const payload = wire(codec.compact(proposal, block));
    const absent = block.txs.find((t) => t.kind === 'transfer' && t.from === wallets[1]!.publicKey)!;
    const absentId = txId(absent);
    const receiver = await makeNode();
    admit(
      receiver,
      block.txs.filter((t) => t !== absent),
    );
    const { gossip, queued } = fakeGossip();
    const rc = new ProposalCodec(receiver, gossip, genesis);
    assert.deepEqual(rc.decode(payload), { status: 'missing', id: absentId });

    // Received by gossip, not accepted yet: the queue's body completes the block.
    queued.set(absentId, JSON.parse(JSON.stringify(txToJson(absent))) as Record<string, unknown>);
    const r = rc.decode(payload);
    assertSameBlock(r, block);
    // The rebuilt block passes the chain's own checks (roots, signatures, state).
    if (r.status === 'ok') {
      const check = receiver.chain.checkCandidate(r.block);
      assert.ok(check.ok, check.ok ? '' : check.error.message);
    }

    // A body under that id that is really another transaction must not be used.
    const other = transfer(1, 0, 31n, 2n);
    assert.notEqual(txId(other), absentId);
    queued.set(absentId, txToJson(other) as unknown as Record<string, unknown>);
    assert.deepEqual(rc.decode(payload), { status: 'missing', id: absentId });
  });

  test('the optional parsed lookup supplies the transaction for a queued body', async () => {
    const { codec, block, proposal } = await proposer();
    const payload = wire(codec.compact(proposal, block));
    const receiver = await makeNode();
    const body = { unparsable: true };
    const byBody = new Map<object, Tx>();
    const queued = new Map<string, Record<string, unknown>>();
    for (const tx of block.txs) {
      // A body txFromJson could not read: only the parsed lookup can make it the tx.
      const b = { ...body, n: queued.size };
      queued.set(txId(tx), b);
      byBody.set(b, tx);
    }
    assert.equal(new ProposalCodec(receiver, fakeGossip(queued).gossip, genesis).decode(payload).status, 'missing');
    assertSameBlock(new ProposalCodec(receiver, fakeGossip(queued).gossip, genesis, (b) => byBody.get(b)).decode(payload), block);
  });

  test('evidence travels as a body in the compact form and is rebuilt from it', async () => {
    const node = await makeNode();
    const k = vkeys[1]!;
    const ev: EvidenceTx = evidenceTx(
      CHAIN,
      signVote(k, { type: 'precommit', height: 0, round: 0, blockHash: 'aa'.repeat(32) }, CHAIN),
      signVote(k, { type: 'precommit', height: 0, round: 0, blockHash: 'bb'.repeat(32) }, CHAIN),
    );
    node.addEvidence(ev);
    const t = transfer(0, 0);
    admit(node, [t]);
    const block = node.buildProposal(1);
    assert.ok(block !== undefined);
    assert.deepEqual(ids(block).sort(), [txId(ev), txId(t)].sort(), 'the proposal should hold the evidence and the transfer');
    const payload = wire(new ProposalCodec(node, fakeGossip().gossip, genesis).compact(proposalFor(block), block));
    assert.ok(payload.compact !== undefined);
    const i = block.txs.findIndex((x) => x.kind === 'evidence');
    const entry = payload.compact.txs[i];
    assert.equal(typeof entry, 'object');
    assert.deepEqual(entry, JSON.parse(JSON.stringify(txToJson(ev))));
    assert.equal(payload.compact.txs[1 - i], txId(t));

    // The receiver holds the transfer but has never seen the evidence.
    const receiver = await makeNode();
    admit(receiver, [t]);
    const r = new ProposalCodec(receiver, fakeGossip().gossip, genesis).decode(payload);
    assertSameBlock(r, block);
    if (r.status === 'ok') {
      assert.equal(r.block.txs[i]!.kind, 'evidence');
      const check = receiver.chain.checkCandidate(r.block);
      assert.ok(check.ok, check.ok ? '' : check.error.message);
    }
  });

  test('a signed transaction given as a body in a compact payload decodes from that body', async () => {
    const { codec, block, proposal } = await proposer();
    const payload = wire(codec.compact(proposal, block));
    assert.ok(payload.compact !== undefined);
    const bodies = wire({ ...payload, compact: { header: payload.compact.header, txs: block.txs.map((t) => JSON.parse(JSON.stringify(txToJson(t))) as Record<string, unknown>) } });
    const empty = await makeNode();
    const ec = new ProposalCodec(empty, fakeGossip().gossip, genesis);
    assert.equal(ec.decode(payload).status, 'missing');
    assertSameBlock(ec.decode(bodies), block);
  });

  describe('malformed payloads', () => {
    test('a compact header that is not a header', async () => {
      const { codec, block, proposal } = await proposer();
      const payload = wire(codec.compact(proposal, block));
      assert.ok(payload.compact !== undefined);
      for (const header of [{ not: 'a header' }, { ...payload.compact.header, height: -1 }, { ...payload.compact.header, txRoot: 'xyz' }]) {
        const r = codec.decode({ ...payload, compact: { header, txs: payload.compact.txs } });
        assert.equal(r.status, 'malformed', JSON.stringify(header));
      }
    });

    test('a body entry that is not a valid tx names its index', async () => {
      const { codec, block, proposal } = await proposer();
      const payload = wire(codec.compact(proposal, block));
      assert.ok(payload.compact !== undefined);
      const txs = [...payload.compact.txs];
      txs[1] = { kind: 'transfer', nonsense: true };
      const r = codec.decode({ ...payload, compact: { header: payload.compact.header, txs } });
      assert.equal(r.status, 'malformed');
      assert.match(r.status === 'malformed' ? r.message : '', /\btx 1\b/);
      txs[1] = { kind: 'no-such-kind' };
      const r2 = codec.decode({ ...payload, compact: { header: payload.compact.header, txs } });
      assert.equal(r2.status, 'malformed');
      assert.match(r2.status === 'malformed' ? r2.message : '', /\btx 1\b/);
    });

    test('more entries than maxBlockTxs', async () => {
      const { codec, block, proposal } = await proposer();
      const payload = wire(codec.compact(proposal, block));
      assert.ok(payload.compact !== undefined);
      const max = genesis.params.maxBlockTxs;
      const unknown = 'ab'.repeat(32);
      const over = codec.decode({ ...payload, compact: { header: payload.compact.header, txs: Array.from({ length: max + 1 }, () => unknown) } });
      assert.equal(over.status, 'malformed');
      assert.match(over.status === 'malformed' ? over.message : '', new RegExp(ERR.TOO_MANY_TXS));
      // At the limit it is not malformed: the unknown id is merely missing.
      const at = codec.decode({ ...payload, compact: { header: payload.compact.header, txs: Array.from({ length: max }, () => unknown) } });
      assert.deepEqual(at, { status: 'missing', id: unknown });
    });

    test('neither block nor compact, or a whole block that is not a block', async () => {
      const { codec, proposal } = await proposer();
      const neither = codec.decode({ proposal: { ...proposal } } as Payload);
      assert.equal(neither.status, 'malformed');
      const badBlock = codec.decode({ proposal: { ...proposal }, block: { header: { not: 'a header' }, txs: [] } });
      assert.equal(badBlock.status, 'malformed');
    });
  });

  test('shouldAsk: true once per hash and peer, then false; bounded memory forgets the oldest', async () => {
    const node = await makeNode();
    const codec = new ProposalCodec(node, fakeGossip().gossip, genesis);
    const h = (i: number): string => i.toString(16).padStart(64, '0');
    assert.equal(codec.shouldAsk(h(0), 'peerA'), true);
    assert.equal(codec.shouldAsk(h(0), 'peerA'), false);
    // Another holder of the same proposal is asked too: one silent peer cannot starve the node.
    assert.equal(codec.shouldAsk(h(0), 'peerB'), true);
    assert.equal(codec.shouldAsk(h(0), 'peerB'), false);
    for (let i = 1; i <= 300; i++) assert.equal(codec.shouldAsk(h(i), 'peerA'), true, `hash ${i}`);
    // The newest is still remembered; the first was forgotten.
    assert.equal(codec.shouldAsk(h(300), 'peerA'), false);
    assert.equal(codec.shouldAsk(h(0), 'peerA'), true);
    assert.equal(codec.shouldAsk(h(0), 'peerA'), false);
  });

  test('the wire schema accepts the compact and the whole payloads, and they decode after parsing', async () => {
    const { codec, block, proposal } = await proposer();
    const compact = wire(codec.compact(proposal, block));
    const whole = wire(ProposalCodec.whole(proposal, block));
    for (const payload of [compact, whole]) {
      const r = parseMessage({ type: 'BFT_PROPOSAL', payload });
      assert.ok(r.ok, r.ok ? '' : r.error);
      assert.equal(r.message.type, 'BFT_PROPOSAL');
      assertSameBlock(codec.decode(r.message.payload as Payload), block);
    }
    // Exactly one of the two forms.
    assert.equal(parseMessage({ type: 'BFT_PROPOSAL', payload: { ...compact, block: whole.block } }).ok, false);
    assert.equal(parseMessage({ type: 'BFT_PROPOSAL', payload: { proposal: compact.proposal } }).ok, false);
    // Compact entries are lowercase 64-hex ids or objects.
    assert.ok(compact.compact !== undefined);
    const upper = { ...compact, compact: { header: compact.compact.header, txs: [compact.compact.txs[0]!.toString().toUpperCase()] } };
    assert.equal(parseMessage({ type: 'BFT_PROPOSAL', payload: upper }).ok, false);
  });
});
