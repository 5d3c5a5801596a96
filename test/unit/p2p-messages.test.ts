/** p2p/messages: schema accept/reject for every message type; parseMessage never throws. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LIMITS, LineDecoder, MESSAGE_TYPES, parseMessage, PROTOCOL_VERSION, type Incoming, type MessageType } from '../../src/p2p/index.ts';

const H = (c: string): string => c.repeat(64);
const SIG = 'ab'.repeat(64);

/** One valid payload per message type. */
const valid: Record<MessageType, unknown> = {
  HELLO: {
    version: PROTOCOL_VERSION,
    network: 'public',
    chainId: 'demo-1',
    genesisHash: H('a'),
    nodeId: H('b'),
    listen: ['ws://127.0.0.1:6001', 'tcp://[::1]:7001', 'tcp://node.example.org:7001'],
    height: 12,
    tip: H('c'),
    challenge: H('d'),
    agent: 'peerchain/0.1.0',
  },
  HELLO_ACK: { signature: SIG },
  DISCONNECT: { reason: 'wrong-network', message: 'this is chain x' },
  PING: { nonce: 42 },
  PONG: { nonce: 0 },
  GET_ADDR: {},
  ADDR: { addresses: ['ws://10.0.0.1:6001'] },
  GET_PEERS: {},
  PEERS: { peers: [{ id: H('7'), rttMs: 1.5 }, { id: H('8') }, { id: H('9'), rttMs: 0 }] },
  INV: { kind: 'block', ids: [H('1')] },
  GET_DATA: { kind: 'tx', ids: [H('2'), H('3')] },
  NOT_FOUND: { kind: 'tx', ids: [] },
  TX: { tx: { kind: 'transfer', amount: '5', nested: { a: [1, 2] } } },
  TXS: { txs: [{ kind: 'transfer', amount: '5' }, { kind: 'record', key: 'k', value: { a: [1, 2] } }] },
  BLOCK: { block: { header: { height: 1 }, txs: [] } },
  GET_HEADERS: { locator: [H('4')], stop: H('5'), limit: 2000 },
  HEADERS: { headers: [{ height: 1 }, { height: 2 }] },
  GET_BLOCKS: { hashes: [H('6')] },
  BLOCKS: { blocks: [{ header: {}, txs: [] }] },
  BFT_PROPOSAL: { proposal: { height: 1, round: 0 }, block: { header: {}, txs: [] } },
  BFT_GET_PROPOSAL: { blockHash: H('c') },
  // (the compact form of BFT_PROPOSAL is checked in its own test below)
  BFT_VOTE: { vote: { type: 'prevote', height: 1 } },
  EVIDENCE: { evidence: { voteA: {}, voteB: {} } },
};

function deep(n: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < n; i++) v = { a: v };
  return v;
}

/** Payloads each schema must reject, by type. */
const invalid: Record<MessageType, unknown[]> = {
  HELLO: [
    { ...(valid.HELLO as object), extra: 1 },
    { ...(valid.HELLO as object), network: 'mainnet' },
    { ...(valid.HELLO as object), chainId: 'UPPER' },
    { ...(valid.HELLO as object), nodeId: H('B') },
    { ...(valid.HELLO as object), challenge: 'ab' },
    { ...(valid.HELLO as object), height: -1 },
    { ...(valid.HELLO as object), height: 1.5 },
    { ...(valid.HELLO as object), listen: ['http://x:1'] },
    { ...(valid.HELLO as object), listen: Array.from({ length: LIMITS.listen + 1 }, (_, i) => `tcp://h${i}:1`) },
    { ...(valid.HELLO as object), agent: 'x'.repeat(LIMITS.agent + 1) },
    { ...(valid.HELLO as object), version: 0 },
  ],
  HELLO_ACK: [{ signature: 'ab' }, { signature: SIG, x: 1 }, {}],
  DISCONNECT: [{ reason: 'Bad Reason', message: '' }, { reason: 'x', message: 'm'.repeat(LIMITS.reasonMessage + 1) }, { reason: 'x' }],
  PING: [{ nonce: -1 }, { nonce: '1' }, { nonce: 2 ** 60 }, {}],
  PONG: [{ nonce: 1.5 }, { nonce: 1, x: 0 }],
  GET_ADDR: [{ x: 1 }, null, []],
  ADDR: [{ addresses: Array.from({ length: LIMITS.addrs + 1 }, () => 'tcp://1.2.3.4:5') }, { addresses: ['tcp://1.2.3.4:0'] }, { addresses: ['tcp://999.1.1.1:5'] }],
  GET_PEERS: [{ x: 1 }, null, [], 'all'],
  PEERS: [
    {},
    { peers: {} },
    { peers: [H('7')] },
    { peers: [{ id: H('G') }] },
    { peers: [{ id: H('7').slice(2) }] },
    { peers: [{ id: H('7'), rttMs: -1 }] },
    { peers: [{ id: H('7'), rttMs: '5' }] },
    { peers: [{ id: H('7'), rttMs: LIMITS.peerRttMs + 1 }] },
    { peers: [{ id: H('7'), address: 'ws://10.0.0.1:6001' }] },
    { peers: [], extra: 1 },
    { peers: Array.from({ length: LIMITS.peers + 1 }, (_, i) => ({ id: i.toString(16).padStart(64, '0') })) },
  ],
  INV: [{ kind: 'header', ids: [] }, { kind: 'tx', ids: ['zz'] }, { kind: 'tx', ids: Array.from({ length: LIMITS.invIds + 1 }, () => H('1')) }],
  GET_DATA: [{ kind: 'tx' }, { kind: 'tx', ids: [H('1')], more: true }],
  NOT_FOUND: [{ kind: 'block', ids: [H('G')] }],
  TX: [{ tx: 'string' }, { tx: [1] }, { tx: null }, { tx: deep(LIMITS.opaqueDepth + 5) }, {}],
  TXS: [
    { txs: [] },
    { txs: [{}, 'string'] },
    { txs: [null] },
    { txs: { a: {} } },
    { txs: [{}], extra: 1 },
    { txs: [deep(LIMITS.opaqueDepth + 5)] },
    { txs: Array.from({ length: LIMITS.txsPerMessage + 1 }, () => ({})) },
    {},
  ],
  BLOCK: [{ block: 5 }, { block: {}, x: 1 }],
  GET_HEADERS: [{ locator: [], limit: 1 }, { locator: [H('1')], limit: 0 }, { locator: [H('1')], limit: LIMITS.headers + 1 }, { locator: Array.from({ length: LIMITS.locator + 1 }, () => H('1')), limit: 1 }],
  HEADERS: [{ headers: [1] }, { headers: Array.from({ length: LIMITS.headers + 1 }, () => ({})) }],
  GET_BLOCKS: [{ hashes: Array.from({ length: LIMITS.blocksPerMessage + 1 }, () => H('1')) }],
  BLOCKS: [{ blocks: [null] }, { blocks: Array.from({ length: LIMITS.blocksPerMessage + 1 }, () => ({})) }],
  BFT_PROPOSAL: [
    { proposal: {} },
    { proposal: 1, block: {} },
    { proposal: {}, block: [] },
    // Both forms at once, a short id, an array entry, too deep a body.
    { proposal: {}, block: {}, compact: { header: {}, txs: [] } },
    { proposal: {}, compact: { header: {}, txs: ['ab'] } },
    { proposal: {}, compact: { header: {}, txs: [[]] } },
    { proposal: {}, compact: { header: {}, txs: [JSON.parse('{"a":'.repeat(40) + '1' + '}'.repeat(40))] } },
    { proposal: {}, compact: { header: {} } },
  ],
  BFT_GET_PROPOSAL: [{}, { blockHash: 'xyz' }, { blockHash: H('c'), extra: 1 }],
  BFT_VOTE: [{ vote: 'x' }, { vote: {}, extra: 1 }, {}],
  EVIDENCE: [{ evidence: null }, {}],
};

describe('p2p message schemas', () => {
  for (const type of MESSAGE_TYPES) {
    test(`${type}: accepts a valid payload`, () => {
      const r = parseMessage({ type, payload: valid[type] });
      assert.ok(r.ok, r.ok ? '' : r.error);
      assert.equal(r.message.type, type);
      // Round trip through the wire text gives the same message.
      const again = parseMessage(JSON.parse(JSON.stringify(r.message)));
      assert.deepEqual(again, r);
    });
    test(`${type}: rejects invalid payloads`, () => {
      for (const p of invalid[type]) {
        const r = parseMessage({ type, payload: p });
        assert.equal(r.ok, false, `${type} accepted ${JSON.stringify(p)?.slice(0, 120)}`);
        assert.equal(!r.ok && r.kind, 'schema');
      }
    });
  }

  test('every type has accept and reject cases', () => {
    assert.equal(MESSAGE_TYPES.length, 23);
    for (const t of MESSAGE_TYPES) assert.ok(invalid[t].length > 0, t);
  });

  test('PEERS: a list of exactly LIMITS.peers entries, and the longest round trip, are accepted', () => {
    const peers = Array.from({ length: LIMITS.peers }, (_, i) => ({ id: i.toString(16).padStart(64, '0'), rttMs: i === 0 ? LIMITS.peerRttMs : i / 10 }));
    const r = parseMessage({ type: 'PEERS', payload: { peers } });
    assert.ok(r.ok, r.ok ? '' : r.error);
  });

  test('BFT_PROPOSAL compact form: ids and bodies mixed are accepted', () => {
    const r = parseMessage({ type: 'BFT_PROPOSAL', payload: { proposal: { height: 1 }, compact: { header: { height: 1 }, txs: [H('a'), { kind: 'evidence' }, H('b')] } } });
    assert.equal(r.ok, true);
  });

  test('envelope errors', () => {
    assert.deepEqual(parseMessage({ type: 'NOPE', payload: {} }), { ok: false, kind: 'unknown-type', type: 'NOPE', error: 'unknown message type "NOPE"' });
    for (const t of ['toString', '__proto__', 'constructor', 'hasOwnProperty']) {
      const r = parseMessage({ type: t, payload: {} });
      assert.equal(!r.ok && r.kind, 'unknown-type', t);
    }
    for (const v of [null, 1, 'PING', [], { type: 'PING' }, { payload: {} }, { type: 1, payload: {} }, { type: 'PING', payload: { nonce: 1 }, extra: 1 }, { type: 'x'.repeat(33), payload: {} }]) {
      const r = parseMessage(v);
      assert.equal(!r.ok && r.kind, 'schema', JSON.stringify(v));
    }
  });

  test('the error names the type and the offending field', () => {
    const r = parseMessage({ type: 'PING', payload: { nonce: 'x' } });
    assert.ok(!r.ok);
    assert.equal(r.type, 'PING');
    assert.match(r.error, /^PING: nonce: /);
  });

  test('deeply nested hostile JSON does not throw', () => {
    const text = '['.repeat(200_000) + ']'.repeat(200_000);
    const v: unknown = JSON.parse(text);
    assert.equal(parseMessage({ type: 'TX', payload: { tx: { a: v } } }).ok, false);
    assert.equal(parseMessage(v).ok, false);
    let o: unknown = {};
    for (let i = 0; i < 100_000; i++) o = { tx: o };
    assert.equal(parseMessage({ type: 'TX', payload: o }).ok, false);
  });
});

describe('parseMessage properties', () => {
  test('never throws on arbitrary JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        parseMessage(v);
      }),
      { numRuns: 2000 },
    );
  });

  test('never throws on arbitrary payloads of every known type', () => {
    fc.assert(
      fc.property(fc.constantFrom(...MESSAGE_TYPES), fc.jsonValue(), (type, payload) => {
        const r = parseMessage({ type, payload });
        if (!r.ok) assert.equal(r.kind, 'schema');
      }),
      { numRuns: 2000 },
    );
  });

  test('never throws on arbitrary strings through the line framing', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary', maxLength: 200 }), { maxLength: 20 }), fc.integer({ min: 1, max: 64 }), (lines, chunk) => {
        const bytes = Buffer.from(lines.join('\n') + '\n', 'utf8');
        const dec = new LineDecoder(128);
        const out: Incoming[] = [];
        for (let i = 0; i < bytes.length; i += chunk) dec.push(bytes.subarray(i, i + chunk), (m) => out.push(m));
        for (const m of out) if (m.ok) parseMessage(m.value);
        assert.ok(dec.buffered <= 129);
      }),
      { numRuns: 1000 },
    );
  });
});
