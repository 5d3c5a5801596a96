/**
 * P2P: messages per second one way and round trips per second through the full
 * stack (framing, schema check, handshake done, Peer objects, P2PNetwork) over
 * ws and tcp, against raw `ws` and raw `net` NDJSON measured in the same run.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { setImmediate as tick } from 'node:timers/promises';
import { WebSocket, WebSocketServer } from 'ws';
import { generateKeyPair } from '../src/crypto/index.ts';
import { P2PNetwork } from '../src/p2p/index.ts';
import { report, type BenchRow } from './report.ts';

const SECONDS = 2;
const INV = { kind: 'tx' as const, ids: ['11'.repeat(32)] };
const TEXT = JSON.stringify({ type: 'INV', payload: INV });
const HIGH_WATER = 1024 * 1024;

async function timed(seconds: number, body: (until: number) => Promise<void>, count: () => number): Promise<number> {
  await body(performance.now() + 200); // warm-up
  const c0 = count();
  const t0 = performance.now();
  await body(t0 + seconds * 1000);
  return ((count() - c0) * 1000) / (performance.now() - t0);
}

// ---- raw ceilings ----

/**
 * The two raw measurements, alike for ws and net: messages one way as fast as
 * the socket drains (500 per tick, waiting when its buffer passes HIGH_WATER),
 * then PING round trips one at a time. `end` terminates a message ('' for a
 * WebSocket frame, a newline for NDJSON).
 */
async function rawLoops(
  send: (text: string) => void,
  buffered: () => number,
  onReply: (reply: () => void) => void,
  received: () => number,
  end: string,
): Promise<{ oneWay: number; rtt: number }> {
  const line = TEXT + end;
  const oneWay = await timed(SECONDS, async (until) => {
    while (performance.now() < until) {
      for (let i = 0; i < 500; i++) send(line);
      while (buffered() > HIGH_WATER) await tick();
      await tick();
    }
  }, received);
  let rt = 0;
  const rtt = await timed(SECONDS, async (until) => {
    while (performance.now() < until) {
      await new Promise<void>((r) => {
        onReply(r);
        send(JSON.stringify({ type: 'PING', payload: { nonce: rt } }) + end);
      });
      rt++;
    }
  }, () => rt);
  return { oneWay, rtt };
}

async function rawWs(): Promise<{ oneWay: number; rtt: number }> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await new Promise((r) => server.once('listening', r));
  let got = 0;
  server.on('connection', (s) =>
    s.on('message', (d, isBinary) => {
      got++;
      if (!isBinary && d.toString().startsWith('{"type":"PING"')) s.send(d.toString());
    }),
  );
  const c = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`, { perMessageDeflate: false });
  await new Promise((r) => c.once('open', r));
  const { oneWay, rtt } = await rawLoops(
    (text) => c.send(text),
    () => c.bufferedAmount,
    (reply) => c.once('message', () => reply()),
    () => got,
    '',
  );
  c.close();
  await new Promise((r) => server.close(r));
  return { oneWay, rtt };
}

async function rawNet(): Promise<{ oneWay: number; rtt: number }> {
  let got = 0;
  const server = net.createServer({ noDelay: true }, (s) => {
    let rest = '';
    s.on('data', (d) => {
      const text = rest + d.toString();
      let start = 0;
      let i: number;
      while ((i = text.indexOf('\n', start)) >= 0) {
        got++;
        if (text.startsWith('{"type":"PING"', start)) s.write(text.slice(start, i + 1));
        start = i + 1;
      }
      rest = text.slice(start);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const c = net.connect({ port: (server.address() as AddressInfo).port, host: '127.0.0.1', noDelay: true });
  await new Promise((r) => c.once('connect', r));
  const { oneWay, rtt } = await rawLoops(
    (text) => c.write(text),
    () => c.writableLength,
    (reply) => c.once('data', () => reply()),
    () => got,
    '\n',
  );
  c.destroy();
  await new Promise((r) => server.close(r));
  return { oneWay, rtt };
}

// ---- full stack ----

async function stack(scheme: 'ws' | 'tcp'): Promise<{ oneWay: number; rtt: number }> {
  const mk = (listen: boolean): P2PNetwork =>
    new P2PNetwork({
      keys: generateKeyPair(),
      network: 'public',
      chainId: 'bench',
      genesisHash: 'ab'.repeat(32),
      head: () => ({ height: 0, tip: 'cd'.repeat(32) }),
      ...(listen ? (scheme === 'ws' ? { wsPort: 0 } : { tcpPort: 0 }) : {}),
      targetOutbound: 0,
      // The bench is a flood by design: lift the per-peer rate limits.
      peer: { pingIntervalMs: 0, rateLimits: { messagesPerSec: 1e9, messageBurst: 1e9, bytesPerSec: 1e12, byteBurst: 1e12 } },
    });
  const a = mk(true);
  const b = mk(false);
  await a.start();
  await b.start();
  const r = await b.connect(a.listenAddresses()[0]!);
  if (!r.ok) throw new Error(r.message);
  let got = 0;
  a.on('INV', () => got++);
  const oneWay = await timed(SECONDS, async (until) => {
    while (performance.now() < until) {
      for (let i = 0; i < 500; i++) if (b.send(a.nodeId, 'INV', INV) !== 'ok') break;
      await tick();
    }
  }, () => got);
  let rt = 0;
  const rtt = await timed(SECONDS, async (until) => {
    while (performance.now() < until) {
      await b.ping(a.nodeId);
      rt++;
    }
  }, () => rt);
  await Promise.all([a.stop(), b.stop()]);
  return { oneWay, rtt };
}

/** Runs the p2p bench. */
export async function run(): Promise<void> {
  const ws = await rawWs();
  const tcp = await rawNet();
  const sws = await stack('ws');
  const stcp = await stack('tcp');
  let bufferutil = false;
  try {
    await import('bufferutil' as string);
    bufferutil = true;
  } catch {
    /* optional add-on not installed */
  }
  const rows: BenchRow[] = [
    { name: 'ws one way, full stack', value: sws.oneWay, unit: 'msg/s', ceiling: ws.oneWay, ceilingName: 'raw ws', target: '>= 60%' },
    { name: 'ws round trips, full stack', value: sws.rtt, unit: 'rt/s', ceiling: ws.rtt, ceilingName: 'raw ws echo' },
    { name: 'tcp one way, full stack', value: stcp.oneWay, unit: 'msg/s', ceiling: tcp.oneWay, ceilingName: 'raw net NDJSON' },
    { name: 'tcp round trips, full stack', value: stcp.rtt, unit: 'rt/s', ceiling: tcp.rtt, ceilingName: 'raw net echo' },
  ];
  report('p2p', rows, { messageBytes: Buffer.byteLength(TEXT), seconds: SECONDS, bufferutil });
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
