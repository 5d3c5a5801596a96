/**
 * A transaction's id does not cover its signature, so a peer can send a copy
 * of a real transaction with the signature altered under the same id. Gossip
 * must not let that copy stand for the real one: once it is rejected the id is
 * no longer "seen", so the honest copy that follows is taken; the peers that
 * offered the id while the bad copy was being checked (by INV, by a copy of
 * their own, or as the peer already asked) are asked for theirs; and each bad
 * copy costs its sender, so resending one ends in a disconnect rather than in
 * free signature checks.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { txId, txToJson } from '../../src/core/index.ts';
import { generateKeyPair, keyPairFromSeed } from '../../src/crypto/index.ts';
import { Gossip, MemoryNetwork, memoryTransport, P2PNetwork, type InvKind } from '../../src/p2p/index.ts';
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
  victim = await NodeRuntime.start({ ...common, name: 'victim', key: keyPairFromSeed(Buffer.alloc(32, 0x71)), peers: [], store: new MemoryStore() });
  honest = await NodeRuntime.start({ ...common, name: 'honest', key: keyPairFromSeed(Buffer.alloc(32, 0x72)), peers: [], store: new MemoryStore() });
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

/** Another valid-looking signature: same length, different bytes. */
function forgeSig(sig: string): string {
  return (sig[0] === '0' ? '1' : '0') + sig.slice(1);
}

test('a copy of a transaction with a bad signature does not keep the valid one out', { timeout: 30_000 }, async () => {
  const tx = transfer(0, 2, 0, 5n);
  const attacker = await rawPeer(victim);
  attacker.send('TX', { tx: { ...txToJson(tx), sig: forgeSig(tx.sig) } });
  await until(() => victim.gossip.stats.rejected >= 1, 'the victim rejected the forged copy');
  // The honest node gets the real transaction from a client and pushes it to the victim.
  const r = honest.node.submitTx(txToJson(tx));
  assert.ok(r.ok, JSON.stringify(r));
  await until(() => victim.node.mempool.has(r.value.id), 'the valid transaction reached the victim', 5_000).catch((e: Error) => {
    throw new Error(`${e.message} (victim gossip: ${JSON.stringify(victim.gossip.stats)})`);
  });
});

test('resending a bad copy costs its sender each time, up to a disconnect', { timeout: 30_000 }, async () => {
  const tx = transfer(1, 3, 0, 7n);
  const attacker = await rawPeer(victim);
  const before = victim.gossip.stats.rejected;
  const bad = { ...txToJson(tx), sig: forgeSig(tx.sig) };
  // 20 points a bad transaction, 100 to be dropped: the fifth copy is the last one checked.
  for (let i = 1; i <= 5; i++) {
    attacker.send('TX', { tx: bad });
    await until(() => victim.gossip.stats.rejected >= before + i || attacker.closed, `copy ${i} rejected`);
  }
  await until(() => attacker.closed, 'the victim dropped the attacker');
  assert.equal(victim.gossip.stats.rejected, before + 5);
  assert.equal(victim.node.mempool.has(txId(tx)), false);
});

// ---- the copies that arrive while a bad one is being checked (gossip alone, over an in-memory network) ----

/** The id covers `data` only, as a transaction id leaves out the signature. */
const idOf = (_k: InvKind, body: unknown): string | undefined => {
  const b = body as { data?: unknown };
  return typeof b.data === 'string' ? createHash('sha256').update(b.data).digest('hex') : undefined;
};

interface Side {
  net: P2PNetwork;
  gossip: Gossip;
  store: Map<string, unknown>;
}

/**
 * A victim linked to an honest node and an attacker. The victim's acceptor
 * takes bodies whose `sig` is "good" and holds every other one until
 * `release` is called, then rejects it.
 */
async function trio(): Promise<{ victim: Side; honest: Side; attacker: P2PNetwork; checking: () => number; release: () => void; scoreOf: (id: string) => number | undefined }> {
  const mem = new MemoryNetwork();
  const side = async (accept: (id: string, body: { sig?: unknown }, store: Map<string, unknown>) => Promise<'accepted' | 'rejected'>): Promise<Side> => {
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
    const store = new Map<string, unknown>();
    const gossip = new Gossip(net, {
      provider: { has: (_k, id) => store.has(id), get: (_k, id) => store.get(id) },
      idOf,
      accept: (_kind, id, body) => accept(id, body as { sig?: unknown }, store),
    });
    return { net, gossip, store };
  };
  let held = 0;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const victim = await side(async (id, body, store) => {
    if (body.sig !== 'good') {
      held++;
      await gate;
      return 'rejected';
    }
    store.set(id, body);
    return 'accepted';
  });
  victim.gossip.start();
  const honest = await side(async () => 'accepted');
  const attacker = (await side(async () => 'accepted')).net;
  for (const n of [honest.net, attacker]) assert.ok((await n.connect(victim.net.listenAddresses()[0]!)).ok);
  await until(() => victim.net.peerIds().length === 2, 'the victim linked to both');
  return { victim, honest, attacker, checking: () => held, release, scoreOf: (id) => victim.net.peers().find((p) => p.id === id)?.score };
}

test('a copy the honest peer sends while a bad one is checked is asked for again', { timeout: 30_000 }, async () => {
  const { victim, honest, attacker, checking, release, scoreOf } = await trio();
  honest.gossip.start();
  const good = { data: 'pay', sig: 'good' };
  const id = idOf('tx', good)!;
  honest.store.set(id, good);
  attacker.send(victim.net.nodeId, 'TX', { tx: { data: 'pay', sig: 'forged' } });
  await until(() => checking() === 1, 'the victim checking the bad copy');
  honest.net.send(victim.net.nodeId, 'TX', { tx: good });
  await until(() => victim.gossip.stats.bodiesIn === 2, 'the honest copy at the victim');
  release();
  await until(() => victim.store.has(id), 'the honest copy taken');
  assert.equal(victim.gossip.stats.rejected, 1);
  assert.equal(scoreOf(attacker.nodeId), 20, 'the bad copy cost its sender');
  assert.equal(scoreOf(honest.net.nodeId), 0);
});

test('an announcement heard while a bad copy is checked is followed once it is rejected', { timeout: 30_000 }, async () => {
  const { victim, honest, attacker, checking, release } = await trio();
  honest.gossip.start();
  const good = { data: 'pay', sig: 'good' };
  const id = idOf('tx', good)!;
  honest.store.set(id, good);
  attacker.send(victim.net.nodeId, 'TX', { tx: { data: 'pay', sig: 'forged' } });
  await until(() => checking() === 1, 'the victim checking the bad copy');
  honest.net.send(victim.net.nodeId, 'INV', { kind: 'tx', ids: [id] });
  await until(() => victim.gossip.stats.invIn === 1, 'the announcement at the victim');
  release();
  await until(() => victim.store.has(id), 'the announced copy fetched and taken');
});

test('a request out to an honest peer when a bad copy arrives unasked is sent again', { timeout: 30_000 }, async () => {
  const { victim, honest, attacker, checking, release } = await trio();
  const good = { data: 'pay', sig: 'good' };
  const id = idOf('tx', good)!;
  honest.store.set(id, good);
  let asked = 0;
  honest.net.on('GET_DATA', () => asked++);
  // The honest node announces, and is slow: its gossip answers nothing until the bad copy is being checked.
  honest.net.send(victim.net.nodeId, 'INV', { kind: 'tx', ids: [id] });
  await until(() => asked === 1, 'the victim asking the honest node');
  attacker.send(victim.net.nodeId, 'TX', { tx: { data: 'pay', sig: 'forged' } });
  await until(() => checking() === 1, 'the victim checking the bad copy');
  honest.gossip.start();
  release();
  await until(() => victim.store.has(id), 'the honest copy fetched and taken');
  assert.equal(asked, 2, 'the honest node was asked again');
});
