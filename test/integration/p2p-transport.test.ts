/**
 * p2p transports over real sockets on 127.0.0.1 (ws and tcp) and in memory:
 * round trips, ordering, frame limits, garbage, a 50 MiB line, backpressure.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { setImmediate as tick } from 'node:timers/promises';
import {
  MemoryNetwork,
  memoryTransport,
  tcpTransport,
  WS_CLOSE_TOO_BIG,
  wsTransport,
  type CloseInfo,
  type Connection,
  type Incoming,
  type Listener,
  type Transport,
  type TransportOptions,
} from '../../src/p2p/index.ts';

const WAIT_MS = 5000;

/** Rejects if p does not settle within ms. */
function within<T>(p: Promise<T>, ms = WAIT_MS, what = 'operation'): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, rej) => (t = setTimeout(() => rej(new Error(`${what} timed out after ${ms} ms`)), ms)))]).finally(() => clearTimeout(t));
}

/** Collects the next n frames from a connection. */
function frames(conn: Connection, n: number, ms = WAIT_MS): Promise<Incoming[]> {
  const got: Incoming[] = [];
  return within(
    new Promise<Incoming[]>((resolve) => {
      const on = (m: Incoming): void => {
        got.push(m);
        if (got.length === n) {
          conn.off('message', on);
          resolve(got);
        }
      };
      conn.on('message', on);
    }),
    ms,
    `waiting for ${n} frames (got ${got.length})`,
  );
}

function closed(conn: Connection, ms = WAIT_MS): Promise<CloseInfo> {
  return within(new Promise<CloseInfo>((resolve) => conn.once('close', resolve)), ms, 'waiting for close');
}

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

interface Pair {
  readonly listener: Listener;
  readonly server: Connection;
  readonly client: Connection;
}

type Kind = 'ws' | 'tcp' | 'memory';

function transportFor(kind: Kind, opts: TransportOptions, mem: MemoryNetwork): Transport {
  if (kind === 'ws') return wsTransport(opts);
  if (kind === 'tcp') return tcpTransport(opts);
  return memoryTransport(mem, 'tcp', opts);
}

/** A listener and one connected pair; everything is closed after the suite. */
async function pair(kind: Kind, serverOpts: TransportOptions = {}, clientOpts: TransportOptions = {}): Promise<Pair> {
  const mem = new MemoryNetwork();
  const listener = await transportFor(kind, serverOpts, mem).listen('127.0.0.1', 0);
  cleanups.push(() => listener.close());
  const accepted = within(new Promise<Connection>((resolve) => listener.on('connection', resolve)), WAIT_MS, 'accept');
  const client = await within(transportFor(kind, clientOpts, mem).dial(listener.address), WAIT_MS, 'dial');
  cleanups.push(() => client.close());
  const server = await accepted;
  return { listener, server, client };
}

/** A raw TCP socket to a listener, for sending bytes no well-behaved peer would. */
async function rawSocket(listener: Listener): Promise<net.Socket> {
  const s = net.connect({ host: '127.0.0.1', port: listener.port });
  cleanups.push(() => void s.destroy());
  await within(new Promise<void>((resolve, reject) => s.once('connect', resolve).once('error', reject)), WAIT_MS, 'raw connect');
  return s;
}

for (const kind of ['ws', 'tcp', 'memory'] as const) {
  describe(`${kind} transport`, () => {
    test('listens on an ephemeral port and round-trips messages both ways', async () => {
      const { listener, server, client } = await pair(kind);
      assert.match(listener.address, kind === 'ws' ? /^ws:\/\/127\.0\.0\.1:\d+$/ : /^tcp:\/\/127\.0\.0\.1:\d+$/);
      assert.ok(listener.port > 0);
      assert.equal(client.direction, 'outbound');
      assert.equal(server.direction, 'inbound');
      assert.match(server.remoteAddress, /^127\.0\.0\.1:\d+$/);
      const toServer = frames(server, 1);
      assert.equal(client.send({ type: 'PING', payload: { nonce: 1 }, text: 'héllo\nworld' }), 'ok');
      assert.deepEqual((await toServer)[0], { ok: true, value: { type: 'PING', payload: { nonce: 1 }, text: 'héllo\nworld' }, bytes: Buffer.byteLength(JSON.stringify({ type: 'PING', payload: { nonce: 1 }, text: 'héllo\nworld' })) });
      const toClient = frames(client, 1);
      server.send([1, 'two', null]);
      assert.deepEqual((await toClient)[0], { ok: true, value: [1, 'two', null], bytes: 14 });
    });

    test('many messages arrive in order', async () => {
      const { server, client } = await pair(kind, {}, { highWaterMark: 64 * 1024 * 1024 });
      const n = 20_000;
      const got = frames(server, n, 20_000);
      for (let i = 0; i < n; i++) assert.equal(client.send({ seq: i, pad: 'x'.repeat(i % 50) }), 'ok');
      const msgs = await got;
      msgs.forEach((m, i) => assert.ok(m.ok && (m.value as { seq: number }).seq === i, `message ${i} out of order`));
    });

    test('refuses to send a message over its own frame limit', async () => {
      const { client } = await pair(kind, {}, { maxFrameBytes: 100 });
      assert.equal(client.send({ s: 'x'.repeat(200) }), 'too-large');
      assert.equal(client.send({ s: 'x'.repeat(50) }), 'ok');
      assert.equal(client.send({ big: 10n }), 'too-large', 'an unencodable value is refused, not thrown');
    });

    test('a frame over the receiver limit is a framing error', async () => {
      const { server, client } = await pair(kind, { maxFrameBytes: 1024 }, {});
      const got = frames(server, 1);
      const clientClosed = kind === 'ws' ? closed(client) : undefined;
      client.send({ s: 'x'.repeat(2048) });
      const [m] = await got;
      assert.ok(m !== undefined && !m.ok && m.error.kind === 'oversized');
      if (kind === 'ws') {
        // WebSocket: the library closes with 1009 (message too big) and says so.
        const info = await (clientClosed as Promise<CloseInfo>);
        assert.equal(info.code, WS_CLOSE_TOO_BIG);
        assert.equal(info.local, false);
      } else {
        // Line framing recovers at the next newline: the link stays usable.
        const next = frames(server, 1);
        client.send({ after: true });
        assert.deepEqual((await next)[0], { ok: true, value: { after: true }, bytes: 14 });
      }
    });

    test('close() delivers queued messages first, then close on both sides', async () => {
      const { server, client } = await pair(kind);
      const got = frames(server, 3);
      const serverClosed = closed(server);
      const clientClosed = closed(client);
      client.send(1);
      client.send(2);
      client.send(3);
      client.close('bye', 4000);
      assert.equal(client.send(4), 'closed');
      assert.deepEqual((await got).map((m) => m.ok && m.value), [1, 2, 3]);
      const s = await serverClosed;
      assert.equal(s.local, false);
      if (kind !== 'tcp') assert.equal(s.reason, 'bye');
      assert.equal((await clientClosed).local, true);
    });

    test('backpressure: a peer that does not read makes send report full instead of queueing', async () => {
      const hwm = 256 * 1024;
      const { server, client } = await pair(kind, {}, { highWaterMark: hwm });
      server.pause();
      const chunk = 'y'.repeat(64 * 1024);
      let sent = 0;
      let result = 'ok';
      const cap = 256 * 1024 * 1024;
      while (sent * chunk.length < cap) {
        result = client.send({ i: sent, chunk });
        if (result !== 'ok') break;
        sent++;
        if (sent % 8 === 0) await tick();
      }
      assert.equal(result, 'full', `sent ${sent} x 64 KiB without being told the buffer is full`);
      assert.ok(client.bufferedBytes <= hwm + chunk.length + 100, `buffered ${client.bufferedBytes}`);
      const drained = within(client.drained(), WAIT_MS, 'drain');
      const got = frames(server, sent, 20_000);
      server.resume();
      await drained;
      const msgs = await got;
      assert.equal((msgs.at(-1) as { ok: true; value: { i: number } }).value.i, sent - 1);
      assert.equal(client.send({ after: true }), 'ok');
    });

    test('the listener closes its accepted connections', async () => {
      const { listener, client } = await pair(kind);
      const c = closed(client);
      await within(listener.close(), WAIT_MS, 'listener close');
      await c;
    });
  });
}

describe('dial errors', () => {
  test('a wrong scheme or a malformed address is refused', async () => {
    await assert.rejects(tcpTransport().dial('ws://127.0.0.1:1'), /not a tcp:\/\/ address/);
    await assert.rejects(wsTransport().dial('tcp://127.0.0.1:1'), /not a ws:\/\/ address/);
    await assert.rejects(tcpTransport().dial('tcp://nope'), /not a tcp:\/\/ address/);
  });
  test('a closed port rejects', async () => {
    const l = await tcpTransport().listen('127.0.0.1', 0);
    const port = l.port;
    await l.close();
    await assert.rejects(within(tcpTransport().dial(`tcp://127.0.0.1:${port}`)));
    await assert.rejects(within(wsTransport().dial(`ws://127.0.0.1:${port}`)));
  });
});

describe('tcp framing against raw sockets', () => {
  test('garbage, truncated lines and recovery', async () => {
    const listener = await tcpTransport().listen('127.0.0.1', 0);
    cleanups.push(() => listener.close());
    const accepted = within(new Promise<Connection>((resolve) => listener.on('connection', resolve)));
    const s = await rawSocket(listener);
    const server = await accepted;
    const got = frames(server, 4);
    s.write('garbage\n{"unterminated":\n\x00\x01\xff\n');
    s.write('{"ok":');
    s.write('1}\n{"truncated":tr');
    const msgs = await got;
    assert.deepEqual(msgs.map((m) => (m.ok ? m.value : m.error.kind)), ['bad-json', 'bad-json', 'bad-json', { ok: 1 }]);
    // A truncated last line at close is dropped, and closing does not emit a frame for it.
    const late: Incoming[] = [];
    server.on('message', (m) => late.push(m));
    const c = closed(server);
    s.end();
    await c;
    assert.deepEqual(late, []);
  });

  test('a 50 MiB line is discarded without buffering it', async () => {
    const listener = await tcpTransport().listen('127.0.0.1', 0);
    cleanups.push(() => listener.close());
    const accepted = within(new Promise<Connection>((resolve) => listener.on('connection', resolve)));
    const s = await rawSocket(listener);
    const server = await accepted;
    const got = frames(server, 2, 30_000);
    const block = Buffer.alloc(1024 * 1024, 0x61);
    // Received chunks are garbage as soon as they are scanned. RSS also counts garbage V8 has
    // not collected yet, so the test collects often and checks two figures: the RSS peak, and
    // the buffer bytes still alive right after each collection (what the decoder retains).
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    gc();
    const before = process.memoryUsage();
    let peakRss = before.rss;
    let peakLive = before.arrayBuffers;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
      gc();
      peakLive = Math.max(peakLive, process.memoryUsage().arrayBuffers);
    }, 10);
    try {
      for (let i = 0; i < 50; i++) {
        if (!s.write(block)) await within(new Promise((r) => s.once('drain', r)), 10_000, 'raw drain');
      }
      s.write('\n{"after":"giant"}\n');
      const msgs = await got;
      assert.deepEqual(msgs.map((m) => (m.ok ? m.value : m.error.kind)), ['oversized', { after: 'giant' }]);
    } finally {
      clearInterval(sampler);
    }
    const MiB = 1024 * 1024;
    const rss = (peakRss - before.rss) / MiB;
    const live = (peakLive - before.arrayBuffers) / MiB;
    console.log(`# 50 MiB line: peak rss growth ${rss.toFixed(1)} MiB, peak live buffers ${live.toFixed(1)} MiB`);
    assert.ok(live < 8, `buffers alive after GC grew by ${live.toFixed(1)} MiB`);
    assert.ok(rss < 25, `rss grew by ${rss.toFixed(1)} MiB`);
  });
});

describe('ws framing against raw frames', () => {
  /** Performs a WebSocket upgrade by hand on a raw socket. */
  async function rawWs(listener: Listener): Promise<net.Socket> {
    const s = await rawSocket(listener);
    const head = new Promise<void>((resolve) => {
      let buf = '';
      const on = (d: Buffer): void => {
        buf += d.toString('latin1');
        if (buf.includes('\r\n\r\n')) {
          s.off('data', on);
          resolve();
        }
      };
      s.on('data', on);
    });
    s.write(
      'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    await within(head, WAIT_MS, 'upgrade');
    return s;
  }

  /** A masked client frame header announcing `len` payload bytes. */
  function frameHeader(opcode: number, len: number): Buffer {
    const h = Buffer.alloc(14);
    h[0] = 0x80 | opcode;
    h[1] = 0x80 | 127;
    h.writeBigUInt64BE(BigInt(len), 2);
    h.writeUInt32BE(0, 10); // zero mask: payload bytes pass unchanged
    return h;
  }

  test('garbage text and binary frames are framing errors; the link stays open', async () => {
    const listener = await wsTransport().listen('127.0.0.1', 0);
    cleanups.push(() => listener.close());
    const accepted = within(new Promise<Connection>((resolve) => listener.on('connection', resolve)));
    const s = await rawWs(listener);
    const server = await accepted;
    const got = frames(server, 3);
    for (const [op, text] of [[1, '{not json'], [2, '{"a":1}'], [1, '{"a":1}']] as const) {
      s.write(Buffer.concat([frameHeader(op, text.length), Buffer.from(text)]));
    }
    const msgs = await got;
    assert.deepEqual(msgs.map((m) => (m.ok ? m.value : m.error.kind)), ['bad-json', 'binary', { a: 1 }]);
  });

  test('a frame announcing 50 MiB is refused from its header with 1009', async () => {
    const listener = await wsTransport().listen('127.0.0.1', 0);
    cleanups.push(() => listener.close());
    const accepted = within(new Promise<Connection>((resolve) => listener.on('connection', resolve)));
    const s = await rawWs(listener);
    const server = await accepted;
    const got = frames(server, 1);
    const c = closed(server);
    const reply = new Promise<Buffer>((resolve) => s.once('data', resolve));
    s.write(frameHeader(1, 50 * 1024 * 1024));
    s.write(Buffer.alloc(64 * 1024, 0x61));
    const [m] = await got;
    assert.ok(m !== undefined && !m.ok && m.error.kind === 'oversized');
    const closeFrame = await within(reply);
    assert.equal(closeFrame[0], 0x88, 'a close frame');
    assert.equal(closeFrame.readUInt16BE(2), 1009);
    assert.equal((await c).code, 1009);
  });
});
