/**
 * Ids announced by INV are asked for at once and stay in flight until their
 * body comes, a NOT_FOUND, or a timeout. A peer that announces made-up ids
 * must not fill that table and so black out the transactions honest peers
 * relay: each peer gets a share of it (1000 transaction ids, less when many
 * peers are connected, and 16 block ids besides); its ids past the share wait
 * (5000 at most) to be asked for as its requests settle, while other peers'
 * announcements are still followed. Ids a
 * peer was asked for and let time out cost it a point per hundred; NOT_FOUND
 * answers cost nothing (an honest peer says it when a transaction left its
 * pool).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { txToJson } from '../../src/core/index.ts';
import { generateKeyPair, keyPairFromSeed } from '../../src/crypto/index.ts';
import { Gossip, MemoryNetwork, memoryTransport, P2PNetwork, type GossipOptions } from '../../src/p2p/index.ts';
import { MemoryStore } from '../../src/storage/index.ts';
import { NodeRuntime } from '../../src/node/runtime.ts';
import { createLogger } from '../../src/node/logger.ts';
import { powGenesis, transfer } from '../helpers/chain-fixtures.ts';
import { linkedRawPeer, RawPeer, until } from '../helpers/raw-peer.ts';

const g = powGenesis();
const log = createLogger({ silent: true });
let victim: NodeRuntime;
let honest: NodeRuntime;
const raws: RawPeer[] = [];
const nets: P2PNetwork[] = [];

before(async () => {
  const common = { genesis: g, log, host: '127.0.0.1', wsPort: 0, tcpPort: 0, dataDir: '', maxOutbound: 0 } as const;
  victim = await NodeRuntime.start({ ...common, name: 'victim', key: keyPairFromSeed(Buffer.alloc(32, 0x91)), peers: [], store: new MemoryStore() });
  honest = await NodeRuntime.start({ ...common, name: 'honest', key: keyPairFromSeed(Buffer.alloc(32, 0x92)), peers: [], store: new MemoryStore() });
  const r = await victim.net.connect(honest.net.listenAddresses().find((a) => a.startsWith('tcp'))!);
  assert.ok(r.ok, JSON.stringify(r));
});

after(async () => {
  for (const p of raws) p.destroy();
  await Promise.all(nets.map((n) => n.stop()));
  await victim?.stop();
  await honest?.stop();
});

const rawPeer = (to: NodeRuntime): Promise<RawPeer> => linkedRawPeer(to, raws);

test('made-up INV ids from one peer do not keep a relayed transaction from the victim', { timeout: 30_000 }, async () => {
  const attacker = await rawPeer(victim);
  const invs = victim.gossip.stats.invIn;
  for (let i = 0; i < 2; i++) attacker.send('INV', { kind: 'tx', ids: madeUp(5000) });
  await until(() => victim.gossip.stats.invIn >= invs + 2 && attacker.count('GET_DATA') >= 1, 'the victim read both INVs and asked the attacker for some ids');
  const asked = attacker.lines.filter((l) => l.type === 'GET_DATA').reduce((n, l) => n + (l.payload.ids as string[]).length, 0);
  assert.equal(asked, 1000, "the attacker's share of the in-flight table");
  // A client's transaction reaches the honest node from another peer; the honest node relays it by INV.
  const tx = transfer(0, 2, 0, 3n);
  const client = await rawPeer(honest);
  client.send('TX', { tx: txToJson(tx) });
  const id = (await until(() => honest.node.mempool.size > 0, 'the honest node took the transaction'), honest.node.mempool.ids(1)[0]!);
  await until(() => victim.node.mempool.has(id), 'the relayed transaction reached the victim', 5_000).catch((e: Error) => {
    throw new Error(`${e.message} (victim gossip ${JSON.stringify(victim.gossip.stats)})`);
  });
});

// ---- gossip alone, over an in-memory network, with short timeouts ----

function madeUp(n: number): string[] {
  return Array.from({ length: n }, () => randomBytes(32).toString('hex'));
}

async function memNet(mem: MemoryNetwork): Promise<P2PNetwork> {
  const net = new P2PNetwork({
    keys: generateKeyPair(),
    network: 'public',
    chainId: 'gossip-test',
    genesisHash: 'ab'.repeat(32),
    head: () => ({ height: 0, tip: 'cd'.repeat(32) }),
    tcpPort: 0,
    transports: { tcp: memoryTransport(mem, 'tcp') },
    targetOutbound: 0,
    maxOutbound: 16,
    peer: { pingIntervalMs: 0 },
  });
  await net.start();
  nets.push(net);
  return net;
}

/** A gossip whose store is a map; it accepts every body it is given. */
function gossipOn(net: P2PNetwork, store: Map<string, unknown>, over: Partial<GossipOptions> = {}): Gossip {
  return new Gossip(net, {
    provider: { has: (_k, id) => store.has(id), get: (_k, id) => store.get(id) },
    idOf: (_k, body) => (body as { id?: string }).id,
    accept: async (_k, id, body) => {
      store.set(id, body);
      return 'accepted';
    },
    ...over,
  }).start();
}

/** A victim and `n` peers linked to it; the peers run no gossip unless a test starts one. */
async function star(n: number, over: Partial<GossipOptions>): Promise<{ victim: P2PNetwork; gossip: Gossip; store: Map<string, unknown>; peers: P2PNetwork[]; asked: (p: P2PNetwork) => number; scoreOf: (p: P2PNetwork) => number | undefined }> {
  const mem = new MemoryNetwork();
  const victim = await memNet(mem);
  const store = new Map<string, unknown>();
  const gossip = gossipOn(victim, store, over);
  const peers: P2PNetwork[] = [];
  const askedOf = new Map<P2PNetwork, number>();
  for (let i = 0; i < n; i++) {
    const p = await memNet(mem);
    p.on('GET_DATA', (m) => askedOf.set(p, (askedOf.get(p) ?? 0) + m.ids.length));
    assert.ok((await p.connect(victim.listenAddresses()[0]!)).ok);
    peers.push(p);
  }
  await until(() => victim.peerIds().length === n, 'the victim linked to every peer');
  return { victim, gossip, store, peers, asked: (p) => askedOf.get(p) ?? 0, scoreOf: (p) => victim.peers().find((x) => x.id === p.nodeId)?.score };
}

test('the table is split evenly when the peers would not fit it whole; the rest is still followed', { timeout: 30_000 }, async () => {
  const { victim, gossip, store, peers, asked } = await star(2, { maxInFlight: 100 });
  const [liar, honest] = peers as [P2PNetwork, P2PNetwork];
  liar.send(victim.nodeId, 'INV', { kind: 'tx', ids: madeUp(5000) });
  await until(() => asked(liar) > 0, 'the victim asking the liar');
  const honestStore = new Map<string, unknown>();
  gossipOn(honest, honestStore);
  const id = 'aa'.repeat(32);
  honestStore.set(id, { id });
  honest.send(victim.nodeId, 'INV', { kind: 'tx', ids: [id] });
  await until(() => store.has(id), "the honest peer's transaction fetched");
  assert.equal(asked(liar), 50, 'half of a 100-id table for each of two peers');
  assert.equal(gossip.stats.requested, 51);
  // Block ids have a small share of their own: a peer busy relaying transactions can still announce a new block.
  liar.send(victim.nodeId, 'INV', { kind: 'block', ids: madeUp(100) });
  await until(() => asked(liar) > 50, 'the victim asking the liar for blocks');
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(asked(liar), 50 + 16);
});

test('ids a peer lets time out cost it a point per hundred; NOT_FOUND costs nothing', { timeout: 30_000 }, async () => {
  const { victim, gossip, peers, asked, scoreOf } = await star(2, { requestTimeoutMs: 100 });
  const [silent, honest] = peers as [P2PNetwork, P2PNetwork];
  // The honest peer's transactions left its pool: its gossip answers NOT_FOUND.
  gossipOn(honest, new Map());
  let notFound = 0;
  victim.on('NOT_FOUND', (p) => (notFound += p.ids.length));
  silent.send(victim.nodeId, 'INV', { kind: 'tx', ids: madeUp(300) });
  honest.send(victim.nodeId, 'INV', { kind: 'tx', ids: madeUp(300) });
  await until(() => gossip.stats.timeouts >= 300 && notFound >= 300, 'every request answered or timed out');
  assert.equal(scoreOf(silent), 3, '300 ids never delivered');
  assert.equal(scoreOf(honest), 0, 'NOT_FOUND is no fault');
  // Timed out, the ids left the table: the silent peer's next announcements are asked for again.
  silent.send(victim.nodeId, 'INV', { kind: 'tx', ids: madeUp(10) });
  await until(() => asked(silent) === 310, 'the silent peer asked for its new ids');
});

test("an honest peer's burst past its share is asked for as its requests settle, not lost", { timeout: 30_000 }, async () => {
  const { victim, store, peers, asked } = await star(1, { maxInFlightPerPeer: 10 });
  const honest = peers[0]!;
  const honestStore = new Map<string, unknown>();
  gossipOn(honest, honestStore);
  const ids = Array.from({ length: 35 }, (_, i) => i.toString(16).padStart(64, 'b'));
  for (const id of ids) honestStore.set(id, { id });
  // Each id is announced once on a link: the 25 past the share must not be forgotten.
  honest.send(victim.nodeId, 'INV', { kind: 'tx', ids });
  await until(() => ids.every((id) => store.has(id)), 'every announced transaction fetched');
  assert.equal(asked(honest), 35, 'each asked for once');
});
