/**
 * The key layout shared by every store backend. A key is one prefix byte
 * followed by a fixed or self-delimiting body, so each kind of entry is one
 * contiguous key range and range scans never cross kinds:
 *
 *   0x01 block    | block hash (32 bytes)                      -> block JSON (core blockToJson)
 *   0x02 height   | height (u64 BE)                            -> main-chain block hash (JSON string)
 *   0x03 tx       | tx id (32 bytes)                           -> {blockHash, height, index}
 *   0x04 account  | address (UTF-8)                            -> {balance (decimal), nonce, org?}
 *   0x05 record   | record key (UTF-8)                         -> RecordState JSON
 *   0x06 history  | key length (u16 BE) | key (UTF-8) | seq (u32 BE) -> RecordEntry JSON
 *   0x07 undo     | block hash (32 bytes)                      -> what disconnecting that block restores
 *   0x08 tip      (no body)                                    -> {hash, height}
 *   0x09 meta     | name (UTF-8)                               -> any JSON value
 *
 * Heights and sequence numbers are big-endian so key order is numeric order.
 * History keys carry the record key's length: without it, the entries of
 * record "ab" would sort inside the range of record "a".
 */
import { fromHex } from '../crypto/index.ts';
import type { Hash } from '../core/index.ts';

export const PREFIX = {
  block: 0x01,
  height: 0x02,
  tx: 0x03,
  account: 0x04,
  record: 0x05,
  history: 0x06,
  undo: 0x07,
  tip: 0x08,
  meta: 0x09,
} as const;

/** History sequence numbers are u32; a record cannot gain more entries than this. */
export const MAX_HISTORY_SEQ = 0xffffffff;
/** The longest record key (in UTF-8 bytes) the history key layout can hold. */
export const MAX_RECORD_KEY_BYTES = 0xffff;

function withPrefix(prefix: number, body: Buffer): Buffer {
  const b = Buffer.allocUnsafe(1 + body.length);
  b[0] = prefix;
  body.copy(b, 1);
  return b;
}

function u64(n: number): Buffer {
  const b = Buffer.allocUnsafe(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

function u32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n);
  return b;
}

function historyPrefix(key: string): Buffer {
  const k = Buffer.from(key, 'utf8');
  if (k.length > MAX_RECORD_KEY_BYTES) throw new RangeError(`record key is ${k.length} bytes, the store allows ${MAX_RECORD_KEY_BYTES}`);
  const len = Buffer.allocUnsafe(2);
  len.writeUInt16BE(k.length);
  return withPrefix(PREFIX.history, Buffer.concat([len, k]));
}

/** Builders for every key the stores write. */
export const KEY = {
  block: (hash: Hash): Buffer => withPrefix(PREFIX.block, fromHex(hash, 32)),
  height: (height: number): Buffer => withPrefix(PREFIX.height, u64(height)),
  tx: (id: Hash): Buffer => withPrefix(PREFIX.tx, fromHex(id, 32)),
  account: (address: string): Buffer => withPrefix(PREFIX.account, Buffer.from(address, 'utf8')),
  record: (key: string): Buffer => withPrefix(PREFIX.record, Buffer.from(key, 'utf8')),
  history: (key: string, seq: number): Buffer => Buffer.concat([historyPrefix(key), u32(seq)]),
  undo: (hash: Hash): Buffer => withPrefix(PREFIX.undo, fromHex(hash, 32)),
  tip: (): Buffer => Buffer.from([PREFIX.tip]),
  meta: (name: string): Buffer => withPrefix(PREFIX.meta, Buffer.from(name, 'utf8')),
};

/** A half-open key range [gte, lt). */
export interface KeyRange {
  readonly gte: Buffer;
  readonly lt: Buffer;
}

/** Every key of one kind. */
export function prefixRange(prefix: number): KeyRange {
  return { gte: Buffer.from([prefix]), lt: Buffer.from([prefix + 1]) };
}

/** A record's history entries from sequence `from` onward. */
export function historyRange(key: string, from: number): KeyRange {
  const p = historyPrefix(key);
  // Every entry key of this record is p + 4 bytes, so p + ff ff ff ff 00 is past the last one
  // and before any other record's entries.
  return { gte: Buffer.concat([p, u32(from)]), lt: Buffer.concat([p, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x00])]) };
}

/** The body of a key after its prefix byte, as UTF-8 (account addresses, record keys). */
export function keyBodyText(key: Buffer): string {
  return key.subarray(1).toString('utf8');
}
