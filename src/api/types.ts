/** Public types of the HTTP API: options, the P2P hooks it calls, and the JSON it answers. */
import type { Hash, JsonValue, TxJson } from '../core/index.ts';
import type { Logger } from '../node/logger.ts';
import type { NodeStatus } from '../node/node.ts';

/** One connected peer as `GET /api/peers` lists it (the P2P layer fills it in). */
export interface PeerInfo {
  /** The peer's node id (its public key, hex). */
  readonly id: string;
  /** `ws://host:port` or `tcp://host:port`. */
  readonly address: string;
  readonly direction: 'inbound' | 'outbound';
  readonly height?: number;
  readonly rttMs?: number;
}

/** What the P2P layer answers when asked to add a peer. */
export type AddPeerResult =
  | { readonly ok: true; readonly status: 'connected' | 'connecting' | 'known' }
  | { readonly ok: false; readonly code: string; readonly message: string };

/**
 * The P2P layer's side of `GET/POST /api/peers`. `add` receives an address
 * already checked by p2p's addressError and should settle once the dial is
 * queued or refused, not after the handshake.
 */
export interface PeersApi {
  list(): readonly PeerInfo[];
  add(address: string): Promise<AddPeerResult>;
  /** What each peer says it is linked to (P2P GET_PEERS/PEERS), for the explorer's graph only; absent: nothing known. */
  reported?(): readonly ReportedLinks[];
}

/** A connected peer's own report of the nodes it is linked to: unverified, shown, never acted on. */
export interface ReportedLinks {
  /** The reporting peer's node id. */
  readonly id: string;
  /** Wall-clock ms when the report arrived. */
  readonly at: number;
  readonly peers: readonly { readonly id: string; readonly rttMs?: number }[];
}

/** Message counters for /metrics, from the P2P layer once it is wired. */
export interface P2pStats {
  readonly messagesIn: number;
  readonly messagesOut: number;
}

/** Limits of the event stream. */
export interface EventStreamOptions {
  /** Most WebSocket clients at once; more are refused with 503. */
  readonly maxClients?: number;
  /** A client whose unsent backlog exceeds this many bytes is disconnected. */
  readonly maxBufferedBytes?: number;
  /** Ping interval; a client that misses a pong by the next ping is dropped. */
  readonly heartbeatMs?: number;
}

/** How to start the API. */
/** `POST /api/txs/batch`: one result per transaction, in order. */
export interface SubmitBatchView {
  accepted: number;
  results: ({ id: string } | { error: { code: string; message: string } })[];
}

/** A vote as the consensus views show it: who voted for what. */
export interface VoteView {
  readonly validator: string;
  readonly blockHash: string | null;
}

/** GET /api/consensus on a BFT network. */
export interface ConsensusView {
  readonly type: 'bft';
  readonly height: number;
  readonly round: number;
  readonly step: string;
  readonly validator: boolean;
  readonly validators: readonly string[];
  readonly proposer: string | undefined;
  readonly lockedRound: number;
  readonly prevotes: readonly VoteView[];
  readonly precommits: readonly VoteView[];
  readonly lastCommit: { readonly height: number; readonly round: number; readonly signers: number } | undefined;
}

/** Two conflicting votes signed by one validator. */
export interface EvidenceView {
  readonly validator: string;
  readonly height: number;
  readonly round: number;
  readonly type: string;
  readonly blockHashes: readonly (string | null)[];
  /** The height of the block that put it on chain, or null while it waits for a proposer. */
  readonly recordedAt: number | null;
  /** The state record that holds it: GET /api/records/<key, URL-encoded>. */
  readonly recordKey: string;
}

/** What the consensus routes read (BFT networks only). */
export interface ConsensusApi {
  status(): ConsensusView;
  evidence(): readonly EvidenceView[];
}

/** `GET/POST /api/faults`: the faults a testnet node emulates. */
export interface FaultsView {
  /** Node ids whose links are cut and whose handshakes are refused. */
  readonly block: readonly string[];
  /** Emulated latency added to every message this node sends. */
  readonly delayMs: number;
}

/** The P2P layer's fault injection, offered only by a node started with --fault-control. */
export interface FaultsApi {
  get(): FaultsView;
  /** Sets the faults; an omitted field keeps its value. */
  set(f: { readonly block?: readonly string[]; readonly delayMs?: number }): FaultsView;
}

export interface ApiOptions {
  readonly host: string;
  readonly port: number;
  /** Bearer token for mutating requests; mandatory when the host is not a loopback address. */
  readonly token?: string;
  readonly peers?: PeersApi;
  readonly stats?: () => P2pStats;
  readonly consensus?: ConsensusApi;
  readonly log?: Logger;
  /** Largest request body in bytes (default 1 MiB). */
  readonly bodyLimit?: number;
  /** How long POST /api/mine waits before answering 202 while mining goes on (default 60 s). */
  readonly mineTimeoutMs?: number;
  readonly events?: EventStreamOptions;
  /** Testnet fault injection (`--fault-control`); absent: /api/faults answers 404. */
  readonly faults?: FaultsApi;
  /** The launcher's control URL when run by `peerchain testnet`, reported read-only in /api/network. */
  readonly testnet?: { readonly control: string };
}

/** A running API server. */
export interface ApiServer {
  readonly url: string;
  close(): Promise<void>;
}

/** Every error answer. */
export interface ErrorBody {
  error: { code: string; message: string };
}

/** `GET /api/status`. */
export interface StatusView extends NodeStatus {
  peers: number;
  syncing: boolean;
}

/** A transaction as the API shows it: its JSON form plus id and size. */
export type TxView = TxJson & { id: Hash; size: number };

/** A block without its transactions. */
export interface BlockSummaryView {
  hash: Hash;
  height: number;
  mainChain: boolean;
  /** Blocks on top of this one, itself included; 0 off the main chain. */
  confirmations: number;
  timestamp: number;
  prevHash: Hash;
  txCount: number;
  header: {
    version: number;
    chainId: string;
    height: number;
    prevHash: Hash;
    timestamp: number;
    txRoot: Hash;
    stateRoot: Hash;
    bits: number;
    nonce: number;
    proposer: string;
  };
}

/** `GET /api/blocks/:heightOrHash`. */
export interface BlockView extends BlockSummaryView {
  /** Bytes of the canonical JSON form (the unit of the block size limit). */
  size: number;
  txs: TxView[];
  commit?: JsonValue;
}

/** `GET /api/blocks`. */
export interface BlockListView {
  tip: number;
  order: 'asc' | 'desc';
  blocks: BlockSummaryView[];
  /** The `from` of the next page, or null at the end. */
  next: number | null;
}

/** `GET /api/txs/:id`. */
export type TxStatusView =
  | { status: 'pending'; id: Hash; tx: TxView; fee: string; size: number; addedAt: number }
  | { status: 'confirmed'; id: Hash; tx: TxView; blockHash: Hash; height: number; index: number; confirmations: number };

/** `POST /api/txs`. */
export interface SubmitTxView {
  id: Hash;
}

/** One entry of `GET /api/mempool`. */
export interface MempoolEntryView {
  id: Hash;
  kind: string;
  sender: string;
  nonce: number;
  fee: string;
  size: number;
  addedAt: number;
  tx: TxView;
}

/** `GET /api/mempool`. */
export interface MempoolView {
  size: number;
  bytes: number;
  txs: MempoolEntryView[];
}

/** `GET /api/accounts/:address`. */
export interface AccountView {
  address: string;
  balance: string;
  nonce: number;
  /** The nonce a new transaction should use, counting this node's pending ones. */
  pendingNonce: number;
  pendingTxs: number;
  org?: string;
}

/** One past value of a record. */
export interface RecordEntryView {
  height: number;
  txId: Hash;
  from: string;
  value: JsonValue;
}

/** `GET /api/records/:key`. */
export interface RecordView {
  key: string;
  value: JsonValue;
  owner: string;
  updates: number;
  height: number;
  txId: Hash;
  historyHash: Hash;
  history: { from: number; limit: number; entries: RecordEntryView[]; next: number | null };
}

/** `POST /api/mine`. */
export interface MineView {
  complete: boolean;
  requested: number;
  hashes: Hash[];
  height: number;
  message?: string;
}

/** `POST /api/peers`. */
export interface AddPeerView {
  address: string;
  status: 'connected' | 'connecting' | 'known';
}

/** One message of the `/api/events` stream. */
export interface EventMessage {
  type: string;
  data: unknown;
  time: number;
}
