import { isHex, isPublicKeyHex, sha256d, toHex } from '../crypto/index.ts';
import { ByteWriter, canonicalJson, type JsonValue } from './encoding.ts';
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
  const chainId = Buffer.from(h.chainId, 'ascii');
  return new ByteWriter(4 + 1 + chainId.length + 8 + 32 + 8 + 32 + 32 + 32 + 4 + 8)
    .u32(h.version)
    .u8(chainId.length)
    .bytes(chainId)
    .u64(h.height)
    .bytes(Buffer.from(h.prevHash, 'hex'))
    .u64(h.timestamp)
    .bytes(Buffer.from(h.txRoot, 'hex'))
    .bytes(Buffer.from(h.stateRoot, 'hex'))
    .bytes(Buffer.from(h.proposer, 'hex'))
    .u32(h.bits)
    .u64(h.nonce)
    .finish();
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

/** The Merkle root of a list of transactions. */
export function txRootOf(txs: readonly Tx[]): Hash {
  // The cached id bytes, not a hex round trip (the same root as merkleRootHex of the hex ids).
  return merkleRoot(txs.map(txIdBytes)).toString('hex');
}

/** The JSON form of a block. */
export function blockToJson(b: Block): BlockJson {
  const j: BlockJson = { header: { ...b.header }, txs: b.txs.map((t) => txToJson(t)) };
  if (b.commit !== undefined) j.commit = b.commit;
  return j;
}

/** Size in bytes of the canonical JSON form of a block: the unit of the block size limit. */
export function blockSize(b: Block): number {
  return Buffer.byteLength(canonicalJson(blockToJson(b)), 'utf8');
}

const HEADER_FIELDS = ['version', 'chainId', 'height', 'prevHash', 'timestamp', 'txRoot', 'stateRoot', 'bits', 'nonce', 'proposer'] as const;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isU64Safe(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Parses untrusted JSON into a header, checking every field's type and range. */
export function headerFromJson(json: unknown): Result<BlockHeader> {
  if (!isObject(json)) return fail(ERR.MALFORMED, 'a block header must be a JSON object');
  for (const k of Object.keys(json)) if (!(HEADER_FIELDS as readonly string[]).includes(k)) return fail(ERR.MALFORMED, `block header: unknown field "${k}"`);
  for (const k of HEADER_FIELDS) if (!(k in json)) return fail(ERR.MALFORMED, `block header: missing field "${k}"`);
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
