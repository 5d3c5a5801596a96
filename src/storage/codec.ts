/**
 * Value encodings of the store: JSON text, amounts as decimal strings. Decoders
 * check structure, because a damaged or foreign database must fail loudly at
 * the read that finds it, not later as a wrong balance.
 */
import { blockFromJson, blockToJson, canonicalJson, formatAmount, isHex, parseAmount } from '../core/index.ts';
import type { Account, Address, Block, Hash, JsonValue, RecordEntry, RecordState } from '../core/index.ts';
import type { StoredTip, TxLocation } from './store.ts';

/** Thrown when a stored value does not decode: the database is damaged or not ours. */
export class StoreCorruptError extends Error {
  constructor(what: string, detail: string) {
    super(`store: corrupt ${what}: ${detail}`);
    this.name = 'StoreCorruptError';
  }
}

/** What disconnecting a block must restore; written with the block, deleted with it. */
export interface UndoData {
  /** Ids of the block's transactions, whose tx index entries go. */
  readonly txIds: readonly Hash[];
  /** Each changed account's value before the block; undefined: it did not exist. */
  readonly accounts: readonly (readonly [Address, Account | undefined])[];
  /** Each changed record's value before the block; undefined: it did not exist. */
  readonly records: readonly (readonly [string, RecordState | undefined])[];
  /** How many history entries each record gained in the block. */
  readonly history: readonly (readonly [string, number])[];
}

// Blocks on disk were validated when they arrived; decoding only guards the
// structure, so the limits are wide enough for any chain's parameters.
const DISK_LIMITS = { maxBlockTxs: 1_000_000, maxTxBytes: 1 << 30, maxRecordKeyLength: 0xffff, maxRecordValueBytes: 1 << 30 };

type Obj = Record<string, unknown>;

function parse(what: string, text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new StoreCorruptError(what, `not JSON (${(e as Error).message})`);
  }
}

function obj(what: string, v: unknown): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new StoreCorruptError(what, 'not a JSON object');
  return v as Obj;
}

function count(what: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new StoreCorruptError(what, `expected a non-negative integer, got ${JSON.stringify(v)}`);
  return v;
}

function str(what: string, v: unknown): string {
  if (typeof v !== 'string') throw new StoreCorruptError(what, `expected a string, got ${JSON.stringify(v)}`);
  return v;
}

function hash(what: string, v: unknown): Hash {
  if (!isHex(v, 32)) throw new StoreCorruptError(what, `expected a 32-byte hex hash, got ${JSON.stringify(v)}`);
  return v;
}

function amount(what: string, v: unknown): bigint {
  const a = parseAmount(v);
  if (a === undefined) throw new StoreCorruptError(what, `expected a decimal amount, got ${JSON.stringify(v)}`);
  return a;
}

function arr(what: string, v: unknown): unknown[] {
  if (!Array.isArray(v)) throw new StoreCorruptError(what, 'not a JSON array');
  return v;
}

/** Encodes a block as core's JSON form. */
export function encodeBlock(b: Block): string {
  return JSON.stringify(blockToJson(b));
}

/** Decodes a stored block, checking structure but not signatures or rules. */
export function decodeBlock(text: string): Block {
  const r = blockFromJson(parse('block', text), DISK_LIMITS);
  if (!r.ok) throw new StoreCorruptError('block', r.error.message);
  return r.value;
}

function accountJson(a: Account): Obj {
  const j: Obj = { balance: formatAmount(a.balance), nonce: a.nonce };
  if (a.org !== undefined) j.org = a.org;
  return j;
}

function accountFrom(v: unknown): Account {
  const o = obj('account', v);
  const a = { balance: amount('account balance', o.balance), nonce: count('account nonce', o.nonce) };
  return o.org === undefined ? a : { ...a, org: str('account org', o.org) };
}

function recordJson(r: RecordState): Obj {
  return { value: r.value, owner: r.owner, updates: r.updates, height: r.height, txId: r.txId, historyHash: r.historyHash };
}

function recordFrom(v: unknown): RecordState {
  const o = obj('record', v);
  if (!('value' in o)) throw new StoreCorruptError('record', 'missing value');
  return {
    value: o.value as JsonValue,
    owner: str('record owner', o.owner),
    updates: count('record updates', o.updates),
    height: count('record height', o.height),
    txId: hash('record txId', o.txId),
    historyHash: hash('record historyHash', o.historyHash),
  };
}

/** Encodes an account. */
export function encodeAccount(a: Account): string {
  return JSON.stringify(accountJson(a));
}

/** Decodes an account. */
export function decodeAccount(text: string): Account {
  return accountFrom(parse('account', text));
}

/** Encodes a record's current state. */
export function encodeRecord(r: RecordState): string {
  return JSON.stringify(recordJson(r));
}

/** Decodes a record's current state. */
export function decodeRecord(text: string): RecordState {
  return recordFrom(parse('record', text));
}

/** Encodes one history entry. */
export function encodeEntry(e: RecordEntry): string {
  return JSON.stringify({ height: e.height, txId: e.txId, from: e.from, value: e.value });
}

/** Decodes one history entry. */
export function decodeEntry(text: string): RecordEntry {
  const o = obj('history entry', parse('history entry', text));
  if (!('value' in o)) throw new StoreCorruptError('history entry', 'missing value');
  return { height: count('entry height', o.height), txId: hash('entry txId', o.txId), from: str('entry from', o.from), value: o.value as JsonValue };
}

/** Encodes a hash value (height index). */
export function encodeHash(h: Hash): string {
  return JSON.stringify(h);
}

/** Decodes a hash value. */
export function decodeHash(text: string): Hash {
  return hash('height index', parse('height index', text));
}

/** Encodes a tx index entry. */
export function encodeTxLocation(l: TxLocation): string {
  return JSON.stringify({ blockHash: l.blockHash, height: l.height, index: l.index });
}

/** Decodes a tx index entry. */
export function decodeTxLocation(text: string): TxLocation {
  const o = obj('tx index', parse('tx index', text));
  return { blockHash: hash('tx blockHash', o.blockHash), height: count('tx height', o.height), index: count('tx index', o.index) };
}

/** Encodes the tip pointer. */
export function encodeTip(t: StoredTip): string {
  return JSON.stringify({ hash: t.hash, height: t.height });
}

/** Decodes the tip pointer. */
export function decodeTip(text: string): StoredTip {
  const o = obj('tip', parse('tip', text));
  return { hash: hash('tip hash', o.hash), height: count('tip height', o.height) };
}

/** Encodes undo data; a missing `before` is JSON null. */
export function encodeUndo(u: UndoData): string {
  return JSON.stringify({
    txIds: u.txIds,
    accounts: u.accounts.map(([a, v]) => [a, v === undefined ? null : accountJson(v)]),
    records: u.records.map(([k, v]) => [k, v === undefined ? null : recordJson(v)]),
    history: u.history,
  });
}

function pair(what: string, v: unknown): [string, unknown] {
  const p = arr(what, v);
  if (p.length !== 2) throw new StoreCorruptError(what, 'expected a [key, value] pair');
  return [str(what, p[0]), p[1]];
}

/** Decodes undo data. */
export function decodeUndo(text: string): UndoData {
  const o = obj('undo data', parse('undo data', text));
  return {
    txIds: arr('undo txIds', o.txIds).map((t) => hash('undo txId', t)),
    accounts: arr('undo accounts', o.accounts).map((p) => {
      const [a, v] = pair('undo account', p);
      return [a, v === null ? undefined : accountFrom(v)] as const;
    }),
    records: arr('undo records', o.records).map((p) => {
      const [k, v] = pair('undo record', p);
      return [k, v === null ? undefined : recordFrom(v)] as const;
    }),
    history: arr('undo history', o.history).map((p) => {
      const [k, n] = pair('undo history', p);
      return [k, count('undo history count', n)] as const;
    }),
  };
}

/** Encodes a meta value; throws on anything that is not plain JSON (NaN, undefined, a cycle). */
export function encodeMeta(v: JsonValue): string {
  return canonicalJson(v);
}

/** Decodes a meta value. */
export function decodeMeta(text: string): JsonValue {
  return parse('meta value', text) as JsonValue;
}
