/** core/member-cert.ts: member certificates signed by an organisation key. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  applyAction,
  ERR,
  memberCertDigest,
  memberCertFromJson,
  signMemberCert,
  verifyMemberCert,
  type ErrorCode,
  type Membership,
  type MemberCert,
  type Result,
} from '../../src/core/index.ts';
import { keyPairFromSeed } from '../../src/crypto/index.ts';

const key = (n: number) => keyPairFromSeed(Buffer.alloc(32, n));
const ACME_KEY = key(1);
const GLOBEX_KEY = key(2);
const NODE = key(3);
const CHAIN = 'consort';

const MEMBERSHIP: Membership = {
  orgs: [
    { name: 'acme', orgKey: ACME_KEY.publicKey, members: [{ name: 'a1', nodeId: key(10).publicKey, validator: true, bootstrap: true }] },
    { name: 'globex', orgKey: GLOBEX_KEY.publicKey, members: [] },
    { name: 'initech', members: [{ name: 'i1', nodeId: key(11).publicKey, validator: true, bootstrap: false }] },
  ],
};

function cert(over: Partial<MemberCert> = {}): MemberCert {
  return { ...signMemberCert({ chainId: CHAIN, org: 'acme', name: 'member7', nodeId: NODE.publicKey, issuedAt: 1_700_000_000_000 }, ACME_KEY), ...over };
}

function expectFail<T>(r: Result<T>, code: ErrorCode, pattern: RegExp): void {
  assert.equal(r.ok, false, 'expected a failure');
  if (!r.ok) {
    assert.equal(r.error.code, code, r.error.message);
    assert.match(r.error.message, pattern);
  }
}

describe('member certificates', () => {
  test('sign and verify: the org and the member name come back', () => {
    const c = cert();
    assert.equal(c.version, 1);
    assert.match(c.signature, /^[0-9a-f]{128}$/);
    assert.deepEqual(verifyMemberCert(c, MEMBERSHIP, CHAIN), { ok: true, value: { org: 'acme', name: 'member7', nodeId: NODE.publicKey } });
    // Through a file and back.
    assert.ok(verifyMemberCert(JSON.parse(JSON.stringify(c)), MEMBERSHIP, CHAIN).ok);
    assert.ok(verifyMemberCert(c, MEMBERSHIP, CHAIN, NODE.publicKey).ok);
  });

  test('signing is deterministic and covers a tagged digest of every field but the signature', () => {
    assert.deepEqual(cert(), cert());
    const { signature: _, ...fields } = cert();
    assert.equal(memberCertDigest(fields).length, 32);
    assert.notDeepEqual(memberCertDigest(fields), memberCertDigest({ ...fields, issuedAt: fields.issuedAt + 1 }));
  });

  test('any tampered field breaks the signature', () => {
    const tampered: Partial<MemberCert>[] = [{ name: 'member8' }, { nodeId: key(4).publicKey }, { issuedAt: 1 }, { signature: cert().signature.replace(/^./, (c) => (c === '0' ? '1' : '0')) }];
    for (const t of tampered) expectFail(verifyMemberCert(cert(t), MEMBERSHIP, CHAIN), ERR.BAD_SIGNATURE, /does not verify with the org key of "acme"/);
  });

  test('moving a certificate to another org or signing with the wrong org key fails', () => {
    expectFail(verifyMemberCert(cert({ org: 'globex' }), MEMBERSHIP, CHAIN), ERR.BAD_SIGNATURE, /org key of "globex"/);
    const wrongKey = signMemberCert({ chainId: CHAIN, org: 'acme', name: 'm', nodeId: NODE.publicKey, issuedAt: 0 }, GLOBEX_KEY);
    expectFail(verifyMemberCert(wrongKey, MEMBERSHIP, CHAIN), ERR.BAD_SIGNATURE, /org key of "acme"/);
  });

  test('wrong chain, unknown org, org without a key, another node', () => {
    expectFail(verifyMemberCert(cert(), MEMBERSHIP, 'other-chain'), ERR.BAD_CHAIN_ID, /for chain "consort", this is "other-chain"/);
    const unknown = signMemberCert({ chainId: CHAIN, org: 'hooli', name: 'm', nodeId: NODE.publicKey, issuedAt: 0 }, ACME_KEY);
    expectFail(verifyMemberCert(unknown, MEMBERSHIP, CHAIN), ERR.BAD_CERTIFICATE, /unknown organisation "hooli"/);
    const keyless = signMemberCert({ chainId: CHAIN, org: 'initech', name: 'm', nodeId: NODE.publicKey, issuedAt: 0 }, ACME_KEY);
    expectFail(verifyMemberCert(keyless, MEMBERSHIP, CHAIN), ERR.BAD_CERTIFICATE, /"initech" has no org key/);
    expectFail(verifyMemberCert(cert(), MEMBERSHIP, CHAIN, key(4).publicKey), ERR.BAD_CERTIFICATE, /is for node/);
  });

  test('a node removed by governance is no longer admitted by its certificate', () => {
    const r = applyAction(MEMBERSHIP, { op: 'remove-member', org: 'acme', nodeId: NODE.publicKey });
    assert.ok(r.ok);
    expectFail(verifyMemberCert(cert(), r.value, CHAIN), ERR.BAD_CERTIFICATE, /removed from "acme" by governance/);
  });

  test('malformed certificates are refused with the field named, never thrown', () => {
    const good = cert() as unknown as Record<string, unknown>;
    const cases: [unknown, ErrorCode, RegExp][] = [
      [null, ERR.MALFORMED, /JSON object/],
      [[good], ERR.MALFORMED, /JSON object/],
      [{ ...good, extra: 1 }, ERR.MALFORMED, /unknown field "extra"/],
      [{ ...good, version: 2 }, ERR.BAD_CERTIFICATE, /version 2/],
      [{ ...good, nodeId: 'abc' }, ERR.MALFORMED, /nodeId/],
      [{ ...good, name: '' }, ERR.MALFORMED, /name/],
      [{ ...good, issuedAt: -1 }, ERR.MALFORMED, /issuedAt/],
      [{ ...good, issuedAt: 1.5 }, ERR.MALFORMED, /issuedAt/],
      [{ ...good, chainId: 'UPPER' }, ERR.BAD_CHAIN_ID, /chainId/],
      [{ ...good, signature: 'zz' }, ERR.BAD_SIGNATURE, /64-byte/],
    ];
    for (const [json, code, pattern] of cases) expectFail(verifyMemberCert(json, MEMBERSHIP, CHAIN), code, pattern);
    const { org: _, ...missing } = good;
    expectFail(memberCertFromJson(missing), ERR.MALFORMED, /missing field "org"/);
  });

  test('signMemberCert refuses fields a verifier would refuse', () => {
    assert.throws(() => signMemberCert({ chainId: CHAIN, org: 'acme', name: '', nodeId: NODE.publicKey, issuedAt: 0 }, ACME_KEY), /name/);
  });
});
