/**
 * Robustness: while a well-behaved peer exchanges PING/PONG with a node,
 * other sockets send garbage, truncated lines, a 50 MiB line, a slow-drip
 * handshake, binary and oversized ws frames and a message flood. The node
 * keeps serving the good peer (its RTTs keep coming) and never crashes.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { WebSocket } from 'ws';
import { generateKeyPair, sign, type KeyPair } from '../../src/crypto/index.ts';
import { handshakeDigest, P2PNetwork, PROTOCOL_VERSION } from '../../src/p2p/index.ts';

const CHAIN = 'robust-chain';
const GENESIS = 'ab'.repeat(32);
const TIP = 'cd'.repeat(32);
const sockets: { destroy(): void }[] = [];
const nets: P2PNetwork[] = [];
after(async () => {
  for (const s of sockets) s.destroy();
  await Promise.all(nets.map((n) => n.stop()));
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** A bound on a wait that must not keep the process alive once the test is done. */
const bound = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms).unref());

async function waitFor(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}

async function node(over: Partial<ConstructorParameters<typeof P2PNetwork>[0]> = {}): Promise<P2PNetwork> {
  const n = new P2PNetwork({ keys: generateKeyPair(), network: 'public', chainId: CHAIN, genesisHash: GENESIS, head: () => ({ height: 0, tip: TIP }), wsPort: 0, tcpPort: 0, peer: { pingIntervalMs: 0 }, ...over });
  await n.start();
  nets.push(n);
  return n;
}

function tcpSocket(address: string): net.Socket {
  const [host, port] = address.replace('tcp://', '').split(':') as [string, string];
  const s = net.connect({ host, port: Number(port) });
  s.on('error', () => {});
  // Read (and drop) what the node says, or its hang-up would never be noticed.
  s.resume();
  sockets.push(s);
  return s;
}

function closed(s: net.Socket): Promise<void> {
  return s.destroyed ? Promise.resolve() : new Promise((r) => s.once('close', () => r()));
}

/** Writes n bytes without a newline, honouring backpressure; stops when the node hangs up. */
async function hugeLine(s: net.Socket, n: number): Promise<number> {
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  let sent = 0;
  while (sent < n && !s.destroyed && s.writable) {
    if (!s.write(chunk)) await Promise.race([new Promise((r) => s.once('drain', r)), closed(s), bound(2000)]);
    sent += chunk.length;
  }
  return sent;
}

/** A raw TCP client that completes the handshake and then floods PINGs. */
async function flooder(address: string, keys: KeyPair): Promise<{ socket: net.Socket; disconnect: () => string | undefined }> {
  const s = tcpSocket(address);
  let buf = '';
  const got: { type: string; payload: Record<string, unknown> }[] = [];
  s.on('data', (d) => {
    buf += d.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      try {
        got.push(JSON.parse(buf.slice(0, i)) as { type: string; payload: Record<string, unknown> });
      } catch {
        /* ignore */
      }
      buf = buf.slice(i + 1);
    }
  });
  await waitFor(() => got.some((m) => m.type === 'HELLO'), 'HELLO');
  const hello = got.find((m) => m.type === 'HELLO')!;
  s.write(JSON.stringify({ type: 'HELLO', payload: { version: PROTOCOL_VERSION, network: 'public', chainId: CHAIN, genesisHash: GENESIS, nodeId: keys.publicKey, listen: [], height: 0, tip: TIP, challenge: '00'.repeat(32), agent: 'flood' } }) + '\n');
  s.write(JSON.stringify({ type: 'HELLO_ACK', payload: { signature: sign(keys, handshakeDigest(hello.payload.challenge as string, CHAIN, GENESIS, keys.publicKey)).toString('hex') } }) + '\n');
  await waitFor(() => got.some((m) => m.type === 'HELLO_ACK'), 'HELLO_ACK');
  return { socket: s, disconnect: () => got.find((m) => m.type === 'DISCONNECT')?.payload.reason as string | undefined };
}

test('a node keeps serving a good peer while others send garbage, huge lines, slow drips and floods', { timeout: 120_000 }, async () => {
  const a = await node({ handshakeTimeoutMs: 1500 });
  const good = await node({ wsPort: undefined, tcpPort: undefined });
  const tcp = a.listenAddresses().find((x) => x.startsWith('tcp'))!;
  const ws = a.listenAddresses().find((x) => x.startsWith('ws'))!;
  assert.ok((await good.connect(tcp)).ok);

  const rtts: number[] = [];
  let pinging = true;
  const pinger = (async () => {
    while (pinging) {
      try {
        rtts.push(await good.ping(a.nodeId, 5000));
      } catch {
        /* counted by the assertion below as a missing RTT */
      }
      await sleep(25);
    }
  })();

  const attacks: Promise<unknown>[] = [];
  // Garbage bytes, with and without newlines.
  for (let i = 0; i < 3; i++) {
    const s = tcpSocket(tcp);
    attacks.push((async () => {
      for (let j = 0; j < 40 && !s.destroyed; j++) {
        s.write(randomBytes(512));
        s.write('\n}{not json\n');
        await sleep(10);
      }
      s.destroy();
    })());
  }
  // Truncated lines: half a message, then the socket goes away.
  for (let i = 0; i < 20; i++) {
    const s = tcpSocket(tcp);
    s.write('{"type":"PING","payl');
    attacks.push(sleep(20).then(() => s.destroy()));
  }
  // A 50 MiB line: dropped as soon as it crosses the frame limit.
  const big = tcpSocket(tcp);
  const heapBefore = process.memoryUsage().heapUsed;
  attacks.push((async () => {
    await hugeLine(big, 50 * 1024 * 1024);
    await Promise.race([closed(big), bound(10_000)]);
    assert.ok(big.destroyed, 'the node hung up on the huge line');
    // The line was discarded as it streamed in, never held whole.
    assert.ok(process.memoryUsage().heapUsed - heapBefore < 40 * 1024 * 1024, 'heap stayed bounded');
  })());
  // Slow-drip handshake: one byte every 50 ms never completes in time.
  const drip = tcpSocket(tcp);
  attacks.push((async () => {
    const text = JSON.stringify({ type: 'HELLO', payload: { version: 1 } });
    for (const ch of text) {
      if (drip.destroyed) break;
      drip.write(ch);
      await sleep(50);
    }
    await closed(drip);
  })());
  // WebSocket abuse: binary frames, bad JSON, an oversized frame.
  attacks.push((async () => {
    const w = new WebSocket(ws);
    sockets.push({ destroy: () => w.terminate() });
    w.on('error', () => {});
    await new Promise((r) => w.once('open', r));
    w.send(randomBytes(100));
    w.send('not json');
    w.send('x'.repeat(5 * 1024 * 1024));
    await new Promise((r) => w.once('close', r));
  })());
  // A flood from a handshaken peer: rate limits turn it into a misbehaviour disconnect.
  const fl = await flooder(tcp, generateKeyPair());
  attacks.push((async () => {
    const line = Buffer.from(JSON.stringify({ type: 'PING', payload: { nonce: 1 } }) + '\n');
    const batch = Buffer.concat(Array.from({ length: 500 }, () => line));
    for (let i = 0; i < 200 && !fl.socket.destroyed; i++) {
      if (!fl.socket.write(batch)) await Promise.race([new Promise((r) => fl.socket.once('drain', r)), closed(fl.socket), bound(1000)]);
    }
    await Promise.race([closed(fl.socket), bound(10_000)]);
  })());

  const before = rtts.length;
  await Promise.all(attacks);
  await sleep(300);
  pinging = false;
  await pinger;
  assert.equal(fl.disconnect(), 'misbehaviour', 'the flooder was dropped for misbehaviour');
  assert.ok(drip.destroyed, 'the slow drip was dropped');
  assert.ok(rtts.length - before >= 5, `RTTs kept coming during the attacks (${rtts.length - before})`);
  assert.ok(a.peerIds().includes(good.nodeId), 'the good peer is still connected');
  assert.ok(await good.ping(a.nodeId, 5000) >= 0);
  assert.deepEqual(a.peerIds(), [good.nodeId]);
});
