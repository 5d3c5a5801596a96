/**
 * Self-signed X.509 certificates for node keys: the certificate's subject
 * public key IS the node's Ed25519 key, so a TLS peer that presents it and
 * completes the TLS handshake has proved it holds the node key. Trust does not
 * come from a CA; it comes from comparing that key with the node id the peer
 * claims (and genesis or an organisation admits).
 */
import { X509Certificate, sign as nodeSign, type KeyObject } from 'node:crypto';
import { taggedHash } from './hash.ts';
import { isSmallOrderKey, type KeyPair, type PublicKeyHex } from './keys.ts';
import { fromHex, toHex } from './hex.ts';

// ---- a small DER encoder (X.690), just the types a certificate needs ----

/** DER length octets: short form below 128, else 0x80|n followed by n big-endian bytes. */
function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One tag-length-value. */
function tlv(tag: number, content: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([tag]), derLength(content.length), content]);
}

/** INTEGER from unsigned big-endian bytes, minimally encoded and always positive. */
function integer(unsigned: Uint8Array | number): Buffer {
  let b = typeof unsigned === 'number' ? bigEndian(unsigned) : Buffer.from(unsigned);
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  b = b.subarray(i);
  if (b.length === 0) b = Buffer.from([0]);
  // A set top bit would read as negative; DER then requires one leading zero.
  if (((b[0] as number) & 0x80) !== 0) b = Buffer.concat([Buffer.from([0]), b]);
  return tlv(0x02, b);
}

function bigEndian(n: number): Buffer {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError('DER integer must be a non-negative safe integer');
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from(bytes.length === 0 ? [0] : bytes);
}

/** OBJECT IDENTIFIER from dotted text ("1.3.101.112"). */
function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map((s) => {
    if (!/^(0|[1-9][0-9]*)$/.test(s)) throw new Error(`bad OID ${dotted}`);
    return Number(s);
  });
  const [a, b, ...rest] = arcs;
  if (a === undefined || b === undefined || a > 2 || (a < 2 && b > 39)) throw new Error(`bad OID ${dotted}`);
  const out: number[] = [];
  for (const arc of [a * 40 + b, ...rest]) {
    // Base-128, most significant group first, continuation bit on all but the last.
    const groups: number[] = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) groups.unshift((v & 0x7f) | 0x80);
    out.push(...groups);
  }
  return tlv(0x06, Buffer.from(out));
}

/** The DER building blocks used for certificates; exported for tests and other small structures. */
export const der = {
  length: derLength,
  tlv,
  integer,
  oid,
  boolean: (v: boolean): Buffer => tlv(0x01, Buffer.from([v ? 0xff : 0x00])),
  /** BIT STRING of whole bytes (unusedBits only for named-bit lists such as keyUsage). */
  bitString: (bytes: Uint8Array, unusedBits = 0): Buffer => tlv(0x03, Buffer.concat([Buffer.from([unusedBits]), bytes])),
  octetString: (bytes: Uint8Array): Buffer => tlv(0x04, bytes),
  utf8String: (s: string): Buffer => tlv(0x0c, Buffer.from(s, 'utf8')),
  /** UTCTime, "YYMMDDHHMMSSZ" (RFC 5280 requires it for dates through 2049). */
  utcTime: (d: Date): Buffer => tlv(0x17, Buffer.from(timeText(d).slice(2), 'ascii')),
  /** GeneralizedTime, "YYYYMMDDHHMMSSZ" (RFC 5280 requires it from 2050). */
  generalizedTime: (d: Date): Buffer => tlv(0x18, Buffer.from(timeText(d), 'ascii')),
  sequence: (...items: Uint8Array[]): Buffer => tlv(0x30, Buffer.concat(items)),
  set: (...items: Uint8Array[]): Buffer => tlv(0x31, Buffer.concat(items)),
  /** [n] EXPLICIT: a constructed context-specific tag around one encoded value. */
  explicit: (n: number, inner: Uint8Array): Buffer => tlv(0xa0 | n, inner),
};

function timeText(d: Date): string {
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
}

// ---- certificates ----

/** Object identifiers used in node certificates. */
export const OID = {
  ed25519: '1.3.101.112',
  commonName: '2.5.4.3',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
} as const;

/** Domain tag of the certificate serial number (derived from the key, so certificates are deterministic). */
export const CERT_SERIAL_TAG = 'peerchain:x509-serial:v1';
/** Fixed validity: trust comes from the key binding, not from dates, and a fixed window keeps the output deterministic. */
export const CERT_NOT_BEFORE = new Date(Date.UTC(2000, 0, 1, 0, 0, 0));
export const CERT_NOT_AFTER = new Date(Date.UTC(9999, 11, 31, 23, 59, 59));
/** Longest common name X.520 allows (ub-common-name). */
export const MAX_COMMON_NAME = 64;

// Prefix of an Ed25519 SubjectPublicKeyInfo before the raw 32 key bytes (RFC 8410).
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  // DER omits a BOOLEAN equal to its DEFAULT (critical DEFAULT FALSE).
  return critical ? der.sequence(der.oid(id), der.boolean(true), der.octetString(value)) : der.sequence(der.oid(id), der.octetString(value));
}

/** The DER TBSCertificate of a node certificate (what the node key signs). */
export function nodeCertificateTbs(publicKey: PublicKeyHex, commonName: string): Buffer {
  if (commonName.length < 1 || commonName.length > MAX_COMMON_NAME) throw new RangeError(`a certificate common name has 1-${MAX_COMMON_NAME} characters`);
  const raw = fromHex(publicKey, 32);
  const serial = taggedHash(CERT_SERIAL_TAG, raw).subarray(0, 16);
  // Positive and with a non-zero first byte, so the 16 bytes encode as they are.
  serial[0] = ((serial[0] as number) & 0x3f) | 0x40;
  const algorithm = der.sequence(der.oid(OID.ed25519));
  const name = der.sequence(der.set(der.sequence(der.oid(OID.commonName), der.utf8String(commonName))));
  const validity = der.sequence(der.utcTime(CERT_NOT_BEFORE), der.generalizedTime(CERT_NOT_AFTER));
  const spki = der.sequence(algorithm, der.bitString(raw));
  const extensions = der.sequence(
    extension(OID.basicConstraints, true, der.sequence()),
    // digitalSignature is bit 0: one byte 0x80 with 7 unused bits.
    extension(OID.keyUsage, true, der.bitString(Buffer.from([0x80]), 7)),
    extension(OID.extKeyUsage, false, der.sequence(der.oid(OID.serverAuth), der.oid(OID.clientAuth))),
  );
  return der.sequence(der.explicit(0, der.integer(2)), der.integer(serial), algorithm, name, validity, name, spki, der.explicit(3, extensions));
}

/** A PEM X.509 v3 certificate for the node key, self-signed by it; the same key and name always give the same bytes. */
export function selfSignedCertificate(keys: KeyPair, commonName: string): string {
  const tbs = nodeCertificateTbs(keys.publicKey, commonName);
  const signature = nodeSign(null, tbs, keys.privateKey);
  const cert = der.sequence(tbs, der.sequence(der.oid(OID.ed25519)), der.bitString(signature));
  return pem('CERTIFICATE', cert);
}

/** The node's private key as PEM PKCS#8, as node:tls wants it. */
export function privateKeyPem(keys: KeyPair): string {
  return keys.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
}

/** PEM armour: base64 in 64-character lines between BEGIN/END labels. */
export function pem(label: string, body: Uint8Array): string {
  const b64 = Buffer.from(body).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/**
 * The raw Ed25519 key of a certificate (PEM, DER or parsed), or undefined if it
 * is malformed, not Ed25519, not validly self-signed, or a small-order point.
 * Validity dates are not checked: the key binding is the whole of the trust.
 */
export function certificatePublicKey(cert: string | Uint8Array | X509Certificate): PublicKeyHex | undefined {
  try {
    const x = cert instanceof X509Certificate ? cert : new X509Certificate(typeof cert === 'string' ? cert : Buffer.from(cert));
    const key: KeyObject = x.publicKey;
    if (key.asymmetricKeyType !== 'ed25519') return undefined;
    // A self-signature shows the certificate was issued by the key it names, not pasted from elsewhere.
    if (!x.verify(key)) return undefined;
    const spki = key.export({ format: 'der', type: 'spki' });
    if (spki.length !== ED25519_SPKI_PREFIX.length + 32 || !spki.subarray(0, ED25519_SPKI_PREFIX.length).equals(ED25519_SPKI_PREFIX)) return undefined;
    const raw = spki.subarray(ED25519_SPKI_PREFIX.length);
    return isSmallOrderKey(raw) ? undefined : toHex(raw);
  } catch {
    return undefined;
  }
}
