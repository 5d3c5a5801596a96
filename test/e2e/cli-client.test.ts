/**
 * The client commands (status, peers, wallet balance, tx, ping) as a user runs
 * them: the real binary, `node bin/peerchain.js ...`, against a real node
 * started in this process on ephemeral ports, over its HTTP API and its P2P ports.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { addressFromPublicKey, generateKeyPair } from '../../src/crypto/index.ts';
import { writeKeyFile } from '../../src/node/keystore.ts';
import { createLogger } from '../../src/node/logger.ts';
import { NodeRuntime } from '../../src/node/runtime.ts';
import { P2PNetwork } from '../../src/p2p/index.ts';
import { MemoryStore } from '../../src/storage/index.ts';
import { addrs, CHAIN_ID, keys, powGenesis } from '../helpers/chain-fixtures.ts';
import { getJson, postJson, waitFor } from '../helpers/http.ts';
import { assertOk, assertUserError, run, type Run } from '../helpers/cli.ts';

const FUNDED = '1000000';
const PASSPHRASE = 'correct horse battery staple';



function jsonOf<T>(r: Run): T {
  assertOk(r);
  return JSON.parse(r.stdout) as T;
}

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

async function startNode(api: boolean): Promise<NodeRuntime> {
  return NodeRuntime.start({
    name: api ? 'cli-client' : 'cli-client-peer',
    dataDir: join(tmpdir(), 'unused'),
    genesis: powGenesis(),
    key: generateKeyPair(),
    log: createLogger({ silent: true }),
    host: '127.0.0.1',
    wsPort: 0,
    tcpPort: 0,
    peers: [],
    api: api ? { host: '127.0.0.1', port: 0 } : undefined,
    mine: { threads: 0, continuous: false },
    store: new MemoryStore(),
  });
}

interface Account {
  address: string;
  balance: string;
  nonce: number;
  pendingNonce: number;
}

describe('client commands against a live node (real binary)', { timeout: 240_000 }, () => {
  let tmp = '';
  let rt: NodeRuntime;
  let api = '';
  let wsAddr = '';
  let tcpAddr = '';
  let plainWallet = '';
  let sealedWallet = '';
  let passFile = '';
  let node: string[] = [];

  const mempoolSize = async (): Promise<number> => (await getJson<{ size: number }>(`${api}/api/mempool`)).body.size;
  const mine = async (blocks = 1): Promise<void> => {
    const r = await postJson(`${api}/api/mine`, { blocks }, 60_000);
    assert.equal(r.status, 200, JSON.stringify(r.body));
  };

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'peerchain-cli-client-'));
    plainWallet = join(tmp, 'funded-0.json');
    sealedWallet = join(tmp, 'funded-1.json');
    passFile = join(tmp, 'pass.txt');
    await writeKeyFile(plainWallet, keys[0]!);
    await writeKeyFile(sealedWallet, keys[1]!, { passphrase: PASSPHRASE });
    await writeFile(passFile, PASSPHRASE + '\n');
    rt = await startNode(true);
    api = rt.apiUrl!;
    node = ['--node', api];
    const listen = rt.net.listenAddresses();
    wsAddr = listen.find((a) => a.startsWith('ws://'))!;
    tcpAddr = listen.find((a) => a.startsWith('tcp://'))!;
    assert.ok(api !== undefined && wsAddr !== undefined && tcpAddr !== undefined, `node addresses: ${api} ${listen.join(' ')}`);
  });

  after(async () => {
    await rt?.stop();
    await rm(tmp, { recursive: true, force: true });
  });

  test('status: text, --json, and PEERCHAIN_NODE instead of --node', async () => {
    const [text, json, byEnv, help] = await Promise.all([run(['status', ...node]), run(['status', '--json', ...node]), run(['status', '--json'], { PEERCHAIN_NODE: api }), run(['--help'])]);
    assertOk(text);
    for (const re of [/^network:\s+public/m, new RegExp(`^chain id:\\s+${CHAIN_ID}$`, 'm'), /^height:\s+\d+$/m, /^tip:\s+[0-9a-f]{64}$/m, /^peers:\s+\d+$/m, /^mempool:\s+\d+ transactions?$/m, /^mining:\s+no$/m, /^syncing:\s+no$/m]) {
      assert.match(text.stdout, re);
    }
    const s = jsonOf<{ chainId: string; network: string; height: number; tip: string; peers: number; mempool: number; syncing: boolean }>(json);
    assert.equal(s.chainId, CHAIN_ID);
    assert.equal(s.network, 'public');
    assert.equal(typeof s.height, 'number');
    assert.equal(jsonOf<{ chainId: string }>(byEnv).chainId, CHAIN_ID);
    assertOk(help);
    for (const word of ['status', 'peers', 'ping', 'tx', 'PEERCHAIN_NODE']) assert.ok(help.stdout.includes(word), `--help mentions ${word}`);
  });

  test('wallet balance by wallet file (plain and sealed, no passphrase needed) and by address', async () => {
    const [plain, sealed, byAddress, text] = await Promise.all([
      run(['wallet', 'balance', '--wallet', plainWallet, '--json', ...node]),
      run(['wallet', 'balance', '--json', ...node], { PEERCHAIN_WALLET: sealedWallet }),
      run(['wallet', 'balance', '--address', addrs[1]!, '--json', ...node]),
      run(['wallet', 'balance', '--address', addrs[0]!, ...node]),
    ]);
    const a0 = jsonOf<Account>(plain);
    assert.equal(a0.address, addrs[0]);
    assert.equal(a0.balance, FUNDED);
    assert.equal(a0.nonce, 0);
    assert.equal(jsonOf<Account>(sealed).address, addrs[1]);
    assert.deepEqual(jsonOf<Account>(byAddress), jsonOf<Account>(sealed));
    assertOk(text);
    assert.match(text.stdout, new RegExp(`^address:\\s+${addrs[0]}$`, 'm'));
    assert.match(text.stdout, new RegExp(`^balance:\\s+${FUNDED}$`, 'm'));
    assert.match(text.stdout, /^nonce:\s+0$/m);
  });

  test('bad flags fail with one clear line and submit nothing', async () => {
    const before = await mempoolSize();
    const to = addressFromPublicKey(generateKeyPair().publicKey);
    // Flip the last character: same shape, wrong checksum.
    const badChecksum = addrs[2]!.slice(0, -1) + (addrs[2]!.endsWith('q') ? 'p' : 'q');
    const transfer = (...extra: string[]): string[] => ['tx', 'transfer', '--wallet', plainWallet, ...node, ...extra];
    const record = (...extra: string[]): string[] => ['tx', 'record', '--wallet', plainWallet, ...node, ...extra];
    const cases: [string[], RegExp][] = [
      [transfer('--to', to, '--amount', '1.5'), /--amount: .*whole number.*"1\.5"/],
      [transfer('--to', to, '--amount', '-5'), /--amount: .*"-5"/],
      [transfer('--to', to, '--amount', '18446744073709551616'), /--amount: .*18446744073709551615.*"18446744073709551616"/],
      [transfer('--to', to, '--amount', '10', '--fee', '0.5'), /--fee: .*"0\.5"/],
      [transfer('--to', badChecksum, '--amount', '10'), /--to: address pc1\S+ is invalid: .*checksum/],
      [transfer('--amount', '10'), /--to: required/],
      [['tx', 'transfer', '--wallet', join(tmp, 'missing.json'), '--to', to, '--amount', '10', ...node], /--wallet: key file \S*missing\.json does not exist/],
      [['tx', 'record', '--wallet', sealedWallet, '--key', 'k', '--value', '1', ...node], /--wallet: key file \S+ is encrypted: a passphrase is required/],
      [record('--key', 'vin:1', '--value', '{"km": 12'), /--value: not valid JSON/],
      [record('--key', 'vin:1', '--value', 'hello'), /--value: not valid JSON.*'"hello"'/],
      [record('--key', 'has space', '--value', '1'), /--key: .*"has space"/],
      [['wallet', 'balance', '--address', badChecksum, ...node], /--address: address pc1\S+ is invalid: .*checksum/],
      [['wallet', 'balance', ...node], /--wallet or --address/],
      [['status', '--node', 'localhost:3001'], /--node: expected .*"localhost:3001"/],
      [['peers', 'add', 'http://127.0.0.1:1', ...node], /peer address "http:\/\/127\.0\.0\.1:1": expected ws:\/\/, wss:\/\/, tcp:\/\/ or tls:\/\/ host:port/],
    ];
    const results = await Promise.all(cases.map(([args]) => run(args)));
    results.forEach((r, i) => assertUserError(r, cases[i]![1]));
    assert.equal(await mempoolSize(), before, 'no bad command submitted a transaction');
  });

  test('an error answer of the API shows as `error: CODE: message`', async () => {
    const to = addressFromPublicKey(generateKeyPair().publicKey);
    // More than the account holds: the node refuses it, and the CLI passes its code and reason on.
    const r = await run(['tx', 'transfer', '--wallet', plainWallet, '--to', to, '--amount', '999999999999', ...node]);
    assertUserError(r, /^error: [A-Z][A-Z_]+: .+/);
  });

  test('tx transfer: signed locally, pending, then mined and visible in balances', async () => {
    const to = addressFromPublicKey(generateKeyPair().publicKey);
    const r = await run(['tx', 'transfer', '--wallet', plainWallet, '--to', to, '--amount', '1234', '--fee', '3', ...node]);
    assertOk(r);
    const id = r.stdout.split('\n')[0]!;
    assert.match(id, /^[0-9a-f]{64}$/);
    assert.match(r.stderr, new RegExp(`submitted transfer of 1234 to ${to}`));
    const pending = (await getJson<{ status: string; tx: { kind: string; amount: string; fee: string; to: string } }>(`${api}/api/txs/${id}`)).body;
    assert.equal(pending.status, 'pending');
    assert.deepEqual([pending.tx.kind, pending.tx.amount, pending.tx.fee, pending.tx.to], ['transfer', '1234', '3', to]);
    await mine();
    const confirmed = (await getJson<{ status: string }>(`${api}/api/txs/${id}`)).body;
    assert.equal(confirmed.status, 'confirmed');
    const [recipient, sender] = await Promise.all([run(['wallet', 'balance', '--address', to, '--json', ...node]), run(['wallet', 'balance', '--wallet', plainWallet, '--json', ...node])]);
    assert.equal(jsonOf<Account>(recipient).balance, '1234');
    const s = jsonOf<Account>(sender);
    assert.equal(s.nonce, 1);
    assert.equal(s.balance, String(BigInt(FUNDED) - 1234n - 3n));
  });

  test('tx record with a sealed wallet and --wait: returns once mined; the record is visible', async () => {
    const key = `vin:WVW${Date.now()}`;
    const value = { km: 41000, work: ['brakes', 'oil'] };
    const waiting = run(['tx', 'record', '--wallet', sealedWallet, '--passphrase-file', passFile, '--key', key, '--value', JSON.stringify(value), '--wait', '--timeout', '45', '--json', ...node]);
    const inMempool = async (): Promise<true | undefined> => ((await getJson<{ txs: { kind: string }[] }>(`${api}/api/mempool`)).body.txs.some((t) => t.kind === 'record') ? true : undefined);
    await waitFor('the record transaction in the mempool', inMempool, 30_000);
    await mine();
    const out = jsonOf<{ id: string; kind: string; status: string; height: number; from: string; nonce: number }>(await waiting);
    assert.equal(out.kind, 'record');
    assert.equal(out.status, 'confirmed');
    assert.equal(out.from, addrs[1]);
    assert.equal(out.nonce, 0);
    const rec = (await getJson<{ value: unknown; owner: string; txId: string }>(`${api}/api/records/${encodeURIComponent(key)}`)).body;
    assert.deepEqual(rec.value, value);
    assert.equal(rec.txId, out.id);
  });

  test('--nonce is used as given (a spent nonce is refused by the node)', async () => {
    const to = addressFromPublicKey(generateKeyPair().publicKey);
    const before = await mempoolSize();
    const r = await run(['tx', 'transfer', '--wallet', plainWallet, '--to', to, '--amount', '1', '--nonce', '0', ...node]);
    assertUserError(r, /^error: [A-Z_]+: .*nonce/i);
    assert.equal(await mempoolSize(), before);
  });

  test('a node that is down: one clear line naming the URL, no stack trace', async () => {
    const down = `http://127.0.0.1:${await closedPort()}`;
    const to = addressFromPublicKey(generateKeyPair().publicKey);
    const [status, peers, balance, transfer, byEnv] = await Promise.all([
      run(['status', '--node', down]),
      run(['peers', '--node', down]),
      run(['wallet', 'balance', '--address', addrs[0]!, '--node', down]),
      run(['tx', 'transfer', '--wallet', plainWallet, '--to', to, '--amount', '1', '--node', down]),
      run(['status'], { PEERCHAIN_NODE: down }),
    ]);
    const reach = new RegExp(`cannot reach the node at ${down.replace(/[.]/g, '\\.')}: connection refused`);
    for (const r of [status, peers, balance, transfer]) assertUserError(r, reach);
    assertUserError(byEnv, /PEERCHAIN_NODE/);
  });

  test('ping over ws: RTT lines and a min/avg/max summary', async () => {
    const r = await run(['ping', wsAddr, '--count', '3', '--interval-ms', '50']);
    assertOk(r);
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, new RegExp(`^PING ${wsAddr}: node [0-9a-f]{12} \\(public network ${CHAIN_ID}, height \\d+`));
    const pongs = lines.filter((l) => l.startsWith('pong from'));
    assert.equal(pongs.length, 3, r.stdout);
    pongs.forEach((l, i) => assert.match(l, new RegExp(`^pong from ${wsAddr}: seq=${i + 1} time=\\d+\\.\\d{3} ms$`)));
    assert.ok(lines.includes(`--- ${wsAddr} ping statistics ---`), r.stdout);
    assert.match(r.stdout, /^3 pings sent, 3 pongs received, 0% loss, time \d+ ms$/m);
    const m = /^rtt min\/avg\/max = ([\d.]+)\/([\d.]+)\/([\d.]+) ms$/m.exec(r.stdout);
    assert.ok(m !== null, r.stdout);
    const [min, avg, max] = [Number(m[1]), Number(m[2]), Number(m[3])];
    assert.ok(min <= avg && avg <= max, r.stdout);
  });

  test('ping over tcp, --json', async () => {
    const out = jsonOf<{ address: string; nodeId: string; network: string; chainId: string; sent: number; received: number; lossPercent: number; rttMs: number[]; min: number; avg: number; max: number }>(
      await run(['ping', tcpAddr, '--count', '2', '--interval-ms', '20', '--json']),
    );
    assert.equal(out.address, tcpAddr);
    assert.equal(out.nodeId, rt.node.key.publicKey);
    assert.deepEqual([out.network, out.chainId, out.sent, out.received, out.lossPercent], ['public', CHAIN_ID, 2, 2, 0]);
    assert.equal(out.rttMs.length, 2);
    assert.ok(out.min <= out.avg && out.avg <= out.max);
  });

  test('ping: bad address, nothing listening, and a port that is not P2P', async () => {
    const port = await closedPort();
    const apiHostPort = new URL(api).host;
    const [bad, down, notP2p] = await Promise.all([
      run(['ping', 'http://127.0.0.1:1']),
      run(['ping', `tcp://127.0.0.1:${port}`, '--timeout-ms', '2000']),
      run(['ping', `tcp://${apiHostPort}`, '--timeout-ms', '500', '--count', '1']),
    ]);
    assertUserError(bad, /address "http:\/\/127\.0\.0\.1:1": expected ws:\/\/, wss:\/\/, tcp:\/\/ or tls:\/\/ host:port/);
    assertUserError(down, new RegExp(`cannot connect to tcp://127\\.0\\.0\\.1:${port}: connection refused`));
    assertUserError(notP2p, /sent no HELLO within 500 ms/);
  });

  test('ping to a permissioned network as a non-member reports the DISCONNECT reason', async () => {
    // The P2P layer of a private network that admits nobody else: what ping's fresh key meets there.
    const gate = new P2PNetwork({
      keys: generateKeyPair(),
      network: 'private',
      chainId: 'gate-net',
      genesisHash: 'ab'.repeat(32),
      head: () => ({ height: 0, tip: 'ab'.repeat(32) }),
      isMember: () => false,
      host: '127.0.0.1',
      wsPort: 0,
    });
    await gate.start();
    try {
      const r = await run(['ping', gate.listenAddresses()[0]!, '--count', '1']);
      assertUserError(r, /refused the link: not-member: .*not a member.*permissioned network/);
    } finally {
      await gate.stop();
    }
  });

  test('peers add ADDR, then peers lists it (text and --json)', async () => {
    const other = await startNode(false);
    try {
      const otherWs = other.net.listenAddresses().find((a) => a.startsWith('ws://'))!;
      const added = await run(['peers', 'add', otherWs, ...node]);
      assertOk(added);
      assert.match(added.stdout, new RegExp(`^${otherWs}: (connected|connecting|known)$`, 'm'));
      await waitFor('the new peer in the list', async () => ((await getJson<{ id: string }[]>(`${api}/api/peers`)).body.some((p) => p.id === other.node.key.publicKey) ? true : undefined), 15_000);
      const [text, json] = await Promise.all([run(['peers', ...node]), run(['peers', '--json', ...node])]);
      assertOk(text);
      const lines = text.stdout.trimEnd().split('\n');
      assert.match(lines[0]!, /^ID\s+ADDRESS\s+DIRECTION\s+HEIGHT\s+RTT$/);
      const row = lines.find((l) => l.startsWith(other.node.key.publicKey.slice(0, 12)));
      assert.ok(row !== undefined, text.stdout);
      assert.match(row, new RegExp(`${otherWs}\\s+outbound\\s+\\d+`));
      const list = jsonOf<{ id: string; address: string; direction: string }[]>(json);
      const p = list.find((x) => x.id === other.node.key.publicKey);
      assert.deepEqual([p?.address, p?.direction], [otherWs, 'outbound']);
    } finally {
      await other.stop();
    }
  });
});
