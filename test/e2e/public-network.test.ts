/**
 * A public network as a user runs it: real node processes started by the
 * testnet launcher, real sockets, driven through the HTTP API.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addressFromPublicKey, generateKeyPair } from '../../src/crypto/index.ts';
import { signTx, txToJson, type JsonValue } from '../../src/core/index.ts';
import { readKeyFile } from '../../src/node/keystore.ts';
import { initNetwork } from '../../src/cli/init-run.ts';
import { parseInitFlags } from '../../src/cli/init-options.ts';
import { Testnet } from '../../src/testnet/launcher.ts';
import { getJson, mineBlocks, nodeStatus, postJson, waitFor, sameTip } from '../helpers/http.ts';
import { PORTS } from '../helpers/ports.ts';

async function makeNetwork(nodes: number, basePort: number): Promise<{ dir: string; chainId: string; funded: Awaited<ReturnType<typeof readKeyFile>> }> {
  const dir = mkdtempSync(join(tmpdir(), 'peerchain-e2e-'));
  // Easy, fixed difficulty keeps mining on demand quick and the test about networking.
  const s = await initNetwork(parseInitFlags({ network: 'public', out: join(dir, 'net'), nodes: String(nodes), initialZeroBits: '4', blockTimeMs: '1000' }), Date.now());
  void basePort;
  return { dir, chainId: s.chainId, funded: await readKeyFile(join(dir, 'net', 'wallets', 'funded.json')) };
}

describe('public network: three node processes', { timeout: 180_000 }, () => {
  let net: Testnet;
  let env: Awaited<ReturnType<typeof makeNetwork>>;
  let urls: string[];

  before(async () => {
    env = await makeNetwork(3, 0);
    net = await Testnet.start({ dir: join(env.dir, 'net'), basePort: PORTS.publicNetwork, miners: [], logLevel: 'warn' });
    urls = net.nodes.map((n) => n.apiUrl);
    await waitFor('a full mesh', async () => ((await Promise.all(urls.map(nodeStatus))).every((s) => s.peers === 2) ? true : undefined), 30_000);
  });

  after(async () => {
    await net?.stop();
    if (env !== undefined) rmSync(env.dir, { recursive: true, force: true });
  });

  test('blocks mined on one node reach the others', async () => {
    const [a] = urls as [string];
    const hashes = await mineBlocks(a, 2);
    const ss = await sameTip(urls, 2);
    assert.equal(ss[1]!.tip, hashes[1]);
  });

  test('a transfer sent to node C is mined by node A and visible on all three', async () => {
    const [a, , c] = urls as [string, string, string];
    const to = addressFromPublicKey(generateKeyPair().publicKey);
    const acct = (await getJson<{ pendingNonce: number }>(`${c}/api/accounts/${addressFromPublicKey(env.funded.publicKey)}`)).body;
    const tx = signTx({ kind: 'transfer', chainId: env.chainId, from: env.funded.publicKey, nonce: acct.pendingNonce, fee: 2n, to, amount: 1234n }, env.funded);
    const sent = await postJson<{ id: string }>(`${c}/api/txs`, txToJson(tx));
    assert.equal(sent.status, 202, JSON.stringify(sent.body));
    const id = sent.body.id;
    // Gossip carries it to A's mempool; A mines it.
    await waitFor('the tx in A\'s mempool', async () => ((await getJson(`${a}/api/txs/${id}`)).status === 200 ? true : undefined));
    const before = (await nodeStatus(a)).height;
    await mineBlocks(a, 1);
    await sameTip(urls, before + 1);
    for (const u of urls) {
      const t = await getJson<{ status: string; height: number }>(`${u}/api/txs/${id}`);
      assert.equal(t.body.status, 'confirmed', `confirmed on ${u}`);
      const bal = await getJson<{ balance: string }>(`${u}/api/accounts/${to}`);
      assert.equal(bal.body.balance, '1234');
    }
  });

  test('a record\'s history is readable through the API on every node', async () => {
    const [a, b] = urls as [string, string];
    const values: JsonValue[] = [{ event: 'manufactured', plant: 'Wolfsburg' }, { event: 'service', km: 15000 }];
    for (const value of values) {
      const acct = (await getJson<{ pendingNonce: number }>(`${b}/api/accounts/${addressFromPublicKey(env.funded.publicKey)}`)).body;
      const tx = signTx({ kind: 'record', chainId: env.chainId, from: env.funded.publicKey, nonce: acct.pendingNonce, fee: 1n, key: 'vin:WVW0001', value }, env.funded);
      const r = await postJson(`${b}/api/txs`, txToJson(tx));
      assert.equal(r.status, 202, JSON.stringify(r.body));
    }
    await waitFor('both record writes in A\'s mempool', async () => ((await getJson<{ size: number }>(`${a}/api/mempool`)).body.size >= 2 ? true : undefined));
    const before = (await nodeStatus(a)).height;
    await mineBlocks(a, 1);
    await sameTip(urls, before + 1);
    for (const u of urls) {
      const rec = await getJson<{ value: JsonValue; updates: number; history: { entries: { value: JsonValue }[] } }>(`${u}/api/records/vin:WVW0001`);
      assert.equal(rec.status, 200);
      assert.equal(rec.body.updates, 2);
      assert.deepEqual(rec.body.value, values[1]);
      assert.deepEqual(rec.body.history.entries.map((e) => e.value), values);
    }
  });

  test('a node killed with SIGKILL restarts at its last complete block and catches up', async () => {
    const [a, b] = urls as [string, string];
    const hBefore = (await nodeStatus(b)).height;
    await net.stopNode('node2', 'SIGKILL');
    await mineBlocks(a, 3);
    await net.restartNode('node2');
    const restarted = await nodeStatus(b);
    assert.ok(restarted.height >= hBefore, `restarted at ${restarted.height}, had ${hBefore}`);
    await sameTip(urls, hBefore + 3);
  });
});

describe('public network: partition and heal', { timeout: 180_000 }, () => {
  let net: Testnet;
  let env: Awaited<ReturnType<typeof makeNetwork>>;

  before(async () => {
    env = await makeNetwork(3, 0);
    net = await Testnet.start({ dir: join(env.dir, 'net'), basePort: PORTS.publicPartition, miners: [], topology: 'none', logLevel: 'warn' });
  });

  after(async () => {
    await net?.stop();
    if (env !== undefined) rmSync(env.dir, { recursive: true, force: true });
  });

  test('two groups mine apart; healed, every node ends on the most-work branch with one state root and the losers\' transactions kept', async () => {
    const [a, b, c] = net.nodes.map((n) => n.apiUrl) as [string, string, string];
    const wsA = `ws://127.0.0.1:${net.node('node1').wsPort}`;
    // Group 1 = {A, B}; group 2 = {C}.
    const linked = await postJson(`${b}/api/peers`, { address: wsA });
    assert.ok(linked.status < 300, JSON.stringify(linked.body));
    await waitFor('A and B linked', async () => ((await nodeStatus(a)).peers === 1 ? true : undefined));
    // C takes a transfer and mines it on its own branch.
    const to = addressFromPublicKey(generateKeyPair().publicKey);
    const tx = signTx({ kind: 'transfer', chainId: env.chainId, from: env.funded.publicKey, nonce: 0, fee: 3n, to, amount: 777n }, env.funded);
    const sent = await postJson<{ id: string }>(`${c}/api/txs`, txToJson(tx));
    assert.equal(sent.status, 202, JSON.stringify(sent.body));
    await mineBlocks(c, 2);
    assert.equal((await getJson<{ status: string }>(`${c}/api/txs/${sent.body.id}`)).body.status, 'confirmed');
    // Group 1 mines more: its branch has more work.
    await mineBlocks(a, 5);
    await sameTip([a, b], 5);
    // Heal.
    const healed = await postJson(`${c}/api/peers`, { address: wsA });
    assert.ok(healed.status < 300, JSON.stringify(healed.body));
    const ss = await sameTip([a, b, c], 5, 40_000);
    const roots = await Promise.all([a, b, c].map(async (u) => (await getJson<{ header: { stateRoot: string } }>(`${u}/api/blocks/${ss[0]!.tip}`)).body.header.stateRoot));
    assert.equal(new Set(roots).size, 1, 'one state root');
    // C's transfer left the chain with C's branch: it is back in a mempool or mined again.
    const where = await waitFor('the dropped transfer back in circulation', async () => {
      const t = await getJson<{ status: string }>(`${c}/api/txs/${sent.body.id}`);
      return t.status === 200 ? t.body.status : undefined;
    });
    assert.ok(where === 'pending' || where === 'confirmed');
    await waitFor('the transfer reaches A', async () => ((await getJson(`${a}/api/txs/${sent.body.id}`)).status === 200 ? true : undefined));
    await mineBlocks(a, 1);
    await sameTip([a, b, c], 6);
    for (const u of [a, b, c]) assert.equal((await getJson<{ status: string }>(`${u}/api/txs/${sent.body.id}`)).body.status, 'confirmed');
    assert.equal((await getJson<{ balance: string }>(`${b}/api/accounts/${to}`)).body.balance, '777');
  });
});
