/**
 * The JSON the explorer reads from the node's HTTP API. These mirror
 * src/api/types.ts and src/api/routes/*.ts by hand: the browser build must not
 * pull in node-side modules, and only the fields the page uses are listed.
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue };

/** `GET /api/status`. */
export interface Status {
  network: string;
  chainId: string;
  nodeId: string;
  address: string;
  height: number;
  tip: string;
  tipTimestamp: number;
  mempool: number;
  orphans: number;
  consensus: string;
  mining: boolean;
  hashRate: number;
  peers: number;
  syncing: boolean;
}

/** A transaction in its JSON form with id and size. */
export interface Tx {
  id: string;
  size: number;
  kind: 'transfer' | 'record' | 'coinbase' | 'govern';
  chainId: string;
  from?: string;
  nonce?: number;
  fee?: string;
  to?: string;
  amount?: string;
  key?: string;
  value?: JsonValue;
  height?: number;
  /** A governance transaction's proposed membership change. */
  action?: { op: string; org: string; nodeId: string; name?: string };
  sig?: string;
}

/** A block without its transactions. */
export interface BlockSummary {
  hash: string;
  height: number;
  mainChain: boolean;
  confirmations: number;
  timestamp: number;
  prevHash: string;
  txCount: number;
  header: {
    version: number;
    chainId: string;
    height: number;
    prevHash: string;
    timestamp: number;
    txRoot: string;
    stateRoot: string;
    bits: number;
    nonce: number;
    proposer: string;
  };
}

/** `GET /api/blocks/:heightOrHash`. */
export interface Block extends BlockSummary {
  size: number;
  txs: Tx[];
  commit?: JsonValue;
}

/** `GET /api/blocks`. */
export interface BlockList {
  tip: number;
  blocks: BlockSummary[];
  next: number | null;
}

/** `GET /api/txs/:id`. */
export type TxStatus =
  | { status: 'pending'; id: string; tx: Tx; fee: string; size: number; addedAt: number }
  | { status: 'confirmed'; id: string; tx: Tx; blockHash: string; height: number; index: number; confirmations: number };

/** One entry of `GET /api/mempool`. */
export interface MempoolEntry {
  id: string;
  kind: string;
  sender: string;
  nonce: number;
  fee: string;
  size: number;
  addedAt: number;
  tx: Tx;
}

/** `GET /api/mempool`. */
export interface Mempool {
  size: number;
  bytes: number;
  txs: MempoolEntry[];
}

/** `GET /api/accounts/:address`. */
export interface Account {
  address: string;
  balance: string;
  nonce: number;
  pendingNonce: number;
  pendingTxs: number;
  org?: string;
}

/** One transaction of `GET /api/accounts/:address/txs`. */
export interface AccountTx {
  id: string;
  kind: string;
  direction: 'in' | 'out' | 'self';
  from?: string;
  to?: string;
  amount?: string;
  fee?: string;
  key?: string;
  nonce?: number;
  height?: number;
  blockHash?: string;
  timestamp?: number;
}

/** `GET /api/accounts/:address/txs`. */
export interface AccountTxs {
  address: string;
  pending: AccountTx[];
  txs: AccountTx[];
  scanned: { from: number; to: number } | null;
  next: number | null;
}

/** `GET /api/records/:key`. */
export interface RecordView {
  key: string;
  value: JsonValue;
  owner: string;
  updates: number;
  height: number;
  txId: string;
  historyHash: string;
  history: { from: number; limit: number; entries: { height: number; txId: string; from: string; value: JsonValue }[]; next: number | null };
}

export type NodeRole = 'miner' | 'validator' | 'member' | 'bootstrap' | 'peer';

/** One node of `GET /api/network`. */
export interface NetworkNode {
  id: string;
  name?: string;
  org?: string;
  roles: NodeRole[];
  self: boolean;
  connected: boolean;
  account: string;
  address?: string;
  direction?: 'inbound' | 'outbound';
  height?: number;
  rttMs?: number;
  /** Known only from this peer's report of its links. */
  reportedBy?: string;
  /** Set by the page from the testnet launcher: whether the node's API answers. */
  state?: 'up' | 'down';
}

/** A link of `GET /api/network`. */
export interface NetworkLink {
  from: string;
  to: string;
  rttMs?: number;
  transport?: 'ws' | 'tcp';
  /** Absent for the node's own links; else the peer that reported this one (unverified). */
  reportedBy?: string;
}

/** `GET /api/network`. */
export interface Network {
  network: string;
  topology: 'pure-p2p' | 'hybrid' | 'super-peer';
  consensus: string;
  nodeId: string;
  height: number;
  nodes: NetworkNode[];
  links: NetworkLink[];
  /** How many peers' link reports the links between other nodes come from (absent on older nodes). */
  peerReports?: number;
  minerWindow: number;
  targetBlockTimeMs?: number;
  /** Under `peerchain testnet`: the launcher's control URL. */
  testnet?: { control: string };
  /** Set by the page: the nodes and links come from the testnet launcher (every node's own peer list). */
  fromTestnet?: boolean;
}

/** `GET /control/links` of the testnet launcher. */
export interface TestnetLinks {
  nodes: { name: string; nodeId?: string; role: string; org?: string; up: boolean }[];
  links: { from: string; to: string; rttMs?: number; transport?: 'ws' | 'tcp' }[];
}

/** `GET /api/search?q=`. */
export interface SearchResult {
  query: string;
  matches: { kind: 'block' | 'tx' | 'account' | 'record'; id: string; label: string }[];
}

/** A message of the `/api/events` stream. */
export interface EventMessage {
  type: string;
  data: unknown;
  time: number;
}

/** Data of a `block` event. */
export interface BlockEvent {
  hash: string;
  height: number;
  txs: number;
  timestamp: number;
  minedHere: boolean;
}

/** Data of a `reorg` event. */
export interface ReorgEvent {
  fork: string;
  disconnected: string[];
  connected: string[];
}
