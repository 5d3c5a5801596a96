/** Peer addresses: `ws://`, `wss://`, `tcp://` and `tls://` + `host:port`, parsed and validated. */
import { isIP } from 'node:net';

/** The wire transports a peer address can name: WebSocket and TCP lines, each plain or over TLS. */
export type Scheme = 'ws' | 'wss' | 'tcp' | 'tls';

export const SCHEMES: readonly Scheme[] = ['ws', 'wss', 'tcp', 'tls'];

/** True for the schemes that run over TLS (`wss`, `tls`). */
export function isTlsScheme(scheme: Scheme): boolean {
  return scheme === 'wss' || scheme === 'tls';
}

/** The TLS scheme with the same framing as a plain one, and back: ws <-> wss, tcp <-> tls. */
export function counterpartScheme(scheme: Scheme): Scheme {
  return ({ ws: 'wss', wss: 'ws', tcp: 'tls', tls: 'tcp' } as const)[scheme];
}

/** A parsed peer address. `host` is a hostname, an IPv4 address or a bare IPv6 address. */
export interface PeerAddress {
  readonly scheme: Scheme;
  readonly host: string;
  readonly port: number;
}

/** Longest address string accepted (also the schema bound in ADDR messages). */
export const MAX_ADDRESS_LENGTH = 300;

const HOSTNAME_RE = /^(?=.{1,253}$)[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*\.?$/;
const ADDRESS_RE = /^(wss|ws|tls|tcp):\/\/(\[[0-9a-fA-F:.]+\]|[^/:[\]\s]+):([0-9]{1,5})$/;

/** Why a string is not a valid peer address, or undefined if it is one. */
export function addressError(s: unknown): string | undefined {
  if (typeof s !== 'string') return 'an address is a string';
  if (s.length > MAX_ADDRESS_LENGTH) return `an address has at most ${MAX_ADDRESS_LENGTH} characters`;
  const m = ADDRESS_RE.exec(s);
  if (m === null) return `expected ws://, wss://, tcp:// or tls:// host:port, got ${JSON.stringify(s.slice(0, 80))}`;
  const rawHost = m[2] as string;
  const port = Number(m[3]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return 'port must be 1-65535';
  if (rawHost.startsWith('[')) {
    if (isIP(rawHost.slice(1, -1)) !== 6) return 'bracketed host must be an IPv6 address';
  } else if (isIP(rawHost) === 0 && !HOSTNAME_RE.test(rawHost)) {
    return `invalid host ${JSON.stringify(rawHost)}`;
  } else if (/^[0-9.]+$/.test(rawHost) && isIP(rawHost) !== 4) {
    // Digits and dots that are not a valid IPv4 address would otherwise pass as a hostname.
    return `invalid IPv4 address ${rawHost}`;
  }
  return undefined;
}

/** Parses a peer address, or returns undefined if it is malformed (see addressError for why). */
export function parseAddress(s: unknown): PeerAddress | undefined {
  if (addressError(s) !== undefined) return undefined;
  const m = ADDRESS_RE.exec(s as string) as RegExpExecArray;
  const rawHost = m[2] as string;
  const host = rawHost.startsWith('[') ? rawHost.slice(1, -1).toLowerCase() : rawHost.toLowerCase();
  return { scheme: m[1] as Scheme, host, port: Number(m[3]) };
}

/** The canonical string form of an address (lowercase host, IPv6 in brackets). */
export function formatAddress(a: PeerAddress): string {
  const host = isIP(a.host) === 6 ? `[${a.host}]` : a.host;
  return `${a.scheme}://${host}:${a.port}`;
}

/** `host:port` with IPv6 hosts bracketed, for logs and remote endpoints. */
export function formatHostPort(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}
