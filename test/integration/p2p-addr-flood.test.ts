/**
 * A peer flooding ADDR messages full of fresh addresses, within its message
 * and byte rate limits, does not stall the node: addresses are taken from a
 * peer's unasked ADDR only at a slow rate (the rest is ignored), and once the
 * address book is full, making room for a new address costs a heap pop, not
 * a scan of the book. An honest peer's PINGs are answered promptly
 * throughout.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPair } from '../../src/crypto/index.ts';
import { AddressBook, P2PNetwork, type P2PNetworkOptions } from '../../src/p2p/index.ts';
import { RawPeer, until } from '../helpers/raw-peer.ts';

const GENESIS = 'ab'.repeat(32);
const nets: P2PNetwork[] = [];
const raws: RawPeer[] = [];
after(async () => {
  for (const r of raws) r.destroy();
  await Promise.all(nets.map((n) => n.stop()));
});

async function network(over: Partial<P2PNetworkOptions> = {}): Promise<P2PNetwork> {
  const n = new P2PNetwork({ keys: generateKeyPair(), network: 'public', chainId: 'addr-flood', genesisHash: GENESIS, head: () => ({ height: 0, tip: GENESIS }), tcpPort: 0, maxOutbound: 0, peer: { pingIntervalMs: 0 }, ...over });
  await n.start();
  nets.push(n);
  return n;
}

// Distinct addresses nobody listens on (port 1 on loopback refuses at once).
const unused = (count: number, from: number): string[] => Array.from({ length: count }, (_, i) => `tcp://127.1.${((from + i) >> 8) & 255}.${(from + i) & 255}:1`);

test('an unasked ADDR adds only what the peer’s budget allows', { timeout: 30_000 }, async () => {
  const victim = await network();
  const p = new RawPeer(victim.listenAddresses()[0]!);
  raws.push(p);
  assert.ok(await p.handshake());
  p.send('ADDR', { addresses: unused(1000, 0) });
  p.send('ADDR', { addresses: unused(1000, 1000) });
  p.send('PING', { nonce: 1 });
  await until(() => p.find('PONG') !== undefined, 'a PONG after the ADDRs');
  assert.equal(victim.book.size, 1, 'one address to start with, then one every 10 s');
});

test('the answer to our own GET_ADDR is taken whole', { timeout: 30_000 }, async () => {
  // Short of its outbound target with an empty book, the node asks its one peer for addresses.
  const victim = await network({ maxOutbound: 1, maintenanceIntervalMs: 50 });
  const p = new RawPeer(victim.listenAddresses()[0]!);
  raws.push(p);
  assert.ok(await p.handshake());
  await until(() => p.find('GET_ADDR') !== undefined, 'GET_ADDR from the node');
  p.send('ADDR', { addresses: unused(1000, 0) });
  await until(() => victim.book.size >= 990, `the whole answer in the book (${victim.book.size})`);
});

test('a full address book evicts the worst learned entry and keeps proven and pinned ones', () => {
  let now = 1_700_000_000_000;
  const book = new AddressBook(undefined, () => now++, { capacity: 100 });
  const pinned = book.add('tcp://10.9.0.1:7001', 'static')!;
  const proven = book.add('tcp://10.9.0.2:7001', 'addr')!;
  book.success(proven, 'cd'.repeat(32));
  const failing = book.add('tcp://10.9.0.3:7001', 'addr')!;
  book.failure(failing);
  for (let i = 0; book.size < 100; i++) book.add(`tcp://10.8.${i >> 8}.${i & 255}:7001`, 'addr');
  const oldest = book.all().find((e) => e.source === 'addr' && e.lastSuccess === undefined && e.failures === 0)!.address;
  book.add('tcp://10.7.0.1:7001', 'addr');
  assert.equal(book.size, 100);
  assert.equal(book.has(failing), false, 'a failing address goes first');
  book.add('tcp://10.7.0.2:7001', 'addr');
  assert.equal(book.has(oldest), false, 'then the one seen longest ago');
  for (let i = 0; i < 5000; i++) book.add(`tcp://10.6.${i >> 8}.${i & 255}:7001`, 'addr');
  assert.equal(book.size, 100);
  assert.ok(book.has(pinned) && book.has(proven), 'a flood of fresh addresses never evicts a pinned or proven one');
});

test('a burst of ADDR messages full of fresh addresses does not stall the node', { timeout: 90_000 }, async () => {
  // maxOutbound 0: the node dials nothing it learns (this test talks to 127.0.0.1 only).
  const victim = new P2PNetwork({ keys: generateKeyPair(), network: 'public', chainId: 'addr-flood', genesisHash: GENESIS, head: () => ({ height: 0, tip: GENESIS }), tcpPort: 0, maxOutbound: 0, peer: { pingIntervalMs: 0 } });
  await victim.start();
  nets.push(victim);
  const address = victim.listenAddresses()[0]!;
  const honest = new RawPeer(address);
  const attacker = new RawPeer(address);
  raws.push(honest, attacker);
  assert.ok(await honest.handshake());
  assert.ok(await attacker.handshake());
  // Loopback addresses only, all distinct: 127.a.b.c with ports.
  let n = 0;
  const fresh = (): string => {
    n++;
    return `tcp://127.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}:${1024 + (n % 50_000)}`;
  };
  const addr = (): string => JSON.stringify({ type: 'ADDR', payload: { addresses: Array.from({ length: 1000 }, fresh) } }) + '\n';
  // 600 messages of 1000 addresses (about 15 MB, within the 16 MiB byte burst), then 300 a second
  // (7.5 MB/s, within the 8 MiB/s byte rate) for 8 s.
  let burst = '';
  for (let m = 0; m < 600; m++) burst += addr();
  attacker.socket.write(burst);
  let flooding = true;
  const flood = (async () => {
    for (let s = 0; s < 8 && flooding; s++) {
      await new Promise((r) => setTimeout(r, 1000));
      let more = '';
      for (let m = 0; m < 300; m++) more += addr();
      attacker.socket.write(more);
    }
  })();
  // An honest peer pings all along; every round trip should stay short.
  const rtts: number[] = [];
  const end = Date.now() + 9000;
  for (let i = 0; Date.now() < end; i++) {
    const t0 = Date.now();
    honest.send('PING', { nonce: 5000 + i });
    await until(() => honest.lines.some((l) => l.type === 'PONG' && l.payload.nonce === 5000 + i), 'a PONG', 120_000);
    rtts.push(Date.now() - t0);
    await new Promise((r) => setTimeout(r, 100));
  }
  flooding = false;
  await flood;
  attacker.destroy();
  const worst = Math.max(...rtts);
  assert.ok(worst < 1000, `an honest peer waited up to ${worst} ms for a PONG while one peer sent ADDR within its rate limits (round trips: ${rtts.join(', ')})`);
});
