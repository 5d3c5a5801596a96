/** Shared setup of the P2P integration tests: networks on 127.0.0.1 with ephemeral ports, stopped after the file. */
import { after } from 'node:test';
import { generateKeyPair } from '../../src/crypto/index.ts';
import { P2PNetwork, type P2PNetworkOptions } from '../../src/p2p/index.ts';

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
