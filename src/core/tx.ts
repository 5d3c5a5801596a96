import { addressError, addressFromPublicKey, isHex, isPublicKeyHex, sign, TAG, taggedHash, toHex, verify, type KeyPair } from '../crypto/index.ts';
import { formatAmount, parseAmount } from './amount.ts';
import { canonicalJson, type JsonValue } from './encoding.ts';
import { ERR, fail, ok, type Result } from './errors.ts';
import { isReservedRecordKey, RESERVED_KEY_PREFIX } from './membership.ts';
import type { Address, CoinbaseTx, EvidenceTx, GovernAction, GovernOp, GovernTx, Hash, RecordTx, SignedTx, TransferTx, Tx, UnsignedTx } from './types.ts';
import { isWellFormedVote, voteFields, type Vote } from './votes.ts';

/** The JSON form of a transaction: amounts as decimal strings. */
export type TxJson =
  | { kind: 'transfer'; chainId: string; from: string; nonce: number; fee: string; to: string; amount: string; sig: string }
  | { kind: 'record'; chainId: string; from: string; nonce: number; fee: string; key: string; value: JsonValue; sig: string }
  | { kind: 'govern'; chainId: string; from: string; nonce: number; fee: string; action: GovernActionJson; sig: string }
  | { kind: 'coinbase'; chainId: string; height: number; to: string; amount: string }
  | { kind: 'evidence'; chainId: string; voteA: Vote; voteB: Vote };

/** The JSON form of a governance action; `name` only when set. */
export type GovernActionJson = { op: GovernOp; org: string; nodeId: string; name?: string };

/** Every governance operation, in the order the docs list them. */
export const GOVERN_OPS: readonly GovernOp[] = ['add-member', 'remove-member', 'add-validator', 'remove-validator'];
/** Longest organisation or member name; the same bound genesis applies. */
export const MAX_NAME_LENGTH = 64;

const VOTE_FIELDS = ['type', 'height', 'round', 'blockHash', 'validator', 'signature'] as const;

export const CHAIN_ID_RE = /^[a-z0-9][a-z0-9-]{0,31}$/;
const RECORD_KEY_RE = /^[\x21-\x7e]+$/;
const MAX_NONCE = Number.MAX_SAFE_INTEGER;

/** The JSON form of a transaction (with or without its signature). */
export function txToJson(tx: Tx | UnsignedTx): TxJson {
  switch (tx.kind) {
    case 'transfer': {
      const j: Record<string, unknown> = { kind: 'transfer', chainId: tx.chainId, from: tx.from, nonce: tx.nonce, fee: formatAmount(tx.fee), to: tx.to, amount: formatAmount(tx.amount) };
      if ('sig' in tx) j.sig = tx.sig;
      return j as TxJson;
    }
    case 'record': {
      const j: Record<string, unknown> = { kind: 'record', chainId: tx.chainId, from: tx.from, nonce: tx.nonce, fee: formatAmount(tx.fee), key: tx.key, value: tx.value };
      if ('sig' in tx) j.sig = tx.sig;
      return j as TxJson;
    }
    case 'govern': {
      const j: Record<string, unknown> = { kind: 'govern', chainId: tx.chainId, from: tx.from, nonce: tx.nonce, fee: formatAmount(tx.fee), action: governActionToJson(tx.action) };
      if ('sig' in tx) j.sig = tx.sig;
      return j as TxJson;
    }
    case 'coinbase':
      return { kind: 'coinbase', chainId: tx.chainId, height: tx.height, to: tx.to, amount: formatAmount(tx.amount) };
    case 'evidence':
      return { kind: 'evidence', chainId: tx.chainId, voteA: voteFields(tx.voteA), voteB: voteFields(tx.voteB) };
  }
}

/** The JSON form of a governance action (a fresh object, so callers may keep it). */
export function governActionToJson(a: GovernAction): GovernActionJson {
  const j: GovernActionJson = { op: a.op, org: a.org, nodeId: a.nodeId };
  if (a.name !== undefined) j.name = a.name;
  return j;
}

function isName(v: unknown): v is string {
  return typeof v === 'string' && v.length >= 1 && v.length <= MAX_NAME_LENGTH;
}

/**
 * Parses a governance action: exact fields (a `name` only on additions, where
 * it names the joining node), a known op and a valid node id. Whether the
 * change makes sense for the current membership is a state rule (governance.ts).
 */
export function governActionFromJson(json: unknown): Result<GovernAction> {
  if (!isObject(json)) return fail(ERR.MALFORMED, 'govern "action" must be a JSON object {op, org, nodeId, name?}');
  for (const k of Object.keys(json)) if (!['op', 'org', 'nodeId', 'name'].includes(k)) return fail(ERR.MALFORMED, `govern action: unknown field "${k}"`);
  for (const k of ['op', 'org', 'nodeId']) if (!(k in json)) return fail(ERR.MALFORMED, `govern action: missing field "${k}"`);
  const op = json.op;
  if (typeof op !== 'string' || !(GOVERN_OPS as readonly string[]).includes(op)) {
    return fail(ERR.BAD_GOVERNANCE_ACTION, `govern action op must be one of ${GOVERN_OPS.join(', ')}; got ${typeof op === 'string' ? JSON.stringify(op.slice(0, 32)) : typeof op}`);
  }
  if (!isName(json.org)) return fail(ERR.BAD_GOVERNANCE_ACTION, `govern action org must be an organisation name of 1-${MAX_NAME_LENGTH} characters`);
  if (!isPublicKeyHex(json.nodeId)) return fail(ERR.BAD_GOVERNANCE_ACTION, 'govern action nodeId must be a node public key: 32 bytes of lowercase hex');
  const action: { op: GovernOp; org: string; nodeId: string; name?: string } = { op: op as GovernOp, org: json.org, nodeId: json.nodeId };
  if ('name' in json) {
    if (op === 'remove-member' || op === 'remove-validator') return fail(ERR.BAD_GOVERNANCE_ACTION, `govern action ${op} takes no name (a name only labels a node that joins)`);
    if (!isName(json.name)) return fail(ERR.BAD_GOVERNANCE_ACTION, `govern action name must be 1-${MAX_NAME_LENGTH} characters`);
    action.name = json.name;
  }
  return ok(Object.freeze(action));
}

function unsignedJson(tx: Tx | UnsignedTx): Record<string, unknown> {
  const j = txToJson(tx) as Record<string, unknown>;
  delete j.sig;
  return j;
}

// Transactions are immutable values; their canonical form and id are computed
// once per object (admission, block checks and gossip all ask for them).
const txMeta = new WeakMap<object, TxMeta>();

/**
 * The canonical JSON of a transfer's unsigned fields, written out directly in
 * sorted key order (amount, chainId, fee, from, kind, nonce, to): exactly what
 * canonicalJson(unsignedJson(tx)) gives for well-typed fields. Anything else
 * (a missing or odd-typed field) takes the general path and its errors.
 */
function transferCanon(tx: Tx | UnsignedTx): string | undefined {
  if (tx.kind !== 'transfer') return undefined;
  const { amount, chainId, fee, from, nonce, to } = tx;
  if (typeof amount !== 'bigint' || typeof fee !== 'bigint' || amount < 0n || fee < 0n) return undefined;
  if (typeof chainId !== 'string' || typeof from !== 'string' || typeof to !== 'string') return undefined;
  if (!Number.isSafeInteger(nonce) || Object.is(nonce, -0)) return undefined;
  return `{"amount":"${amount}","chainId":${JSON.stringify(chainId)},"fee":"${fee}","from":${JSON.stringify(from)},"kind":"transfer","nonce":${nonce},"to":${JSON.stringify(to)}}`;
}

/** The same for a coinbase (amount, chainId, height, kind, to): one per block, so one per synced block. */
function coinbaseCanon(tx: CoinbaseTx): string | undefined {
  const { amount, chainId, height, to } = tx;
  if (typeof amount !== 'bigint' || amount < 0n || typeof chainId !== 'string' || typeof to !== 'string') return undefined;
  if (!Number.isSafeInteger(height) || Object.is(height, -0)) return undefined;
  return `{"amount":"${amount}","chainId":${JSON.stringify(chainId)},"height":${height},"kind":"coinbase","to":${JSON.stringify(to)}}`;
}

/** What is derived once per transaction object (objects are immutable once built). */
interface TxMeta {
  canon: string;
  id?: Buffer;
  idHex?: Hash;
  size?: number;
}

function meta(tx: Tx | UnsignedTx): TxMeta {
  let m = txMeta.get(tx);
  if (m === undefined) {
    m = { canon: (tx.kind === 'coinbase' ? coinbaseCanon(tx) : transferCanon(tx)) ?? canonicalJson(unsignedJson(tx)) };
    txMeta.set(tx, m);
  }
  return m;
}

// `,"sig":"` + 128 hex + `"`: what the signature adds to the canonical form.
const SIG_FIELD_BYTES = 137;

/** The 32-byte id: tagged SHA-256 of the canonical JSON of everything but the signature. */
export function txIdBytes(tx: Tx | UnsignedTx): Buffer {
  const m = meta(tx);
  if (m.id === undefined) m.id = taggedHash(TAG.tx, Buffer.from(m.canon, 'utf8'));
  // A copy: a caller writing into the buffer must not change the cached id.
  return Buffer.from(m.id);
}

/** The transaction id as hex. The signature signs exactly these 32 bytes. */
export function txId(tx: Tx | UnsignedTx): Hash {
  const m = meta(tx);
  if (m.idHex === undefined) {
    if (m.id === undefined) m.id = taggedHash(TAG.tx, Buffer.from(m.canon, 'utf8'));
    m.idHex = toHex(m.id);
  }
  return m.idHex;
}

/** Signs an unsigned transaction with the sender's keys. */
export function signTx<T extends UnsignedTx>(tx: T, keys: KeyPair): T & { sig: string } {
  if (tx.from !== keys.publicKey) throw new Error('signTx: keys do not belong to tx.from');
  return { ...tx, sig: toHex(sign(keys, txIdBytes(tx))) };
}

/** True if the transaction's signature is valid for its sender. */
export function verifyTxSignature(tx: SignedTx, id: Buffer = txIdBytes(tx)): boolean {
  if (!isHex(tx.sig, 64)) return false;
  return verify(tx.from, id, Buffer.from(tx.sig, 'hex'));
}

/** The sender's address. */
export function txSender(tx: SignedTx): Address {
  return addressFromPublicKey(tx.from);
}

/** Size in bytes of the canonical JSON form: the unit of block size limits. */
export function txSize(tx: Tx): number {
  const m = meta(tx);
  if (m.size === undefined) {
    const unsigned = Buffer.byteLength(m.canon, 'utf8');
    m.size = tx.kind === 'coinbase' || tx.kind === 'evidence' ? unsigned : unsigned + SIG_FIELD_BYTES;
  }
  return m.size;
}

/** Limits a transaction must respect; a subset of ChainParams. */
export interface TxLimits {
  readonly maxTxBytes: number;
  readonly maxRecordKeyLength: number;
  readonly maxRecordValueBytes: number;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function exactKeys(o: Record<string, unknown>, keys: readonly string[]): string | undefined {
  for (const k of Object.keys(o)) if (!keys.includes(k)) return `unknown field "${k}"`;
  for (const k of keys) if (!(k in o)) return `missing field "${k}"`;
  return undefined;
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && v <= MAX_NONCE;
}

/** Checks a JSON value for a record: plain JSON data only, within the size bound. */
export function recordValueError(value: unknown, maxBytes: number): string | undefined {
  let size: number;
  try {
    size = Buffer.byteLength(canonicalJson(value), 'utf8');
  } catch (e) {
    return `record value is not plain JSON: ${(e as Error).message}`;
  }
  if (size > maxBytes) return `record value is ${size} bytes, the limit is ${maxBytes}`;
  return undefined;
}

/**
 * Parses untrusted JSON into a transaction, checking its structure: exact
 * field set (an unsigned extra field could otherwise ride along), types,
 * amount ranges, address checksums and size limits. It does not check the
 * signature or anything that depends on state.
 */
export function txFromJson(json: unknown, limits: TxLimits): Result<Tx> {
  if (!isObject(json)) return fail(ERR.MALFORMED, 'a transaction must be a JSON object');
  const kind = json.kind;
  const fields =
    kind === 'transfer'
      ? ['kind', 'chainId', 'from', 'nonce', 'fee', 'to', 'amount', 'sig']
      : kind === 'record'
        ? ['kind', 'chainId', 'from', 'nonce', 'fee', 'key', 'value', 'sig']
        : kind === 'govern'
          ? ['kind', 'chainId', 'from', 'nonce', 'fee', 'action', 'sig']
          : kind === 'coinbase'
            ? ['kind', 'chainId', 'height', 'to', 'amount']
            : kind === 'evidence'
              ? ['kind', 'chainId', 'voteA', 'voteB']
              : undefined;
  if (fields === undefined) return fail(ERR.MALFORMED, `unknown transaction kind ${typeof kind === 'string' ? JSON.stringify(kind.slice(0, 32)) : typeof kind}`);
  const keysErr = exactKeys(json, fields);
  if (keysErr !== undefined) return fail(ERR.MALFORMED, `${kind} transaction: ${keysErr}`);
  if (typeof json.chainId !== 'string' || !CHAIN_ID_RE.test(json.chainId)) return fail(ERR.BAD_CHAIN_ID, 'chainId must be 1-32 characters of a-z, 0-9 and -');
  const chainId = json.chainId;
  if (kind === 'evidence') {
    // Exact vote fields: an extra key would ride along outside the signatures.
    for (const [name, v] of [['voteA', json.voteA], ['voteB', json.voteB]] as const) {
      if (!isObject(v) || exactKeys(v, VOTE_FIELDS) !== undefined || !isWellFormedVote(v)) return fail(ERR.BAD_EVIDENCE, `evidence ${name} must be a vote {${VOTE_FIELDS.join(', ')}}`);
    }
    const tx: EvidenceTx = { kind, chainId, voteA: voteFields(json.voteA as Vote), voteB: voteFields(json.voteB as Vote) };
    return checkSize(tx, limits);
  }
  const toErr = addressError(json.to);
  if (kind === 'coinbase') {
    if (!isCount(json.height)) return fail(ERR.MALFORMED, 'coinbase height must be a non-negative integer');
    if (toErr !== undefined) return fail(ERR.BAD_ADDRESS, `coinbase "to": ${toErr}`);
    const amount = parseAmount(json.amount);
    if (amount === undefined) return fail(ERR.BAD_AMOUNT, 'coinbase amount must be a decimal string between 0 and 2^64-1');
    const tx: CoinbaseTx = { kind, chainId, height: json.height, to: json.to as Address, amount };
    return checkSize(tx, limits);
  }
  if (!isPublicKeyHex(json.from)) return fail(ERR.MALFORMED, '"from" must be the sender public key: 32 bytes of lowercase hex');
  if (!isCount(json.nonce)) return fail(ERR.BAD_NONCE, 'nonce must be a non-negative safe integer');
  const fee = parseAmount(json.fee);
  if (fee === undefined) return fail(ERR.BAD_AMOUNT, 'fee must be a decimal string between 0 and 2^64-1');
  if (!isHex(json.sig, 64)) return fail(ERR.BAD_SIGNATURE, 'sig must be a 64-byte Ed25519 signature in lowercase hex');
  const base = { chainId, from: json.from, nonce: json.nonce, fee, sig: json.sig };
  if (kind === 'transfer') {
    if (toErr !== undefined) return fail(ERR.BAD_ADDRESS, `"to": ${toErr}`);
    const amount = parseAmount(json.amount);
    if (amount === undefined) return fail(ERR.BAD_AMOUNT, 'amount must be a decimal string between 0 and 2^64-1');
    if (amount === 0n) return fail(ERR.BAD_AMOUNT, 'amount must be positive');
    const tx: TransferTx = { kind, ...base, to: json.to as Address, amount };
    return checkSize(tx, limits);
  }
  if (kind === 'govern') {
    const action = governActionFromJson(json.action);
    if (!action.ok) return action;
    const tx: GovernTx = { kind, ...base, action: action.value };
    return checkSize(tx, limits);
  }
  const key = json.key;
  if (typeof key !== 'string' || key.length === 0 || key.length > limits.maxRecordKeyLength || !RECORD_KEY_RE.test(key)) {
    return fail(ERR.RECORD_KEY, `record key must be 1-${limits.maxRecordKeyLength} printable ASCII characters without spaces`);
  }
  if (isReservedRecordKey(key)) return fail(ERR.RECORD_KEY, reservedKeyMessage(key));
  const valueErr = recordValueError(json.value, limits.maxRecordValueBytes);
  if (valueErr !== undefined) return fail(ERR.RECORD_VALUE, valueErr);
  // Own a frozen copy of the value: the id is cached per transaction, so the
  // value must not change behind it if the caller reuses its input object.
  const tx: RecordTx = { kind: 'record', ...base, key, value: deepFreeze(structuredClone(json.value) as JsonValue) };
  return checkSize(tx, limits);
}

/** Why a record transaction may not write a reserved key. */
export function reservedKeyMessage(key: string): string {
  return `record key ${JSON.stringify(key.slice(0, 40))} starts with "${RESERVED_KEY_PREFIX}", which is reserved for membership and governance records; choose a key that does not`;
}

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const child of Object.values(v)) deepFreeze(child);
  }
  return v;
}

function checkSize(tx: Tx, limits: TxLimits): Result<Tx> {
  // Every field is validated by now, so the canonical form exists; it is cached for the id.
  const size = txSize(tx);
  if (size > limits.maxTxBytes) return fail(ERR.TOO_LARGE, `transaction is ${size} bytes, the limit is ${limits.maxTxBytes}`);
  return ok(tx);
}
