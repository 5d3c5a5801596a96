import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { assertOk, assertUserError, run, type Run } from '../helpers/cli.ts';

const PACKAGE_JSON = fileURLToPath(new URL('../../package.json', import.meta.url));



interface WalletJson {
  file: string;
  address: string;
  publicKey: string;
  encrypted: boolean;
}

function walletJson(r: Run): WalletJson {
  assertOk(r);
  return JSON.parse(r.stdout) as WalletJson;
}

async function readJson(file: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
}

describe('peerchain wallet (real binary)', () => {
  let tmp = '';
  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'peerchain-wallet-'));
  });
  after(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  test('--help, --version and usage errors', async () => {
    const [help, version, walletHelp, unknown, noOut] = await Promise.all([
      run(['--help']),
      run(['--version']),
      run(['wallet', '--help']),
      run(['wallet', 'show', '--bogus']),
      run(['wallet', 'new']),
    ]);
    assertOk(help);
    for (const word of ['init', 'wallet', 'PEERCHAIN_PASSPHRASE', 'PEERCHAIN_WALLET']) assert.ok(help.stdout.includes(word), `--help mentions ${word}`);
    assertOk(version);
    const pkg = JSON.parse(await readFile(PACKAGE_JSON, 'utf8')) as { version: string };
    assert.equal(version.stdout.trim(), pkg.version);
    assertOk(walletHelp);
    assert.match(walletHelp.stdout, /new \[options\]/);
    assert.match(walletHelp.stdout, /show \[options\]/);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /^error: unknown option '--bogus'/);
    assertUserError(noOut, /--out/);
  });

  test('new then show a plain wallet; show never prints the private key', async () => {
    const file = join(tmp, 'plain.json');
    const created = walletJson(await run(['wallet', 'new', '--out', file, '--json']));
    assert.equal(created.encrypted, false);
    assert.match(created.address, /^pc1[0-9a-z]+$/);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const onDisk = await readJson(file);
    assert.equal(onDisk.address, created.address);
    const privateKey = onDisk.privateKey;
    assert.equal(typeof privateKey, 'string');

    const [shown, fromEnv] = await Promise.all([run(['wallet', 'show', '--wallet', file]), run(['wallet', 'show', '--json'], { PEERCHAIN_WALLET: file })]);
    assertOk(shown);
    assert.match(shown.stdout, new RegExp(`^address:\\s+${created.address}$`, 'm'));
    assert.match(shown.stdout, new RegExp(`^public key:\\s+${created.publicKey}$`, 'm'));
    assert.ok(!shown.stdout.includes(privateKey as string) && !shown.stderr.includes(privateKey as string), 'private key not printed');
    assert.deepEqual(walletJson(fromEnv), created);
  });

  test('encrypted with a passphrase file or PEERCHAIN_PASSPHRASE; wrong or missing passphrase', async () => {
    const passFile = join(tmp, 'pass.txt');
    const wrongFile = join(tmp, 'wrong.txt');
    // The trailing newline that editors add is not part of the passphrase.
    await writeFile(passFile, 'correct horse battery staple\n');
    await writeFile(wrongFile, 'tr0ub4dor&3\n');
    const byFile = join(tmp, 'enc-file.json');
    const byEnv = join(tmp, 'enc-env.json');
    const [a, b] = await Promise.all([
      run(['wallet', 'new', '--out', byFile, '--passphrase-file', passFile, '--json']),
      run(['wallet', 'new', '--out', byEnv, '--json'], { PEERCHAIN_PASSPHRASE: 'correct horse battery staple' }),
    ]);
    const fileWallet = walletJson(a);
    const envWallet = walletJson(b);
    for (const [w, f] of [
      [fileWallet, byFile],
      [envWallet, byEnv],
    ] as const) {
      assert.equal(w.encrypted, true);
      const json = await readJson(f);
      assert.equal(json.privateKey, undefined, 'no plain private key in an encrypted file');
      assert.equal(typeof json.crypto, 'object');
      assert.equal((await stat(f)).mode & 0o777, 0o600);
    }

    const [envShowsFileWallet, fileShowsEnvWallet, noPass, wrongPass, wrongEnv] = await Promise.all([
      run(['wallet', 'show', '--wallet', byFile, '--json'], { PEERCHAIN_PASSPHRASE: 'correct horse battery staple' }),
      run(['wallet', 'show', '--wallet', byEnv, '--passphrase-file', passFile, '--json']),
      run(['wallet', 'show', '--wallet', byFile]),
      run(['wallet', 'show', '--wallet', byFile, '--passphrase-file', wrongFile]),
      // The flag wins over the environment.
      run(['wallet', 'show', '--wallet', byEnv, '--passphrase-file', wrongFile], { PEERCHAIN_PASSPHRASE: 'correct horse battery staple' }),
    ]);
    assert.deepEqual(walletJson(envShowsFileWallet), fileWallet);
    assert.deepEqual(walletJson(fileShowsEnvWallet), envWallet);
    assertUserError(noPass, new RegExp(`${byFile}.*passphrase is required`));
    assertUserError(wrongPass, new RegExp(`wrong passphrase .*${byFile}`));
    assertUserError(wrongEnv, new RegExp(`wrong passphrase .*${byEnv}`));
  });

  test('missing, unreadable, non-JSON and damaged files are named in the error', async () => {
    const good = join(tmp, 'good.json');
    walletJson(await run(['wallet', 'new', '--out', good, '--json']));
    const json = await readJson(good);
    const notJson = join(tmp, 'not-json.json');
    const damaged = join(tmp, 'damaged.json');
    const swapped = join(tmp, 'swapped.json');
    await writeFile(notJson, '{"version": 1, ');
    await writeFile(damaged, JSON.stringify({ ...json, privateKey: 'zz' }));
    // A valid key that does not match the public key: the file was tampered with.
    await writeFile(swapped, JSON.stringify({ ...json, privateKey: '11'.repeat(32) }));
    const missing = join(tmp, 'nope.json');
    const [m, n, d, s, dir, pf] = await Promise.all([
      run(['wallet', 'show', '--wallet', missing]),
      run(['wallet', 'show', '--wallet', notJson]),
      run(['wallet', 'show', '--wallet', damaged]),
      run(['wallet', 'show', '--wallet', swapped]),
      run(['wallet', 'show', '--wallet', tmp]),
      run(['wallet', 'show', '--wallet', good, '--passphrase-file', missing]),
    ]);
    assertUserError(m, new RegExp(`${missing} does not exist`));
    assertUserError(n, new RegExp(`${notJson} is not JSON`));
    assertUserError(d, new RegExp(`${damaged} is damaged: "privateKey"`));
    assertUserError(s, new RegExp(`${swapped} is damaged: private key does not match`));
    assertUserError(dir, new RegExp(`${tmp}: it is a directory`));
    assertUserError(pf, new RegExp(`--passphrase-file: passphrase file ${missing} does not exist`));
  });

  test('new refuses to overwrite an existing file unless --force', async () => {
    const file = join(tmp, 'keep.json');
    const first = walletJson(await run(['wallet', 'new', '--out', file, '--json']));
    const before = await readFile(file, 'utf8');
    const refused = await run(['wallet', 'new', '--out', file]);
    assertUserError(refused, new RegExp(`--out ${file}: file already exists; pass --force`));
    assert.equal(await readFile(file, 'utf8'), before, 'file unchanged');
    const replaced = walletJson(await run(['wallet', 'new', '--out', file, '--force', '--json']));
    assert.notEqual(replaced.address, first.address);
    assert.equal((await readJson(file)).address, replaced.address);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
  });
});
