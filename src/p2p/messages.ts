/**
 * Wire messages of protocol version 2: the `{type, payload}` envelope and a
 * strict schema per type. Block and transaction bodies stay opaque JSON here;
 * the chain layer validates them with core's txFromJson/blockFromJson.
 */
import { z } from 'zod';
import { CHAIN_ID_RE } from '../core/index.ts';
import { addressError, MAX_ADDRESS_LENGTH } from './address.ts';

/**
 * The protocol version this code speaks. 2 added compact BFT proposals
 * (BFT_PROPOSAL with `compact`, and BFT_GET_PROPOSAL); a version-1 peer is
 * still sent whole proposals.
 */
export const PROTOCOL_VERSION = 2;
/** The oldest protocol version this code still accepts. */
export const MIN_PROTOCOL_VERSION = 1;

/** Bounds on list lengths and string sizes in messages. */
export const LIMITS = {
  addrs: 1000,
  listen: 16,
  invIds: 5000,
  locator: 64,
  headers: 2000,
  blocksPerMessage: 128,
  /** Transactions in one TXS answer. */
  txsPerMessage: 1000,
  /** Entries (ids or bodies) in one compact proposal. */
  proposalTxs: 20_000,
  agent: 128,
  reasonMessage: 512,
  /** Largest HELLO memberCert, as JSON text. */
  memberCertBytes: 16 * 1024,
  /** Deepest nesting accepted inside opaque tx/block JSON. */
  opaqueDepth: 32,
  /** Entries in one PEERS answer: more than a node's default link limits (32 in, 8 out). */
  peers: 128,
  /** Largest round trip a PEERS entry may claim, in ms (the keepalive ends a link long before). */
  peerRttMs: 600_000,
} as const;

/** Reason codes a DISCONNECT carries. Other well-formed codes are accepted from peers (newer versions). */
export const DISCONNECT_REASONS = [
  'wrong-network',
  'wrong-genesis',
  'unsupported-version',
  'self-connection',
  'duplicate-connection',
  'not-member',
  'bad-signature',
  'handshake-timeout',
  'protocol-error',
  'misbehaviour',
  'ping-timeout',
  'shutdown',
  'too-many-peers',
  'banned',
  /** TLS link whose peer certificate key is not the node id in its HELLO (or no certificate). */
  'cert-mismatch',
  /** A plaintext link to a node that only accepts TLS. */
  'tls-required',
  /** A testnet fault: this node was told to cut its links to that node id (never sent outside --fault-control). */
  'partitioned',
] as const;
export type KnownDisconnectReason = (typeof DISCONNECT_REASONS)[number];

const HASH_RE = /^[0-9a-f]{64}$/;
const hash = z.string().regex(HASH_RE, 'must be 32 bytes of lowercase hex');
const pubkey = hash;
const u53 = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const peerAddress = z
  .string()
  .max(MAX_ADDRESS_LENGTH)
  .superRefine((s, c) => {
    const e = addressError(s);
    if (e !== undefined) c.addIssue({ code: 'custom', message: e });
  });
const invKind = z.enum(['block', 'tx']);

/** True if a JSON value nests no deeper than max (iterative, so a hostile value cannot overflow the stack). */
export function jsonDepthWithin(value: unknown, max: number): boolean {
  if (value === null || typeof value !== 'object') return true;
  // Two parallel stacks of containers only: a sync answer holds thousands of values, and a pair per value showed in profiles.
  const stack: object[] = [value];
  const depths: number[] = [0];
  while (stack.length > 0) {
    const v = stack.pop()!;
    const d = depths.pop()!;
    if (d >= max) return false;
    const children: unknown[] = Array.isArray(v) ? v : Object.values(v);
    for (let i = 0; i < children.length; i++) {
      const c = children[i];
      if (c !== null && typeof c === 'object') {
        stack.push(c);
        depths.push(d + 1);
      }
    }
  }
  return true;
}

// Opaque bodies: any JSON object of bounded depth; their meaning is the chain layer's business.
const opaqueObject = z.custom<Record<string, unknown>>(
  (v) => typeof v === 'object' && v !== null && !Array.isArray(v) && jsonDepthWithin(v, LIMITS.opaqueDepth),
  'must be a JSON object of bounded depth',
);

const ids = (max: number) => z.array(hash).max(max);

// A list of opaque objects, checked in one loop rather than through zod per element.
const opaqueList = (max: number) =>
  z.custom<Record<string, unknown>[]>(
    (v) => Array.isArray(v) && v.length <= max && v.every((o) => typeof o === 'object' && o !== null && !Array.isArray(o) && jsonDepthWithin(o, LIMITS.opaqueDepth)),
    `must be a list of at most ${max} JSON objects of bounded depth`,
  );

// A compact proposal's transactions: ids the receiver should hold, or bodies.
// Checked in one loop: thousands of entries through a zod union cost
// milliseconds per proposal.
const compactTxs = z.custom<(string | Record<string, unknown>)[]>(
  (v) =>
    Array.isArray(v) &&
    v.length <= LIMITS.proposalTxs &&
    v.every((t) => (typeof t === 'string' ? HASH_RE.test(t) : typeof t === 'object' && t !== null && !Array.isArray(t) && jsonDepthWithin(t, LIMITS.opaqueDepth))),
  `must be a list of at most ${LIMITS.proposalTxs} transaction ids (64 lowercase hex) or transaction objects`,
);

// The membership credential in HELLO: opaque here (the membership hook judges it), but bounded.
const memberCert = z.custom<Record<string, unknown>>(
  (v) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v) || !jsonDepthWithin(v, LIMITS.opaqueDepth)) return false;
    let text: string;
    try {
      // Parsed JSON always stringifies; a value built in code may not (BigInt), and must not throw here.
      text = JSON.stringify(v);
    } catch {
      return false;
    }
    return text.length * 3 <= LIMITS.memberCertBytes || Buffer.byteLength(text) <= LIMITS.memberCertBytes;
  },
  `must be a JSON object of at most ${LIMITS.memberCertBytes} bytes`,
);

/** Payload schemas by message type. */
export const payloadSchemas = {
  HELLO: z.strictObject({
    version: z.number().int().min(1).max(0xffff),
    network: z.enum(['public', 'private', 'consortium']),
    chainId: z.string().regex(CHAIN_ID_RE, 'must be 1-32 characters of a-z, 0-9 and -'),
    genesisHash: hash,
    nodeId: pubkey,
    listen: z.array(peerAddress).max(LIMITS.listen),
    height: u53,
    tip: hash,
    challenge: hash,
    agent: z.string().max(LIMITS.agent),
    memberCert: memberCert.optional(),
  }),
  HELLO_ACK: z.strictObject({ signature: z.string().regex(/^[0-9a-f]{128}$/, 'must be 64 bytes of lowercase hex') }),
  DISCONNECT: z.strictObject({
    reason: z.string().regex(/^[a-z][a-z0-9-]{0,47}$/, 'must be a short lowercase code'),
    message: z.string().max(LIMITS.reasonMessage),
  }),
  PING: z.strictObject({ nonce: u53 }),
  PONG: z.strictObject({ nonce: u53 }),
  GET_ADDR: z.strictObject({}),
  ADDR: z.strictObject({ addresses: z.array(peerAddress).max(LIMITS.addrs) }),
  // The nodes a peer says it is linked to, for the explorer's graph only: nothing else trusts it.
  GET_PEERS: z.strictObject({}),
  PEERS: z.strictObject({
    peers: z.array(z.strictObject({ id: pubkey, rttMs: z.number().min(0).max(LIMITS.peerRttMs).optional() })).max(LIMITS.peers),
  }),
  INV: z.strictObject({ kind: invKind, ids: ids(LIMITS.invIds) }),
  GET_DATA: z.strictObject({ kind: invKind, ids: ids(LIMITS.invIds) }),
  NOT_FOUND: z.strictObject({ kind: invKind, ids: ids(LIMITS.invIds) }),
  TX: z.strictObject({ tx: opaqueObject }),
  // Several transaction bodies in one frame: how GET_DATA for transactions is answered.
  TXS: z.strictObject({ txs: z.array(opaqueObject).min(1).max(LIMITS.txsPerMessage) }),
  BLOCK: z.strictObject({ block: opaqueObject }),
  GET_HEADERS: z.strictObject({
    locator: ids(LIMITS.locator).min(1),
    stop: hash.optional(),
    limit: z.number().int().min(1).max(LIMITS.headers),
  }),
  HEADERS: z.strictObject({ headers: opaqueList(LIMITS.headers) }),
  GET_BLOCKS: z.strictObject({ hashes: ids(LIMITS.blocksPerMessage) }),
  BLOCKS: z.strictObject({ blocks: opaqueList(LIMITS.blocksPerMessage) }),
  // BFT consensus: the consensus layer checks the proposal, vote and block inside.
  // A proposal carries its block whole (`block`) or, from version 2, compact:
  // the header and, per transaction, its id (bodies the receiver already has
  // from gossip) or its body. A receiver missing some asks BFT_GET_PROPOSAL.
  BFT_PROPOSAL: z
    .strictObject({ proposal: opaqueObject, block: opaqueObject.optional(), compact: z.strictObject({ header: opaqueObject, txs: compactTxs }).optional() })
    .refine((p) => (p.block === undefined) !== (p.compact === undefined), 'must carry exactly one of block and compact'),
  // Asks the sender of a compact proposal for it whole (answered by BFT_PROPOSAL with `block`).
  BFT_GET_PROPOSAL: z.strictObject({ blockHash: hash }),
  BFT_VOTE: z.strictObject({ vote: opaqueObject }),
  EVIDENCE: z.strictObject({ evidence: opaqueObject }),
} as const;

type Schemas = typeof payloadSchemas;
/** Every message type name. */
export type MessageType = keyof Schemas;
export const MESSAGE_TYPES = Object.keys(payloadSchemas) as MessageType[];
/** The payload of a message type. */
export type PayloadOf<T extends MessageType> = z.infer<Schemas[T]>;
/** A message of one type. */
export type MessageOf<T extends MessageType> = { readonly type: T; readonly payload: PayloadOf<T> };
/** Any protocol message (a union discriminated by `type`). */
export type Message = { [T in MessageType]: MessageOf<T> }[MessageType];

export type HelloPayload = PayloadOf<'HELLO'>;

/** Why parseMessage rejected a value. */
export type ParseErrorKind = 'unknown-type' | 'schema';

/** Result of parseMessage. */
export type ParseResult =
  | { readonly ok: true; readonly message: Message }
  | { readonly ok: false; readonly kind: ParseErrorKind; readonly type?: string; readonly error: string };

const envelope = z.strictObject({ type: z.string().max(32), payload: z.unknown() });

/** Validates a parsed JSON value as a protocol message; never throws. */
export function parseMessage(json: unknown): ParseResult {
  try {
    const env = envelope.safeParse(json);
    if (!env.success) return { ok: false, kind: 'schema', error: 'expected {"type": string, "payload": ...}' };
    const { type, payload } = env.data;
    if (!Object.hasOwn(payloadSchemas, type)) return { ok: false, kind: 'unknown-type', type, error: `unknown message type ${JSON.stringify(type)}` };
    const schema = payloadSchemas[type as MessageType];
    const p = schema.safeParse(payload);
    if (!p.success) return { ok: false, kind: 'schema', type, error: `${type}: ${summarize(p.error)}` };
    return { ok: true, message: { type, payload: p.data } as Message };
  } catch (e) {
    // Defensive: a validator bug or a pathological value must cost the peer points, not crash us.
    return { ok: false, kind: 'schema', error: `invalid message (${e instanceof Error ? e.name : 'error'})` };
  }
}

function summarize(err: z.ZodError): string {
  const first = err.issues[0];
  if (first === undefined) return 'invalid';
  const path = first.path.length > 0 ? first.path.map(String).join('.') + ': ' : '';
  return (path + first.message).slice(0, 200);
}

/** Builds a message of one type (typed; not validated, since we trust what we build). */
export function message<T extends MessageType>(type: T, payload: PayloadOf<T>): MessageOf<T> {
  return { type, payload };
}

/**
 * A payload already in JSON text, sent as is: a node serving sync sends the
 * blocks it stored, which are stored in their wire form, without decoding and
 * re-encoding each one. The text must be the JSON of a PayloadOf<T>.
 */
export class EncodedPayload<T extends MessageType> {
  constructor(
    readonly type: T,
    readonly json: string,
  ) {}

  /** The whole frame text, as message(type, payload) would encode. */
  frame(): string {
    return `{"type":${JSON.stringify(this.type)},"payload":${this.json}}`;
  }
}
