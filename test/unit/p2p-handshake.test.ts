/** p2p/handshake: the pure state machine, and the runner and Peer driven by a fake clock. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPair, type KeyPair } from '../../src/crypto/index.ts';
import {
  handshake,
  HandshakeMachine,
  HandshakeError,
  MemoryNetwork,
  memoryTransport,
  message,
  Peer,
  type Clock,
  type Connection,
  type HandshakeAction,
  type HandshakeConfig,
  type Incoming,
  type Message,
  type PeerCloseInfo,
} from '../../src/p2p/index.ts';

const A = generateKeyPair();
const B = generateKeyPair();

function cfg(keys: KeyPair, over: Partial<HandshakeConfig> = {}): HandshakeConfig {
  return { keys, network: 'private', chainId: 'unit', genesisHash: '11'.repeat(32), listen: [], height: 3, tip: '22'.repeat(32), agent: 'unit', ...over };
}

/** What a message looks like after crossing the wire. */
function wire(m: Message | object): Incoming {
  const text = JSON.stringify(m);
  return { ok: true, value: JSON.parse(text) as unknown, bytes: text.length };
}

function sent(actions: HandshakeAction[]): Message[] {
  return actions.flatMap((a) => (a.kind === 'send' ? [a.message] : []));
}

/** A clock whose timers fire only when advanced. */
class FakeClock implements Clock {
  t = 0;
  private timers: { at: number; fn: () => void; live: boolean }[] = [];
  now(): number {
    return this.t;
  }
  setTimer(fn: () => void, ms: number): () => void {
    const timer = { at: this.t + ms, fn, live: true };
    this.timers.push(timer);
    return () => void (timer.live = false);
  }
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const due = this.timers.filter((x) => x.live && x.at <= end).sort((a, b) => a.at - b.at)[0];
      if (due === undefined) break;
      due.live = false;
      this.t = due.at;
      due.fn();
    }
    this.t = end;
  }
}

describe('handshake state machine', () => {
  test('two machines complete in lockstep', () => {
    const a = new HandshakeMachine(cfg(A));
    const b = new HandshakeMachine(cfg(B));
    const [helloA] = sent(a.start());
    const [helloB] = sent(b.start());
    const [ackA] = sent(a.receive(wire(helloB as Message)));
    const [ackB] = sent(b.receive(wire(helloA as Message)));
    assert.equal(ackA?.type, 'HELLO_ACK');
    const doneA = a.receive(wire(ackB as Message));
    const doneB = b.receive(wire(ackA as Message));
    assert.deepEqual(doneA.map((x) => x.kind), ['done']);
    assert.equal(doneA[0]?.kind === 'done' && doneA[0].remote.nodeId, B.publicKey);
    assert.equal(doneB[0]?.kind === 'done' && doneB[0].remote.height, 3);
    assert.ok(a.finished && b.finished);
    assert.deepEqual(a.receive(wire(helloB as Message)), [], 'nothing happens after the end');
  });

  test('a replayed HELLO_ACK for another challenge fails', () => {
    const a = new HandshakeMachine(cfg(A));
    const b = new HandshakeMachine(cfg(B));
    const c = new HandshakeMachine(cfg(A));
    const [helloA] = sent(a.start());
    const [helloB] = sent(b.start());
    sent(c.start());
    sent(a.receive(wire(helloB as Message)));
    sent(c.receive(wire(helloB as Message)));
    const [ackB] = sent(b.receive(wire(helloA as Message))); // answers a's challenge, not c's
    const r = c.receive(wire(ackB as Message));
    assert.equal(r[0]?.kind === 'fail' && r[0].reason, 'bad-signature');
  });

  test('order and content rules', () => {
    const hello = (keys: KeyPair): Message => sent(new HandshakeMachine(cfg(keys)).start())[0] as Message;
    const reasons = (...frames: Incoming[]): string[] => {
      const m = new HandshakeMachine(cfg(A, { isMember: (id) => id !== 'ff'.repeat(32) }));
      m.start();
      return frames.flatMap((f) => m.receive(f)).flatMap((x) => (x.kind === 'fail' ? [x.reason] : []));
    };
    assert.deepEqual(reasons(wire(message('HELLO_ACK', { signature: '00'.repeat(64) }))), ['protocol-error']);
    assert.deepEqual(reasons(wire(hello(B)), wire(hello(B))), ['protocol-error']);
    assert.deepEqual(reasons({ ok: false, error: { kind: 'bad-json', message: 'x' }, bytes: 1 }), ['protocol-error']);
    assert.deepEqual(reasons(wire({ type: 'HELLO', payload: { version: 0 } })), ['unsupported-version']);
    assert.deepEqual(reasons(wire({ type: 'HELLO', payload: {} })), ['protocol-error']);
    const remote = new HandshakeMachine(cfg(A));
    remote.start();
    const r = remote.receive(wire(message('DISCONNECT', { reason: 'banned', message: 'go away' })));
    assert.deepEqual(r, [{ kind: 'fail', reason: 'banned', message: 'go away', remote: true }]);
  });

  test('timeout fails once', () => {
    const m = new HandshakeMachine(cfg(A));
    m.start();
    const first = m.timeout();
    assert.deepEqual(first.map((x) => x.kind === 'fail' && x.reason), ['handshake-timeout']);
    assert.deepEqual(m.timeout(), []);
  });
});

describe('handshake runner and peer with a fake clock', () => {
  async function memPair(): Promise<{ server: Connection; client: Connection }> {
    const net = new MemoryNetwork();
    const t = memoryTransport(net, 'ws');
    const l = await t.listen('10.0.0.1', 6001);
    const accepted = new Promise<Connection>((r) => l.once('connection', r));
    const client = await t.dial('ws://10.0.0.1:6001');
    return { server: await accepted, client };
  }
  // Memory links deliver on timers; a chain of hops needs several timer phases, not one 5 ms wait.
  const flush = async (): Promise<void> => {
    for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, 1));
  };

  test('the deadline comes from the injected clock', async () => {
    const clock = new FakeClock();
    const { server, client } = await memPair();
    const got: Incoming[] = [];
    client.on('message', (m) => got.push(m));
    const seen: { err?: unknown } = {};
    const p = handshake(server, cfg(A, { timeoutMs: 5000 }), clock).catch((e: unknown) => (seen.err = e));
    await flush();
    clock.advance(4999);
    await flush();
    assert.equal(seen.err, undefined);
    clock.advance(1);
    const err = (await p) as unknown;
    assert.ok(err instanceof HandshakeError && err.reason === 'handshake-timeout');
    await flush();
    assert.deepEqual(got.map((m) => m.ok && (m.value as { type: string }).type), ['HELLO', 'DISCONNECT']);
  });

  test('keepalive drops a silent peer after maxMissedPongs intervals', async () => {
    const clock = new FakeClock();
    const { server, client } = await memPair();
    const [hs, hc] = await Promise.all([handshake(server, cfg(A), clock), handshake(client, cfg(B), clock)]);
    const a = new Peer(hs, { clock, pingIntervalMs: 1000, maxMissedPongs: 3 }).start();
    const b = new Peer(hc, { clock, pingIntervalMs: 0 }).start();
    const rtts: number[] = [];
    a.on('rtt', (r) => rtts.push(r));
    clock.advance(1000);
    await flush();
    assert.deepEqual(rtts, [0], 'the fake clock did not move while the pong travelled');
    b.conn.pause();
    let closed: PeerCloseInfo | undefined;
    a.on('close', (c) => (closed = c));
    for (let i = 0; i < 3; i++) {
      assert.equal(closed, undefined);
      clock.advance(1000);
      await flush();
    }
    clock.advance(1000);
    await flush();
    assert.equal(a.closed, true);
    b.conn.resume();
    await flush();
    assert.equal(closed?.reason, 'ping-timeout');
  });

  test('misbehaviour points are forgotten one a minute, so small charges do not add up to a ban on a long link', async () => {
    const clock = new FakeClock();
    const { server, client } = await memPair();
    const [hs, hc] = await Promise.all([handshake(server, cfg(A), clock), handshake(client, cfg(B), clock)]);
    const a = new Peer(hs, { clock, pingIntervalMs: 0 }).start();
    new Peer(hc, { clock, pingIntervalMs: 0 }).start();
    a.penalize(20, 'test');
    clock.advance(59_999);
    assert.equal(a.score, 20, 'nothing forgotten within the first minute');
    clock.advance(1);
    assert.equal(a.score, 19);
    clock.advance(5 * 60_000 + 30_000);
    assert.equal(a.score, 14, 'a point per whole minute');
    // An honest peer charged a point every two minutes for a day is never dropped.
    for (let i = 0; i < 720; i++) {
      a.penalize(1, 'a request timed out');
      clock.advance(120_000);
    }
    assert.equal(a.closed, false);
    assert.equal(a.score, 0);
    // A real offence still ends the link at once.
    a.penalize(100, 'invalid block');
    assert.equal(a.closed, true);
  });
});
