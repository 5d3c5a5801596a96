/**
 * Private and consortium networks as a user runs them: real node processes
 * started by the testnet launcher, BFT validators committing blocks, driven
 * and checked through the HTTP API. Faults (kills, a crash right after a
 * vote, a byzantine validator) are real process kills and a real fault mode.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addressFromPublicKey, generateKeyPair, type KeyPair } from '../../src/crypto/index.ts';
import { signTx, txToJson } from '../../src/core/index.ts';
import { readKeyFile } from '../../src/node/keystore.ts';
import { initNetwork } from '../../src/cli/init-run.ts';
import { parseInitFlags, type InitFlags } from '../../src/cli/init-options.ts';
import { Testnet } from '../../src/testnet/launcher.ts';
import { assertAgree, heights, nodeLogs, reach, status } from '../helpers/bft.ts';
import { getJson, postJson, waitFor } from '../helpers/http.ts';
import { PORTS } from '../helpers/ports.ts';

interface Status {
  height: number;
  tip: string;
  peers: number;
  nodeId: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function makeNetwork(flags: InitFlags): Promise<{ dir: string; chainId: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'peerchain-bft-'));
  const s = await initNetwork(parseInitFlags({ ...flags, out: join(dir, 'net') }), Date.now());
  return { dir, chainId: s.chainId };
}

async function transfer(url: string, chainId: string, from: KeyPair, to: string, amount: bigint): Promise<string> {
  const acct = (await getJson<{ pendingNonce: number }>(`${url}/api/accounts/${addressFromPublicKey(from.publicKey)}`)).body;
  const tx = signTx({ kind: 'transfer', chainId, from: from.publicKey, nonce: acct.pendingNonce, fee: 1n, to, amount }, from);
  const r = await postJson<{ id: string }>(`${url}/api/txs`, txToJson(tx));
  assert.equal(r.status, 202, JSON.stringify(r.body));
  return r.body.id;
}

describe('private network: four validators, a bootstrap and a member', { timeout: 240_000 }, () => {
  let net: Testnet;
  let env: { dir: string; chainId: string };
  let all: string[];
  let wallet: KeyPair;
  const url = (name: string): string => net.node(name).apiUrl;

  before(async () => {
    env = await makeNetwork({ network: 'private', validators: '4', members: '1', blockTimeMs: '500' });
    wallet = await readKeyFile(join(env.dir, 'net', 'wallets', 'org1.json'));
    net = await Testnet.start({ dir: join(env.dir, 'net'), basePort: PORTS.bftPrivate, logLevel: 'warn', ...nodeLogs() });
    all = net.nodes.map((n) => n.apiUrl);
  });

  after(async () => {
    await net?.stop();
    if (env !== undefined) rmSync(env.dir, { recursive: true, force: true });
  });

  test('validators commit blocks; a transfer sent to the member is committed and identical on every node', async () => {
    await reach(all, 2);
    const to = addressFromPublicKey(generateKeyPair().publicKey);
    const id = await transfer(url('member1'), env.chainId, wallet, to, 4321n);
    await waitFor('the transfer committed on every node', async () => {
      const ts = await Promise.all(all.map(async (u) => (await getJson<{ status: string }>(`${u}/api/txs/${id}`)).body.status));
      return ts.every((s) => s === 'confirmed') ? true : undefined;
    }, 30_000);
    for (const u of all) assert.equal((await getJson<{ balance: string }>(`${u}/api/accounts/${to}`)).body.balance, '4321');
    await assertAgree(all, 4);
    // The bootstrap introduced the members: they link directly, not only through it.
    await waitFor('member1 linked to the bootstrap and the validators', async () => ((await getJson<{ id: string }[]>(`${url('member1')}/api/peers`)).body.length >= 5 ? true : undefined), 20_000);
  });

  test('one validator killed: commits continue; two killed: commits stop, nothing conflicts; restarted: commits resume', async () => {
    await net.stopNode('validator4', 'SIGKILL');
    const live = all.filter((u) => u !== url('validator4'));
    const h0 = Math.max(...(await heights(live)));
    await reach(live, h0 + 3);

    await net.stopNode('validator3', 'SIGKILL');
    const two = live.filter((u) => u !== url('validator3'));
    // Let anything already decided land, then watch for progress that must not come.
    await sleep(1500);
    const stalled = Math.max(...(await heights(two)));
    await sleep(4000);
    assert.equal(Math.max(...(await heights(two))), stalled, 'two of four validators cannot commit');

    await net.restartNode('validator3');
    await net.restartNode('validator4');
    await reach(all, stalled + 2, 60_000);
    await assertAgree(all, 4);
  });

  test('a validator killed right after its precommit restarts and signs nothing conflicting', async () => {
    // Far enough ahead that validator2 is back and voting when the others get there.
    await net.stopNode('validator2');
    const at = Math.max(...(await heights(all.filter((u) => u !== url('validator2'))))) + 10;
    net.setEnv('validator2', { PEERCHAIN_FAULT: `crash-after-precommit:${at}` });
    await net.restartNode('validator2');
    const v2 = net.node('validator2');
    await waitFor('validator2 to crash after its precommit', () => (v2.process === undefined || v2.process.exitCode !== null || v2.process.signalCode !== null ? true : undefined), 30_000, 100);
    net.setEnv('validator2', {});
    await net.restartNode('validator2');
    await reach(all, at + 2, 60_000);
    await assertAgree(all, 4);
    // Nobody caught it equivocating, and its own log holds one vote per slot.
    for (const u of all) assert.deepEqual((await getJson<unknown[]>(`${u}/api/evidence`)).body, []);
    const wal = readFileSync(join(v2.dataDir, 'consensus', 'wal.ndjson'), 'utf8').split('\n').filter((l) => l !== '');
    const slots = new Map<string, string | null>();
    for (const line of wal) {
      const e = JSON.parse(line) as { vote?: { height: number; round: number; type: string; blockHash: string | null } };
      if (e.vote === undefined) continue;
      const k = `${e.vote.height}/${e.vote.round}/${e.vote.type}`;
      if (slots.has(k)) assert.equal(slots.get(k), e.vote.blockHash, `conflicting votes in the WAL at ${k}`);
      slots.set(k, e.vote.blockHash);
    }
    assert.ok([...slots.keys()].some((k) => k.startsWith(`${at}/`) && k.endsWith('precommit')), 'the WAL holds the precommit at the crash height');
  });
});

describe('private network: a byzantine validator', { timeout: 180_000 }, () => {
  let net: Testnet;
  let env: { dir: string; chainId: string };

  before(async () => {
    env = await makeNetwork({ network: 'private', validators: '4', members: '0', blockTimeMs: '300' });
    net = await Testnet.start({ dir: join(env.dir, 'net'), basePort: PORTS.bftByzantine, logLevel: 'error', env: { validator1: { PEERCHAIN_FAULT: 'byzantine' } }, ...nodeLogs() });
  });

  after(async () => {
    await net?.stop();
    if (env !== undefined) rmSync(env.dir, { recursive: true, force: true });
  });

  test('conflicting proposals, conflicting votes and invalid blocks cannot make honest nodes diverge; the equivocation is caught', async () => {
    const honest = net.nodes.filter((n) => n.name !== 'validator1').map((n) => n.apiUrl);
    const byz = (await status(net.node('validator1').apiUrl)).nodeId;
    // Enough heights that validator1 proposes several times (every fourth round).
    await reach(honest, 10, 90_000);
    await assertAgree(honest, 4);
    const evidence = await waitFor('evidence of the equivocation', async () => {
      const e = (await getJson<{ validator: string; recordedAt: number | null; recordKey: string }[]>(`${honest[1]}/api/evidence`)).body;
      return e.length > 0 ? e : undefined;
    }, 20_000);
    assert.ok(evidence.every((e) => e.validator === byz), 'only the byzantine validator is accused');
    // A later proposer puts it on chain: the same record on every honest node, as part of the agreed state.
    const recorded = await waitFor('the evidence recorded on chain', async () => {
      const e = (await getJson<{ recordedAt: number | null; recordKey: string }[]>(`${honest[1]}/api/evidence`)).body.find((x) => x.recordedAt !== null);
      return e;
    }, 20_000);
    await reach(honest, recorded.recordedAt! );
    for (const u of honest) {
      const r = await getJson<{ value: { validator: string; includedAt: number } }>(`${u}/api/records/${encodeURIComponent(recorded.recordKey)}`);
      assert.equal(r.status, 200, `record on ${u}`);
      assert.equal(r.body.value.validator, byz);
      assert.equal(r.body.value.includedAt, recorded.recordedAt);
    }
  });
});

describe('consortium: super-peer topology', { timeout: 180_000 }, () => {
  let net: Testnet;
  let env: { dir: string; chainId: string };

  before(async () => {
    env = await makeNetwork({ network: 'consortium', orgs: '2', validators: '2', members: '1', blockTimeMs: '500' });
    net = await Testnet.start({ dir: join(env.dir, 'net'), basePort: PORTS.bftConsortium, logLevel: 'warn', ...nodeLogs() });
  });

  after(async () => {
    await net?.stop();
    if (env !== undefined) rmSync(env.dir, { recursive: true, force: true });
  });

  test('members attach only to their own organisation\'s validators and still see every block; a transfer commits everywhere', async () => {
    const all = net.nodes.map((n) => n.apiUrl);
    await reach(all, 2);
    const ids = new Map(await Promise.all(net.nodes.map(async (n) => [(await status(n.apiUrl)).nodeId, n] as const)));
    for (const m of net.nodes.filter((n) => n.roles.includes('member'))) {
      const peers = (await getJson<{ id: string }[]>(`${m.apiUrl}/api/peers`)).body;
      assert.ok(peers.length > 0, `${m.name} has peers`);
      for (const p of peers) {
        const other = ids.get(p.id)!;
        assert.ok(other.roles.includes('validator') && other.org === m.org, `${m.name} linked to ${other.name}`);
      }
    }
    const wallet = await readKeyFile(join(env.dir, 'net', 'wallets', 'org2.json'));
    const to = addressFromPublicKey(generateKeyPair().publicKey);
    const member = net.nodes.find((n) => n.org === 'org2' && n.roles.includes('member'))!;
    const id = await transfer(member.apiUrl, env.chainId, wallet, to, 99n);
    await waitFor('the transfer committed on every node', async () => {
      const ts = await Promise.all(all.map(async (u) => (await getJson<{ status: string }>(`${u}/api/txs/${id}`)).body.status));
      return ts.every((s) => s === 'confirmed') ? true : undefined;
    }, 30_000);
    await assertAgree(all, 4);
  });
});
