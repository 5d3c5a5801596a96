/**
 * TLS settings shared by the wss:// and tls:// transports. Both ends present
 * a self-signed certificate of their node key and ask for the other's; the
 * TLS layer accepts any certificate (there is no CA), and the handshake then
 * requires the certificate key to equal the node id the peer claims.
 */
import type { TLSSocket } from 'node:tls';
import { certificatePublicKey, privateKeyPem, selfSignedCertificate, type KeyPair } from '../crypto/index.ts';

/** A node's TLS credentials: PEM PKCS#8 private key and PEM certificate of the same Ed25519 key. */
export interface TlsIdentity {
  readonly key: string;
  readonly cert: string;
}

/** The TLS identity of a node key: its private key and a deterministic self-signed certificate. */
export function nodeTlsIdentity(keys: KeyPair): TlsIdentity {
  return { key: privateKeyPem(keys), cert: selfSignedCertificate(keys, `peerchain node ${keys.publicKey.slice(0, 16)}`) };
}

/** Checks that an identity's certificate is bound to the node key; throws a clear error otherwise. */
export function checkTlsIdentity(identity: TlsIdentity, keys: KeyPair): void {
  const certKey = certificatePublicKey(identity.cert);
  if (certKey === undefined) throw new Error('the TLS certificate is not a valid self-signed Ed25519 certificate');
  if (certKey !== keys.publicKey) {
    throw new Error(`the TLS certificate is for key ${certKey.slice(0, 16)}..., not this node's key ${keys.publicKey.slice(0, 16)}...; peers would refuse it (cert-mismatch)`);
  }
}

/** Options for tls.createServer / tls.connect / https.createServer: mutual TLS 1.3, trust decided by the handshake. */
export function tlsOptions(identity: TlsIdentity): { key: string; cert: string; minVersion: 'TLSv1.3'; rejectUnauthorized: false } {
  // rejectUnauthorized false: a self-signed certificate never chains to a CA; the
  // TLS handshake still proves the peer holds the certificate's key (CertificateVerify).
  return { key: identity.key, cert: identity.cert, minVersion: 'TLSv1.3', rejectUnauthorized: false };
}

/** The Ed25519 key of the certificate a TLS peer presented, or undefined if none or not a valid node certificate. */
export function peerCertKeyOf(socket: TLSSocket): string | undefined {
  try {
    const x = socket.getPeerX509Certificate();
    return x === undefined ? undefined : certificatePublicKey(x);
  } catch {
    return undefined;
  }
}

/** A short text for a TLS handshake error: OpenSSL's reason ("wrong version number", "http request") when it has one. */
export function tlsErrorReason(err: Error): string {
  const e = err as Error & { reason?: unknown; code?: unknown };
  if (typeof e.reason === 'string' && e.reason !== '') return e.reason;
  // Some paths (an https request's EPROTO) only carry OpenSSL's text: "...:SSL routines:func:reason:file:line".
  const m = /SSL routines:[^:]*:([^:]+):/.exec(err.message);
  if (m !== null) return m[1] as string;
  if (typeof e.code === 'string' && e.code !== '') return e.code;
  return err.message.trim().slice(0, 200);
}

/** A TLS dial error in plain words; OpenSSL protocol errors usually mean the endpoint is not TLS. */
export function tlsDialError(err: Error, address: string): Error {
  const e = err as Error & { library?: unknown; code?: unknown };
  const fromOpenSsl = e.library === 'SSL routines' || (typeof e.code === 'string' && e.code.startsWith('ERR_SSL_')) || err.message.includes('SSL routines');
  if (!fromOpenSsl) return err;
  return new Error(`TLS handshake with ${address} failed (${tlsErrorReason(err)}); a plaintext ws:// or tcp:// endpoint answers like this`);
}
