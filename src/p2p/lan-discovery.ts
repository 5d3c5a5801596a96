/**
 * LAN discovery: UDP multicast beacons announcing a node's chain and listen
 * addresses. A beacon only adds addresses to the address book; the handshake
 * still decides who becomes a peer, so a forged beacon costs one failed dial.
 */
import dgram from 'node:dgram';
import { z } from 'zod';
import type { NetworkKind } from '../core/index.ts';
import { CHAIN_ID_RE } from '../core/index.ts';
import { addressError } from './address.ts';
import type { P2PLogger } from './logger.ts';
import { silentLogger } from './logger.ts';

/** Default multicast group and port of LAN beacons. */
export const LAN_GROUP = '239.255.42.99';
export const LAN_PORT = 46000;
/** Largest beacon: one unfragmented datagram on any ordinary LAN. */
export const MAX_BEACON_BYTES = 1200;
const MAX_BEACON_LISTEN = 8;

/** What a beacon says. */
export interface Beacon {
  readonly network: NetworkKind;
  readonly chainId: string;
  readonly genesisHash: string;
  readonly nodeId: string;
  readonly listen: readonly string[];
}

const hex32 = z.string().regex(/^[0-9a-f]{64}$/);
const beaconSchema = z.strictObject({
  peerchain: z.literal(1),
  network: z.enum(['public', 'private', 'consortium']),
  chainId: z.string().regex(CHAIN_ID_RE),
  genesisHash: hex32,
  nodeId: hex32,
  listen: z
    .array(z.string().refine((s) => addressError(s) === undefined))
    .min(1)
    .max(MAX_BEACON_LISTEN),
});

/** Encodes a beacon as a JSON datagram, dropping listen addresses that would not fit. */
export function encodeBeacon(b: Beacon): Buffer {
  const listen = b.listen.slice(0, MAX_BEACON_LISTEN);
  for (;;) {
    const buf = Buffer.from(JSON.stringify({ peerchain: 1, network: b.network, chainId: b.chainId, genesisHash: b.genesisHash, nodeId: b.nodeId, listen }));
    if (buf.length <= MAX_BEACON_BYTES || listen.length <= 1) return buf;
    listen.pop();
  }
}

/** Decodes a datagram; undefined if it is oversized, not JSON or not a beacon. Never throws. */
export function decodeBeacon(buf: Buffer): Beacon | undefined {
  if (buf.length > MAX_BEACON_BYTES) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(buf.toString('utf8'));
  } catch {
    return undefined;
  }
  const p = beaconSchema.safeParse(v);
  if (!p.success) return undefined;
  const { network, chainId, genesisHash, nodeId, listen } = p.data;
  return { network, chainId, genesisHash, nodeId, listen };
}

/** Settings of LAN discovery. */
export interface LanDiscoveryOptions {
  readonly group?: string;
  readonly port?: number;
  /** Local interface address for multicast (tests use 127.0.0.1); default: the OS's choice. */
  readonly interface?: string;
  /** Beacon interval (default 30 s); one is also sent at start. */
  readonly intervalMs?: number;
  /** Deliver our own beacons to other processes on this host (default true: several nodes per machine are common). */
  readonly loopback?: boolean;
  /** Multicast TTL (default 1: never leaves the LAN). */
  readonly ttl?: number;
}

/** Sends and receives beacons; calls onPeer with the addresses of matching beacons from other nodes. */
export class LanDiscovery {
  private socket: dgram.Socket | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly group: string;
  private readonly port: number;
  /** Datagrams received and beacons accepted, for tests and metrics. */
  readonly counts = { received: 0, accepted: 0, ignored: 0 };

  constructor(
    private readonly self: () => Beacon,
    private readonly onPeer: (nodeId: string, listen: readonly string[]) => void,
    private readonly opts: LanDiscoveryOptions = {},
    private readonly log: P2PLogger = silentLogger,
  ) {
    this.group = opts.group ?? LAN_GROUP;
    this.port = opts.port ?? LAN_PORT;
  }

  /** Binds the multicast socket and starts beaconing. */
  async start(): Promise<void> {
    const s = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    s.on('error', (err) => this.log.warn({ err: err.message }, 'lan discovery socket error'));
    s.on('message', (buf) => this.onDatagram(buf));
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.bind(this.port, () => {
        s.off('error', reject);
        resolve();
      });
    });
    s.addMembership(this.group, this.opts.interface);
    if (this.opts.interface !== undefined) s.setMulticastInterface(this.opts.interface);
    s.setMulticastLoopback(this.opts.loopback ?? true);
    s.setMulticastTTL(this.opts.ttl ?? 1);
    s.unref();
    this.socket = s;
    this.beacon();
    this.timer = setInterval(() => this.beacon(), this.opts.intervalMs ?? 30_000);
    this.timer.unref();
  }

  /** Sends one beacon now (no-op if stopped or there is nothing to announce). */
  beacon(): void {
    const b = this.self();
    if (this.socket === undefined || b.listen.length === 0) return;
    this.socket.send(encodeBeacon(b), this.port, this.group, (err) => {
      if (err) this.log.debug({ err: err.message }, 'lan beacon not sent');
    });
  }

  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    const s = this.socket;
    this.socket = undefined;
    if (s !== undefined) await new Promise<void>((r) => s.close(() => r()));
  }

  private onDatagram(buf: Buffer): void {
    this.counts.received++;
    const b = decodeBeacon(buf);
    const me = this.self();
    if (b === undefined || b.network !== me.network || b.chainId !== me.chainId || b.genesisHash !== me.genesisHash || b.nodeId === me.nodeId) {
      this.counts.ignored++;
      return;
    }
    this.counts.accepted++;
    this.onPeer(b.nodeId, b.listen);
  }
}
