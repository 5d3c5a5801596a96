/**
 * crypto/x509: node certificates. node:crypto's X509Certificate (OpenSSL)
 * parses what the small DER encoder writes; the certificate key is the node
 * key; the output is deterministic; tampered or foreign certificates give no key.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey, generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import {
  certificatePublicKey,
  der,
  generateKeyPair,
  keyPairFromSeed,
  nodeCertificateTbs,
  privateKeyPem,
  selfSignedCertificate,
} from '../../src/crypto/index.ts';

const alice = keyPairFromSeed(Buffer.alloc(32, 1));
const bob = keyPairFromSeed(Buffer.alloc(32, 2));

function pemBody(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64');
}

describe('DER encoder', () => {
  test('lengths: short form below 128, long form above', () => {
    assert.deepEqual(der.length(0), Buffer.from([0]));
    assert.deepEqual(der.length(127), Buffer.from([0x7f]));
    assert.deepEqual(der.length(128), Buffer.from([0x81, 0x80]));
    assert.deepEqual(der.length(300), Buffer.from([0x82, 0x01, 0x2c]));
    assert.deepEqual(der.length(70000), Buffer.from([0x83, 0x01, 0x11, 0x70]));
  });

  test('integers are minimal and positive', () => {
    assert.equal(der.integer(0).toString('hex'), '020100');
    assert.equal(der.integer(2).toString('hex'), '020102');
    assert.equal(der.integer(128).toString('hex'), '02020080');
    assert.equal(der.integer(Buffer.from([0, 0, 0x7f])).toString('hex'), '02017f');
    assert.equal(der.integer(Buffer.from([0xff])).toString('hex'), '020200ff');
  });

  test('object identifiers (X.690 8.19)', () => {
    assert.equal(der.oid('1.3.101.112').toString('hex'), '06032b6570');
    assert.equal(der.oid('2.5.4.3').toString('hex'), '0603550403');
    assert.equal(der.oid('1.2.840.113549').toString('hex'), '06062a864886f70d');
    assert.throws(() => der.oid('1'));
    assert.throws(() => der.oid('1.40'));
    assert.throws(() => der.oid('1.3.x'));
  });

  test('times', () => {
    assert.equal(der.utcTime(new Date(Date.UTC(2000, 0, 1))).toString('latin1').slice(2), '000101000000Z');
    assert.equal(der.generalizedTime(new Date(Date.UTC(9999, 11, 31, 23, 59, 59))).toString('latin1').slice(2), '99991231235959Z');
  });
});

describe('node certificates', () => {
  test('OpenSSL parses it: v3, subject, validity, ed25519 key, valid self-signature', () => {
    const pem = selfSignedCertificate(alice, 'peerchain node alice');
    assert.match(pem, /^-----BEGIN CERTIFICATE-----\n([A-Za-z0-9+/=]{1,64}\n)+-----END CERTIFICATE-----\n$/);
    const x = new X509Certificate(pem);
    assert.equal(x.subject, 'CN=peerchain node alice');
    assert.equal(x.issuer, 'CN=peerchain node alice');
    assert.equal(x.publicKey.asymmetricKeyType, 'ed25519');
    assert.equal(x.verify(x.publicKey), true);
    assert.equal(x.checkPrivateKey(alice.privateKey), true);
    assert.equal(x.checkPrivateKey(bob.privateKey), false);
    assert.equal(new Date(x.validFrom).toISOString(), '2000-01-01T00:00:00.000Z');
    assert.equal(new Date(x.validTo).toISOString(), '9999-12-31T23:59:59.000Z');
    assert.equal(x.ca, false);
    assert.deepEqual(x.keyUsage?.slice().sort(), ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
    // The SubjectPublicKeyInfo is exactly the node key.
    const spki = x.publicKey.export({ format: 'der', type: 'spki' });
    assert.equal(spki.subarray(12).toString('hex'), alice.publicKey);
  });

  test('certificatePublicKey gives the node key from PEM, DER and a parsed certificate', () => {
    const pem = selfSignedCertificate(alice, 'n');
    assert.equal(certificatePublicKey(pem), alice.publicKey);
    assert.equal(certificatePublicKey(pemBody(pem)), alice.publicKey);
    assert.equal(certificatePublicKey(new X509Certificate(pem)), alice.publicKey);
    const k = generateKeyPair();
    assert.equal(certificatePublicKey(selfSignedCertificate(k, 'x')), k.publicKey);
  });

  test('deterministic: the same key and name give the same bytes', () => {
    assert.equal(selfSignedCertificate(alice, 'a'), selfSignedCertificate(keyPairFromSeed(Buffer.alloc(32, 1)), 'a'));
    assert.notEqual(selfSignedCertificate(alice, 'a'), selfSignedCertificate(alice, 'b'));
    assert.notEqual(selfSignedCertificate(alice, 'a'), selfSignedCertificate(bob, 'a'));
    // Distinct keys get distinct serial numbers.
    assert.notEqual(new X509Certificate(selfSignedCertificate(alice, 'a')).serialNumber, new X509Certificate(selfSignedCertificate(bob, 'a')).serialNumber);
  });

  test('a tampered certificate or a foreign signature gives no key', () => {
    const body = pemBody(selfSignedCertificate(alice, 'peerchain node alice'));
    // Flip one byte inside the common name (in the signed part).
    const i = body.indexOf(Buffer.from('alice'));
    const tampered = Buffer.from(body);
    tampered[i] = (tampered[i] as number) ^ 0x01;
    assert.equal(certificatePublicKey(tampered), undefined);
    // Alice's TBS signed by Bob: well formed, but not self-signed.
    const tbs = nodeCertificateTbs(alice.publicKey, 'forged');
    const forged = der.sequence(tbs, der.sequence(der.oid('1.3.101.112')), der.bitString(cryptoSign(null, tbs, bob.privateKey)));
    assert.doesNotThrow(() => new X509Certificate(forged));
    assert.equal(certificatePublicKey(forged), undefined);
    assert.equal(certificatePublicKey('not a certificate'), undefined);
    assert.equal(certificatePublicKey(Buffer.alloc(10)), undefined);
  });

  test('a small-order "key" whose trivial signature verifies gives no key', () => {
    // The identity point with R = identity, S = 0 verifies for any message without a cofactor check.
    const identity = '01' + '00'.repeat(31);
    const tbs = nodeCertificateTbs(identity, 'small order');
    const cert = der.sequence(tbs, der.sequence(der.oid('1.3.101.112')), der.bitString(Buffer.concat([Buffer.from(identity, 'hex'), Buffer.alloc(32)])));
    assert.equal(certificatePublicKey(cert), undefined);
  });

  test('a valid self-signed certificate of another key type gives no key', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const ecdsaSha256 = der.sequence(der.oid('1.2.840.10045.4.3.2'));
    const name = der.sequence(der.set(der.sequence(der.oid('2.5.4.3'), der.utf8String('ec'))));
    const validity = der.sequence(der.utcTime(new Date(Date.UTC(2000, 0, 1))), der.generalizedTime(new Date(Date.UTC(9999, 0, 1))));
    const tbs = der.sequence(der.explicit(0, der.integer(2)), der.integer(7), ecdsaSha256, name, validity, name, publicKey.export({ format: 'der', type: 'spki' }));
    const cert = der.sequence(tbs, ecdsaSha256, der.bitString(cryptoSign('sha256', tbs, privateKey)));
    const x = new X509Certificate(cert);
    assert.equal(x.publicKey.asymmetricKeyType, 'ec');
    assert.equal(x.verify(x.publicKey), true);
    assert.equal(certificatePublicKey(cert), undefined);
  });

  test('privateKeyPem round-trips to the same key', () => {
    const pem = privateKeyPem(alice);
    assert.match(pem, /^-----BEGIN PRIVATE KEY-----\n/);
    const k = createPrivateKey(pem);
    assert.equal(k.asymmetricKeyType, 'ed25519');
    assert.equal(new X509Certificate(selfSignedCertificate(alice, 'a')).checkPrivateKey(k), true);
  });

  test('common name length is bounded', () => {
    assert.throws(() => selfSignedCertificate(alice, ''), RangeError);
    assert.throws(() => selfSignedCertificate(alice, 'x'.repeat(65)), RangeError);
    assert.doesNotThrow(() => selfSignedCertificate(alice, 'x'.repeat(64)));
  });
});
