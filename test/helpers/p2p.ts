/** Shared setup of the P2P integration tests: networks on 127.0.0.1 with ephemeral ports, stopped after the file. */
import { after } from 'node:test';
import net from 'node:net';
import { generateKeyPair, sign, type KeyPair } from '../../src/crypto/index.ts';
import { handshakeDigest, P2PNetwork, PROTOCOL_VERSION, type P2PNetworkOptions } from '../../src/p2p/index.ts';

export const CHAIN = 'test-chain';
export const GENESIS = 'ab'.repeat(32);
export const TIP = 'cd'.repeat(32);
const WAIT_MS = 15_000;

/**
 * A factory of started P2PNetworks for one test file: a public network at
 * height 3, both listeners on free ports, no keepalive pings, the given
 * defaults and then each call's overrides. Every network is stopped after the file.
 */
export function networkFactory(defaults: Partial<P2PNetworkOptions> = {}): (over?: Partial<P2PNetworkOptions>) => Promise<P2PNetwork> {
  const running: P2PNetwork[] = [];
  after(async () => {
    await Promise.all(running.map((n) => n.stop()));
  });
  return async (over = {}) => {
    const n = new P2PNetwork({
      keys: generateKeyPair(),
      network: 'public',
      chainId: CHAIN,
      genesisHash: GENESIS,
      head: () => ({ height: 3, tip: TIP }),
      wsPort: 0,
      tcpPort: 0,
      peer: { pingIntervalMs: 0 },
      ...defaults,
      ...over,
    });
    await n.start();
    running.push(n);
    return n;
  };
}

/** Polls cond every 20 ms; rejects after ms. */
export async function until(cond: () => boolean, what: string, ms = WAIT_MS): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Resolves after ms. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A network's listen address of one scheme. */
export const addr = (n: P2PNetwork, scheme: 'ws' | 'tcp'): string => n.listenAddresses().find((a) => a.startsWith(scheme)) as string;

/** True if both networks hold a link to each other. */
export const linked = (a: P2PNetwork, b: P2PNetwork): boolean => a.peerIds().includes(b.nodeId) && b.peerIds().includes(a.nodeId);

/** A hand-driven TCP peer: does the handshake line by line, then writes whatever the test wants. */
export class RawTcpPeer {
  readonly socket: net.Socket;
  readonly lines: { type: string; payload: Record<string, unknown> }[] = [];
  closed = false;
  private buf = '';

  constructor(address: string) {
    const [host, port] = address.replace('tcp://', '').split(':') as [string, string];
    this.socket = net.connect({ host, port: Number(port) });
    this.socket.on('error', () => {});
    this.socket.on('close', () => (this.closed = true));
    this.socket.on('data', (d) => {
      this.buf += d.toString('utf8');
      let i: number;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 1);
        try {
          this.lines.push(JSON.parse(line) as { type: string; payload: Record<string, unknown> });
        } catch {
          /* not ours to judge */
        }
      }
    });
  }

  write(s: string): void {
    if (!this.closed) this.socket.write(s);
  }

  send(type: string, payload: unknown): void {
    this.write(JSON.stringify({ type, payload }) + '\n');
  }

  /** Messages of this type received so far. */
  count(type: string): number {
    return this.lines.filter((l) => l.type === type).length;
  }

  find(type: string): { type: string; payload: Record<string, unknown> } | undefined {
    return this.lines.find((l) => l.type === type);
  }

  /** Completes the handshake as `keys`; returns once the node's HELLO_ACK arrived (or it disconnected). */
  async handshake(keys: KeyPair): Promise<void> {
    await until(() => this.find('HELLO') !== undefined || this.closed, 'HELLO from the node');
    const hello = this.find('HELLO');
    if (hello === undefined) return;
    this.send('HELLO', { version: PROTOCOL_VERSION, network: 'public', chainId: CHAIN, genesisHash: GENESIS, nodeId: keys.publicKey, listen: [], height: 0, tip: TIP, challenge: '00'.repeat(32), agent: 'raw' });
    const sig = sign(keys, handshakeDigest(hello.payload.challenge as string, CHAIN, GENESIS, keys.publicKey));
    this.send('HELLO_ACK', { signature: sig.toString('hex') });
    await until(() => this.find('HELLO_ACK') !== undefined || this.find('DISCONNECT') !== undefined || this.closed, 'HELLO_ACK from the node');
  }

  destroy(): void {
    this.socket.destroy();
  }
}
