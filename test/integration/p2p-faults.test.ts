/**
 * P2PNetwork's testnet fault hooks over real sockets on 127.0.0.1 (ephemeral
 * ports): a blocked node's link is cut and its handshakes refused with
 * 'partitioned', nobody is scored or banned, and healing brings the link back
 * within seconds even with the default minute-long backoff; an emulated
 * delay adds at least itself to a round trip and keeps messages in order.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { networkFactory, until, sleep, addr, linked } from '../helpers/p2p.ts';
import type { PeerDisconnected } from '../../src/p2p/index.ts';

const node = networkFactory({ maintenanceIntervalMs: 100, faultControl: true });

describe('partition faults', () => {
  for (const scheme of ['ws', 'tcp'] as const) {
    test(`over ${scheme}: a blocked peer is dropped and refused with 'partitioned', without a ban; healed, it relinks within seconds`, async () => {
      const a = await node();
      // b keeps a as a static peer, with the default backoff (1 s doubling to 60 s).
      const b = await node({ peers: [addr(a, scheme)] });
      await until(() => linked(a, b), 'a and b linked');
      const banned: string[] = [];
      for (const n of [a, b]) n.on('peer:banned', (x) => banned.push(x.reason));
      const gone = new Promise<PeerDisconnected>((r) => b.once('peer:disconnected', r));

      // Only a cuts b off: b keeps knocking and is refused each time.
      assert.deepEqual(a.setFaults({ block: [b.nodeId] }), { block: [b.nodeId], delayMs: 0 });
      const d = await gone;
      assert.equal(d.reason, 'partitioned');
      assert.equal(d.by, 'remote');
      await until(() => a.peerIds().length === 0 && b.peerIds().length === 0, 'the link gone on both sides');
      const refused = await b.connect(addr(a, scheme));
      assert.equal(refused.ok, false);
      assert.match(refused.ok ? '' : refused.message, /partitioned/);
      // Long enough for an exponential backoff to reach several seconds.
      await sleep(4000);
      assert.equal(linked(a, b), false, 'still cut off');
      assert.deepEqual(banned, []);
      assert.deepEqual(a.banList(), []);
      assert.deepEqual(b.banList(), []);

      const healedAt = Date.now();
      assert.deepEqual(a.setFaults({ block: [] }), { block: [], delayMs: 0 });
      await until(() => linked(a, b), 'a and b linked again', 5000);
      assert.ok(Date.now() - healedAt < 5000);
      assert.deepEqual(banned, []);
    });
  }

  test('both sides blocked: neither dials the other, and healing both relinks at once', async () => {
    const a = await node();
    const b = await node({ peers: [addr(a, 'ws')] });
    await until(() => linked(a, b), 'a and b linked');
    a.setFaults({ block: [b.nodeId] });
    b.setFaults({ block: [a.nodeId] });
    await until(() => a.peerIds().length === 0 && b.peerIds().length === 0, 'the link gone');
    const before = b.stats().bytesOut;
    await sleep(1500);
    // b knows a's id from their earlier link, so it does not even dial.
    assert.equal(b.stats().bytesOut, before, 'no dials while partitioned');
    a.setFaults({ block: [] });
    b.setFaults({ block: [] });
    await until(() => linked(a, b), 'relinked', 5000);
  });

  test('a bad delay is refused and changes nothing; without faultControl no delay is taken', async () => {
    const a = await node();
    assert.throws(() => a.setFaults({ delayMs: -1 }), RangeError);
    assert.throws(() => a.setFaults({ delayMs: 1.5 }), RangeError);
    assert.throws(() => a.setFaults({ delayMs: 60_000 }), RangeError);
    assert.deepEqual(a.faults(), { block: [], delayMs: 0 });
    const plain = await node({ faultControl: false });
    assert.throws(() => plain.setFaults({ delayMs: 10 }), /faultControl/);
    assert.deepEqual(plain.setFaults({ delayMs: 0 }), { block: [], delayMs: 0 });
  });
});

describe('latency faults', () => {
  test('a delay adds at least itself to round trips both ways, and keeps messages in order', async () => {
    const a = await node();
    const b = await node();
    assert.equal((await b.connect(addr(a, 'tcp'))).ok, true);
    await until(() => linked(a, b), 'linked');
    const fast = await b.ping(a.nodeId);
    assert.ok(fast < 200, `round trip ${fast} ms without a delay`);

    a.setFaults({ delayMs: 300 });
    // b's PING goes out at once; a's PONG waits 300 ms. a's own PING waits too.
    const fromB = await b.ping(a.nodeId);
    const fromA = await a.ping(b.nodeId);
    assert.ok(fromB >= 295, `b -> a round trip ${fromB} ms`);
    assert.ok(fromA >= 295, `a -> b round trip ${fromA} ms`);

    const got: string[] = [];
    b.on('INV', (p) => got.push(p.ids[0]!));
    const ids = Array.from({ length: 50 }, (_, i) => i.toString(16).padStart(64, '0'));
    const sentAt = Date.now();
    for (const id of ids) assert.equal(a.send(b.nodeId, 'INV', { kind: 'tx', ids: [id] }), 'ok');
    await sleep(150);
    assert.equal(got.length, 0, 'nothing arrives before the delay');
    await until(() => got.length === ids.length, 'every INV');
    assert.ok(Date.now() - sentAt >= 295);
    assert.deepEqual(got, ids, 'in the order sent');

    a.setFaults({ delayMs: 0 });
    const again = await b.ping(a.nodeId);
    assert.ok(again < 200, `round trip ${again} ms after the delay was lifted`);
  });
});
