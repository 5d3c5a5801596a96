import { blockHash, isHex, State, txId, type Block, type Hash, type JsonValue, type RecordEntry, type RecordState, type StateEntry, type Account } from '../core/index.ts';
import * as codec from './codec.ts';
import { historyRange, KEY, keyBodyText, MAX_HISTORY_SEQ, MAX_RECORD_KEY_BYTES, prefixRange, PREFIX } from './keys.ts';
import type { Kv, KvOp } from './kv.ts';
import type { BlockWrite, Store, StoredTip, TxLocation } from './store.ts';

/** Thrown when a main-chain write does not fit the stored chain (wrong parent, no genesis...). */
export class StoreError extends Error {
  constructor(message: string) {
    super(`store: ${message}`);
    this.name = 'StoreError';
  }
}

function isHeight(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

/**
 * The Store logic over any ordered key-value backend. Each main-chain change
 * is computed in full first and handed to the backend as one atomic write, and
 * main-chain changes run one at a time, so a check against the tip cannot be
 * overtaken by another write before its batch lands. Reads of chain data wait
 * for the main-chain writes already handed over, so a caller that did not
 * await a write (the chain runs ahead of the disk) still reads its result.
 */
export class KvStore implements Store {
  private queue: Promise<unknown> = Promise.resolve();
  // The stored tip as last read or written (null: not read yet). Every tip
  // write goes through here, so it saves a read per connected block.
  private tip: StoredTip | undefined | null = null;

  constructor(private readonly kv: Kv) {}

  /** The main-chain tip; undefined before genesis is written. */
  async getTip(): Promise<StoredTip | undefined> {
    await this.queue;
    return this.readTip();
  }

  private async readTip(): Promise<StoredTip | undefined> {
    if (this.tip !== null) return this.tip;
    const v = await this.kv.get(KEY.tip());
    const tip = v === undefined ? undefined : codec.decodeTip(v);
    // A write may have landed while the read was out; it wins.
    if (this.tip === null) this.tip = tip;
    return this.tip;
  }

  /** A block by hash; undefined for unknown or malformed hashes. */
  async getBlock(hash: Hash): Promise<Block | undefined> {
    await this.queue;
    return this.readBlock(hash);
  }

  private async readBlock(hash: Hash): Promise<Block | undefined> {
    if (!isHex(hash, 32)) return undefined;
    const v = await this.kv.get(KEY.block(hash));
    return v === undefined ? undefined : codec.decodeBlock(v);
  }

  /** Blocks by hash in one backend call; undefined where unknown. */
  async getBlocks(hashes: readonly Hash[]): Promise<(Block | undefined)[]> {
    return (await this.getBlockTexts(hashes)).map((v) => (v === undefined ? undefined : codec.decodeBlock(v)));
  }

  /** Blocks by hash as their stored JSON text, in one backend call; undefined where unknown. */
  async getBlockTexts(hashes: readonly Hash[]): Promise<(string | undefined)[]> {
    const wanted = hashes.filter((h) => isHex(h, 32));
    await this.queue;
    const values = await this.kv.getMany(wanted.map((h) => KEY.block(h)));
    if (wanted.length === hashes.length) return values;
    const found = new Map<Hash, string | undefined>(wanted.map((h, i) => [h, values[i]]));
    return hashes.map((h) => found.get(h));
  }

  /** True if a block body with this hash is stored. */
  async hasBlock(hash: Hash): Promise<boolean> {
    if (!isHex(hash, 32)) return false;
    await this.queue;
    return (await this.kv.get(KEY.block(hash))) !== undefined;
  }

  /** The main-chain block hash at a height. */
  async getHashAtHeight(height: number): Promise<Hash | undefined> {
    if (!isHeight(height)) return undefined;
    await this.queue;
    const v = await this.kv.get(KEY.height(height));
    return v === undefined ? undefined : codec.decodeHash(v);
  }

  /** Where a main-chain transaction is. */
  async getTxLocation(id: Hash): Promise<TxLocation | undefined> {
    if (!isHex(id, 32)) return undefined;
    await this.queue;
    const v = await this.kv.get(KEY.tx(id));
    return v === undefined ? undefined : codec.decodeTxLocation(v);
  }

  /** An account, if the state holds one for this address. */
  async getAccount(address: string): Promise<Account | undefined> {
    await this.queue;
    const v = await this.kv.get(KEY.account(address));
    return v === undefined ? undefined : codec.decodeAccount(v);
  }

  /** A record's current state. */
  async getRecord(key: string): Promise<RecordState | undefined> {
    await this.queue;
    const v = await this.kv.get(KEY.record(key));
    return v === undefined ? undefined : codec.decodeRecord(v);
  }

  /** A page of a record's history, oldest first. */
  async getRecordHistory(key: string, from = 0, limit = Infinity): Promise<RecordEntry[]> {
    if (!isHeight(from) || from > MAX_HISTORY_SEQ || !(limit >= 1)) return [];
    if (Buffer.byteLength(key, 'utf8') > MAX_RECORD_KEY_BYTES) return [];
    const r = historyRange(key, from);
    await this.queue;
    const rows = await this.kv.range(r.gte, r.lt, Number.isFinite(limit) ? Math.floor(limit) : undefined);
    return rows.map(([, v]) => codec.decodeEntry(v));
  }

  /** The whole current state, to rebuild the in-memory trie at startup. */
  async loadState(): Promise<State> {
    await this.queue;
    const entries: StateEntry[] = [];
    const accounts = prefixRange(PREFIX.account);
    for (const [k, v] of await this.kv.range(accounts.gte, accounts.lt)) entries.push({ t: 'account', address: keyBodyText(k), account: codec.decodeAccount(v) });
    const records = prefixRange(PREFIX.record);
    for (const [k, v] of await this.kv.range(records.gte, records.lt)) entries.push({ t: 'record', key: keyBodyText(k), record: codec.decodeRecord(v) });
    return State.fromEntries(entries);
  }

  /** Stores a block body off the main chain. */
  async putBlock(hash: Hash, block: Block): Promise<void> {
    checkHash(hash, block);
    await this.kv.write([{ type: 'put', key: KEY.block(hash), value: codec.encodeBlock(block) }]);
  }

  /** Writes the genesis block and state in one batch; fails if a chain exists. */
  writeGenesis(hash: Hash, block: Block, state: State): Promise<void> {
    return this.exclusive(async () => {
      const tip = await this.readTip();
      if (tip !== undefined) throw new StoreError(`genesis already written (tip is ${tip.hash} at height ${tip.height})`);
      if (block.header.height !== 0) throw new StoreError(`a genesis block has height 0, not ${block.header.height}`);
      checkHash(hash, block);
      const root = state.root();
      if (root !== block.header.stateRoot) throw new StoreError(`genesis state root ${root} is not the block's stateRoot ${block.header.stateRoot}`);
      const ops: KvOp[] = [...mainChainOps(hash, block, block.txs.map((tx) => txId(tx)))];
      for (const e of state.entries()) {
        if (e.t === 'account') ops.push({ type: 'put', key: KEY.account(e.address), value: codec.encodeAccount(e.account) });
        else ops.push({ type: 'put', key: KEY.record(e.key), value: codec.encodeRecord(e.record) });
      }
      ops.push({ type: 'put', key: KEY.tip(), value: codec.encodeTip({ hash, height: 0 }) });
      await this.kv.write(ops);
      this.tip = { hash, height: 0 };
    });
  }

  /** Appends a block at tip + 1 in one batch, with the undo data that reverses it. */
  connectBlock(w: BlockWrite): Promise<void> {
    return this.connectBlocks([w]);
  }

  /**
   * Appends a run of blocks, each the child of the one before and the first
   * at tip + 1, in one batch: a killed process reopens before or after all of
   * them. One write for many blocks is what lets sync keep up with a peer.
   */
  connectBlocks(ws: readonly BlockWrite[]): Promise<void> {
    return this.exclusive(async () => {
      let tip = await this.readTip();
      if (tip === undefined) throw new StoreError('cannot connect a block before genesis is written');
      const ops: KvOp[] = [];
      const latest: LatestValues = { accounts: new Map(), records: new Map() };
      for (const w of ws) {
        blockOps(w, tip, ops, latest);
        tip = { hash: w.hash, height: w.block.header.height };
      }
      if (ws.length === 0) return;
      latestOps(latest, ops);
      ops.push({ type: 'put', key: KEY.tip(), value: codec.encodeTip(tip) });
      await this.kv.write(ops);
      this.tip = tip;
    });
  }

  /** Removes the tip block from the main chain in one batch; its body stays as a side block. */
  disconnectTip(): Promise<{ hash: Hash; block: Block }> {
    return this.exclusive(async () => {
      const tip = await this.readTip();
      if (tip === undefined) throw new StoreError('cannot disconnect: the store has no chain');
      if (tip.height === 0) throw new StoreError('cannot disconnect the genesis block');
      const block = await this.readBlock(tip.hash);
      if (block === undefined) throw new codec.StoreCorruptError('chain', `tip block ${tip.hash} is missing`);
      const u = await this.kv.get(KEY.undo(tip.hash));
      if (u === undefined) throw new codec.StoreCorruptError('chain', `undo data of tip block ${tip.hash} is missing`);
      const undo = codec.decodeUndo(u);
      const ops: KvOp[] = [{ type: 'del', key: KEY.height(tip.height) }];
      for (const id of undo.txIds) ops.push({ type: 'del', key: KEY.tx(id) });
      for (const [address, before] of undo.accounts) {
        ops.push(before === undefined ? { type: 'del', key: KEY.account(address) } : { type: 'put', key: KEY.account(address), value: codec.encodeAccount(before) });
      }
      const recordBefore = new Map(undo.records);
      for (const [key, before] of undo.records) {
        ops.push(before === undefined ? { type: 'del', key: KEY.record(key) } : { type: 'put', key: KEY.record(key), value: codec.encodeRecord(before) });
      }
      for (const [key, n] of undo.history) {
        const base = recordBefore.get(key)?.updates ?? 0;
        for (let i = 0; i < n; i++) ops.push({ type: 'del', key: KEY.history(key, base + i) });
      }
      ops.push({ type: 'del', key: KEY.undo(tip.hash) });
      const before = { hash: block.header.prevHash, height: tip.height - 1 };
      ops.push({ type: 'put', key: KEY.tip(), value: codec.encodeTip(before) });
      await this.kv.write(ops);
      this.tip = before;
      return { hash: tip.hash, block };
    });
  }

  /** A small named value. */
  async getMeta(name: string): Promise<JsonValue | undefined> {
    const v = await this.kv.get(KEY.meta(name));
    return v === undefined ? undefined : codec.decodeMeta(v);
  }

  /** Sets a small named value. */
  async putMeta(name: string, value: JsonValue): Promise<void> {
    await this.kv.write([{ type: 'put', key: KEY.meta(name), value: codec.encodeMeta(value) }]);
  }

  /** Waits for pending main-chain writes, then closes the backend. */
  async close(): Promise<void> {
    await this.queue;
    await this.kv.close();
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

function checkHash(hash: Hash, block: Block): void {
  const actual = blockHash(block.header);
  if (hash !== actual) throw new StoreError(`block hash ${hash} is not the hash of its header (${actual})`);
}

/** The writes that put a block on the main chain at its height: body, height index, tx index. */
function* mainChainOps(hash: Hash, block: Block, txIds: readonly Hash[]): Generator<KvOp> {
  const height = block.header.height;
  yield { type: 'put', key: KEY.block(hash), value: codec.encodeBlock(block) };
  yield { type: 'put', key: KEY.height(height), value: codec.encodeHash(hash) };
  for (let i = 0; i < txIds.length; i++) yield { type: 'put', key: KEY.tx(txIds[i]!), value: codec.encodeTxLocation({ blockHash: hash, height, index: i }) };
}

/**
 * Account and record values a batch of blocks leaves behind. The batch lands
 * whole or not at all, so only the last value of each is written: a sync
 * batch of empty blocks pays its miner once, not once per block.
 */
interface LatestValues {
  readonly accounts: Map<string, Account>;
  readonly records: Map<string, RecordState>;
}

function latestOps(latest: LatestValues, ops: KvOp[]): void {
  for (const [address, a] of latest.accounts) ops.push({ type: 'put', key: KEY.account(address), value: codec.encodeAccount(a) });
  for (const [key, r] of latest.records) ops.push({ type: 'put', key: KEY.record(key), value: codec.encodeRecord(r) });
}

/** Appends to `ops` the writes that put block `w` on top of `tip`, after checking it fits there; its account and record values go to `latest`. */
function blockOps(w: BlockWrite, tip: StoredTip, ops: KvOp[], latest: LatestValues): void {
  const h = w.block.header;
  if (h.height !== tip.height + 1) throw new StoreError(`block ${w.hash} has height ${h.height}, the tip is at ${tip.height}; only height ${tip.height + 1} can be connected`);
  if (h.prevHash !== tip.hash) throw new StoreError(`block ${w.hash} has prevHash ${h.prevHash}, which is not the tip ${tip.hash}`);
  checkHash(w.hash, w.block);
  if (w.txIds.length !== w.block.txs.length) throw new StoreError(`block ${w.hash} has ${w.block.txs.length} transactions but ${w.txIds.length} tx ids`);
  for (const op of mainChainOps(w.hash, w.block, w.txIds)) ops.push(op);
  const { changes } = w;
  for (const [address, c] of changes.accounts) latest.accounts.set(address, c.after);
  for (const [key, c] of changes.records) latest.records.set(key, c.after);
  // A record's entries are numbered by its update count, so entry i is the i-th write ever.
  const gained = new Map<string, number>();
  for (const { key, entry } of changes.history) {
    const c = changes.records.get(key);
    if (c === undefined) throw new StoreError(`block ${w.hash}: history entry for record "${key}" that the changes do not touch`);
    const n = gained.get(key) ?? 0;
    ops.push({ type: 'put', key: KEY.history(key, (c.before?.updates ?? 0) + n), value: codec.encodeEntry(entry) });
    gained.set(key, n + 1);
  }
  for (const [key, c] of changes.records) {
    const n = gained.get(key) ?? 0;
    if ((c.before?.updates ?? 0) + n !== c.after.updates) {
      throw new StoreError(`block ${w.hash}: record "${key}" goes from ${c.before?.updates ?? 0} to ${c.after.updates} updates with ${n} history entries`);
    }
  }
  const undo: codec.UndoData = {
    txIds: w.txIds,
    accounts: [...changes.accounts].map(([a, c]) => [a, c.before] as const),
    records: [...changes.records].map(([k, c]) => [k, c.before] as const),
    history: [...gained],
  };
  ops.push({ type: 'put', key: KEY.undo(w.hash), value: codec.encodeUndo(undo) });
}
