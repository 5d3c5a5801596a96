/**
 * What the explorer needs from a node, without a browser: its files served at
 * / and /explorer/* with the right types and no way out of dist/explorer, a
 * clear 503 when it was never built, and the read-only routes it reads
 * (/api/network, /api/search, /api/addresses, /api/accounts/:address/txs).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { signTx, txId, txToJson } from '../../src/core/index.ts';
import { keyPairFromSeed } from '../../src/crypto/index.ts';
import { MemoryStore } from '../../src/storage/index.ts';
import { PeerchainNode } from '../../src/node/node.ts';
import { createLogger } from '../../src/node/logger.ts';
import { startApi, type ApiServer, type PeerInfo } from '../../src/api/index.ts';
import type { ApiContext } from '../../src/api/context.ts';
import { installErrorHandlers } from '../../src/api/errors.ts';
import { explorerRoutes } from '../../src/api/routes/explorer.ts';
import { addrs, CHAIN_ID, keys, powGenesis, transfer } from '../helpers/chain-fixtures.ts';

const NO_CTX = {} as ApiContext;

/** A bare Fastify app serving an explorer folder, answered through inject (raw paths, no URL normalising). */
async function staticApp(root: string): Promise<FastifyInstance> {
  const app = Fastify();
  installErrorHandlers(app, 1024, undefined);
  explorerRoutes(app, NO_CTX, root);
  await app.ready();
  return app;
}

describe('explorer files', () => {
  let dir: string;
  let app: FastifyInstance;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'peerchain-explorer-'));
    const root = join(dir, 'explorer');
    mkdirSync(join(root, 'sub'), { recursive: true });
    writeFileSync(join(root, 'index.html'), '<!doctype html><title>x</title>');
    writeFileSync(join(root, 'main.js'), 'console.log(1)');
    writeFileSync(join(root, 'style.css'), 'body{}');
    writeFileSync(join(root, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    writeFileSync(join(root, 'sub', 'a.js'), '1');
    writeFileSync(join(root, 'notes.txt'), 'not served');
    writeFileSync(join(dir, 'secret.js'), 'outside');
    app = await staticApp(root);
  });

  after(async () => {
    await app?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  test('GET / is the page, with a content security policy', async () => {
    const r = await app.inject({ method: 'GET', url: '/' });
    assert.equal(r.statusCode, 200);
    assert.match(String(r.headers['content-type']), /^text\/html/);
    assert.match(String(r.headers['content-security-policy']), /default-src 'self'/);
    assert.match(r.body, /<title>x<\/title>/);
  });

  test('assets carry their content types', async () => {
    const cases: [string, RegExp][] = [
      ['/explorer/main.js', /^text\/javascript/],
      ['/explorer/style.css', /^text\/css/],
      ['/explorer/favicon.svg', /^image\/svg\+xml/],
      ['/explorer/sub/a.js', /^text\/javascript/],
      ['/favicon.ico', /^image\/svg\+xml/],
      ['/explorer/', /^text\/html/],
    ];
    for (const [url, type] of cases) {
      const r = await app.inject({ method: 'GET', url });
      assert.equal(r.statusCode, 200, url);
      assert.match(String(r.headers['content-type']), type, url);
    }
    assert.equal((await app.inject({ method: 'GET', url: '/explorer' })).statusCode, 302);
  });

  test('nothing outside the folder, no hidden or unknown files', async () => {
    const bad = [
      '/explorer/../secret.js',
      '/explorer/%2e%2e/secret.js',
      '/explorer/..%2fsecret.js',
      '/explorer/sub/../../secret.js',
      '/explorer/sub/%2e%2e/%2e%2e/secret.js',
      '/explorer/.%2e/secret.js',
      '/explorer/..\\secret.js',
      '/explorer/%00main.js',
      '/explorer/.hidden.js',
      '/explorer/notes.txt',
      '/explorer/missing.js',
      '/explorer/sub',
      '/explorer//etc/passwd',
    ];
    for (const url of bad) {
      const r = await app.inject({ method: 'GET', url });
      assert.ok(r.statusCode === 404 || r.statusCode === 400, `${url} answered ${r.statusCode}`);
      assert.doesNotMatch(r.body, /outside/, url);
    }
  });

  test('a node run from unbuilt sources answers / with a 503 saying how to build', async () => {
    const missing = await staticApp(join(dir, 'nope'));
    try {
      const r = await missing.inject({ method: 'GET', url: '/' });
      assert.equal(r.statusCode, 503);
      assert.match(String(r.headers['content-type']), /^text\/plain/);
      assert.match(r.body, /npm run build/);
    } finally {
      await missing.close();
    }
  });
});

describe('explorer data routes', () => {
  let node: PeerchainNode;
  let api: ApiServer;
  const peers: PeerInfo[] = [
    { id: keys[1]!.publicKey, address: 'ws://127.0.0.1:6002', direction: 'outbound', height: 1, rttMs: 3.5 },
    { id: keys[1]!.publicKey, address: 'tcp://127.0.0.1:7002', direction: 'inbound', rttMs: 2.25 },
    { id: keys[3]!.publicKey, address: 'tcp://127.0.0.1:7004', direction: 'inbound' },
  ];
  const get = async <T>(path: string): Promise<{ status: number; body: T }> => {
    const r = await fetch(api.url + path, { signal: AbortSignal.timeout(10_000) });
    return { status: r.status, body: (await r.json()) as T };
  };
  const rec = signTx({ kind: 'record', chainId: CHAIN_ID, from: keys[0]!.publicKey, nonce: 1, fee: 2n, key: 'lot:42', value: { step: 'packed' } }, keys[0]!);
  const xfer = transfer(0, 3, 0, 700n);

  before(async () => {
    node = await PeerchainNode.create({ genesis: powGenesis(), store: new MemoryStore(), key: keyPairFromSeed(Buffer.alloc(32, 9)), log: createLogger({ silent: true }), mine: { threads: 0, continuous: false } });
    node.start();
    api = await startApi(node, { host: '127.0.0.1', port: 0, peers: { list: () => peers, add: async () => ({ ok: true, status: 'connecting' }) } });
    for (const tx of [xfer, rec]) assert.ok(node.submitTx(txToJson(tx)).ok);
    await node.mineBlocks(2);
  });

  after(async () => {
    await api?.close();
    await node?.stop();
  });

  test('GET /api/network lists this node, its peers (one per id) and the links', async () => {
    const r = await get<{ topology: string; nodes: { id: string; self: boolean; roles: string[]; rttMs?: number; account: string }[]; links: { from: string; to: string; rttMs?: number }[] }>('/api/network');
    assert.equal(r.status, 200);
    assert.equal(r.body.topology, 'pure-p2p');
    assert.equal(r.body.nodes.length, 3);
    const self = r.body.nodes.find((n) => n.self)!;
    assert.ok(self.roles.includes('miner'), 'a node paid by recent coinbases is a miner');
    assert.equal(r.body.links.length, 2);
    const two = r.body.links.find((l) => l.to === keys[1]!.publicKey)!;
    assert.equal(two.rttMs, 2.25, 'the better round trip of two links');
    assert.equal(r.body.nodes.find((n) => n.id === keys[3]!.publicKey)!.account, addrs[3]);
  });

  test('GET /api/search names heights, hashes, ids, addresses and record keys', async () => {
    const tip = node.chain.tip.hash;
    const cases: [string, string[]][] = [
      ['1', ['block']],
      [tip, ['block']],
      [txId(xfer), ['tx']],
      [addrs[3]!, ['account']],
      [keys[0]!.publicKey, ['account']],
      ['lot:42', ['record']],
      ['999', []],
      ['nothing-here', []],
    ];
    for (const [q, kinds] of cases) {
      const r = await get<{ matches: { kind: string; id: string }[] }>(`/api/search?q=${encodeURIComponent(q)}`);
      assert.equal(r.status, 200, q);
      assert.deepEqual(r.body.matches.map((m) => m.kind), kinds, q);
    }
    const byKey = await get<{ matches: { id: string }[] }>(`/api/search?q=${keys[0]!.publicKey}`);
    assert.equal(byKey.body.matches[0]!.id, addrs[0]);
    assert.equal((await get('/api/search?q=')).status, 400);
    assert.equal((await get('/api/search')).status, 400);
  });

  test('GET /api/addresses turns public keys into addresses', async () => {
    const r = await get<{ addresses: Record<string, string> }>(`/api/addresses?keys=${keys[0]!.publicKey},${keys[1]!.publicKey}`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.addresses, { [keys[0]!.publicKey]: addrs[0], [keys[1]!.publicKey]: addrs[1] });
    assert.equal((await get('/api/addresses?keys=zz')).status, 400);
  });

  test('GET /api/accounts/:address/txs finds sent and received transactions', async () => {
    const sender = await get<{ txs: { id: string; direction: string; kind: string }[]; scanned: { from: number; to: number }; next: number | null }>(`/api/accounts/${addrs[0]}/txs`);
    assert.equal(sender.status, 200);
    assert.deepEqual(sender.body.txs.map((t) => [t.kind, t.direction]).sort(), [['record', 'out'], ['transfer', 'out']]);
    assert.deepEqual(sender.body.scanned, { from: 0, to: 2 });
    assert.equal(sender.body.next, null);
    const receiver = await get<{ txs: { id: string; direction: string; amount: string }[] }>(`/api/accounts/${addrs[3]}/txs`);
    assert.deepEqual(receiver.body.txs.map((t) => [t.id, t.direction, t.amount]), [[txId(xfer), 'in', '700']]);
    const page = await get<{ scanned: { from: number; to: number }; next: number | null }>(`/api/accounts/${addrs[0]}/txs?before=1&blocks=1`);
    assert.deepEqual(page.body.scanned, { from: 1, to: 1 });
    assert.equal(page.body.next, 0);
    assert.equal((await get('/api/accounts/nope/txs')).status, 400);
  });
});
