/** What every route module receives: the node and the API's resolved options. */
import type { Logger } from '../node/logger.ts';
import type { PeerchainNode } from '../node/node.ts';
import type { ConsensusApi, FaultsApi, P2pStats, PeersApi } from './types.ts';

/** Shared state of one running API. */
export interface ApiContext {
  readonly node: PeerchainNode;
  readonly peers: PeersApi | undefined;
  readonly stats: (() => P2pStats) | undefined;
  readonly consensus: ConsensusApi | undefined;
  readonly log: Logger | undefined;
  readonly mineTimeoutMs: number;
  /** Aborted when the server closes, so long waits (mining) end at once. */
  readonly closing: AbortSignal;
  /** Testnet fault injection, when the node runs with --fault-control. */
  readonly faults?: FaultsApi;
  /** The testnet launcher's control URL, when the node runs under `peerchain testnet`. */
  readonly testnet?: { readonly control: string };
}

/** The number of connected peers (0 until the P2P layer is wired). */
export function peerCount(ctx: ApiContext): number {
  return ctx.peers?.list().length ?? 0;
}
