/**
 * Gossip over a 20-node in-memory network (each node linked to ~3 random
 * others, connected): one announcement reaches every node, each body arrives
 * exactly once per node, INVs per node stay within its degree, rejected items
 * are not relayed and cost the sender points.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { generateKeyPair } from '../../src/crypto/index.ts';
import { Gossip, LruSet, MemoryNetwork, memoryTransport, P2PNetwork, type AcceptResult, type InvKind } from '../../src/p2p/index.ts';

const WAIT_MS = 20_000;

async function waitFor(cond: () => boolean, what: string, ms = WAIT_MS): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const idOf = (_k: InvKind, body: unknown): string | undefined => {
  const b = body as { data?: unknown };
  return typeof b.data === 'string' ? createHash('sha256').update(b.data).digest('hex') : undefined;
};

interface Sim {
  net: P2PNetwork;
  gossip: Gossip;
  store: Map<string, unknown>;
  bodies: Map<string, number>;
  invs: Map<string, number>;
  verdict: (body: { data: string }) => AcceptResult | Promise<AcceptResult>;
}

const nets: P2PNetwork[] = [];
after(async () => {
  await Promise.all(nets.map((n) => n.stop()));
});

/** n nodes on one MemoryNetwork; node i dials `extra` random others plus node i-1 (so the graph is connected). */
async function buildNetwork(n: number, extra: number, seed: number): Promise<Sim[]> {
  const mem = new MemoryNetwork();
  let s = seed;
  const rand = (): number => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const sims: Sim[] = [];
  for (let i = 0; i < n; i++) {
    const net = new P2PNetwork({
      keys: generateKeyPair(),
      network: 'public',
      chainId: 'gossip-test',
      genesisHash: 'ab'.repeat(32),
      head: () => ({ height: 0, tip: 'cd'.repeat(32) }),
      tcpPort: 0,
      transports: { tcp: memoryTransport(mem, 'tcp') },
      // No automatic dialing: the test draws the graph itself.
      targetOutbound: 0,
      maxOutbound: 16,
      peer: { pingIntervalMs: 0 },
      random: rand,
    });
    await net.start();
    nets.push(net);
    const store = new Map<string, unknown>();
    const sim: Sim = { net, gossip: undefined as unknown as Gossip, store, bodies: new Map(), invs: new Map(), verdict: () => 'accepted' };
    sim.gossip = new Gossip(net, {
      provider: { has: (k, id) => store.has(`${k}:${id}`), get: (k, id) => store.get(`${k}:${id}`) },
      idOf,
      accept: async (kind, id, body) => {
        const v = await sim.verdict(body as { data: string });
        if (v === 'accepted') store.set(`${kind}:${id}`, body);
        return v;
      },
      requestTimeoutMs: 10_000,
    }).start();
    net.on('TX', (p) => {
      const id = idOf('tx', p.tx) as string;
      sim.bodies.set(id, (sim.bodies.get(id) ?? 0) + 1);
    });
    net.on('TXS', (p) => {
      for (const tx of p.txs) {
        const id = idOf('tx', tx) as string;
        sim.bodies.set(id, (sim.bodies.get(id) ?? 0) + 1);
      }
    });
    net.on('INV', (p) => {
      for (const id of p.ids) sim.invs.set(id, (sim.invs.get(id) ?? 0) + 1);
    });
    sims.push(sim);
  }
  const edges = new Set<string>();
  const dials: Promise<unknown>[] = [];
  const link = (a: number, b: number): void => {
    const k = a < b ? `${a}-${b}` : `${b}-${a}`;
    if (a === b || edges.has(k)) return;
    edges.add(k);
    dials.push(sims[a]!.net.connect(sims[b]!.net.listenAddresses()[0]!));
  };
  for (let i = 1; i < n; i++) link(i, Math.floor(rand() * i));
  for (let i = 0; i < n; i++) for (let j = 0; j < extra; j++) link(i, Math.floor(rand() * n));
  await Promise.all(dials);
  await waitFor(() => sims.every((x) => x.net.peerIds().length > 0) && [...edges].every((e) => {
    const [a, b] = e.split('-').map(Number) as [number, number];
    return sims[a]!.net.peerIds().includes(sims[b]!.net.nodeId);
  }), 'every edge linked');
  return sims;
}

function originate(sim: Sim, data: string): string {
  const body = { data };
  const id = idOf('tx', body) as string;
  sim.store.set(`tx:${id}`, body);
  sim.gossip.announce('tx', id);
  return id;
}

describe('gossip over 20 in-memory nodes', () => {
  test('one announcement reaches every node; one body per node; INVs within each degree', async () => {
    const sims = await buildNetwork(20, 1, 7);
    const degrees = sims.map((s) => s.net.peerIds().length);
    assert.ok(degrees.reduce((a, b) => a + b, 0) / sims.length >= 2, `mean degree ${degrees}`);
    const ids = [originate(sims[0]!, 'first'), originate(sims[7]!, 'second')];
    for (const id of ids) await waitFor(() => sims.every((s) => s.store.has(`tx:${id}`)), `tx ${id.slice(0, 8)} everywhere`);
    await new Promise((r) => setTimeout(r, 200)); // let stragglers arrive, if any would
    sims.forEach((s, i) => {
      for (const id of ids) {
        const origin = s.store.get(`tx:${id}`) !== undefined && s.bodies.get(id) === undefined;
        assert.equal(s.bodies.get(id) ?? 0, origin ? 0 : 1, `node ${i} got the body of ${id.slice(0, 8)} once`);
        assert.ok((s.invs.get(id) ?? 0) <= degrees[i]!, `node ${i}: ${s.invs.get(id)} INVs > degree ${degrees[i]}`);
      }
    });
    const totalInv = sims.reduce((a, s) => a + (s.invs.get(ids[0]!) ?? 0), 0);
    const edges = degrees.reduce((a, b) => a + b, 0) / 2;
    assert.ok(totalInv <= 2 * edges, `INVs ${totalInv} within twice the edge count ${edges}`);
  });

  test('a rejected item is not relayed and costs the sender points', async () => {
    const sims = await buildNetwork(6, 0, 11);
    // A chain 0-...: node 1 rejects everything, so whatever only reaches the rest through it stops there.
    sims[1]!.verdict = () => 'rejected';
    const one = sims[1]!.net.nodeId;
    let relayedByOne = 0;
    for (const s of sims) s.net.on('INV', (_p, from) => (relayedByOne += from === one ? 1 : 0));
    const id = originate(sims[0]!, 'bad');
    await waitFor(() => sims[1]!.gossip.stats.rejected === 1, 'node 1 rejected the item');
    assert.equal(sims[1]!.net.peers().find((p) => p.id === sims[0]!.net.nodeId)?.score, 20, 'the sender lost the reject points');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(relayedByOne, 0, 'no INV relayed by the rejecting node');
    assert.equal(sims[1]!.gossip.stats.accepted, 0);
    assert.equal(sims[1]!.store.has(`tx:${id}`), false);
  });

  test('an unanswered request is re-sent to another announcer after the timeout', async () => {
    const sims = await buildNetwork(3, 0, 5);
    // Make 0 and 2 both peers of 1; 2 announces without holding the body at first.
    await sims[0]!.net.connect(sims[2]!.net.listenAddresses()[0]!);
    await sims[2]!.net.connect(sims[1]!.net.listenAddresses()[0]!);
    await waitFor(() => sims[1]!.net.peerIds().length === 2, 'node 1 has two peers');
    const body = { data: 'late' };
    const id = idOf('tx', body) as string;
    const g1 = sims[1]!.gossip as unknown as { o: { requestTimeoutMs: number } };
    g1.o.requestTimeoutMs = 100;
    // Peer A announces but never serves: it answers nothing (we send INV by hand from a node with an empty store).
    const liar = sims.find((s) => s !== sims[1] && s.net.peerIds().includes(sims[1]!.net.nodeId))!;
    const honest = sims.find((s) => s !== sims[1] && s !== liar && s.net.peerIds().includes(sims[1]!.net.nodeId));
    assert.ok(honest !== undefined);
    liar.gossip.stop(); // the liar's gossip no longer answers GET_DATA
    liar.net.send(sims[1]!.net.nodeId, 'INV', { kind: 'tx', ids: [id] });
    await new Promise((r) => setTimeout(r, 20));
    honest.store.set(`tx:${id}`, body);
    honest.net.send(sims[1]!.net.nodeId, 'INV', { kind: 'tx', ids: [id] });
    await waitFor(() => sims[1]!.store.has(`tx:${id}`), 'the body via the second announcer');
    assert.ok(sims[1]!.gossip.stats.timeouts >= 1);
  });
});

test('a block being accepted goes on once known valid, before its acceptor finishes (and only then)', async () => {
  const sims = await buildNetwork(3, 0, 5);
  // A path: the middle node has both others as peers.
  const mid = sims.find((s) => s.net.peerIds().length === 2)!;
  const [a, b] = sims.filter((s) => s !== mid) as [Sim, Sim];
  assert.ok(!a.net.peerIds().includes(b.net.nodeId), 'the ends are not linked');
  let finish!: (v: AcceptResult) => void;
  mid.verdict = () => new Promise<AcceptResult>((r) => (finish = r));
  const body = { data: 'block' };
  const id = idOf('block', body) as string;
  mid.gossip.relayValid(id); // nothing is being accepted under this id yet: a no-op
  a.store.set(`block:${id}`, body);
  a.gossip.announce('block', id);
  await waitFor(() => finish !== undefined, 'the middle node checking the block');
  mid.store.set(`block:${id}`, body); // what the node's chain holds once the block passed its checks
  mid.gossip.relayValid(id);
  await waitFor(() => b.store.has(`block:${id}`), 'the block at the far end while the middle node is still storing it');
  finish('accepted');
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(mid.gossip.stats.accepted, 1);
});

test('LruSet forgets the least recently touched', () => {
  const s = new LruSet<number>(3);
  s.add(1);
  s.add(2);
  s.add(3);
  s.add(1);
  s.add(4);
  assert.deepEqual([s.has(1), s.has(2), s.has(3), s.has(4)], [true, false, true, true]);
  assert.equal(s.size, 3);
});
