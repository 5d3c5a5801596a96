import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { bitsForLeadingZeroBits, buildGenesisBlock, parseGenesis, type Genesis } from '../../src/core/index.ts';
import { addressFromPublicKey, certificatePublicKey } from '../../src/crypto/index.ts';
import { readKeyFile } from '../../src/node/keystore.ts';
import { assertOk, run, type Run } from '../helpers/cli.ts';



/** A user error: non-zero exit, one `error:` line naming what is wrong, no stack trace. */
function assertUserError(r: Run, pattern: RegExp): void {
  assert.notEqual(r.code, 0, `expected failure; stdout: ${r.stdout}`);
  assert.notEqual(r.code, null, 'killed by timeout');
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `expected one line on stderr, got: ${r.stderr}`);
  assert.match(lines[0]!, /^error: /);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

async function mode(p: string): Promise<number> {
  return (await stat(p)).mode & 0o777;
}

async function genesisOf(dir: string): Promise<{ genesis: Genesis; hash: string }> {
  const parsed = parseGenesis(JSON.parse(await readFile(join(dir, 'genesis.json'), 'utf8')));
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.error.message);
  return { genesis: parsed.value, hash: buildGenesisBlock(parsed.value).hash };
}

function printedHash(stdout: string): string {
  const m = /^genesis hash:\s+([0-9a-f]{64})$/m.exec(stdout);
  assert.ok(m, `no genesis hash in: ${stdout}`);
  return m[1]!;
}

interface NodeJsonFile {
  name: string;
  nodeId: string;
  roles: string[];
  org?: string;
  ports: { ws: number; tcp: number; api: number };
  genesis: string;
  key: string;
}

/** Checks a node folder: key mode 0600, node.json consistent with the key; returns both. */
async function checkNode(dir: string, name: string, index: number): Promise<{ publicKey: string; node: NodeJsonFile }> {
  const nodeDir = join(dir, 'nodes', name);
  const keyFile = join(nodeDir, 'node-key.json');
  assert.equal(await mode(keyFile), 0o600, `${keyFile} mode`);
  const keys = await readKeyFile(keyFile);
  const node = JSON.parse(await readFile(join(nodeDir, 'node.json'), 'utf8')) as NodeJsonFile;
  assert.equal(node.name, name);
  assert.equal(node.nodeId, keys.publicKey);
  assert.deepEqual(node.ports, { ws: 6001 + index, tcp: 7001 + index, api: 3001 + index });
  assert.equal(node.genesis, '../../genesis.json');
  assert.equal(node.key, 'node-key.json');
  // Permissioned nodes get their TLS certificate: for their own key, signed by it.
  const certFile = join(nodeDir, 'tls-cert.pem');
  const hasCert = await readFile(certFile, 'utf8').then((pem) => {
    assert.equal(certificatePublicKey(pem), keys.publicKey, `${certFile} is for the node key`);
    return true;
  }, () => false);
  assert.equal(hasCert, JSON.parse(await readFile(join(dir, 'genesis.json'), 'utf8')).network !== 'public', `${certFile} exactly for permissioned networks`);
  return { publicKey: keys.publicKey, node };
}

describe('peerchain init (real binary)', () => {
  let tmp = '';
  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'peerchain-init-'));
  });
  after(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  test('public: PoW genesis, node keys, funded wallet, hash as printed', async () => {
    const out = join(tmp, 'pub');
    const t0 = Date.now();
    const r = await run(['init', '--network', 'public', '--out', out, '--nodes', '2']);
    assertOk(r);
    const { genesis, hash } = await genesisOf(out);
    assert.equal(printedHash(r.stdout), hash);
    assert.equal(genesis.network, 'public');
    assert.match(genesis.chainId, /^peerchain-public-[0-9a-f]{6}$/);
    assert.ok(genesis.timestamp >= t0 - 1000 && genesis.timestamp <= Date.now(), 'timestamp is now');
    assert.deepEqual(genesis.consensus, {
      type: 'pow',
      targetBlockTimeMs: 5000,
      initialBits: bitsForLeadingZeroBits(12),
      powLimitBits: bitsForLeadingZeroBits(1),
      retargetInterval: 10,
      maxAdjustFactor: 4,
      reward: 50n,
      halvingInterval: 0,
    });
    assert.deepEqual(genesis.orgs, []);
    assert.deepEqual((await readdir(out)).sort(), ['genesis.json', 'nodes', 'wallets'], 'no staging folder left behind');
    assert.deepEqual((await readdir(join(out, 'nodes'))).sort(), ['node1', 'node2']);
    for (const [i, name] of ['node1', 'node2'].entries()) {
      const { node } = await checkNode(out, name, i);
      assert.deepEqual(node.roles, ['peer']);
    }
    const walletFile = join(out, 'wallets', 'funded.json');
    assert.equal(await mode(walletFile), 0o600);
    const wallet = addressFromPublicKey((await readKeyFile(walletFile)).publicKey);
    assert.deepEqual(genesis.alloc, [{ address: wallet, balance: 1_000_000_000n }]);
    assert.ok(r.stdout.includes(wallet), 'summary names the wallet address');
  });

  test('private: one org, bootstrap + validators + members, org key, admitted wallet', async () => {
    const out = join(tmp, 'priv');
    const r = await run(['init', '--network', 'private', '--out', out, '--validators', '4', '--members', '1', '--chain-id', 'my-private', '--block-time-ms', '2000']);
    assertOk(r);
    const { genesis, hash } = await genesisOf(out);
    assert.equal(printedHash(r.stdout), hash);
    assert.equal(genesis.chainId, 'my-private');
    assert.equal(genesis.consensus.type, 'bft');
    assert.deepEqual(genesis.consensus, { type: 'bft', emptyBlockIntervalMs: 2000, timeoutProposeMs: 1000, timeoutVoteMs: 1000, governanceThreshold: { num: 1, den: 2 } });
    assert.equal(genesis.params.membersOnly, true);
    assert.equal(genesis.orgs.length, 1);
    const org = genesis.orgs[0]!;
    assert.equal(org.name, 'org1');
    const names = ['bootstrap', 'validator1', 'validator2', 'validator3', 'validator4', 'member1'];
    assert.deepEqual(
      org.members.map((m) => [m.name, m.validator, m.bootstrap]),
      names.map((n) => [n, n.startsWith('validator'), n === 'bootstrap']),
    );
    for (const [i, name] of names.entries()) {
      const { publicKey, node } = await checkNode(out, name, i);
      assert.equal(org.members[i]!.nodeId, publicKey, `${name}'s key is its genesis nodeId`);
      assert.equal(node.org, 'org1');
      assert.deepEqual(node.roles, [name.replace(/[0-9]+$/, '')]);
    }
    const orgKeyFile = join(out, 'orgs', 'org1', 'org-key.json');
    assert.equal(await mode(orgKeyFile), 0o600);
    assert.equal(org.orgKey, (await readKeyFile(orgKeyFile)).publicKey);
    const walletFile = join(out, 'wallets', 'org1.json');
    assert.equal(await mode(walletFile), 0o600);
    const wallet = addressFromPublicKey((await readKeyFile(walletFile)).publicKey);
    assert.deepEqual(org.accounts, [wallet]);
    assert.deepEqual(genesis.alloc, [{ address: wallet, balance: 1_000_000n }]);
    assert.match(r.stdout, /validators:\s+4 \(tolerates 1 faulty\)/);
  });

  test('consortium with defaults: 3 orgs x (2 validators + 1 member), JSON summary', async () => {
    const out = join(tmp, 'cons');
    const r = await run(['init', '--network', 'consortium', '--out', out, '--json']);
    assertOk(r);
    const summary = JSON.parse(r.stdout) as { network: string; chainId: string; genesisHash: string; validators: number; nodes: { name: string; nodeId: string }[]; wallets: { file: string; address: string; org: string }[] };
    const { genesis, hash } = await genesisOf(out);
    assert.equal(summary.genesisHash, hash);
    assert.equal(summary.chainId, genesis.chainId);
    assert.match(genesis.chainId, /^peerchain-consortium-[0-9a-f]{6}$/);
    assert.equal(summary.validators, 6);
    assert.deepEqual(
      genesis.orgs.map((o) => o.name),
      ['org1', 'org2', 'org3'],
    );
    let index = 0;
    for (const org of genesis.orgs) {
      const expected = [`${org.name}-validator1`, `${org.name}-validator2`, `${org.name}-member1`];
      assert.deepEqual(
        org.members.map((m) => [m.name, m.validator, m.bootstrap]),
        expected.map((n) => [n, n.includes('validator'), false]),
      );
      for (const m of org.members) {
        const { publicKey, node } = await checkNode(out, m.name, index++);
        assert.equal(m.nodeId, publicKey);
        assert.equal(node.org, org.name);
      }
      assert.equal(org.orgKey, (await readKeyFile(join(out, 'orgs', org.name, 'org-key.json'))).publicKey);
      const walletFile = join(out, 'wallets', `${org.name}.json`);
      assert.equal(await mode(walletFile), 0o600);
      const wallet = addressFromPublicKey((await readKeyFile(walletFile)).publicKey);
      assert.deepEqual(org.accounts, [wallet]);
      assert.ok(genesis.alloc.some((a) => a.address === wallet && a.balance === 1_000_000n), `${org.name} wallet is funded`);
    }
    assert.equal(summary.nodes.length, 9);
    assert.equal(summary.wallets.length, 3);
  });

  test('bad flags: named in one error line, non-zero exit, nothing written', async () => {
    const cases: [string[], RegExp][] = [
      [['--network', 'mainnet'], /--network.*"mainnet"/],
      [[], /--network is required/],
      [['--network', 'public', '--nodes', '0'], /--nodes.*"0"/],
      [['--network', 'public', '--initial-zero-bits', '300'], /--initial-zero-bits.*"300"/],
      [['--network', 'public', '--block-time-ms', 'fast'], /--block-time-ms.*"fast"/],
      [['--network', 'public', '--chain-id', 'Bad_Id'], /--chain-id.*"Bad_Id"/],
      [['--network', 'public', '--orgs', '2'], /--orgs 2: does not apply to a public network/],
      [['--network', 'private', '--validators', '3'], /--validators 3: .*at least 4 validators/],
      [['--network', 'consortium', '--orgs', '3', '--validators', '1'], /--orgs 3 x --validators 1 = 3 validators: .*at least 4/],
    ];
    await Promise.all(
      cases.map(async ([args, pattern], i) => {
        const out = join(tmp, `bad${i}`);
        const r = await run(['init', '--out', out, ...args]);
        assertUserError(r, pattern);
        assert.equal(await exists(out), false, `${args.join(' ')} wrote ${out}`);
      }),
    );
  });

  test('a non-empty directory is refused unless --force, which replaces only what init owns', async () => {
    const out = join(tmp, 'full');
    await mkdir(out);
    await writeFile(join(out, 'notes.txt'), 'keep me');
    const refused = await run(['init', '--network', 'public', '--out', out]);
    assertUserError(refused, /--out .*full: directory is not empty.*--force/);
    assert.deepEqual(await readdir(out), ['notes.txt']);

    assertOk(await run(['init', '--network', 'public', '--out', out, '--nodes', '2', '--force']));
    const first = await genesisOf(out);
    // A second --force init replaces the first network whole: no node1 left from it.
    const second = await run(['init', '--network', 'private', '--out', out, '--force']);
    assertOk(second);
    const { genesis, hash } = await genesisOf(out);
    assert.equal(printedHash(second.stdout), hash);
    assert.notEqual(hash, first.hash);
    assert.equal(genesis.network, 'private');
    assert.deepEqual((await readdir(join(out, 'nodes'))).sort(), ['bootstrap', 'validator1', 'validator2', 'validator3', 'validator4']);
    assert.deepEqual((await readdir(join(out, 'wallets'))).sort(), ['org1.json']);
    assert.equal(await readFile(join(out, 'notes.txt'), 'utf8'), 'keep me');
  });
});
