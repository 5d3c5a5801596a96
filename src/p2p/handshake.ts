/**
 * The HELLO handshake: both sides send HELLO, check the other's, then each
 * signs the other's random challenge to prove it holds the key of the node id
 * it claimed. On a TLS link the peer's certificate key must also be that node
 * id, so the encrypted channel is bound to the identity that was admitted.
 * A pure state machine (messages in, actions out) plus a runner that drives
 * it over a Connection.
 */
import { randomBytes } from 'node:crypto';
import { sign, taggedHash, verify, type KeyPair } from '../crypto/index.ts';
import type { NetworkKind } from '../core/index.ts';
import { isTlsScheme } from './address.ts';
import { systemClock, type Clock } from './clock.ts';
import {
  message,
  MIN_PROTOCOL_VERSION,
  parseMessage,
  payloadSchemas,
  PROTOCOL_VERSION,
  type HelloPayload,
  type KnownDisconnectReason,
  type Message,
} from './messages.ts';
import type { Connection, Incoming } from './transport.ts';

/** Domain tag of the handshake signature. */
export const HANDSHAKE_TAG = 'peerchain:handshake:v1';
/** Default handshake deadline. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 5000;

/** What this node says about itself in HELLO, and how it judges the peer's. */
export interface HandshakeConfig {
  readonly keys: KeyPair;
  readonly network: NetworkKind;
  readonly chainId: string;
  readonly genesisHash: string;
  readonly listen: readonly string[];
  readonly height: number;
  readonly tip: string;
  readonly agent: string;
  /** True if a link to this node id is already established (duplicate check). */
  readonly isConnected?: (nodeId: string) => boolean;
  /**
   * Membership of permissioned networks; absent means anyone may join. Gets the
   * peer's node id and the opaque `memberCert` of its HELLO (undefined if absent).
   */
  readonly isMember?: (nodeId: string, memberCert: unknown) => boolean;
  /** The membership credential this node sends in HELLO, a JSON object (absent: none). */
  readonly memberCert?: object;
  /**
   * Set for a TLS link (the runner fills it from the Connection): the peer's
   * certificate key, which must equal the node id in its HELLO.
   */
  readonly tls?: { readonly peerCertKey: string | undefined };
  /** A last say on the peer's HELLO (bans, for one): a refusal ends the link with its reason. */
  readonly admit?: (hello: HelloPayload) => { readonly reason: KnownDisconnectReason; readonly message: string } | undefined;
  /** Deadline for the whole handshake (default 5 s). */
  readonly timeoutMs?: number;
  /** Random source for the challenge (default: the OS). */
  readonly random?: (n: number) => Uint8Array;
}

/** What the machine asks its runner to do. */
export type HandshakeAction =
  | { readonly kind: 'send'; readonly message: Message }
  /** The handshake failed; `remote` means the peer sent the DISCONNECT, so none is sent back. */
  | { readonly kind: 'fail'; readonly reason: string; readonly message: string; readonly remote: boolean }
  | { readonly kind: 'done'; readonly remote: HelloPayload; readonly version: number };

type State = 'new' | 'await-hello' | 'await-ack' | 'done' | 'failed';

/** The bytes a node signs to answer a challenge: bound to this chain and the signer's id. */
export function handshakeDigest(challengeHex: string, chainId: string, genesisHash: string, signerNodeId: string): Buffer {
  return taggedHash(
    HANDSHAKE_TAG,
    Buffer.from(challengeHex, 'hex'),
    Buffer.from(chainId, 'utf8'),
    Buffer.from(genesisHash, 'hex'),
    Buffer.from(signerNodeId, 'hex'),
  );
}

/** The handshake of one link as a state machine; feed it events, carry out the actions it returns. */
export class HandshakeMachine {
  private state: State = 'new';
  private remote: HelloPayload | undefined;
  private version = PROTOCOL_VERSION;
  readonly challenge: string;

  constructor(private readonly cfg: HandshakeConfig) {
    this.challenge = Buffer.from((cfg.random ?? randomBytes)(32)).toString('hex');
  }

  /** True once the handshake succeeded or failed. */
  get finished(): boolean {
    return this.state === 'done' || this.state === 'failed';
  }

  /** Opens the handshake: our HELLO. */
  start(): HandshakeAction[] {
    if (this.state !== 'new') return [];
    this.state = 'await-hello';
    const c = this.cfg;
    return [
      {
        kind: 'send',
        message: message('HELLO', {
          version: PROTOCOL_VERSION,
          network: c.network,
          chainId: c.chainId,
          genesisHash: c.genesisHash,
          nodeId: c.keys.publicKey,
          listen: [...c.listen],
          height: c.height,
          tip: c.tip,
          challenge: this.challenge,
          agent: c.agent,
          ...(c.memberCert === undefined ? {} : { memberCert: c.memberCert as Record<string, unknown> }),
        }),
      },
    ];
  }

  /** The deadline passed. */
  timeout(): HandshakeAction[] {
    if (this.finished) return [];
    return this.fail('handshake-timeout', 'handshake not completed in time');
  }

  /** One received frame. */
  receive(inc: Incoming): HandshakeAction[] {
    if (this.finished) return [];
    if (!inc.ok) return this.fail('protocol-error', `during handshake: ${inc.error.message}`);
    const hello = this.newerHello(inc.value);
    const parsed = hello ?? parseMessage(inc.value);
    if (!parsed.ok) return this.fail(parsed.kind === 'unknown-type' ? 'protocol-error' : this.versionOrSchema(inc.value), `during handshake: ${parsed.error}`);
    const m = parsed.message;
    switch (m.type) {
      case 'DISCONNECT':
        this.state = 'failed';
        return [{ kind: 'fail', reason: m.payload.reason, message: m.payload.message, remote: true }];
      case 'HELLO':
        if (this.state !== 'await-hello') return this.fail('protocol-error', 'unexpected HELLO');
        return this.onHello(m.payload);
      case 'HELLO_ACK': {
        if (this.state !== 'await-ack' || this.remote === undefined) return this.fail('protocol-error', 'HELLO_ACK before HELLO');
        const digest = handshakeDigest(this.challenge, this.cfg.chainId, this.cfg.genesisHash, this.remote.nodeId);
        if (!verify(this.remote.nodeId, digest, Buffer.from(m.payload.signature, 'hex'))) {
          return this.fail('bad-signature', 'challenge signature does not match the node id');
        }
        this.state = 'done';
        return [{ kind: 'done', remote: this.remote, version: this.version }];
      }
      default:
        return this.fail('protocol-error', `${m.type} before the handshake completed`);
    }
  }

  // A HELLO from a newer version may carry fields we do not know; read the ones we do.
  private newerHello(v: unknown): { ok: true; message: Message } | undefined {
    if (typeof v !== 'object' || v === null) return undefined;
    const { type, payload } = v as { type?: unknown; payload?: unknown };
    if (type !== 'HELLO' || typeof payload !== 'object' || payload === null) return undefined;
    const version = (payload as { version?: unknown }).version;
    if (typeof version !== 'number' || version <= PROTOCOL_VERSION) return undefined;
    const lenient = payloadSchemas.HELLO.strip().safeParse(payload);
    return lenient.success ? { ok: true, message: message('HELLO', lenient.data) } : undefined;
  }

  private versionOrSchema(v: unknown): KnownDisconnectReason {
    const payload = (v as { payload?: { version?: unknown } } | null)?.payload;
    const version = typeof payload === 'object' && payload !== null ? payload.version : undefined;
    return typeof version === 'number' && version < MIN_PROTOCOL_VERSION ? 'unsupported-version' : 'protocol-error';
  }

  private onHello(h: HelloPayload): HandshakeAction[] {
    const c = this.cfg;
    if (h.version < MIN_PROTOCOL_VERSION) return this.fail('unsupported-version', `protocol version ${h.version} is below ${MIN_PROTOCOL_VERSION}`);
    if (h.network !== c.network) return this.fail('wrong-network', `this is a ${c.network} network, not ${h.network}`);
    if (h.chainId !== c.chainId) return this.fail('wrong-network', `this is chain ${c.chainId}, not ${h.chainId}`);
    if (h.genesisHash !== c.genesisHash) return this.fail('wrong-genesis', `genesis ${c.genesisHash.slice(0, 16)}... differs`);
    if (h.nodeId === c.keys.publicKey) return this.fail('self-connection', 'connected to self');
    if (c.tls !== undefined) {
      const certKey = c.tls.peerCertKey;
      if (certKey === undefined) return this.fail('cert-mismatch', 'TLS link without a valid self-signed Ed25519 node certificate');
      if (certKey !== h.nodeId) return this.fail('cert-mismatch', `TLS certificate key ${certKey.slice(0, 16)}... is not node id ${h.nodeId.slice(0, 16)}...`);
    }
    if (c.isMember !== undefined && !memberOrFalse(c.isMember, h.nodeId, h.memberCert)) return this.fail('not-member', `node ${h.nodeId.slice(0, 16)}... is not a member`);
    const refusal = c.admit?.(h);
    if (refusal !== undefined) return this.fail(refusal.reason, refusal.message);
    if (c.isConnected?.(h.nodeId) === true) return this.fail('duplicate-connection', `already connected to ${h.nodeId.slice(0, 16)}...`);
    this.remote = h;
    this.version = Math.min(h.version, PROTOCOL_VERSION);
    this.state = 'await-ack';
    const sig = sign(c.keys, handshakeDigest(h.challenge, c.chainId, c.genesisHash, c.keys.publicKey));
    return [{ kind: 'send', message: message('HELLO_ACK', { signature: sig.toString('hex') }) }];
  }

  private fail(reason: KnownDisconnectReason, msg: string): HandshakeAction[] {
    this.state = 'failed';
    return [{ kind: 'fail', reason, message: msg, remote: false }];
  }
}

// The hook reads a credential the peer chose; if it throws on one, that is a refusal, not a crash.
function memberOrFalse(isMember: (nodeId: string, memberCert: unknown) => boolean, nodeId: string, memberCert: unknown): boolean {
  try {
    return isMember(nodeId, memberCert) === true;
  } catch {
    return false;
  }
}

/** Thrown (as a rejection) when a handshake fails. */
export class HandshakeError extends Error {
  constructor(
    /** The DISCONNECT reason code ('connection-closed' if the link just dropped). */
    readonly reason: string,
    message: string,
    /** True if the peer ended the handshake, false if we did. */
    readonly remote: boolean,
  ) {
    super(`${reason}: ${message}`);
    this.name = 'HandshakeError';
  }
}

/**
 * A connection that passed the handshake, with what the peer said about itself.
 * The connection is returned PAUSED, so that nothing the peer sends right after
 * its HELLO_ACK is lost before the owner attaches: attach listeners, then resume().
 */
export interface Handshaken {
  readonly conn: Connection;
  readonly remote: HelloPayload;
  /** The protocol version both sides speak. */
  readonly version: number;
}

/**
 * Runs the handshake over a connection; on failure sends DISCONNECT, closes, and rejects with HandshakeError.
 * Over wss/tls the peer's certificate key (Connection.peerCertKey) must equal its HELLO node id.
 */
export function handshake(conn: Connection, cfg: HandshakeConfig, clock: Clock = systemClock): Promise<Handshaken> {
  const machine = new HandshakeMachine(isTlsScheme(conn.scheme) ? { ...cfg, tls: { peerCertKey: conn.peerCertKey } } : cfg);
  return new Promise((resolve, reject) => {
    let cancelTimer = (): void => {};
    let settled = false;
    const onMessage = (inc: Incoming): void => apply(machine.receive(inc));
    const onClose = (): void => {
      cleanup();
      if (!settled) reject(new HandshakeError('connection-closed', 'the connection closed during the handshake', true));
      settled = true;
    };
    const cleanup = (): void => {
      cancelTimer();
      conn.off('message', onMessage);
      conn.off('close', onClose);
    };
    const apply = (actions: HandshakeAction[]): void => {
      for (const a of actions) {
        if (settled) return;
        if (a.kind === 'send') conn.send(a.message);
        else if (a.kind === 'fail') {
          settled = true;
          cleanup();
          if (!a.remote) conn.send(message('DISCONNECT', { reason: a.reason, message: a.message }));
          conn.close(a.reason);
          reject(new HandshakeError(a.reason, a.message, a.remote));
        } else {
          settled = true;
          // Frames after the peer's HELLO_ACK (even in the same chunk) wait in the connection.
          conn.pause();
          cleanup();
          resolve({ conn, remote: a.remote, version: a.version });
        }
      }
    };
    if (conn.closed) {
      reject(new HandshakeError('connection-closed', 'the connection was already closed', true));
      return;
    }
    conn.on('message', onMessage);
    conn.on('close', onClose);
    cancelTimer = clock.setTimer(() => apply(machine.timeout()), cfg.timeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS);
    apply(machine.start());
  });
}
