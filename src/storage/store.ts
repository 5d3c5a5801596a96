import type { Account, Block, Hash, JsonValue, RecordEntry, RecordState, State, StateChanges } from '../core/index.ts';

/** The block at the end of the main chain. */
export interface StoredTip {
  readonly hash: Hash;
  readonly height: number;
}

/** Where a transaction sits in the main chain. */
export interface TxLocation {
  readonly blockHash: Hash;
  readonly height: number;
  readonly index: number;
}

/** Everything written when a block joins the main chain, as produced by applyBlock. */
export interface BlockWrite {
  readonly block: Block;
  readonly hash: Hash;
  readonly txIds: readonly Hash[];
  readonly changes: StateChanges;
}

/**
 * The node's persistent storage. Every method that changes the main chain
 * writes one atomic batch, so a process killed at any instant reopens at its
 * last complete block with a state that matches that block's state root.
 */
export interface Store {
  /** The main-chain tip; undefined before genesis is written. */
  getTip(): Promise<StoredTip | undefined>;
  /** A block by hash, main chain or side branch. */
  getBlock(hash: Hash): Promise<Block | undefined>;
  /** Blocks by hash in one read, undefined where unknown (serving sync). */
  getBlocks(hashes: readonly Hash[]): Promise<(Block | undefined)[]>;
  /**
   * Blocks by hash as stored: the JSON text of blockToJson, which is also
   * their wire form, so sync serves them without decoding. Undefined where unknown.
   */
  getBlockTexts(hashes: readonly Hash[]): Promise<(string | undefined)[]>;
  hasBlock(hash: Hash): Promise<boolean>;
  /** The main-chain block hash at a height. */
  getHashAtHeight(height: number): Promise<Hash | undefined>;
  /** Where a main-chain transaction is. */
  getTxLocation(id: Hash): Promise<TxLocation | undefined>;
  getAccount(address: string): Promise<Account | undefined>;
  getRecord(key: string): Promise<RecordState | undefined>;
  /** A record's history, oldest first, from entry index `from` (0-based), at most `limit` entries. */
  getRecordHistory(key: string, from?: number, limit?: number): Promise<RecordEntry[]>;
  /** The whole current state, to rebuild the in-memory trie at startup. */
  loadState(): Promise<State>;
  /** Stores a block body off the main chain (side branches, blocks being synced). */
  putBlock(hash: Hash, block: Block): Promise<void>;
  /** Writes the genesis block and state; fails if the store already has a chain. */
  writeGenesis(hash: Hash, block: Block, state: State): Promise<void>;
  /**
   * Appends a block at tip + 1 in one batch: body, height and tx indexes,
   * state changes, record history, undo data and the new tip.
   */
  connectBlock(w: BlockWrite): Promise<void>;
  /** Appends a run of blocks, each on the one before, the first at tip + 1, in one batch. */
  connectBlocks(ws: readonly BlockWrite[]): Promise<void>;
  /** Removes the tip block from the main chain in one batch, restoring the state before it. */
  disconnectTip(): Promise<{ hash: Hash; block: Block }>;
  /** A small named value (address book, bans, settings). */
  getMeta(name: string): Promise<JsonValue | undefined>;
  putMeta(name: string, value: JsonValue): Promise<void>;
  close(): Promise<void>;
}
