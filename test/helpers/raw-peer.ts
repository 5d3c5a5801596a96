/**
 * A hand-driven TCP peer for hostile-peer tests: it completes the HELLO
 * handshake with whatever it claims (height, listen addresses), then writes
 * what the test wants, and can stop reading to play a slow reader.
 */
import net from 'node:net';
import { generateKeyPair, sign, type KeyPair } from '../../src/crypto/index.ts';
import { handshakeDigest, PROTOCOL_VERSION } from '../../src/p2p/index.ts';

/** One NDJSON line the node sent. */
export interface Line {
  type: string;
  payload: Record<string, unknown>;
}

/** A TCP peer driven line by line by a test. */
export class RawPeer {
  readonly socket: net.Socket;
  readonly lines: Line[] = [];
  closed = false;
  private buf = '';
  private listeners: ((l: Line) => void)[] = [];

  constructor(
    address: string,
    readonly keys: KeyPair = generateKeyPair(),
  ) {
    const [host, port] = address.replace(/^tcp:\/\//, '').split(':') as [string, string];
    this.socket = net.connect({ host, port: Number(port) });
    this.socket.on('error', () => {});
    this.socket.on('close', () => (this.closed = true));
    this.socket.on('data', (d) => {
      this.buf += d.toString('utf8');
      let i: number;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        const text = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 1);
        let l: Line;
        try {
          l = JSON.parse(text) as Line;
        } catch {
          continue;
        }
        this.lines.push(l);
        if (this.lines.length > 10_000) this.lines.splice(0, 5_000);
        for (const f of this.listeners) f(l);
      }
    });
  }

  /** Calls `f` for every line read from now on. */
  onLine(f: (l: Line) => void): void {
    this.listeners.push(f);
  }

  /** Writes one message; false once closed or when the socket buffer is full. */
  send(type: string, payload: unknown): boolean {
    if (this.closed) return false;
    return this.socket.write(JSON.stringify({ type, payload }) + '\n');
  }

  /** The first line of this type read so far. */
  find(type: string): Line | undefined {
    return this.lines.find((l) => l.type === type);
  }

  /** How many lines of this type were read so far. */
  count(type: string): number {
    return this.lines.filter((l) => l.type === type).length;
  }

  /** Completes the handshake; `over` replaces HELLO fields (height, listen...). Resolves true once linked. */
  async handshake(over: Record<string, unknown> = {}, ms = 10_000): Promise<boolean> {
    await until(() => this.find('HELLO') !== undefined || this.closed, 'HELLO from the node', ms);
    const hello = this.find('HELLO');
    if (hello === undefined) return false;
    const p = hello.payload as { chainId: string; genesisHash: string; network: string; tip: string };
    this.send('HELLO', {
      version: PROTOCOL_VERSION,
      network: p.network,
      chainId: p.chainId,
      genesisHash: p.genesisHash,
      nodeId: this.keys.publicKey,
      listen: [],
      height: 0,
      tip: p.genesisHash,
      challenge: '00'.repeat(32),
      agent: 'raw-peer-test',
      ...over,
    });
    const sig = sign(this.keys, handshakeDigest(hello.payload.challenge as string, p.chainId, p.genesisHash, this.keys.publicKey));
    this.send('HELLO_ACK', { signature: sig.toString('hex') });
    await until(() => this.find('HELLO_ACK') !== undefined || this.find('DISCONNECT') !== undefined || this.closed, 'HELLO_ACK', ms);
    return this.find('HELLO_ACK') !== undefined && this.find('DISCONNECT') === undefined && !this.closed;
  }

  /** Closes the socket at once. */
  destroy(): void {
    this.socket.destroy();
  }
}

/** Waits, bounded, until `cond` holds. */
export async function until(cond: () => boolean, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Resolves after `ms`. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A raw peer linked to a node's TCP listener that answers its PINGs; added to `all` for cleanup. */
export async function linkedRawPeer(to: { readonly net: { listenAddresses(): readonly string[] } }, all: RawPeer[]): Promise<RawPeer> {
  const p = new RawPeer(to.net.listenAddresses().find((a) => a.startsWith('tcp'))!);
  all.push(p);
  p.onLine((l) => {
    if (l.type === 'PING') p.send('PONG', { nonce: l.payload.nonce });
  });
  if (!(await p.handshake())) throw new Error('the raw peer could not link');
  return p;
}
