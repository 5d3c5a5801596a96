/**
 * `peerchain tx govern` and `peerchain org certify` as a user runs them (the
 * real binary): bad input fails with one clear line and changes nothing; a
 * certificate written by `org certify` verifies; a public node refuses
 * governance with its reason.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { verifyMemberCert } from '../../src/core/index.ts';
import { generateKeyPair } from '../../src/crypto/index.ts';
import { writeKeyFile } from '../../src/node/keystore.ts';
import { createLogger } from '../../src/node/logger.ts';
import { NodeRuntime } from '../../src/node/runtime.ts';
import { MemoryStore } from '../../src/storage/index.ts';
import { getJson } from '../helpers/http.ts';
import { assertOk, assertUserError, run } from '../helpers/cli.ts';
import { keys, powGenesis } from '../helpers/chain-fixtures.ts';

const NODE_ID = generateKeyPair().publicKey;
// Nothing listens here; every bad-input case must fail before any request.
const NO_NODE = ['--node', 'http://127.0.0.1:9'];

describe('peerchain tx govern and org certify (real binary)', { timeout: 240_000 }, () => {
  let tmp = '';
  let wallet = '';
  let orgKeyFile = '';
  const orgKeys = generateKeyPair();

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'peerchain-cli-govern-'));
    wallet = join(tmp, 'org1.json');
    orgKeyFile = join(tmp, 'orgs', 'org1', 'org-key.json');
    await writeKeyFile(wallet, keys[0]!);
    await writeKeyFile(orgKeyFile, orgKeys);
  });

  after(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  test('tx govern: bad flags fail with one line naming the flag', async () => {
    const base = ['tx', 'govern', '--wallet', wallet, ...NO_NODE];
    const good = ['--op', 'add-validator', '--org', 'org1', '--node-id', NODE_ID];
    const cases: [string[], RegExp][] = [
      [[...base, '--org', 'org1', '--node-id', NODE_ID], /^error: --op: required \(add-member, remove-member, add-validator, remove-validator\)$/],
      [[...base, '--op', 'add-admin', '--org', 'org1', '--node-id', NODE_ID], /^error: --op: expected one of add-member, remove-member, add-validator, remove-validator, got "add-admin"$/],
      [[...base, '--op', 'add-member', '--node-id', NODE_ID], /^error: --org: required/],
      [[...base, '--op', 'add-member', '--org', 'x'.repeat(65), '--node-id', NODE_ID], /^error: --org: expected a name of 1-64 characters/],
      [[...base, '--op', 'add-member', '--org', 'org1'], /^error: --node-id: required/],
      [[...base, '--op', 'add-member', '--org', 'org1', '--node-id', 'abc'], /^error: --node-id: expected a node public key: 64 lowercase hex characters .*got "abc"$/],
      [[...base, '--op', 'add-member', '--org', 'org1', '--node-id', NODE_ID.toUpperCase()], /^error: --node-id: expected .*lowercase hex/],
      [[...base, '--op', 'remove-member', '--org', 'org1', '--node-id', NODE_ID, '--name', 'n'], /^error: --name: only names a node that joins .*leave it out for remove-member$/],
      [[...base, ...good, '--name', 'n'.repeat(65)], /^error: --name: expected a name of 1-64 characters/],
      [[...base, ...good, '--fee', '1.5'], /^error: --fee: expected a whole number/],
      [[...base, ...good, '--timeout', '5'], /^error: --timeout: only means something with --wait$/],
      [['tx', 'govern', ...good, ...NO_NODE], /^error: --wallet: required/],
      [['tx', 'govern', ...good, '--wallet', join(tmp, 'missing.json'), ...NO_NODE], /^error: --wallet: key file .*missing\.json does not exist$/],
    ];
    const results = await Promise.all(cases.map(([args]) => run(args)));
    results.forEach((r, i) => assertUserError(r, cases[i]![1]));
  });

  test('tx record refuses reserved keys before opening the wallet', async () => {
    const r = await run(['tx', 'record', '--key', '~membership', '--value', '{}', '--wallet', join(tmp, 'missing.json'), ...NO_NODE]);
    assertUserError(r, /^error: --key: keys starting with "~" are reserved for membership and governance records; got "~membership"$/);
  });

  test('help lists the new commands', async () => {
    const [tx, govern, org] = await Promise.all([run(['tx', '--help']), run(['tx', 'govern', '--help']), run(['org', '--help'])]);
    assertOk(tx);
    assert.match(tx.stdout, /govern/);
    assertOk(govern);
    for (const flag of ['--op', '--org', '--node-id', '--name', '--fee', '--node', '--wallet']) assert.ok(govern.stdout.includes(flag), `tx govern --help lists ${flag}`);
    assertOk(org);
    assert.match(org.stdout, /certify/);
  });

  test('org certify: bad flags fail with one line and write nothing', async () => {
    const out = join(tmp, 'never.json');
    const good = ['--org-key', orgKeyFile, '--org', 'org1', '--node-id', NODE_ID, '--name', 'm7', '--chain-id', 'consort', '--out', out];
    const without = (flag: string): string[] => {
      const i = good.indexOf(flag);
      return [...good.slice(0, i), ...good.slice(i + 2)];
    };
    const withValue = (flag: string, v: string): string[] => good.map((x, i) => (good[i - 1] === flag ? v : x));
    const cases: [string[], RegExp][] = [
      [without('--org-key'), /^error: --org-key: required/],
      [without('--org'), /^error: --org: required/],
      [without('--node-id'), /^error: --node-id: required/],
      [without('--name'), /^error: --name: required/],
      [without('--chain-id'), /^error: --chain-id: required/],
      [without('--out'), /^error: --out: required/],
      [withValue('--node-id', 'zz'), /^error: --node-id: expected a node public key/],
      [withValue('--chain-id', 'Bad Chain'), /^error: --chain-id: expected 1-32 characters of a-z, 0-9 and -/],
      [withValue('--name', 'n'.repeat(65)), /^error: --name: expected a name of 1-64 characters/],
      [withValue('--org-key', join(tmp, 'nope.json')), /^error: --org-key: key file .*nope\.json does not exist$/],
      [withValue('--out', join(tmp, 'no-such-dir', 'c.json')), /^error: --out .*c\.json: cannot write the certificate \(its directory does not exist\)$/],
    ];
    const results = await Promise.all(cases.map(([args]) => run(['org', 'certify', ...args])));
    results.forEach((r, i) => assertUserError(r, cases[i]![1]));
    await assert.rejects(stat(out), /ENOENT/);
  });

  test('org certify writes a certificate that verifies against the org key; it never overwrites without --force', async () => {
    const out = join(tmp, 'm7-cert.json');
    const args = ['org', 'certify', '--org-key', orgKeyFile, '--org', 'org1', '--node-id', NODE_ID, '--name', 'm7', '--chain-id', 'consort', '--out', out];
    const r = await run([...args, '--json']);
    assertOk(r);
    const printed = JSON.parse(r.stdout) as { file: string; orgKey: string; certificate: unknown };
    assert.equal(printed.orgKey, orgKeys.publicKey);
    const cert = JSON.parse(await readFile(out, 'utf8')) as unknown;
    assert.deepEqual(cert, printed.certificate);
    const membership = { orgs: [{ name: 'org1', orgKey: orgKeys.publicKey, members: [] }] };
    assert.deepEqual(verifyMemberCert(cert, membership, 'consort', NODE_ID), { ok: true, value: { org: 'org1', name: 'm7', nodeId: NODE_ID } });
    const other = { orgs: [{ name: 'org1', orgKey: generateKeyPair().publicKey, members: [] }] };
    assert.equal(verifyMemberCert(cert, other, 'consort').ok, false);

    const again = await run(args);
    assertUserError(again, /^error: --out .*m7-cert\.json: file already exists; pass --force to replace it$/);
    assert.deepEqual(JSON.parse(await readFile(out, 'utf8')), cert);
    const forced = await run([...args, '--force']);
    assertOk(forced);
    assert.match(forced.stdout, /^organisation:\s+org1$/m);
    assert.match(forced.stdout, new RegExp(`^node id:\\s+${NODE_ID}$`, 'm'));
  });

  test('org certify names a sealed org key that needs a passphrase', async () => {
    const sealed = join(tmp, 'sealed-org-key.json');
    await writeKeyFile(sealed, orgKeys, { passphrase: 'pw' });
    const r = await run(['org', 'certify', '--org-key', sealed, '--org', 'org1', '--node-id', NODE_ID, '--name', 'm', '--chain-id', 'consort', '--out', join(tmp, 'x.json')]);
    assertUserError(r, /^error: --org-key: key file .* is encrypted: a passphrase is required$/);
    const passFile = join(tmp, 'pw.txt');
    await writeFile(passFile, 'pw\n');
    assertOk(await run(['org', 'certify', '--org-key', sealed, '--passphrase-file', passFile, '--org', 'org1', '--node-id', NODE_ID, '--name', 'm', '--chain-id', 'consort', '--out', join(tmp, 'x.json')]));
  });

  describe('against a public node', () => {
    let rt: NodeRuntime;
    before(async () => {
      rt = await NodeRuntime.start({
        name: 'cli-govern',
        dataDir: join(tmpdir(), 'unused'),
        genesis: powGenesis(),
        key: generateKeyPair(),
        log: createLogger({ silent: true }),
        host: '127.0.0.1',
        wsPort: 0,
        tcpPort: 0,
        peers: [],
        api: { host: '127.0.0.1', port: 0 },
        mine: { threads: 0, continuous: false },
        store: new MemoryStore(),
      });
    });
    after(async () => {
      await rt?.stop();
    });

    test('governance is refused with its reason and nothing reaches the mempool', async () => {
      const api = rt.apiUrl!;
      const r = await run(['tx', 'govern', '--wallet', wallet, '--op', 'add-validator', '--org', 'org1', '--node-id', NODE_ID, '--node', api]);
      assertUserError(r, /^error: GOVERNANCE_DISABLED: governance transactions are for private and consortium networks/);
      assert.equal((await getJson<{ size: number }>(`${api}/api/mempool`)).body.size, 0);
    });
  });
});
