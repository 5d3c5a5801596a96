/**
 * Membership in a running private network of real node processes: a
 * governance transaction makes a member a validator and blocks after its
 * activation carry its signature; a node whose key is not a member is refused
 * at the handshake; a plaintext dial to a TLS-only node fails cleanly.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { addressFromPublicKey, generateKeyPair, type KeyPair } from '../../src/crypto/index.ts';
import { proposalId, signTx, txToJson } from '../../src/core/index.ts';
import { NODE_KEY_FILE, readKeyFile, writeKeyFile } from '../../src/node/keystore.ts';
import { initNetwork } from '../../src/cli/init-run.ts';
import { parseInitFlags } from '../../src/cli/init-options.ts';
import { terminate, Testnet, waitForApi } from '../../src/testnet/launcher.ts';
import { getJson, postJson, waitFor } from '../helpers/http.ts';
import { PORTS } from '../helpers/ports.ts';
import { assertOk, assertUserError, run } from '../helpers/cli.ts';

const BIN = fileURLToPath(new URL('../../bin/peerchain.js', import.meta.url));

interface Block {
  hash: string;
  commit?: { signatures: { validator: string }[] };
}

describe('private network membership', { timeout: 240_000 }, () => {
  let net: Testnet;
  let dir: string;
  let chainId: string;
  let wallet: KeyPair;
  const url = (name: string): string => net.node(name).apiUrl;
  const height = async (u: string): Promise<number> => (await getJson<{ height: number }>(`${u}/api/status`)).body.height;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'peerchain-members-'));
    chainId = (await initNetwork(parseInitFlags({ network: 'private', validators: '4', members: '1', blockTimeMs: '500', out: join(dir, 'net') }), Date.now())).chainId;
    wallet = await readKeyFile(join(dir, 'net', 'wallets', 'org1.json'));
    net = await Testnet.start({ dir: join(dir, 'net'), basePort: PORTS.bftGovernance, logLevel: 'warn' });
  });

  after(async () => {
    await net?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  test('a governance transaction adds a validator, and blocks after its activation carry its signature', async () => {
    // Linked and committing before the transaction goes in.
    await waitFor('member1 linked and blocks committed', async () => {
      const st = (await getJson<{ peers: number; height: number }>(`${url('member1')}/api/status`)).body;
      return st.peers > 0 && st.height >= 1 ? true : undefined;
    }, 30_000);
    const member = (await getJson<{ nodeId: string }>(`${url('member1')}/api/status`)).body.nodeId;
    const acct = (await getJson<{ pendingNonce: number }>(`${url('validator1')}/api/accounts/${addressFromPublicKey(wallet.publicKey)}`)).body;
    const action = { op: 'add-validator' as const, org: 'org1', nodeId: member };
    const tx = signTx({ kind: 'govern', chainId, from: wallet.publicKey, nonce: acct.pendingNonce, fee: 1n, action }, wallet);
    const sent = await postJson<{ id: string }>(`${url('member1')}/api/txs`, txToJson(tx));
    assert.equal(sent.status, 202, JSON.stringify(sent.body));

    // One organisation of one: its approval passes the threshold and schedules the change.
    const key = encodeURIComponent(`~gov/${proposalId(action)}`);
    const proposal = await waitFor('the proposal approved', async () => {
      const r = await getJson<{ value: { status: string; activatesAt?: number } }>(`${url('validator1')}/api/records/${key}`);
      return r.status === 200 && r.body.value.status !== 'pending' ? r.body.value : undefined;
    }, 30_000);
    assert.ok(proposal.activatesAt !== undefined, JSON.stringify(proposal));
    const at = proposal.activatesAt!;
    await waitFor(`height ${at}`, async () => ((await height(url('validator1'))) >= at ? true : undefined), 30_000);
    const consensus = (await getJson<{ validators: string[] }>(`${url('validator1')}/api/consensus`)).body;
    assert.equal(consensus.validators.length, 5);
    assert.ok(consensus.validators.includes(member));
    const before = (await getJson<Block>(`${url('validator1')}/api/blocks/${at - 1}`)).body;
    assert.ok(!before.commit!.signatures.some((s) => s.validator === member), 'the block before activation is signed by the old set only');

    // With one original validator down, 4 of 5 are needed: every new block must carry the new validator's precommit.
    await net.stopNode('validator4', 'SIGKILL');
    const from = await height(url('validator1'));
    await waitFor(`three more blocks after ${from}`, async () => ((await height(url('validator1'))) >= from + 3 ? true : undefined), 40_000, 200);
    for (let h = from + 1; h <= from + 3; h++) {
      const b = (await getJson<Block>(`${url('member1')}/api/blocks/${h}`)).body;
      assert.ok(b.commit!.signatures.some((s) => s.validator === member), `block ${h} carries member1's signature`);
    }
    await net.restartNode('validator4');
  });

  test('a node whose key is not a member is refused at the handshake', async () => {
    const data = join(dir, 'outsider');
    mkdirSync(data, { recursive: true });
    await writeKeyFile(join(data, NODE_KEY_FILE), generateKeyPair());
    const v1 = net.node('validator1');
    const ports = { ws: PORTS.bftGovernance + 50, tcp: PORTS.bftGovernance + 150, api: PORTS.bftGovernance + 250 };
    const lines: string[] = [];
    const child: ChildProcess = spawn(
      process.execPath,
      [BIN, 'node', '--data', data, '--genesis', join(dir, 'net', 'genesis.json'), '--ws-port', String(ports.ws), '--tcp-port', String(ports.tcp), '--api-port', String(ports.api), '--peer', `wss://127.0.0.1:${v1.wsPort}`, '--no-progress', '--log-level', 'info'],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PEERCHAIN_PEERS: '' } },
    );
    child.stdout!.on('data', (d: Buffer) => lines.push(...String(d).split('\n')));
    child.stderr!.on('data', (d: Buffer) => lines.push(...String(d).split('\n')));
    try {
      const api = `http://127.0.0.1:${ports.api}`;
      await waitForApi(api, 60_000, () => child.exitCode !== null);
      await waitFor('the refusal in its log', () => (lines.some((l) => l.includes('not-member')) ? true : undefined), 20_000);
      assert.equal((await getJson<{ peers: number }>(`${api}/api/status`)).body.peers, 0);
      const members = (await getJson<{ id: string }[]>(`${v1.apiUrl}/api/peers`)).body;
      assert.ok(members.length > 0, 'validator1 keeps its members');
    } finally {
      await terminate(child);
    }
  });

  test('a node admitted by an organisation certificate, not genesis, gets in: peerchain ping with its key; a throwaway key is refused', async () => {
    const v3 = net.node('validator3');
    // The organisation admits a new node by signing a member certificate with its org key.
    const probe = join(dir, 'probe');
    mkdirSync(probe, { recursive: true });
    const keys = generateKeyPair();
    await writeKeyFile(join(probe, NODE_KEY_FILE), keys);
    const orgKey = join(dir, 'net', 'orgs', 'org1', 'org-key.json');
    assertOk(await run(['org', 'certify', '--org-key', orgKey, '--org', 'org1', '--node-id', keys.publicKey, '--name', 'probe', '--chain-id', chainId, '--out', join(probe, 'member-cert.json')]));
    const okRun = await run(['ping', `wss://127.0.0.1:${v3.wsPort}`, '--data', probe, '--count', '2', '--interval-ms', '50', '--json']);
    assertOk(okRun);
    const report = JSON.parse(okRun.stdout) as { received: number; network: string };
    assert.equal(report.received, 2);
    assert.equal(report.network, 'private');
    const refused = await run(['ping', `tls://127.0.0.1:${v3.tcpPort}`, '--count', '1']);
    assertUserError(refused, /refused the link: not-member.*--data/);
  });

  test('a plaintext dial to a TLS-only node fails cleanly and the node keeps serving', async () => {
    const v2 = net.node('validator2');
    const r = await postJson<{ error: { code: string; message: string } }>(`${url('validator1')}/api/peers`, { address: `ws://127.0.0.1:${v2.wsPort}` });
    assert.equal(r.status >= 400 && r.status < 500, true, JSON.stringify(r.body));
    assert.match(r.body.error.message, /TLS|tls|wss/);
    // A raw plaintext WebSocket client on the TLS port: refused, no crash.
    const { default: WebSocket } = await import('ws');
    const ws = new WebSocket(`ws://127.0.0.1:${v2.wsPort}`);
    const outcome = await new Promise<string>((resolve) => {
      ws.once('open', () => resolve('open'));
      ws.once('error', (e) => resolve(`error: ${e.message}`));
      setTimeout(() => resolve('timeout'), 10_000);
    });
    ws.terminate();
    assert.notEqual(outcome, 'open');
    const h = await height(v2.apiUrl);
    await waitFor('validator2 still committing', async () => ((await height(v2.apiUrl)) > h ? true : undefined), 20_000);
  });
});
