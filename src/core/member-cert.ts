/**
 * Member certificates: an organisation admits a node without a new genesis
 * and without a governance vote by signing the node's id with its org key.
 * A certified node may complete the P2P handshake; it is not a validator
 * (validators change only through governance, which every node replays).
 */
import { isHex, isPublicKeyHex, sign, taggedHash, toHex, verify, type KeyPair } from '../crypto/index.ts';
import { canonicalBytes } from './encoding.ts';
import { ERR, fail, ok, type Result } from './errors.ts';
import { findOrg, type Membership } from './membership.ts';
import { CHAIN_ID_RE, MAX_NAME_LENGTH } from './tx.ts';
import type { PublicKeyHex } from './types.ts';

/** Domain tag of the bytes an org key signs. */
export const MEMBER_CERT_TAG = 'peerchain:member-cert:v1';

/** A member certificate, as written to a file and sent to peers. */
export interface MemberCert {
  readonly version: 1;
  readonly chainId: string;
  readonly org: string;
  /** The member's name, for people and logs. */
  readonly name: string;
  readonly nodeId: PublicKeyHex;
  /** Milliseconds since the Unix epoch; informative (certificates do not expire). */
  readonly issuedAt: number;
  /** Ed25519 signature by the org key over memberCertDigest. */
  readonly signature: string;
}

/** The fields an issuer fills in. */
export type MemberCertFields = Omit<MemberCert, 'version' | 'signature'>;

const FIELDS = ['version', 'chainId', 'org', 'name', 'nodeId', 'issuedAt', 'signature'] as const;

/** The 32 bytes an org key signs: tagged SHA-256 of the canonical JSON of every field but the signature. */
export function memberCertDigest(c: MemberCertFields): Buffer {
  return taggedHash(MEMBER_CERT_TAG, canonicalBytes({ version: 1, chainId: c.chainId, org: c.org, name: c.name, nodeId: c.nodeId, issuedAt: c.issuedAt }));
}

/** Signs a certificate with an organisation's key. */
export function signMemberCert(fields: MemberCertFields, orgKeys: KeyPair): MemberCert {
  const c = { chainId: fields.chainId, org: fields.org, name: fields.name, nodeId: fields.nodeId, issuedAt: fields.issuedAt };
  const check = memberCertFromJson({ version: 1, ...c, signature: '00'.repeat(64) });
  if (!check.ok) throw new Error(`signMemberCert: ${check.error.message}`);
  return { version: 1, ...c, signature: toHex(sign(orgKeys, memberCertDigest(c))) };
}

/** Parses untrusted JSON into a certificate: exact fields and types; no signature check. */
export function memberCertFromJson(json: unknown): Result<MemberCert> {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return fail(ERR.MALFORMED, 'a member certificate must be a JSON object');
  const o = json as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!(FIELDS as readonly string[]).includes(k)) return fail(ERR.MALFORMED, `member certificate: unknown field "${k}"`);
  for (const k of FIELDS) if (!(k in o)) return fail(ERR.MALFORMED, `member certificate: missing field "${k}"`);
  if (o.version !== 1) return fail(ERR.BAD_CERTIFICATE, `member certificate version ${JSON.stringify(o.version)} is not supported (expected 1)`);
  if (typeof o.chainId !== 'string' || !CHAIN_ID_RE.test(o.chainId)) return fail(ERR.BAD_CHAIN_ID, 'member certificate chainId must be 1-32 characters of a-z, 0-9 and -');
  if (typeof o.org !== 'string' || o.org.length < 1 || o.org.length > MAX_NAME_LENGTH) return fail(ERR.MALFORMED, `member certificate org must be 1-${MAX_NAME_LENGTH} characters`);
  if (typeof o.name !== 'string' || o.name.length < 1 || o.name.length > MAX_NAME_LENGTH) return fail(ERR.MALFORMED, `member certificate name must be 1-${MAX_NAME_LENGTH} characters`);
  if (!isPublicKeyHex(o.nodeId)) return fail(ERR.MALFORMED, 'member certificate nodeId must be a node public key: 32 bytes of lowercase hex');
  if (typeof o.issuedAt !== 'number' || !Number.isSafeInteger(o.issuedAt) || o.issuedAt < 0) return fail(ERR.MALFORMED, 'member certificate issuedAt must be a non-negative integer (ms since the epoch)');
  if (!isHex(o.signature, 64)) return fail(ERR.BAD_SIGNATURE, 'member certificate signature must be a 64-byte Ed25519 signature in lowercase hex');
  return ok({ version: 1, chainId: o.chainId, org: o.org, name: o.name, nodeId: o.nodeId, issuedAt: o.issuedAt, signature: o.signature });
}

/**
 * Verifies a certificate against the current membership and this network's
 * chain id: a known organisation with an org key signed it, and governance
 * has not removed the node since. The caller must still check that `nodeId`
 * is the id the peer proved it holds in the handshake (or pass it as
 * expectedNodeId).
 */
export function verifyMemberCert(cert: unknown, membership: Membership, chainId: string, expectedNodeId?: PublicKeyHex): Result<{ org: string; name: string; nodeId: PublicKeyHex }> {
  const p = memberCertFromJson(cert);
  if (!p.ok) return p;
  const c = p.value;
  if (c.chainId !== chainId) return fail(ERR.BAD_CHAIN_ID, `member certificate is for chain "${c.chainId}", this is "${chainId}"`);
  if (expectedNodeId !== undefined && c.nodeId !== expectedNodeId) return fail(ERR.BAD_CERTIFICATE, `member certificate is for node ${c.nodeId.slice(0, 16)}..., not ${expectedNodeId.slice(0, 16)}...`);
  const org = findOrg(membership, c.org);
  if (org === undefined) return fail(ERR.BAD_CERTIFICATE, `member certificate names unknown organisation "${c.org}"`);
  if (org.orgKey === undefined) return fail(ERR.BAD_CERTIFICATE, `organisation "${c.org}" has no org key, so it cannot certify members`);
  if (!verify(org.orgKey, memberCertDigest(c), Buffer.from(c.signature, 'hex'))) return fail(ERR.BAD_SIGNATURE, `member certificate signature does not verify with the org key of "${c.org}"`);
  if (org.revoked?.includes(c.nodeId) === true) return fail(ERR.BAD_CERTIFICATE, `node ${c.nodeId.slice(0, 16)}... was removed from "${c.org}" by governance; its certificates no longer admit it`);
  return ok({ org: c.org, name: c.name, nodeId: c.nodeId });
}
