/** storage/: the Store interface and its backends, LevelDB (the default on disk) and memory. */
import { LevelStore, type LevelStoreOptions } from './level.ts';
import { MemoryStore } from './memory.ts';
import type { Store } from './store.ts';

export type { BlockWrite, Store, StoredTip, TxLocation } from './store.ts';
export { encodeBlock, StoreCorruptError } from './codec.ts';
export { StoreError } from './kv-store.ts';
export { MemoryStore } from './memory.ts';
export { LevelStore, type LevelStoreOptions } from './level.ts';

/** A LevelDB store in `dir` when one is given, otherwise a fresh in-memory store. */
export async function openStore(dir?: string, opts?: LevelStoreOptions): Promise<Store> {
  return dir === undefined ? new MemoryStore() : LevelStore.open(dir, opts);
}
