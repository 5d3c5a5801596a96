/**
 * P2PNetwork over real sockets on 127.0.0.1 (ephemeral ports): ws, tcp and
 * mixed links, the duplicate tie-break, the inbound limit, reconnect after a
 * restart, bans (persisted), peer exchange, the bootstrap role, LAN beacons.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPair } from '../../src/crypto/index.ts';
import { networkFactory, until, sleep, addr, linked, RawTcpPeer } from '../helpers/p2p.ts';
import { memoryPersistence, P2PNetwork, type PayloadOf } from '../../src/p2p/index.ts';

const WAIT_MS = 15_000;

const node = networkFactory({ maintenanceIntervalMs: 100, getAddrIntervalMs: 200, backoff: { baseMs: 100, maxMs: 1000 } });

function next<T extends 'INV' | 'PING' | 'ADDR'>(n: P2PNetwork, type: T): Promise<[PayloadOf<T>, string]> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no ${type} within ${WAIT_MS} ms`)), WAIT_MS);
    n.once(type, ((p: PayloadOf<T>, id: string) => {
      clearTimeout(t);
      resolve([p, id]);
    }) as never);
  });
}

const INV = { kind: 'tx' as const, ids: ['11'.repeat(32)] };

describe('links', () => {
  for (const scheme of ['ws', 'tcp'] as const) {
    test(`two nodes over ${scheme}: connect, events, send, peers(), stats()`, async () => {
      const a = await node();
      const b = await node();
      const connected = new Promise<string>((r) => a.once('peer:connected', (p) => r(p.id)));
      const res = await b.connect(addr(a, scheme));
      assert.deepEqual(res, { ok: true, status: 'connected', peerId: a.nodeId });
      assert.equal(await connected, b.nodeId);
      const got = next(a, 'INV');
      assert.equal(b.send(a.nodeId, 'INV', INV), 'ok');
      assert.deepEqual(await got, [INV, b.nodeId]);
      const [pb] = b.peers();
      assert.ok(pb !== undefined);
      assert.equal(pb.id, a.nodeId);
      assert.equal(pb.direction, 'outbound');
      assert.equal(pb.transport, scheme);
      assert.equal(pb.address, addr(a, scheme));
      assert.equal(pb.height, 3);
      assert.ok(Math.abs(pb.connectedAt - Date.now()) < 60_000);
      assert.equal(a.peers()[0]?.direction, 'inbound');
      assert.ok(typeof (await b.ping(a.nodeId)) === 'number');
      assert.ok(b.peers()[0]?.rttMs !== undefined);
      const s = b.stats();
      assert.ok(s.messagesOut >= 3 && s.bytesOut > 0 && s.messagesIn >= 2 && s.bytesIn > 0, JSON.stringify(s));
      assert.equal(s.peers, 1);
      assert.equal(s.outbound, 1);
      assert.equal(a.stats().messagesInByType.INV, 1);
      // A second connect to the same node reports it as known.
      assert.equal((await b.connect(addr(a, scheme))).ok, true);
      assert.equal(b.peerIds().length, 1);
    });
  }

  test('three nodes, mixed ws and tcp: broadcast reaches everyone once, disconnect carries the reason', async () => {
    const a = await node();
    const b = await node({ tcpPort: undefined });
    const c = await node({ wsPort: undefined });
    assert.equal(b.listenAddresses().length, 1);
    assert.equal((await b.connect(addr(a, 'ws'))).ok, true);
    assert.equal((await c.connect(addr(a, 'tcp'))).ok, true);
    assert.equal((await c.connect(addr(b, 'ws'))).ok, true);
    await until(() => linked(a, b) && linked(a, c) && linked(b, c), 'a triangle');
    const atB = next(b, 'INV');
    const atC = next(c, 'INV');
    assert.equal(a.broadcast('INV', INV), 2);
    assert.deepEqual(await atB, [INV, a.nodeId]);
    assert.deepEqual(await atC, [INV, a.nodeId]);
    const transports = a.peers().map((p) => p.transport).sort();
    assert.deepEqual(transports, ['tcp', 'ws']);
    const gone = new Promise<string>((r) => a.once('peer:disconnected', (d) => r(`${d.id}:${d.reason}:${d.by}`)));
    await c.stop();
    assert.equal(await gone, `${c.nodeId}:shutdown:remote`);
  });

  test('two nodes dialling each other at once keep one link, the one dialled by the lower id', async () => {
    for (let i = 0; i < 4; i++) {
      const a = await node({ tcpPort: undefined });
      const b = await node({ tcpPort: undefined });
      const [ra, rb] = await Promise.all([a.connect(addr(b, 'ws')), b.connect(addr(a, 'ws'))]);
      assert.ok(ra.ok && rb.ok, JSON.stringify([ra, rb]));
      await until(() => linked(a, b), 'the link');
      await sleep(150);
      assert.equal(a.peers().length, 1);
      assert.equal(b.peers().length, 1);
      const lower = a.nodeId < b.nodeId ? a : b;
      assert.equal(lower.peers()[0]?.direction, 'outbound', 'the lower id dialled the kept link');
      assert.ok(linked(a, b));
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  test('the inbound limit is enforced with too-many-peers', async () => {
    const a = await node({ maxInbound: 2 });
    const others = await Promise.all([node(), node(), node()]);
    const r1 = await others[0]!.connect(addr(a, 'tcp'));
    const r2 = await others[1]!.connect(addr(a, 'ws'));
    assert.ok(r1.ok && r2.ok);
    const r3 = await others[2]!.connect(addr(a, 'tcp'));
    assert.equal(r3.ok, false);
    assert.match(!r3.ok ? r3.message : '', /too-many-peers/);
    assert.equal(a.stats().inbound, 2);
  });

  test('a static peer is reconnected after it restarts on the same port', async () => {
    const keysB = generateKeyPair();
    const b1 = await node({ keys: keysB, wsPort: undefined });
    const port = Number(addr(b1, 'tcp').split(':').pop());
    const a = await node({ peers: [addr(b1, 'tcp')] });
    await until(() => linked(a, b1), 'the static link');
    const dropped = new Promise<string>((r) => a.once('peer:disconnected', (d) => r(d.reason)));
    await b1.stop();
    assert.equal(await dropped, 'shutdown');
    await sleep(300); // a few failed redials with backoff while b is down
    const b2 = await node({ keys: keysB, wsPort: undefined, tcpPort: port });
    await until(() => linked(a, b2), 'the reconnect');
    assert.equal(a.peers()[0]?.direction, 'outbound');
  });
});

describe('bans', () => {
  test('a peer sending garbage is banned by id and host; refused while banned; the ban survives a restart', async () => {
    const store = memoryPersistence();
    const a = await node({ banPersistence: store, banLoopback: true, wsPort: undefined });
    const bad = generateKeyPair();
    const raw = new RawTcpPeer(addr(a, 'tcp'));
    await raw.handshake(bad);
    assert.ok(raw.find('HELLO_ACK'), 'handshake completed');
    await until(() => a.peerIds().includes(bad.publicKey), 'the raw peer registered');
    const banned = new Promise<string>((r) => a.once('peer:banned', (b) => r(b.nodeId)));
    for (let i = 0; i < 50 && !raw.closed; i++) {
      raw.write('this is not json {{{\n');
      await sleep(5);
    }
    assert.equal(await banned, bad.publicKey);
    await until(() => raw.closed, 'the raw socket closed');
    assert.equal(raw.find('DISCONNECT')?.payload.reason, 'misbehaviour');
    assert.ok(a.bans.get('node', bad.publicKey));
    assert.ok(a.bans.get('host', '127.0.0.1'));

    // Refused while banned: the host ban answers before any handshake.
    const again = new RawTcpPeer(addr(a, 'tcp'));
    await until(() => again.closed, 'refusal');
    assert.equal(again.find('DISCONNECT')?.payload.reason, 'banned');
    assert.equal(again.find('HELLO'), undefined);

    // Persisted: a new network object on the same store refuses the node id (host bans off this time).
    await a.stop();
    const saved = store.value as { bans: { kind: string; value: string }[] };
    assert.ok(saved.bans.some((b) => b.kind === 'node' && b.value === bad.publicKey));
    const a2 = await node({ banPersistence: store, wsPort: undefined });
    const retry = new RawTcpPeer(addr(a2, 'tcp'));
    await retry.handshake(bad);
    await until(() => retry.closed, 'refusal after restart');
    assert.equal(retry.find('DISCONNECT')?.payload.reason, 'banned');
    assert.equal(a2.peerIds().length, 0);
    // Someone else from the same (loopback) host is still welcome.
    const good = new RawTcpPeer(addr(a2, 'tcp'));
    await good.handshake(generateKeyPair());
    assert.ok(good.find('HELLO_ACK'));
    good.destroy();
  });

  test('penalize() from the layer above bans at the threshold; a banned address is not dialled', async () => {
    const a = await node();
    const b = await node();
    assert.ok((await a.connect(addr(b, 'ws'))).ok);
    const gone = new Promise<string>((r) => a.once('peer:disconnected', (d) => r(d.reason)));
    a.penalize(b.nodeId, 60, 'invalid block');
    a.penalize(b.nodeId, 60, 'invalid block');
    assert.equal(await gone, 'misbehaviour');
    const r = await a.connect(addr(b, 'ws'));
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.code, 'BANNED');
    const viaTcp = await b.connect(addr(a, 'tcp'));
    assert.equal(viaTcp.ok, false);
    assert.match(!viaTcp.ok ? viaTcp.message : '', /banned/);
  });
});

describe('discovery', () => {
  test('peer exchange fills the book and the newcomer links to the peers it learned of', async () => {
    const hub = await node();
    const spokes = await Promise.all([node(), node(), node()]);
    for (const s of spokes) assert.ok((await s.connect(addr(hub, 'tcp'))).ok);
    const newcomer = await node();
    const addrSeen = next(newcomer, 'ADDR');
    assert.ok((await newcomer.connect(addr(hub, 'ws'))).ok);
    const [payload] = await addrSeen;
    const mine = new Set(newcomer.listenAddresses());
    assert.ok(payload.addresses.every((x) => !mine.has(x)), 'never the asker its own address');
    for (const s of spokes) for (const x of s.listenAddresses()) assert.ok(newcomer.book.has(x), `book has ${x}`);
    await until(() => spokes.every((s) => linked(newcomer, s)), 'links to the learned peers');
    // Two listen addresses per spoke, yet one link each.
    assert.equal(newcomer.peers().length, 4);
  });

  test('bootstrap: three members that only know the bootstrap end up linked directly; the bootstrap can go', async () => {
    const boot = await node({ bootstrap: true, network: 'private', isMember: () => true });
    const members = await Promise.all([0, 1, 2].map(() => node({ network: 'private', peers: [addr(boot, 'tcp')], getAddrIntervalMs: 30_000 })));
    await until(
      () => members.every((m) => members.every((o) => o === m || m.peerIds().includes(o.nodeId))),
      'a full mesh among members',
    );
    await boot.stop();
    await sleep(300);
    for (const m of members) for (const o of members) if (o !== m) assert.ok(m.peerIds().includes(o.nodeId));
  });

  test('LAN beacons over loopback multicast add addresses to the book, then peers connect', async () => {
    const port = 46_100 + Math.floor(Math.random() * 800);
    const lan = { port, interface: '127.0.0.1', intervalMs: 150 };
    const a = await node({ lan });
    const b = await node({ lan });
    const other = await node({ lan, chainId: 'other-chain' });
    if (a.lanCounts() === undefined) {
      test.skip?.('multicast unavailable here');
      return;
    }
    await until(() => linked(a, b), 'a LAN-discovered link');
    assert.ok(a.book.all().some((e) => e.source === 'lan'));
    await sleep(400);
    assert.ok(!a.peerIds().includes(other.nodeId), 'another chain is ignored');
    assert.ok((a.lanCounts()?.ignored ?? 0) > 0);
  });
});
