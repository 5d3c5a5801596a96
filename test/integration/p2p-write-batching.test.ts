/**
 * Write batching in the socket transports: frames sent in one tick leave in
 * one write (the socket is corked until the tick's synchronous work is done),
 * arrive complete and in order over ws, tcp, wss and tls, and backpressure
 * still holds while corked. A payload broadcast to several links is encoded
 * once. Gossip answers a request for many transactions with TXS frames and
 * pushes a node's own new transactions without an INV round trip.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { generateKeyPair } from '../../src/crypto/index.ts';
import {
  Gossip,
  MemoryNetwork,
  memoryTransport,
  nodeTlsIdentity,
  P2PNetwork,
  tcpTransport,
  tlsTransport,
  WriteBatcher,
  wssTransport,
  wsTransport,
  type Connection,
  type Incoming,
  type InvKind,
  type Transport,
} from '../../src/p2p/index.ts';

const WAIT_MS = 10_000;
const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function waitFor(cond: () => boolean, what: string, ms = WAIT_MS): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('WriteBatcher', () => {
  test('corks once per tick and uncorks when the synchronous work is done', async () => {
    const calls: string[] = [];
    const socket = { cork: () => calls.push('cork'), uncork: () => calls.push('uncork') };
    const b = new WriteBatcher(socket);
    for (let i = 0; i < 100; i++) b.batch();
    assert.deepEqual(calls, ['cork'], 'corked at the first write, once');
    await Promise.resolve();
    assert.deepEqual(calls, ['cork', 'uncork'], 'uncorked in a microtask');
    b.batch();
    b.batch();
    await Promise.resolve();
    assert.deepEqual(calls, ['cork', 'uncork', 'cork', 'uncork'], 'the next tick batches again');
  });
});

type Kind = 'ws' | 'tcp' | 'wss' | 'tls';

function transport(kind: Kind, opts: { highWaterMark?: number } = {}): Transport {
  const id = nodeTlsIdentity(generateKeyPair());
  if (kind === 'ws') return wsTransport(opts);
  if (kind === 'tcp') return tcpTransport(opts);
  if (kind === 'wss') return wssTransport(id, opts);
  return tlsTransport(id, opts);
}

async function pair(kind: Kind, clientOpts: { highWaterMark?: number } = {}): Promise<{ server: Connection; client: Connection }> {
  const listener = await transport(kind).listen('127.0.0.1', 0);
  cleanups.push(() => listener.close());
  const accepted = new Promise<Connection>((resolve) => listener.on('connection', resolve));
  const client = await transport(kind, clientOpts).dial(listener.address);
  cleanups.push(() => client.close());
  const server = await accepted;
  return { server, client };
}

function collect(conn: Connection, n: number): Promise<Incoming[]> {
  const got: Incoming[] = [];
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`got ${got.length} of ${n} frames`)), WAIT_MS);
    conn.on('message', (m) => {
      got.push(m);
      if (got.length === n) {
        clearTimeout(t);
        resolve(got);
      }
    });
  });
}

for (const kind of ['ws', 'tcp', 'wss', 'tls'] as const) {
  describe(`${kind}: frames of one tick`, () => {
    test('a burst sent in one tick arrives complete and in order', async () => {
      const { server, client } = await pair(kind, { highWaterMark: 64 * 1024 * 1024 });
      const n = 5000;
      const got = collect(server, n);
      for (let i = 0; i < n; i++) assert.equal(client.send({ type: 'PING', payload: { nonce: i }, pad: 'x'.repeat(i % 40) }), 'ok');
      const msgs = await got;
      msgs.forEach((m, i) => assert.ok(m.ok && (m.value as { payload: { nonce: number } }).payload.nonce === i, `frame ${i} out of order`));
    });

    test('backpressure holds while corked: bytes of this tick count, send reports full, drained() resolves after the flush', async () => {
      const { server, client } = await pair(kind, { highWaterMark: 64 * 1024 });
      let sent = 0;
      const frame = { type: 'PING', payload: { nonce: 0 }, pad: 'y'.repeat(1000) };
      while (client.send(frame) === 'ok') sent++;
      assert.ok(sent >= 60 && sent < 200, `${sent} frames accepted before full`);
      assert.ok(client.bufferedBytes > 64 * 1024, 'the corked bytes are counted');
      const got = collect(server, sent);
      await client.drained();
      assert.equal((await got).length, sent);
      assert.equal(client.send(frame), 'ok', 'sends again once drained');
    });
  });
}

describe('one encoding per broadcast', () => {
  test('the same payload sent on two links in one tick is encoded once and arrives intact on both', async () => {
    const a = await pair('tcp');
    const b = await pair('ws');
    const payload = { block: { txs: Array.from({ length: 300 }, (_, i) => ({ i, data: 'z'.repeat(100) })) } };
    const ga = collect(a.server, 1);
    const gb = collect(b.server, 1);
    const calls: number[] = [];
    const realStringify = JSON.stringify;
    JSON.stringify = ((v: unknown, ...rest: []) => {
      calls.push(1);
      return realStringify(v, ...rest);
    }) as typeof JSON.stringify;
    try {
      assert.equal(a.client.send({ type: 'BLOCK', payload }), 'ok');
      assert.equal(b.client.send({ type: 'BLOCK', payload }), 'ok');
    } finally {
      JSON.stringify = realStringify;
    }
    assert.equal(calls.length, 1, 'encoded once for both links');
    for (const m of [...(await ga), ...(await gb)]) assert.deepEqual(m.ok && m.value, { type: 'BLOCK', payload });
  });
});

describe('transaction gossip in batches', () => {
  const idOf = (_k: InvKind, body: unknown): string | undefined => {
    const d = (body as { data?: unknown }).data;
    return typeof d === 'string' ? createHash('sha256').update(d).digest('hex') : undefined;
  };

  async function node(mem: MemoryNetwork) {
    const net = new P2PNetwork({
      keys: generateKeyPair(),
      network: 'public',
      chainId: 'batching-test',
      genesisHash: 'ab'.repeat(32),
      head: () => ({ height: 0, tip: 'cd'.repeat(32) }),
      tcpPort: 0,
      transports: { tcp: memoryTransport(mem, 'tcp') },
      targetOutbound: 0,
      peer: { pingIntervalMs: 0 },
    });
    await net.start();
    cleanups.push(() => net.stop());
    const store = new Map<string, unknown>();
    const gossip = new Gossip(net, {
      provider: { has: (k, id) => store.has(`${k}:${id}`), get: (k, id) => store.get(`${k}:${id}`) },
      idOf,
      accept: async (kind, id, body) => {
        store.set(`${kind}:${id}`, body);
        return 'accepted';
      },
    }).start();
    cleanups.push(() => gossip.stop());
    const seen = { TX: 0, TXS: 0, INV: 0, GET_DATA: 0 };
    for (const t of ['TX', 'TXS', 'INV', 'GET_DATA'] as const) net.on(t, () => seen[t]++);
    return { net, gossip, store, seen };
  }

  test("a node's own transactions are pushed in one TXS frame per peer; a request for many is answered with TXS", async () => {
    const mem = new MemoryNetwork();
    const [a, b, c] = [await node(mem), await node(mem), await node(mem)];
    await b.net.connect(a.net.listenAddresses()[0]!);
    await c.net.connect(b.net.listenAddresses()[0]!);
    await waitFor(() => a.net.peerIds().length === 1 && b.net.peerIds().length === 2 && c.net.peerIds().length === 1, 'a line a-b-c');
    // a admits 50 transactions of its own (as from its API) in one tick.
    const ids: string[] = [];
    for (let i = 0; i < 50; i++) {
      const body = { data: `tx-${i}` };
      const id = idOf('tx', body)!;
      a.store.set(`tx:${id}`, body);
      a.gossip.announce('tx', id);
      ids.push(id);
    }
    await waitFor(() => ids.every((id) => b.store.has(`tx:${id}`) && c.store.has(`tx:${id}`)), 'every transaction at b and c');
    assert.equal(b.seen.TXS, 1, 'b got all 50 in one pushed TXS frame');
    assert.equal(b.seen.TX, 0);
    assert.equal(a.seen.GET_DATA, 0, 'nobody had to ask a for them');
    // b relayed them to c by INV (c might have them from elsewhere); c asked once and got one TXS answer.
    assert.equal(c.seen.INV >= 1, true);
    assert.equal(b.seen.GET_DATA, 1);
    assert.equal(c.seen.TXS, 1);
  });
});
