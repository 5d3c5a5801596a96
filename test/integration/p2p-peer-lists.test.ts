/**
 * Peer lists (GET_PEERS / PEERS) over real sockets on 127.0.0.1: nodes learn
 * the links of their peers, with round trips, and forget them when they end;
 * a hand-driven peer's list is cleaned (no duplicates, nothing about the
 * asker or itself) and only counts as an answer to an ask; asks are answered
 * at most once per third of the interval; a peer that never answers (an
 * older node) is asked once and no more.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPair } from '../../src/crypto/index.ts';
import { networkFactory, until, sleep, addr, RawTcpPeer } from '../helpers/p2p.ts';
import { P2PNetwork, type PeerLinks } from '../../src/p2p/index.ts';

const H = (c: string): string => c.repeat(64);

const node = networkFactory({
  maintenanceIntervalMs: 50,
  getAddrIntervalMs: 60_000,
  // Only the links a test makes: no dialing of addresses learned by peer exchange.
  targetOutbound: 0,
  peerListIntervalMs: 300,
  backoff: { baseMs: 100, maxMs: 1000 },
});

const reportOf = (n: P2PNetwork, by: P2PNetwork | string): PeerLinks | undefined => n.peerLinks().find((r) => r.id === (typeof by === 'string' ? by : by.nodeId));
const idsIn = (r: PeerLinks | undefined): string[] => (r?.peers ?? []).map((p) => p.id).sort();

describe('peer lists', () => {
  test('three nodes in a line learn each other\'s links with round trips, and forget an ended one', async () => {
    const a = await node();
    const b = await node();
    const c = await node();
    assert.equal((await b.connect(addr(a, 'ws'))).ok, true);
    assert.equal((await c.connect(addr(b, 'tcp'))).ok, true);
    // b measures its links, so its reports carry round trips.
    await Promise.all([b.ping(a.nodeId), b.ping(c.nodeId)]);

    await until(() => reportOf(a, b)?.peers.some((p) => p.id === c.nodeId && typeof p.rttMs === 'number') === true, 'a to hear from b that b links to c, with a round trip');
    await until(() => idsIn(reportOf(c, b)).includes(a.nodeId), 'c to hear from b that b links to a');
    // Neither a nor c has a link besides b, and a report never names the asker.
    await until(() => reportOf(b, a) !== undefined && reportOf(b, c) !== undefined, 'b to hear from a and c');
    assert.deepEqual(idsIn(reportOf(b, a)), []);
    assert.deepEqual(idsIn(reportOf(b, c)), []);
    assert.deepEqual(idsIn(reportOf(a, b)), [c.nodeId]);
    assert.equal(a.peerLinks().length, 1, 'only connected peers report');

    // Asked again on schedule: c goes away, and b's next answer no longer names it.
    await c.stop();
    await until(() => reportOf(a, b) !== undefined && !idsIn(reportOf(a, b)).includes(c.nodeId), 'a to hear that b no longer links to c');
    assert.equal(reportOf(b, c), undefined, 'a closed link takes its report with it');
  });

  test('a peer\'s list is cleaned, and a list nobody asked for is ignored', async () => {
    const n = await node({ wsPort: undefined });
    const keys = generateKeyPair();
    const raw = new RawTcpPeer(addr(n, 'tcp'));
    try {
      await raw.handshake(keys);
      assert.ok(raw.find('HELLO_ACK') !== undefined && !raw.closed, 'the node accepted the handshake');
      await until(() => raw.count('GET_PEERS') === 1, 'the node to ask the new peer for its links');
      raw.send('PEERS', { peers: [{ id: n.nodeId, rttMs: 1 }, { id: keys.publicKey }, { id: H('1') }, { id: H('1'), rttMs: 3 }, { id: H('2'), rttMs: 2.5 }] });
      await until(() => reportOf(n, keys.publicKey) !== undefined, 'the answer to be kept');
      assert.deepEqual(reportOf(n, keys.publicKey)!.peers, [{ id: H('1') }, { id: H('2'), rttMs: 2.5 }], 'no link to the asker or to itself, no duplicates');

      // Unasked: dropped, so a peer cannot rewrite its report at will between asks.
      raw.send('PEERS', { peers: [{ id: H('3') }] });
      await sleep(150);
      assert.deepEqual(idsIn(reportOf(n, keys.publicKey)), [H('1'), H('2')]);
      assert.ok(n.peerIds().includes(keys.publicKey), 'an unasked list costs no link');
    } finally {
      raw.destroy();
    }
  });

  test('GET_PEERS is answered at most once per third of the interval, with the node\'s other links', async () => {
    const n = await node({ wsPort: undefined, peerListIntervalMs: 3000 });
    const other = await node();
    assert.equal((await other.connect(addr(n, 'tcp'))).ok, true);
    const keys = generateKeyPair();
    const raw = new RawTcpPeer(addr(n, 'tcp'));
    try {
      await raw.handshake(keys);
      assert.ok(raw.find('HELLO_ACK') !== undefined && !raw.closed, 'the node accepted the handshake');
      for (let i = 0; i < 20; i++) raw.send('GET_PEERS', {});
      await until(() => raw.count('PEERS') >= 1, 'an answer');
      await sleep(300);
      assert.equal(raw.count('PEERS'), 1, 'twenty asks, one answer');
      const answer = raw.lines.find((l) => l.type === 'PEERS')!.payload.peers as { id: string }[];
      assert.deepEqual(answer.map((p) => p.id), [other.nodeId], 'the other link, not the asker');
      await sleep(1000);
      raw.send('GET_PEERS', {});
      await until(() => raw.count('PEERS') === 2, 'a second answer once the gap has passed');
      assert.ok(n.peerIds().includes(keys.publicKey), 'asking too often costs nothing but the answer');
    } finally {
      raw.destroy();
    }
  });

  test('a peer that never answers (an older node) is asked once, not every interval', async () => {
    const n = await node({ wsPort: undefined, peerListIntervalMs: 100 });
    const raw = new RawTcpPeer(addr(n, 'tcp'));
    try {
      await raw.handshake(generateKeyPair());
      assert.ok(raw.find('HELLO_ACK') !== undefined && !raw.closed, 'the node accepted the handshake');
      await until(() => raw.count('GET_PEERS') === 1, 'the first ask');
      await sleep(800);
      assert.equal(raw.count('GET_PEERS'), 1, 'an unknown type costs the asker points at an older node: ask it once only');
    } finally {
      raw.destroy();
    }
  });
});
