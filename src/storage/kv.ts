/**
 * The ordered key-value interface both backends provide. All chain logic lives
 * once, in KvStore, on top of it; a backend only has to make `write` atomic.
 */

/** One operation of an atomic write. */
export type KvOp = { readonly type: 'put'; readonly key: Buffer; readonly value: string } | { readonly type: 'del'; readonly key: Buffer };

/** An ordered map from byte keys to text values. */
export interface Kv {
  /** The value under a key. */
  get(key: Buffer): Promise<string | undefined>;
  /** The values under several keys, in their order, in one call. */
  getMany(keys: readonly Buffer[]): Promise<(string | undefined)[]>;
  /** Applies every operation or none, even if the process dies mid-call. */
  write(ops: readonly KvOp[]): Promise<void>;
  /** Entries with gte <= key < lt in byte order, at most `limit` of them. */
  range(gte: Buffer, lt: Buffer, limit?: number): Promise<[Buffer, string][]>;
  close(): Promise<void>;
}
