import { isHex, isPublicKeyHex, sha256d, toHex } from '../crypto/index.ts';
import { canonicalJson, type JsonValue } from './encoding.ts';
import { ERR, fail, ok, type Result } from './errors.ts';
import { merkleRoot, merkleRootHex } from './merkle.ts';
import { CHAIN_ID_RE, txFromJson, txId, txIdBytes, txToJson, type TxJson, type TxLimits } from './tx.ts';
import type { Block, BlockHeader, Hash, Tx } from './types.ts';

export const BLOCK_VERSION = 1;
export const NO_PROPOSER = '0'.repeat(64);

/** The JSON form of a block. */
export interface BlockJson {
  header: BlockHeader;
  txs: TxJson[];
  commit?: JsonValue;
}

/**
 * The canonical header bytes (big-endian, fixed order, nonce last so a miner
 * can hash the unchanging prefix once):
 * version u32 | chainId length u8 | chainId ASCII | height u64 | prevHash 32 |
 * timestamp u64 | txRoot 32 | stateRoot 32 | proposer 32 | bits u32 | nonce u64
 */
export function encodeHeader(h: BlockHeader): Buffer {
  // Written field by field into one buffer: a header is encoded once per block
  // on the way in, and a sync takes in thousands a second.
  const idLen = Buffer.byteLength(h.chainId, 'ascii');
  const buf = Buffer.allocUnsafe(4 + 1 + idLen + 8 + 32 + 8 + 32 + 32 + 32 + 4 + 8);
  let o = buf.writeUInt32BE(h.version, 0);
  o = buf.writeUInt8(idLen, o);
  o += buf.write(h.chainId, o, 'ascii');
  o = writeU64(buf, h.height, o);
  o = writeHash(buf, h.prevHash, o);
  o = writeU64(buf, h.timestamp, o);
  o = writeHash(buf, h.txRoot, o);
  o = writeHash(buf, h.stateRoot, o);
  o = writeHash(buf, h.proposer, o);
  o = buf.writeUInt32BE(h.bits, o);
  o = writeU64(buf, h.nonce, o);
  if (o !== buf.length) throw new RangeError(`header encoding wrote ${o} of ${buf.length} bytes`);
  return buf;
}

// A non-negative safe integer as 8 bytes big-endian, without a BigInt.
function writeU64(buf: Buffer, n: number, o: number): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`expected a non-negative safe integer, got ${n}`);
  buf.writeUInt32BE(Math.floor(n / 0x1_0000_0000), o);
  return buf.writeUInt32BE(n >>> 0, o + 4);
}

// 32 bytes from 64 hex characters; Buffer.write stops at the first non-hex pair, which the length check catches.
function writeHash(buf: Buffer, hex: string, o: number): number {
  if (hex.length !== 64 || buf.write(hex, o, 32, 'hex') !== 32) throw new RangeError('expected a 32-byte hex hash');
  return o + 32;
}

/** The header hash as bytes: double SHA-256 of the canonical header bytes. */
export function headerHashBytes(h: BlockHeader): Buffer {
  return sha256d(encodeHeader(h));
}

// Headers are immutable once built, and one is hashed many times on its way in
// (parse, index, proof check, store): the hex hash is remembered per object.
const hashes = new WeakMap<BlockHeader, Hash>();

/** The block hash (the hash of its header) as hex. */
export function blockHash(h: BlockHeader): Hash {
  let hash = hashes.get(h);
  if (hash === undefined) {
    hash = toHex(headerHashBytes(h));
    hashes.set(h, hash);
  }
  return hash;
}

/** True if two headers have the same fields, and so the same hash. */
export function sameHeader(a: BlockHeader, b: BlockHeader): boolean {
  return (
    a.height === b.height &&
    a.nonce === b.nonce &&
    a.prevHash === b.prevHash &&
    a.txRoot === b.txRoot &&
    a.stateRoot === b.stateRoot &&
    a.timestamp === b.timestamp &&
    a.bits === b.bits &&
    a.proposer === b.proposer &&
    a.chainId === b.chainId &&
    a.version === b.version
  );
}

/** The Merkle root of a list of transactions. */
export function txRootOf(txs: readonly Tx[]): Hash {
  // A block's list is checked on arrival and again by its transition (and by
  // every validator's prevote check): 2n hashes each time for n transactions.
  // Remembered per list, and trusted only while it holds the same objects
  // (a transaction's id is fixed by its object, see txIdBytes).
  const known = roots.get(txs);
  if (known !== undefined && known.items.length === txs.length && known.items.every((t, i) => t === txs[i])) return known.root;
  // The cached id bytes, not a hex round trip (the same root as merkleRootHex of the hex ids).
  const root = merkleRoot(txs.map(txIdBytes)).toString('hex');
  roots.set(txs, { items: txs.slice(), root });
  return root;
}

const roots = new WeakMap<readonly Tx[], { readonly items: readonly Tx[]; readonly root: Hash }>();

/** The JSON form of a block. */
export function blockToJson(b: Block): BlockJson {
  const j: BlockJson = { header: { ...b.header }, txs: b.txs.map((t) => txToJson(t)) };
  if (b.commit !== undefined) j.commit = b.commit;
  return j;
}

/**
 * The canonical JSON of a header, written out in sorted key order: exactly
 * canonicalJson of its ten fields, without sorting keys on every call.
 */
export function headerCanon(h: BlockHeader): string {
  return `{"bits":${num(h.bits)},"chainId":${JSON.stringify(h.chainId)},"height":${num(h.height)},"nonce":${num(h.nonce)},"prevHash":${JSON.stringify(h.prevHash)},"proposer":${JSON.stringify(h.proposer)},"stateRoot":${JSON.stringify(h.stateRoot)},"timestamp":${num(h.timestamp)},"txRoot":${JSON.stringify(h.txRoot)},"version":${num(h.version)}}`;
}

// A number as canonical JSON writes it (ECMAScript form); what a header's types promise.
function num(n: number): string {
  if (!Number.isFinite(n)) throw new RangeError(`cannot encode non-finite number ${n}`);
  return String(n);
}

/** Byte length of headerCanon(h), remembered per header object (headers are immutable, see blockHash). */
export function headerCanonBytes(h: BlockHeader): number {
  let n = canonSizes.get(h);
  if (n === undefined) {
    n = headerCanonLength(h) ?? Buffer.byteLength(headerCanon(h), 'utf8');
    canonSizes.set(h, n);
  }
  return n;
}

const HEX32 = /^[0-9a-f]{64}$/;
const PLAIN_ID = /^[a-z0-9-]*$/;
// The keys, punctuation and quotes of headerCanon: `{"bits":` ... `"version":` ... `}`.
const HEADER_CANON_FIXED = '{"bits":,"chainId":,"height":,"nonce":,"prevHash":,"proposer":,"stateRoot":,"timestamp":,"txRoot":,"version":}'.length;

/** headerCanon's length counted, not written, for the usual header (hex hashes, a plain chain id, integer fields); else undefined. */
function headerCanonLength(h: BlockHeader): number | undefined {
  const ints = [h.bits, h.height, h.nonce, h.timestamp, h.version];
  if (!ints.every((x) => Number.isSafeInteger(x) && x >= 0)) return undefined;
  if (![h.prevHash, h.proposer, h.stateRoot, h.txRoot].every((x) => HEX32.test(x)) || typeof h.chainId !== 'string' || !PLAIN_ID.test(h.chainId)) return undefined;
  let n = HEADER_CANON_FIXED + 4 * 66 + h.chainId.length + 2;
  for (const x of ints) n += String(x).length;
  return n;
}

const canonSizes = new WeakMap<BlockHeader, number>();

/** Size in bytes of the canonical JSON form of a block: the unit of the block size limit. */
export function blockSize(b: Block): number {
  let n = blockFrameBytes(b);
  for (const tx of b.txs) n += Buffer.byteLength(canonicalJson(txToJson(tx)), 'utf8');
  return n;
}

/**
 * The canonical bytes of a block around its transactions: keys in sorted
 * order, `{"commit":C,"header":H,"txs":[` ... `]}` (no commit: `{"header":`),
 * and the commas between transactions.
 */
export function blockFrameBytes(b: Block): number {
  const commit = b.commit === undefined ? 1 : 11 + Buffer.byteLength(canonicalJson(b.commit), 'utf8');
  return commit + 9 + headerCanonBytes(b.header) + 8 + 2 + Math.max(0, b.txs.length - 1);
}

const HEADER_FIELDS = ['version', 'chainId', 'height', 'prevHash', 'timestamp', 'txRoot', 'stateRoot', 'bits', 'nonce', 'proposer'] as const;
const HEADER_FIELD_SET: ReadonlySet<string> = new Set(HEADER_FIELDS);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isU64Safe(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Parses untrusted JSON into a header, checking every field's type and range. */
export function headerFromJson(json: unknown): Result<BlockHeader> {
  if (!isObject(json)) return fail(ERR.MALFORMED, 'a block header must be a JSON object');
  const keys = Object.keys(json);
  // Ten distinct keys, each a header field, are exactly the fields; anything else gets the precise complaint.
  if (keys.length !== HEADER_FIELDS.length || !keys.every((k) => HEADER_FIELD_SET.has(k))) {
    for (const k of keys) if (!HEADER_FIELD_SET.has(k)) return fail(ERR.MALFORMED, `block header: unknown field "${k}"`);
    for (const k of HEADER_FIELDS) if (!(k in json)) return fail(ERR.MALFORMED, `block header: missing field "${k}"`);
  }
  const { version, chainId, height, prevHash, timestamp, txRoot, stateRoot, bits, nonce, proposer } = json;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 0 || version > 0xffffffff) return fail(ERR.MALFORMED, 'header version must be a u32');
  if (typeof chainId !== 'string' || !CHAIN_ID_RE.test(chainId)) return fail(ERR.BAD_CHAIN_ID, 'header chainId must be 1-32 characters of a-z, 0-9 and -');
  if (!isU64Safe(height)) return fail(ERR.MALFORMED, 'header height must be a non-negative integer');
  if (!isU64Safe(timestamp)) return fail(ERR.MALFORMED, 'header timestamp must be a non-negative integer (ms)');
  if (!isHex(prevHash, 32) || !isHex(txRoot, 32) || !isHex(stateRoot, 32)) return fail(ERR.MALFORMED, 'prevHash, txRoot and stateRoot must be 32 bytes of lowercase hex');
  if (typeof bits !== 'number' || !Number.isInteger(bits) || bits < 0 || bits > 0xffffffff) return fail(ERR.MALFORMED, 'header bits must be a u32');
  if (!isU64Safe(nonce)) return fail(ERR.MALFORMED, 'header nonce must be a non-negative integer');
  if (!isPublicKeyHex(proposer)) return fail(ERR.MALFORMED, 'header proposer must be 32 bytes of lowercase hex');
  return ok({ version, chainId, height, prevHash, timestamp, txRoot, stateRoot, bits, nonce, proposer });
}

/** Parses untrusted JSON into a block (structure only; rules are checked by applyBlock). */
export function blockFromJson(json: unknown, limits: TxLimits & { maxBlockTxs: number }): Result<Block> {
  if (!isObject(json)) return fail(ERR.MALFORMED, 'a block must be a JSON object');
  for (const k of Object.keys(json)) if (k !== 'header' && k !== 'txs' && k !== 'commit') return fail(ERR.MALFORMED, `block: unknown field "${k}"`);
  const header = headerFromJson(json.header);
  if (!header.ok) return header;
  if (!Array.isArray(json.txs)) return fail(ERR.MALFORMED, 'block txs must be an array');
  if (json.txs.length > limits.maxBlockTxs) return fail(ERR.TOO_MANY_TXS, `block has ${json.txs.length} transactions, the limit is ${limits.maxBlockTxs}`);
  const txs: Tx[] = [];
  for (let i = 0; i < json.txs.length; i++) {
    const t = txFromJson(json.txs[i], limits);
    if (!t.ok) return fail(t.error.code, `tx ${i}: ${t.error.message}`);
    txs.push(t.value);
  }
  const block: Block = json.commit === undefined ? { header: header.value, txs } : { header: header.value, txs, commit: json.commit as JsonValue };
  return ok(block);
}
