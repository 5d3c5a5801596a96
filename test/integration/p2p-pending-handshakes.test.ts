/**
 * Inbound handshakes in progress are bounded (16), and no one host can keep
 * the others out: once the table is full, a socket that has said nothing for
 * a second yields its slot to a newcomer, and a host holding more than its
 * share (4) yields its oldest handshake to a host holding fewer (only then,
 * since a local testnet links many nodes at once from one loopback host).
 * A socket that never says HELLO before the deadline costs its host a strike,
 * as a hostile handshake does; a peer that said HELLO but was slow does not.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { generateKeyPair } from '../../src/crypto/index.ts';
import { P2PNetwork, PROTOCOL_VERSION, type P2PNetworkOptions } from '../../src/p2p/index.ts';
import { sleep, until } from '../helpers/raw-peer.ts';

const GENESIS = 'ab'.repeat(32);
const CHAIN = 'pending-handshakes';
const nets: P2PNetwork[] = [];
const sockets = new Set<net.Socket>();
const holders: { on: boolean }[] = [];
after(async () => {
  for (const h of holders) h.on = false;
  for (const s of sockets) s.destroy();
  await Promise.all(nets.map((n) => n.stop()));
});

function make(over: Partial<P2PNetworkOptions> = {}): P2PNetwork {
  const n = new P2PNetwork({ keys: generateKeyPair(), network: 'public', chainId: CHAIN, genesisHash: GENESIS, head: () => ({ height: 0, tip: GENESIS }), tcpPort: 0, maxOutbound: 0, peer: { pingIntervalMs: 0 }, ...over });
  nets.push(n);
  return n;
}

const portOf = (n: P2PNetwork): number => Number(n.listenAddresses()[0]!.split(':').pop());

interface Hold {
  /** Local address to connect from: any 127.x address is another host to the node. */
  readonly from?: string;
  /** Send a HELLO first (and never the HELLO_ACK), rather than nothing at all. */
  readonly hello?: boolean;
  /** Reopen the socket whenever the node closes it, while `on` is true. */
  readonly reopen?: { on: boolean };
  readonly onClose?: () => void;
}

/** A socket that holds an inbound handshake slot: silent, or stalled after its HELLO. */
function hold(port: number, o: Hold = {}): void {
  const s = net.connect({ host: '127.0.0.1', port, localAddress: o.from ?? '127.0.0.1' });
  sockets.add(s);
  s.on('error', () => {});
  s.resume();
  if (o.hello === true) {
    const payload = { version: PROTOCOL_VERSION, network: 'public', chainId: CHAIN, genesisHash: GENESIS, nodeId: generateKeyPair().publicKey, listen: [], height: 0, tip: GENESIS, challenge: '00'.repeat(32), agent: 'stall' };
    s.write(JSON.stringify({ type: 'HELLO', payload }) + '\n');
  }
  s.on('close', () => {
    sockets.delete(s);
    o.onClose?.();
    if (o.reopen?.on === true) hold(port, o);
  });
}

function reopening(): { on: boolean } {
  const r = { on: true };
  holders.push(r);
  return r;
}

test('silent sockets from one host do not keep honest peers from linking in', { timeout: 60_000 }, async () => {
  const victim = make();
  await victim.start();
  const reopen = reopening();
  for (let i = 0; i < 16; i++) hold(portOf(victim), { reopen });
  await sleep(300);
  const honest = make();
  await honest.start();
  const results: string[] = [];
  const end = Date.now() + 12_000;
  while (Date.now() < end && !victim.peerIds().includes(honest.nodeId)) {
    const r = await honest.connect(victim.listenAddresses()[0]!);
    results.push(r.ok ? r.status : r.message.slice(0, 60));
    await sleep(250);
  }
  reopen.on = false;
  assert.ok(victim.peerIds().includes(honest.nodeId), `an honest node could not link in 12 s while one host held the handshake slots (${results.length} tries; last: ${results.at(-1)})`);
});

test('a host holding every slot with stalled handshakes yields one to another host', { timeout: 30_000 }, async () => {
  const victim = make();
  await victim.start();
  const reopen = reopening();
  // HELLO, then nothing: not silent, so only the per-host share can free a slot.
  for (let i = 0; i < 16; i++) hold(portOf(victim), { from: '127.0.0.2', hello: true, reopen });
  await sleep(300);
  const honest = make();
  await honest.start();
  const r = await honest.connect(victim.listenAddresses()[0]!);
  reopen.on = false;
  assert.ok(r.ok && r.status === 'connected', `an honest node from another host links in at once: ${JSON.stringify(r)}`);
});

test('sockets that never say HELLO cost their host a ban; slow handshakes do not', { timeout: 30_000 }, async () => {
  const victim = make({ banLoopback: true, handshakeTimeoutMs: 300 });
  await victim.start();
  let closed = 0;
  const onClose = (): void => void closed++;
  for (let i = 0; i < 5; i++) hold(portOf(victim), { from: '127.0.0.3', onClose });
  for (let i = 0; i < 5; i++) hold(portOf(victim), { from: '127.0.0.4', hello: true, onClose });
  await until(() => closed === 10, 'every handshake timed out');
  const hosts = victim.banList().filter((b) => b.kind === 'host').map((b) => b.value);
  assert.deepEqual(hosts, ['127.0.0.3']);
});
