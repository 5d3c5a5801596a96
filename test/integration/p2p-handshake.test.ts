/**
 * p2p handshake and peers over real sockets: ws, tcp and mixed links; every
 * failure reason reaches the other side as a DISCONNECT; slow-drip timeout;
 * PING/PONG RTT; keepalive drop; misbehaviour and flood disconnects.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { generateKeyPair, sign, type KeyPair } from '../../src/crypto/index.ts';
import {
  handshake,
  handshakeDigest,
  HandshakeError,
  message,
  parseMessage,
  Peer,
  PROTOCOL_VERSION,
  tcpTransport,
  wsTransport,
  type Connection,
  type HandshakeConfig,
  type Handshaken,
  type Listener,
  type PeerCloseInfo,
  type PeerOptions,
  type Transport,
} from '../../src/p2p/index.ts';

const WAIT_MS = 5000;
const GENESIS = 'ab'.repeat(32);
const TIP = 'cd'.repeat(32);

function within<T>(p: Promise<T>, ms = WAIT_MS, what = 'operation'): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, rej) => (t = setTimeout(() => rej(new Error(`${what} timed out after ${ms} ms`)), ms)))]).finally(() => clearTimeout(t));
}

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

const transports: Record<'ws' | 'tcp', Transport> = { ws: wsTransport(), tcp: tcpTransport() };

function config(keys: KeyPair, over: Partial<HandshakeConfig> = {}): HandshakeConfig {
  return { keys, network: 'public', chainId: 'test-chain', genesisHash: GENESIS, listen: [], height: 0, tip: TIP, agent: 'peerchain-test/1', ...over };
}

async function listen(kind: 'ws' | 'tcp'): Promise<Listener> {
  const l = await transports[kind].listen('127.0.0.1', 0);
  cleanups.push(() => l.close());
  return l;
}

/** Dials a listener and returns both ends of the link. */
async function link(l: Listener): Promise<{ server: Connection; client: Connection }> {
  const accepted = within(new Promise<Connection>((resolve) => l.once('connection', resolve)), WAIT_MS, 'accept');
  const scheme = l.address.startsWith('ws') ? 'ws' : 'tcp';
  const client = await within(transports[scheme].dial(l.address), WAIT_MS, 'dial');
  cleanups.push(() => client.close());
  return { server: await accepted, client };
}

/** Records every DISCONNECT a connection receives, whatever layer is listening. */
function disconnectsSeen(conn: Connection): { reason: string; message: string }[] {
  const seen: { reason: string; message: string }[] = [];
  conn.on('message', (inc) => {
    if (!inc.ok) return;
    const p = parseMessage(inc.value);
    if (p.ok && p.message.type === 'DISCONNECT') seen.push(p.message.payload);
  });
  return seen;
}

function closedConn(conn: Connection): Promise<void> {
  return conn.closeInfo !== undefined ? Promise.resolve() : within(new Promise<void>((r) => conn.once('close', () => r())), WAIT_MS, 'close');
}

type Outcome = { ok: true; h: Handshaken } | { ok: false; err: HandshakeError };

function outcome(p: Promise<Handshaken>): Promise<Outcome> {
  return within(
    p.then(
      (h) => ({ ok: true as const, h }),
      (err: unknown) => {
        assert.ok(err instanceof HandshakeError, String(err));
        return { ok: false as const, err };
      },
    ),
  );
}

/** Runs both handshakes of one link; returns outcomes and the DISCONNECTs each side received. */
async function shake(l: Listener, serverCfg: HandshakeConfig, clientCfg: HandshakeConfig) {
  const { server, client } = await link(l);
  const serverSaw = disconnectsSeen(server);
  const clientSaw = disconnectsSeen(client);
  const [s, c] = await Promise.all([outcome(handshake(server, serverCfg)), outcome(handshake(client, clientCfg))]);
  return { s, c, serverSaw, clientSaw, server, client };
}

const A = generateKeyPair();
const B = generateKeyPair();
const C = generateKeyPair();

describe('handshake succeeds', () => {
  for (const kind of ['ws', 'tcp'] as const) {
    test(`over ${kind}`, async () => {
      const l = await listen(kind);
      const r = await shake(l, config(A, { height: 7, listen: [l.address] }), config(B));
      assert.ok(r.s.ok && r.c.ok);
      assert.equal(r.s.h.remote.nodeId, B.publicKey);
      assert.equal(r.c.h.remote.nodeId, A.publicKey);
      assert.equal(r.c.h.remote.height, 7);
      assert.deepEqual(r.c.h.remote.listen, [l.address]);
      assert.equal(r.c.h.version, PROTOCOL_VERSION);
    });
  }

  test('mixed: one node linked over ws and tcp at once, peers talk on both', async () => {
    const lws = await listen('ws');
    const ltcp = await listen('tcp');
    const connected = new Set<string>();
    const aCfg = config(A, { listen: [lws.address, ltcp.address], isConnected: (id) => connected.has(id) });
    const viaWs = await shake(lws, aCfg, config(B));
    assert.ok(viaWs.s.ok && viaWs.c.ok);
    connected.add(B.publicKey);
    const viaTcp = await shake(ltcp, aCfg, config(C));
    assert.ok(viaTcp.s.ok && viaTcp.c.ok);
    const aToB = new Peer(viaWs.s.h, { pingIntervalMs: 0 }).start();
    const bToA = new Peer(viaWs.c.h, { pingIntervalMs: 0 }).start();
    const aToC = new Peer(viaTcp.s.h, { pingIntervalMs: 0 }).start();
    const cToA = new Peer(viaTcp.c.h, { pingIntervalMs: 0 }).start();
    const inv = { kind: 'block' as const, ids: ['11'.repeat(32)] };
    const atB = within(new Promise((r) => bToA.once('INV', r)));
    const atC = within(new Promise((r) => cToA.once('INV', r)));
    assert.equal(aToB.send('INV', inv), 'ok');
    assert.equal(aToC.send('INV', inv), 'ok');
    assert.deepEqual(await atB, inv);
    assert.deepEqual(await atC, inv);
    assert.equal(aToB.conn.scheme, 'ws');
    assert.equal(aToC.conn.scheme, 'tcp');
    for (const p of [aToB, bToA, aToC, cToA]) p.disconnect('shutdown');
  });

  test('a message sent right after the handshake is not lost', async () => {
    const l = await listen('tcp');
    const { server, client } = await link(l);
    // The client builds its Peer and sends at once; the server builds its Peer a bit later.
    const [hs, hc] = await Promise.all([within(handshake(server, config(A))), within(handshake(client, config(B)))]);
    const cPeer = new Peer(hc, { pingIntervalMs: 0 }).start();
    cPeer.send('GET_ADDR', {});
    cPeer.send('PING', { nonce: 5 });
    await new Promise((r) => setTimeout(r, 50));
    const got: string[] = [];
    const sPeer = new Peer(hs, { pingIntervalMs: 0 });
    sPeer.on('message', (m) => got.push(m.type));
    sPeer.start();
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(got, ['GET_ADDR', 'PING']);
    cPeer.disconnect('shutdown');
  });

  test('a newer peer version is accepted and spoken at ours', async () => {
    const l = await listen('tcp');
    const { server, client } = await link(l);
    const res = outcome(handshake(server, config(A)));
    const challenge = await new Promise<string>((resolve) =>
      client.on('message', (inc) => {
        const p = inc.ok ? parseMessage(inc.value) : undefined;
        if (p?.ok && p.message.type === 'HELLO') resolve(p.message.payload.challenge);
      }),
    );
    const hello = { version: PROTOCOL_VERSION + 1, network: 'public', chainId: 'test-chain', genesisHash: GENESIS, nodeId: B.publicKey, listen: [], height: 0, tip: TIP, challenge: '00'.repeat(32), agent: 'future', futureField: { x: 1 } };
    client.send({ type: 'HELLO', payload: hello });
    client.send(message('HELLO_ACK', { signature: sign(B, handshakeDigest(challenge, 'test-chain', GENESIS, B.publicKey)).toString('hex') }));
    const r = await res;
    assert.ok(r.ok);
    assert.equal(r.h.version, PROTOCOL_VERSION);
  });
});

describe('handshake failures reach the other side as DISCONNECT', () => {
  const cases: { name: string; reason: string; server: HandshakeConfig; client: HandshakeConfig }[] = [
    { name: 'network kind', reason: 'wrong-network', server: config(A), client: config(B, { network: 'private' }) },
    { name: 'chain id', reason: 'wrong-network', server: config(A), client: config(B, { chainId: 'other-chain' }) },
    { name: 'genesis', reason: 'wrong-genesis', server: config(A), client: config(B, { genesisHash: 'ef'.repeat(32) }) },
    { name: 'self', reason: 'self-connection', server: config(A), client: config(A) },
    { name: 'duplicate', reason: 'duplicate-connection', server: config(A, { isConnected: (id) => id === B.publicKey }), client: config(B) },
    { name: 'membership', reason: 'not-member', server: config(A, { isMember: (id) => [A.publicKey, C.publicKey].includes(id) }), client: config(B) },
  ];
  for (const kind of ['ws', 'tcp'] as const) {
    for (const c of cases) {
      test(`${kind}: ${c.name} -> ${c.reason}`, async () => {
        const l = await listen(kind);
        const r = await shake(l, c.server, c.client);
        assert.ok(!r.s.ok && !r.c.ok, 'both sides fail');
        // The server rejects in every case; the client saw its DISCONNECT (and for symmetric
        // checks, rejected too with the same reason).
        assert.equal(r.s.err.reason, c.reason);
        assert.equal(r.c.err.reason, c.reason);
        await closedConn(r.client);
        assert.ok(r.clientSaw.some((d) => d.reason === c.reason), `client saw ${JSON.stringify(r.clientSaw)}`);
        assert.ok(r.clientSaw.every((d) => d.message.length > 0));
      });
    }
  }

  test('membership: a listed node is admitted', async () => {
    const l = await listen('tcp');
    const r = await shake(l, config(A, { isMember: (id) => [A.publicKey, C.publicKey].includes(id) }), config(C));
    assert.ok(r.s.ok && r.c.ok);
  });

  /** A hand-driven client: waits for the server's HELLO and returns its challenge. */
  async function rawClient(kind: 'ws' | 'tcp', serverCfg: HandshakeConfig) {
    const l = await listen(kind);
    const { server, client } = await link(l);
    const saw = disconnectsSeen(client);
    const res = outcome(handshake(server, serverCfg));
    const challenge = within(
      new Promise<string>((resolve) =>
        client.on('message', (inc) => {
          const p = inc.ok ? parseMessage(inc.value) : undefined;
          if (p?.ok && p.message.type === 'HELLO') resolve(p.message.payload.challenge);
        }),
      ),
    );
    return { client, saw, res, challenge };
  }

  const helloFrom = (keys: KeyPair, over: Record<string, unknown> = {}) => ({
    type: 'HELLO',
    payload: { version: PROTOCOL_VERSION, network: 'public', chainId: 'test-chain', genesisHash: GENESIS, nodeId: keys.publicKey, listen: [], height: 0, tip: TIP, challenge: '00'.repeat(32), agent: 'raw', ...over },
  });

  for (const kind of ['ws', 'tcp'] as const) {
    test(`${kind}: unsupported-version`, async () => {
      const r = await rawClient(kind, config(A));
      r.client.send(helloFrom(B, { version: 0 }));
      const o = await r.res;
      assert.ok(!o.ok && o.err.reason === 'unsupported-version');
      await closedConn(r.client);
      assert.deepEqual(r.saw.map((d) => d.reason), ['unsupported-version']);
    });

    test(`${kind}: bad-signature (claims a key it does not hold)`, async () => {
      const r = await rawClient(kind, config(A));
      r.client.send(helloFrom(B));
      const challenge = await r.challenge;
      // Signed by C while claiming B.
      r.client.send(message('HELLO_ACK', { signature: sign(C, handshakeDigest(challenge, 'test-chain', GENESIS, B.publicKey)).toString('hex') }));
      const o = await r.res;
      assert.ok(!o.ok && o.err.reason === 'bad-signature');
      await closedConn(r.client);
      assert.deepEqual(r.saw.map((d) => d.reason), ['bad-signature']);
    });

    test(`${kind}: bad-signature (a signature for another chain)`, async () => {
      const r = await rawClient(kind, config(A));
      r.client.send(helloFrom(B));
      const challenge = await r.challenge;
      r.client.send(message('HELLO_ACK', { signature: sign(B, handshakeDigest(challenge, 'other-chain', GENESIS, B.publicKey)).toString('hex') }));
      const o = await r.res;
      assert.ok(!o.ok && o.err.reason === 'bad-signature');
      await closedConn(r.client);
    });

    test(`${kind}: protocol-error (a message before HELLO, garbage)`, async () => {
      for (const bad of [message('PING', { nonce: 1 }), { type: 'WAT', payload: {} }, message('HELLO_ACK', { signature: '00'.repeat(64) })]) {
        const r = await rawClient(kind, config(A));
        r.client.send(bad);
        const o = await r.res;
        assert.ok(!o.ok && o.err.reason === 'protocol-error', JSON.stringify(bad));
        await closedConn(r.client);
        assert.deepEqual(r.saw.map((d) => d.reason), ['protocol-error']);
      }
    });

    test(`${kind}: handshake-timeout when the peer never answers`, async () => {
      const r = await rawClient(kind, config(A, { timeoutMs: 300 }));
      const o = await r.res;
      assert.ok(!o.ok && o.err.reason === 'handshake-timeout');
      await closedConn(r.client);
      assert.deepEqual(r.saw.map((d) => d.reason), ['handshake-timeout']);
    });
  }

  test('slow-drip HELLO over raw tcp times out', async () => {
    const l = await listen('tcp');
    const accepted = within(new Promise<Connection>((resolve) => l.once('connection', resolve)));
    const s = net.connect({ host: '127.0.0.1', port: l.port });
    cleanups.push(() => void s.destroy());
    let received = '';
    s.on('data', (d: Buffer) => (received += d.toString('utf8')));
    const ended = within(new Promise<void>((r) => s.once('close', () => r())), WAIT_MS, 'raw close');
    const res = outcome(handshake(await accepted, config(A, { timeoutMs: 400 })));
    const text = JSON.stringify(helloFrom(B)) + '\n';
    let i = 0;
    const drip = setInterval(() => {
      if (i < text.length && !s.destroyed) s.write(text[i++] as string);
    }, 30);
    try {
      const o = await res;
      assert.ok(!o.ok && o.err.reason === 'handshake-timeout');
      await ended;
    } finally {
      clearInterval(drip);
    }
    assert.ok(i < text.length, 'timed out before the HELLO was complete');
    const lines = received.trim().split('\n').map((x) => JSON.parse(x) as { type: string; payload: { reason?: string } });
    assert.deepEqual(lines.map((x) => x.type), ['HELLO', 'DISCONNECT']);
    assert.equal(lines[1]?.payload.reason, 'handshake-timeout');
  });
});

describe('peers', () => {
  async function peers(kind: 'ws' | 'tcp', aOpts: PeerOptions = {}, bOpts: PeerOptions = {}) {
    const l = await listen(kind);
    const r = await shake(l, config(A), config(B));
    assert.ok(r.s.ok && r.c.ok);
    const a = new Peer(r.s.h, aOpts).start();
    const b = new Peer(r.c.h, bOpts).start();
    cleanups.push(() => {
      a.disconnect('shutdown');
      b.disconnect('shutdown');
    });
    return { a, b, aSaw: r.serverSaw, bSaw: r.clientSaw };
  }
  const closedPeer = (p: Peer, ms = WAIT_MS) => within(new Promise<PeerCloseInfo>((r) => p.once('close', r)), ms, 'peer close');

  for (const kind of ['ws', 'tcp'] as const) {
    test(`${kind}: PING/PONG measures round-trip time`, async () => {
      const { a, b } = await peers(kind, { pingIntervalMs: 0 }, { pingIntervalMs: 0 });
      const rtt = await within(a.ping());
      assert.ok(rtt >= 0 && rtt < 1000, `rtt ${rtt}`);
      assert.equal(a.rtt, rtt);
      const rtts = await Promise.all([b.ping(), b.ping(), b.ping()]);
      assert.equal(rtts.length, 3);
    });

    test(`${kind}: keepalive emits rtt, and a peer that stops answering is dropped`, async () => {
      const { a, b, bSaw } = await peers(kind, { pingIntervalMs: 40, maxMissedPongs: 2 }, { pingIntervalMs: 0 });
      const rtt = await within(new Promise<number>((r) => a.once('rtt', r)));
      assert.ok(rtt >= 0);
      b.conn.pause(); // b stops reading, so it never answers
      const info = await closedPeer(a);
      assert.equal(info.reason, 'ping-timeout');
      assert.equal(info.by, 'local');
      b.conn.resume();
      const bInfo = await closedPeer(b);
      assert.equal(bInfo.reason, 'ping-timeout');
      assert.equal(bInfo.by, 'remote');
      assert.ok(bSaw.some((d) => d.reason === 'ping-timeout'));
    });

    test(`${kind}: misbehaviour threshold disconnects`, async () => {
      const { a, b } = await peers(kind, { pingIntervalMs: 0 }, { pingIntervalMs: 0 });
      const penalties: string[] = [];
      b.on('misbehaviour', (p) => penalties.push(p.reason));
      const bClosed = closedPeer(b);
      const aClosed = closedPeer(a);
      const raw = a.conn;
      for (let i = 0; i < 4; i++) raw.send({ type: 'NOPE', payload: {} }); // 4 x 5
      for (let i = 0; i < 3; i++) raw.send({ type: 'PING', payload: { nonce: -1 } }); // 3 x 10
      raw.send(message('HELLO_ACK', { signature: '00'.repeat(64) })); // 20
      for (let i = 0; i < 10; i++) raw.send({ type: 'INV', payload: { kind: 'tx', ids: ['x'] } }); // 10 x 10
      const info = await bClosed;
      assert.equal(info.reason, 'misbehaviour');
      assert.equal(info.by, 'local');
      assert.ok(info.score >= 100);
      assert.deepEqual(penalties.slice(0, 8), ['unknown-type', 'unknown-type', 'unknown-type', 'unknown-type', 'schema', 'schema', 'schema', 'protocol']);
      const aInfo = await aClosed;
      assert.equal(aInfo.reason, 'misbehaviour');
      assert.equal(aInfo.by, 'remote');
      assert.match(aInfo.message, /score \d+ reached 100/);
    });

    test(`${kind}: a flood over the rate limit costs points and ends in disconnect`, async () => {
      const { a, b } = await peers(kind, { pingIntervalMs: 0 }, { pingIntervalMs: 0, rateLimits: { messagesPerSec: 50, messageBurst: 50, bytesPerSec: 1 << 20, byteBurst: 1 << 22 } });
      let pongs = 0;
      a.on('PONG', () => pongs++);
      const bClosed = closedPeer(b);
      const aClosed = closedPeer(a);
      for (let i = 0; i < 200; i++) a.send('PING', { nonce: i });
      const info = await bClosed;
      assert.equal(info.reason, 'misbehaviour');
      assert.equal((await aClosed).reason, 'misbehaviour');
      // The burst (50) plus what the bucket refills while the flood is in flight.
      assert.ok(pongs >= 40 && pongs <= 70, `answered ${pongs} of 200 pings`);
    });
  }

  test('typed events carry payloads; bad frames from a peer never throw', async () => {
    const { a, b } = await peers('tcp', { pingIntervalMs: 0 }, { pingIntervalMs: 0 });
    const got = within(new Promise((r) => b.once('GET_HEADERS', r)));
    a.send('GET_HEADERS', { locator: ['22'.repeat(32)], limit: 10 });
    assert.deepEqual(await got, { locator: ['22'.repeat(32)], limit: 10 });
    assert.equal(b.score, 0);
  });
});
