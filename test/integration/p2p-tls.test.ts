/**
 * Encrypted links for private and consortium networks, over real sockets on
 * 127.0.0.1 (ephemeral ports): wss:// and tls:// links between TLS-only
 * nodes; the certificate key must be the HELLO node id (cert-mismatch);
 * plaintext dials to a TLS-only node fail cleanly while it keeps serving a
 * good peer; a TLS-only node refuses plaintext addresses; --insecure still
 * speaks plaintext; the HELLO memberCert reaches the membership hook.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { generateKeyPair, sign, type KeyPair } from '../../src/crypto/index.ts';
import {
  handshake,
  handshakeDigest,
  HandshakeError,
  LIMITS,
  LineDecoder,
  MemoryNetwork,
  memoryTransport,
  message,
  nodeTlsIdentity,
  P2PNetwork,
  parseMessage,
  PROTOCOL_VERSION,
  tlsTransport,
  wssTransport,
  wsTransport,
  tcpTransport,
  type Connection,
  type HandshakeConfig,
  type Message,
  type P2PLogger,
  type P2PNetworkOptions,
  type PayloadOf,
  type Transport,
} from '../../src/p2p/index.ts';

const WAIT_MS = 10_000;
const CHAIN = 'tls-chain';
const GENESIS = 'ab'.repeat(32);
const TIP = 'cd'.repeat(32);

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

function within<T>(p: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, rej) => (t = setTimeout(() => rej(new Error(`${what} timed out after ${ms} ms`)), ms)))]).finally(() => clearTimeout(t));
}

/** Polls cond every 20 ms; rejects after ms. */
async function waitFor(cond: () => boolean, what: string, ms = WAIT_MS): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A logger that keeps every line, to check what a node reported. */
function recorder(): P2PLogger & { lines: { level: string; msg: string; obj: object }[] } {
  const lines: { level: string; msg: string; obj: object }[] = [];
  const at = (level: string) => (obj: object, msg: string) => void lines.push({ level, msg, obj });
  return { lines, info: at('info'), warn: at('warn'), debug: at('debug') };
}

async function node(over: Partial<P2PNetworkOptions> = {}): Promise<P2PNetwork> {
  const n = new P2PNetwork({
    keys: generateKeyPair(),
    network: 'private',
    chainId: CHAIN,
    genesisHash: GENESIS,
    head: () => ({ height: 5, tip: TIP }),
    wsPort: 0,
    tcpPort: 0,
    tls: true,
    maintenanceIntervalMs: 100,
    getAddrIntervalMs: 200,
    backoff: { baseMs: 100, maxMs: 1000 },
    peer: { pingIntervalMs: 0 },
    ...over,
  });
  await n.start();
  cleanups.push(() => n.stop());
  return n;
}

const addr = (n: P2PNetwork, scheme: 'ws' | 'wss' | 'tcp' | 'tls'): string => {
  const a = n.listenAddresses().find((x) => x.startsWith(`${scheme}://`));
  assert.ok(a !== undefined, `no ${scheme} listener in ${n.listenAddresses().join(', ')}`);
  return a;
};
const linked = (a: P2PNetwork, b: P2PNetwork): boolean => a.peerIds().includes(b.nodeId) && b.peerIds().includes(a.nodeId);

function next<T extends 'INV'>(n: P2PNetwork, type: T): Promise<[PayloadOf<T>, string]> {
  return within(new Promise((resolve) => n.once(type, ((p: PayloadOf<T>, id: string) => resolve([p, id])) as never)), `${type} at ${n.nodeId.slice(0, 8)}`);
}

const INV = { kind: 'tx' as const, ids: ['11'.repeat(32)] };

/** Checks two linked nodes carry messages both ways. */
async function exchange(a: P2PNetwork, b: P2PNetwork): Promise<void> {
  const atA = next(a, 'INV');
  assert.equal(b.send(a.nodeId, 'INV', INV), 'ok');
  assert.deepEqual(await atA, [INV, b.nodeId]);
  const atB = next(b, 'INV');
  assert.equal(a.send(b.nodeId, 'INV', INV), 'ok');
  assert.deepEqual(await atB, [INV, a.nodeId]);
}

function config(keys: KeyPair, over: Partial<HandshakeConfig> = {}): HandshakeConfig {
  return { keys, network: 'private', chainId: CHAIN, genesisHash: GENESIS, listen: [], height: 0, tip: TIP, agent: 'peerchain-test/1', ...over };
}

function closed(conn: Connection): Promise<void> {
  return conn.closeInfo !== undefined ? Promise.resolve() : within(new Promise<void>((r) => conn.once('close', () => r())), 'close');
}

const tlsTransports = (keys: KeyPair): Record<'wss' | 'tls', Transport> => {
  const id = nodeTlsIdentity(keys);
  return { wss: wssTransport(id), tls: tlsTransport(id) };
};

describe('TLS links', () => {
  for (const scheme of ['wss', 'tls'] as const) {
    test(`two TLS-only nodes over ${scheme}: handshake, messages both ways, ping`, async () => {
      const ka = generateKeyPair();
      // One node with explicit PEMs (as `peerchain init` writes them), one deriving them from its key.
      const a = await node({ keys: ka, tls: nodeTlsIdentity(ka) });
      const b = await node();
      assert.equal(a.tlsOnly, true);
      assert.deepEqual(a.listenAddresses().map((x) => x.split(':')[0]).sort(), ['tls', 'wss']);
      const res = await within(b.connect(addr(a, scheme)), 'connect');
      assert.deepEqual(res, { ok: true, status: 'connected', peerId: a.nodeId });
      await waitFor(() => linked(a, b), 'the link on both sides');
      assert.equal(b.peers()[0]?.transport, scheme);
      assert.equal(a.peers()[0]?.transport, scheme);
      await exchange(a, b);
      assert.equal(typeof (await within(b.ping(a.nodeId), 'ping')), 'number');
    });

    test(`${scheme} connections carry the peer certificate key on both ends`, async () => {
      const ka = generateKeyPair();
      const kb = generateKeyPair();
      const l = await tlsTransports(ka)[scheme].listen('127.0.0.1', 0);
      cleanups.push(() => l.close());
      const accepted = within(new Promise<Connection>((r) => l.once('connection', r)), 'accept');
      const client = await within(tlsTransports(kb)[scheme].dial(l.address), 'dial');
      cleanups.push(() => client.close());
      const server = await accepted;
      assert.equal(client.scheme, scheme);
      assert.equal(client.peerCertKey, ka.publicKey);
      assert.equal(server.peerCertKey, kb.publicKey);
      // The handshake passes when each certificate matches its HELLO.
      const [hs, hc] = await within(Promise.all([handshake(server, config(ka)), handshake(client, config(kb))]), 'handshake');
      assert.equal(hs.remote.nodeId, kb.publicKey);
      assert.equal(hc.remote.nodeId, ka.publicKey);
      // Handshaken links come back paused; resume so the close reaches the other end.
      server.resume();
      client.resume();
      client.close();
      await closed(server);
    });
  }

  test('plaintext connections have no certificate key', async () => {
    const l = await wsTransport().listen('127.0.0.1', 0);
    cleanups.push(() => l.close());
    const c = await within(wsTransport().dial(l.address), 'dial');
    assert.equal(c.peerCertKey, undefined);
    c.close();
    await closed(c);
  });
});

describe('certificate binding', () => {
  for (const scheme of ['wss', 'tls'] as const) {
    test(`${scheme}: a certificate of another key than the HELLO node id is refused with cert-mismatch (inbound)`, async () => {
      const a = await node();
      const good = await node();
      assert.equal((await within(good.connect(addr(a, scheme)), 'connect')).ok, true);
      const claimed = generateKeyPair();
      const certKeys = generateKeyPair();
      // The impostor's HELLO and challenge signature are valid for `claimed`, but its certificate is of `certKeys`.
      const conn = await within(tlsTransports(certKeys)[scheme].dial(addr(a, scheme)), 'dial');
      cleanups.push(() => conn.close());
      assert.equal(conn.peerCertKey, a.nodeId);
      const err = await within(handshake(conn, config(claimed)), 'handshake').then(
        () => assert.fail('the handshake should fail'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof HandshakeError);
      assert.equal(err.reason, 'cert-mismatch');
      assert.equal(err.remote, true);
      assert.match(err.message, /certificate key/);
      await closed(conn);
      assert.ok(!a.peerIds().includes(claimed.publicKey));
      // The node keeps serving its good peer.
      assert.ok(linked(a, good));
      await exchange(a, good);
    });

    test(`${scheme}: dialing a listener whose certificate is of another key fails with cert-mismatch (outbound)`, async () => {
      const a = await node();
      const claimed = generateKeyPair();
      const l = await tlsTransports(generateKeyPair())[scheme].listen('127.0.0.1', 0);
      cleanups.push(() => l.close());
      const seen: string[] = [];
      l.on('connection', (c) => {
        c.on('message', (inc) => {
          const p = inc.ok ? parseMessage(inc.value) : undefined;
          if (p?.ok === true && p.message.type === 'DISCONNECT') seen.push(p.message.payload.reason);
        });
        handshake(c, config(claimed)).catch(() => {});
      });
      const res = await within(a.connect(l.address), 'connect');
      assert.equal(res.ok, false);
      assert.equal(!res.ok && res.code, 'HANDSHAKE_FAILED');
      assert.match(!res.ok ? res.message : '', /cert-mismatch/);
      await waitFor(() => seen.includes('cert-mismatch'), 'the DISCONNECT at the impostor');
      assert.deepEqual(a.peerIds(), []);
    });
  }

  test('a TLS client without a certificate is refused with cert-mismatch', async () => {
    const a = await node();
    const me = generateKeyPair();
    const tcpPort = Number(addr(a, 'tls').split(':')[2]);
    // By hand, as `openssl s_client` would: TLS without a client certificate, then JSON lines.
    const socket = tls.connect({ host: '127.0.0.1', port: tcpPort, rejectUnauthorized: false, minVersion: 'TLSv1.3' });
    cleanups.push(() => void socket.destroy());
    const got: Message[] = [];
    const decoder = new LineDecoder(1 << 20);
    socket.on('data', (chunk: Buffer) =>
      decoder.push(chunk, (inc) => {
        const p = inc.ok ? parseMessage(inc.value) : undefined;
        if (p?.ok === true) got.push(p.message);
      }),
    );
    socket.on('error', () => {});
    const end = within(new Promise<void>((r) => socket.once('close', () => r())), 'the node closing the link');
    await waitFor(() => got.some((m) => m.type === 'HELLO'), 'the node HELLO');
    const theirs = got.find((m) => m.type === 'HELLO') as Message & { type: 'HELLO' };
    const hello = message('HELLO', { version: PROTOCOL_VERSION, network: 'private', chainId: CHAIN, genesisHash: GENESIS, nodeId: me.publicKey, listen: [], height: 0, tip: TIP, challenge: '00'.repeat(32), agent: 'by-hand' });
    const ack = message('HELLO_ACK', { signature: sign(me, handshakeDigest(theirs.payload.challenge, CHAIN, GENESIS, me.publicKey)).toString('hex') });
    socket.write(JSON.stringify(hello) + '\n' + JSON.stringify(ack) + '\n');
    await end;
    const disconnect = got.find((m) => m.type === 'DISCONNECT');
    assert.equal(disconnect?.type === 'DISCONNECT' && disconnect.payload.reason, 'cert-mismatch');
    assert.equal(a.peerIds().length, 0);
  });

  test('a node refuses to start with a certificate of another key', () => {
    const keys = generateKeyPair();
    assert.throws(
      () => new P2PNetwork({ keys, network: 'private', chainId: CHAIN, genesisHash: GENESIS, head: () => ({ height: 0, tip: TIP }), tls: nodeTlsIdentity(generateKeyPair()) }),
      /not this node's key/,
    );
  });
});

describe('plaintext against a TLS-only node', () => {
  test('plaintext ws and tcp dials fail cleanly; both nodes stay up and keep serving', async () => {
    const log = recorder();
    const a = await node({ log });
    const good = await node();
    assert.equal((await within(good.connect(addr(a, 'tls')), 'connect')).ok, true);
    const plain = await node({ tls: false });
    const plainPeer = await node({ tls: false });
    const wssPort = addr(a, 'wss').split(':')[2];
    const tlsPort = addr(a, 'tls').split(':')[2];
    for (const target of [`ws://127.0.0.1:${wssPort}`, `tcp://127.0.0.1:${tlsPort}`]) {
      const res = await within(plain.connect(target), `plaintext dial ${target}`);
      assert.equal(res.ok, false, target);
      assert.ok(!res.ok && ['DIAL_FAILED', 'HANDSHAKE_FAILED'].includes(res.code), JSON.stringify(res));
    }
    await waitFor(() => log.lines.filter((l) => l.msg.startsWith('inbound TLS handshake failed')).length >= 2, 'the TLS node logging both refusals');
    // A raw line of JSON, as `nc` would send it, and a raw HTTP request: refused the same way.
    for (const [port, text] of [[tlsPort, '{"type":"PING","payload":{"nonce":1}}\n'], [wssPort, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n']] as const) {
      const s = net.connect({ host: '127.0.0.1', port: Number(port) });
      s.on('error', () => {});
      s.resume();
      s.write(text);
      await within(new Promise<void>((r) => s.once('close', () => r())), 'the raw socket being closed');
    }
    assert.deepEqual(a.peerIds(), [good.nodeId]);
    await exchange(a, good);
    // The plaintext node is unharmed too: it still links to a plaintext peer.
    assert.equal((await within(plain.connect(addr(plainPeer, 'tcp')), 'plaintext connect')).ok, true);
    await exchange(plain, plainPeer);
  });

  test('a TLS client to a plaintext listener fails cleanly', async () => {
    const plain = await node({ tls: false });
    const a = await node();
    for (const [from, to] of [['ws', 'wss'], ['tcp', 'tls']] as const) {
      const target = addr(plain, from).replace(`${from}://`, `${to}://`);
      const res = await within(a.connect(target), `TLS dial ${target}`);
      assert.equal(res.ok, false, target);
    }
    assert.deepEqual(a.peerIds(), []);
    assert.deepEqual(plain.peerIds(), []);
  });

  test('a TLS-only node refuses to dial plaintext addresses, and says why', async () => {
    const log = recorder();
    const a = await node({ log, peers: ['tcp://127.0.0.1:9'] });
    for (const [target, hint] of [['ws://127.0.0.1:9', 'wss://'], ['tcp://127.0.0.1:9', 'tls://']] as const) {
      const res = await a.connect(target);
      assert.equal(res.ok, false);
      assert.equal(!res.ok && res.code, 'TLS_REQUIRED');
      assert.ok(!res.ok && res.message.includes(hint) && res.message.includes('--insecure'), JSON.stringify(res));
    }
    assert.ok(log.lines.some((l) => l.level === 'warn' && l.msg.startsWith('ignoring static peer') && l.msg.includes('--insecure')));
    assert.ok(!a.book.has('tcp://127.0.0.1:9'));
  });
});

describe('--insecure', () => {
  test('plaintext listeners and links as without TLS; TLS peers can still be dialed', async () => {
    const a = await node({ insecure: true });
    const b = await node({ insecure: true });
    assert.equal(a.tlsOnly, false);
    assert.deepEqual(a.listenAddresses().map((x) => x.split(':')[0]).sort(), ['tcp', 'ws']);
    assert.equal((await within(b.connect(addr(a, 'tcp')), 'tcp connect')).ok, true);
    await waitFor(() => linked(a, b), 'the plaintext link');
    assert.equal(b.peers()[0]?.transport, 'tcp');
    await exchange(a, b);
    const secure = await node();
    assert.equal((await within(b.connect(addr(secure, 'wss')), 'wss connect')).ok, true);
    await waitFor(() => linked(b, secure), 'the TLS link from an insecure node');
    await exchange(b, secure);
  });

  test('without tls a node speaks plaintext as before', async () => {
    const a = await node({ tls: undefined });
    const b = await node({ tls: undefined });
    assert.equal((await within(b.connect(addr(a, 'ws')), 'ws connect')).ok, true);
    await exchange(a, b);
  });
});

describe('simulated TLS over the memory transport', () => {
  test('the certificate binding holds on in-memory tls links too', async () => {
    const mem = new MemoryNetwork();
    const ka = generateKeyPair();
    const kb = generateKeyPair();
    const kc = generateKeyPair();
    const over = (keys: KeyPair, certKey: string): Partial<P2PNetworkOptions> => ({ keys, wsPort: undefined, transports: { tls: memoryTransport(mem, 'tls', { certKey }) } });
    const a = await node(over(ka, ka.publicKey));
    const b = await node(over(kb, kb.publicKey));
    const liar = await node(over(kc, kb.publicKey));
    assert.equal((await within(b.connect(addr(a, 'tls')), 'connect')).ok, true);
    await exchange(a, b);
    const res = await within(liar.connect(addr(a, 'tls')), 'liar connect');
    assert.equal(res.ok, false);
    assert.match(!res.ok ? res.message : '', /cert-mismatch/);
  });
});

describe('memberCert in HELLO', () => {
  test('the membership hook gets the peer memberCert; a node without one is refused', async () => {
    const seen: unknown[] = [];
    const a = await node({
      isMember: (_id, cert) => {
        seen.push(cert);
        return typeof cert === 'object' && cert !== null && (cert as { org?: unknown }).org === 'org1';
      },
    });
    const member = await node({ memberCert: { org: 'org1', sig: 'ee'.repeat(64) } });
    const stranger = await node();
    assert.equal((await within(member.connect(addr(a, 'tls')), 'member connect')).ok, true);
    const res = await within(stranger.connect(addr(a, 'wss')), 'stranger connect');
    assert.equal(res.ok, false);
    assert.match(!res.ok ? res.message : '', /not-member/);
    assert.deepEqual(seen, [{ org: 'org1', sig: 'ee'.repeat(64) }, undefined]);
    await exchange(a, member);
  });

  test('memberCert is bounded: a JSON object of at most 16 KiB', () => {
    const hello = (memberCert: unknown): unknown => ({
      type: 'HELLO',
      payload: { version: 1, network: 'private', chainId: CHAIN, genesisHash: GENESIS, nodeId: GENESIS, listen: [], height: 0, tip: TIP, challenge: TIP, agent: 'x', memberCert },
    });
    assert.equal(parseMessage(hello({ org: 'org1' })).ok, true);
    for (const bad of [[1], 'text', null, { big: 'x'.repeat(LIMITS.memberCertBytes) }]) assert.equal(parseMessage(hello(bad)).ok, false, JSON.stringify(bad).slice(0, 40));
    const base = { keys: generateKeyPair(), network: 'private' as const, chainId: CHAIN, genesisHash: GENESIS, head: () => ({ height: 0, tip: TIP }) };
    assert.throws(() => new P2PNetwork({ ...base, memberCert: { big: 'x'.repeat(LIMITS.memberCertBytes) } }), /memberCert/);
    assert.throws(() => new P2PNetwork({ ...base, memberCert: { n: 1n } }), /memberCert/);
  });

  test('a membership hook that throws refuses the peer instead of crashing', async () => {
    const a = await node({
      isMember: () => {
        throw new Error('bad credential');
      },
    });
    const b = await node({ memberCert: { weird: [1, 2, 3] } });
    const res = await within(b.connect(addr(a, 'tls')), 'connect');
    assert.equal(res.ok, false);
    assert.match(!res.ok ? res.message : '', /not-member/);
    assert.deepEqual(a.peerIds(), []);
  });
});
