/**
 * `peerchain tx transfer|record|govern`: the transaction is built and signed here with
 * core's signTx, so the private key never leaves this machine; the node gets
 * only the signed JSON. Every flag is checked before the wallet is opened or
 * the node is asked anything, so bad input submits nothing.
 */
import type { TxStatusView } from '../api/index.ts';
import {
  formatAmount,
  GOVERN_OPS,
  governActionToJson,
  isReservedRecordKey,
  MAX_AMOUNT,
  MAX_NAME_LENGTH,
  proposalId,
  recordValueError,
  RESERVED_KEY_PREFIX,
  signTx,
  txToJson,
  type GovernAction,
  type GovernOp,
  type JsonValue,
  type UnsignedTx,
} from '../core/index.ts';
import { addressError, addressFromPublicKey, isPublicKeyHex, type KeyPair } from '../crypto/index.ts';
import { KeystoreError, loadKeyFile } from '../node/keystore.ts';
import { nodeClient, type NodeClient, type NodeFlags } from './client.ts';
import { flagOrEnv, parseIntIn } from './config.ts';
import type { CliContext } from './context.ts';
import { badValue, CliError } from './errors.ts';
import { resolvePassphrase } from './passphrase.ts';

/** Flags every transaction command shares. */
export interface TxFlags extends NodeFlags {
  wallet?: string;
  passphraseFile?: string;
  fee?: string;
  nonce?: string;
  wait?: boolean;
  timeout?: string;
  json?: boolean;
}

/** Flags of `tx transfer`. */
export interface TransferFlags extends TxFlags {
  to?: string;
  amount?: string;
}

/** Flags of `tx record`. */
export interface RecordFlags extends TxFlags {
  key?: string;
  value?: string;
}

/** Flags of `tx govern`. */
export interface GovernFlags extends TxFlags {
  op?: string;
  org?: string;
  nodeId?: string;
  name?: string;
}

const DEFAULT_FEE = 1n;
const DEFAULT_WAIT_S = 60;
const MAX_WAIT_S = 24 * 3600;
const POLL_MS = 250;
// The chain's own limit (maxRecordKeyLength) is checked by the node; this only keeps messages short.
const RECORD_KEY_RE = /^[\x21-\x7e]+$/;

/** Parses a whole-number amount flag in [min, 2^64-1]; the error names the flag and says what a valid value looks like. */
export function parseAmountFlag(flag: string, raw: string, min: bigint): bigint {
  const s = raw.trim();
  // Digits only: "1.5", "-3", "1e6" and "0x10" are all refused, never rounded or reinterpreted.
  const v = /^[0-9]{1,30}$/.test(s) ? BigInt(s) : undefined;
  if (v === undefined || v < min || v > MAX_AMOUNT) {
    throw badValue(flag, raw, `a whole number from ${min} to ${MAX_AMOUNT} in decimal digits (no sign, decimal point or exponent)`);
  }
  return v;
}

function required(flag: string, value: string | undefined, what: string): string {
  if (value === undefined || value === '') throw new CliError(`${flag}: required (${what})`);
  return value;
}

/** What every kind of transaction needs once the common flags are checked. */
interface Common {
  readonly client: NodeClient;
  readonly fee: bigint;
  readonly nonce: number | undefined;
  readonly waitS: number | undefined;
}

function commonFlags(ctx: CliContext, flags: TxFlags): Common {
  const client = nodeClient(ctx.env, flags);
  const fee = flags.fee === undefined ? DEFAULT_FEE : parseAmountFlag('--fee', flags.fee, 0n);
  const nonce = flags.nonce === undefined ? undefined : parseIntIn({ value: flags.nonce, source: '--nonce' }, 0, Number.MAX_SAFE_INTEGER);
  if (flags.timeout !== undefined && flags.wait !== true) throw new CliError('--timeout: only means something with --wait');
  const waitS = flags.wait !== true ? undefined : flags.timeout === undefined ? DEFAULT_WAIT_S : parseIntIn({ value: flags.timeout, source: '--timeout' }, 1, MAX_WAIT_S);
  return { client, fee, nonce, waitS };
}

/** Opens the sender's wallet (decrypting it if sealed); errors name the flag and the file. */
async function openWallet(ctx: CliContext, flags: TxFlags): Promise<KeyPair> {
  const wallet = flagOrEnv(ctx.env, '--wallet', flags.wallet, 'PEERCHAIN_WALLET');
  if (wallet === undefined) throw new CliError('--wallet: required (the sender\'s wallet file; or set PEERCHAIN_WALLET)');
  const passphrase = await resolvePassphrase(ctx.env, flags.passphraseFile);
  try {
    return (await loadKeyFile(wallet.value, passphrase?.value)).keys;
  } catch (e) {
    if (e instanceof KeystoreError) throw new CliError(`${wallet.source}: ${e.message}`);
    throw e;
  }
}

type Body = { kind: 'transfer'; to: string; amount: bigint } | { kind: 'record'; key: string; value: JsonValue } | { kind: 'govern'; action: GovernAction };

function unsignedOf(base: { chainId: string; from: string; nonce: number; fee: bigint }, body: Body): UnsignedTx {
  switch (body.kind) {
    case 'transfer':
      return { kind: 'transfer', ...base, to: body.to, amount: body.amount };
    case 'record':
      return { kind: 'record', ...base, key: body.key, value: body.value };
    case 'govern':
      return { kind: 'govern', ...base, action: body.action };
  }
}

function describeBody(body: Body): { what: string; fields: Record<string, unknown> } {
  switch (body.kind) {
    case 'transfer':
      return { what: `transfer of ${formatAmount(body.amount)} to ${body.to}`, fields: { to: body.to, amount: formatAmount(body.amount) } };
    case 'record':
      return { what: `record ${JSON.stringify(body.key)}`, fields: { key: body.key, value: body.value } };
    case 'govern': {
      const a = body.action;
      return { what: `approval of ${a.op} ${a.nodeId} in "${a.org}" (proposal ${proposalId(a)})`, fields: { action: governActionToJson(a), proposal: proposalId(a) } };
    }
  }
}

/** Signs the transaction against the node's chain id and nonce, submits it, and reports (and waits if asked). */
async function signAndSubmit(ctx: CliContext, flags: TxFlags, c: Common, keys: KeyPair, body: Body): Promise<void> {
  const from = addressFromPublicKey(keys.publicKey);
  // The chain id is part of what is signed, so a transaction cannot be replayed on another network.
  const { chainId } = await c.client.status();
  const nonce = c.nonce ?? (await c.client.account(from)).pendingNonce;
  const base = { chainId, from: keys.publicKey, nonce, fee: c.fee };
  const { id } = await c.client.submitTx(txToJson(signTx(unsignedOf(base, body), keys)));
  const { what, fields } = describeBody(body);
  const summary = { id, kind: body.kind, chainId, from, nonce, fee: formatAmount(c.fee), ...fields };
  if (flags.json !== true) {
    ctx.out.line(id);
    ctx.out.note(`submitted ${what} from ${from} (nonce ${nonce}, fee ${formatAmount(c.fee)}) to ${c.client.url}`);
  }
  if (c.waitS === undefined) {
    if (flags.json === true) ctx.out.json({ ...summary, status: 'pending' });
    return;
  }
  if (flags.json !== true) ctx.out.note(`waiting up to ${c.waitS} s for a block...`);
  const done = await waitConfirmed(c.client, id, c.waitS);
  if (flags.json === true) ctx.out.json({ ...summary, status: 'confirmed', height: done.height, blockHash: done.blockHash });
  else ctx.out.line(`confirmed at height ${done.height} in block ${done.blockHash}`);
}

type Confirmed = Extract<TxStatusView, { status: 'confirmed' }>;

/** Polls GET /api/txs/:id until the transaction is in a main-chain block, for at most waitS seconds. */
async function waitConfirmed(client: NodeClient, id: string, waitS: number): Promise<Confirmed> {
  const end = Date.now() + waitS * 1000;
  for (;;) {
    const t = await client.tx(id);
    if (t === undefined) throw new CliError(`transaction ${id} was dropped: the node has it neither pending nor in the main chain`);
    if (t.status === 'confirmed') return t;
    const left = end - Date.now();
    if (left <= 0) throw new CliError(`--timeout: transaction ${id} is still pending after ${waitS} s (it stays in the node's mempool and may confirm later)`);
    await new Promise((r) => setTimeout(r, Math.min(POLL_MS, left)));
  }
}

/** `tx transfer`: checks the flags, opens the wallet, signs and submits a transfer. */
export async function runTransfer(ctx: CliContext, flags: TransferFlags): Promise<void> {
  const to = required('--to', flags.to, 'the recipient address, pc1...');
  const toErr = addressError(to);
  if (toErr !== undefined) throw new CliError(`--to: ${toErr}`);
  const amount = parseAmountFlag('--amount', required('--amount', flags.amount, 'how many coins to send'), 1n);
  const c = commonFlags(ctx, flags);
  const keys = await openWallet(ctx, flags);
  await signAndSubmit(ctx, flags, c, keys, { kind: 'transfer', to, amount });
}

/** `tx record`: checks the flags, opens the wallet, signs and submits a record update. */
export async function runRecord(ctx: CliContext, flags: RecordFlags): Promise<void> {
  const key = required('--key', flags.key, 'the record key');
  if (!RECORD_KEY_RE.test(key)) throw badValue('--key', key, 'printable ASCII characters without spaces');
  if (isReservedRecordKey(key)) throw new CliError(`--key: keys starting with "${RESERVED_KEY_PREFIX}" are reserved for membership and governance records; got ${JSON.stringify(key)}`);
  const raw = required('--value', flags.value, 'the value as JSON, e.g. \'{"km":41000}\' or \'"text"\'');
  let value: JsonValue;
  try {
    value = JSON.parse(raw) as JsonValue;
  } catch (e) {
    // A bare word is the commonest slip: the shell ate the quotes a JSON string needs.
    const hint = /^[^"{[\d-]/.test(raw.trim()) && !/^(true|false|null)$/.test(raw.trim()) ? `; for text, quote it as JSON: '"${raw.trim().slice(0, 40)}"'` : '';
    throw new CliError(`--value: not valid JSON (${(e as Error).message})${hint}`);
  }
  const valueErr = recordValueError(value, Number.MAX_SAFE_INTEGER);
  if (valueErr !== undefined) throw new CliError(`--value: ${valueErr}`);
  const c = commonFlags(ctx, flags);
  const keys = await openWallet(ctx, flags);
  await signAndSubmit(ctx, flags, c, keys, { kind: 'record', key, value });
}

function nameFlag(flag: string, value: string | undefined, what: string): string {
  const v = required(flag, value, what);
  if (v.length > MAX_NAME_LENGTH) throw badValue(flag, v, `a name of 1-${MAX_NAME_LENGTH} characters`);
  return v;
}

/** `tx govern`: checks the flags, opens the wallet, signs and submits the organisation's approval of a change. */
export async function runGovern(ctx: CliContext, flags: GovernFlags): Promise<void> {
  const op = required('--op', flags.op, GOVERN_OPS.join(', '));
  if (!(GOVERN_OPS as readonly string[]).includes(op)) throw badValue('--op', op, `one of ${GOVERN_OPS.join(', ')}`);
  const org = nameFlag('--org', flags.org, 'the organisation the node belongs to or joins');
  const nodeId = required('--node-id', flags.nodeId, "the node's public key in hex");
  if (!isPublicKeyHex(nodeId)) throw badValue('--node-id', nodeId, 'a node public key: 64 lowercase hex characters (see the nodeId in the node\'s node.json or GET /api/status)');
  const action: { op: GovernOp; org: string; nodeId: string; name?: string } = { op: op as GovernOp, org, nodeId };
  if (flags.name !== undefined) {
    if (op === 'remove-member' || op === 'remove-validator') throw new CliError(`--name: only names a node that joins (add-member, add-validator); leave it out for ${op}`);
    action.name = nameFlag('--name', flags.name, 'the joining node\'s name');
  }
  const c = commonFlags(ctx, flags);
  const keys = await openWallet(ctx, flags);
  await signAndSubmit(ctx, flags, c, keys, { kind: 'govern', action });
}
