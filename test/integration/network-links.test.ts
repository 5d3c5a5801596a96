/**
 * The links between nodes, as the explorer's graph reads them:
 * - GET /control/links of the testnet control server, against stand-in node
 *   APIs: every node's /api/peers asked in parallel, both directions of a link
 *   drawn once with the better round trip, peers outside the testnet left
 *   out, a stopped node and a node that does not answer shown as not up
 *   within the bounded wait, and concurrent callers sharing one round of asks.
 * - GET /api/network with peers' link reports (P2P PEERS): links between other
 *   nodes marked with who reported them, deduplicated, never about this node,
 *   and bounded however many nodes a hostile report names.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ChildProcess } from 'node:child_process';
import { keyPairFromSeed } from '../../src/crypto/index.ts';
import { MemoryStore } from '../../src/storage/index.ts';
import { PeerchainNode } from '../../src/node/node.ts';
import { createLogger } from '../../src/node/logger.ts';
import { startApi, type ApiServer, type PeerInfo, type ReportedLinks } from '../../src/api/index.ts';
import { TestnetControl, type ControlLinksView } from '../../src/testnet/control.ts';
import { startControlServer, type ControlServer } from '../../src/testnet/control-server.ts';
import type { Testnet } from '../../src/testnet/launcher.ts';
import { keys, powGenesis } from '../helpers/chain-fixtures.ts';

const id = (n: number): string => n.toString(16).padStart(64, '0');

interface FakePeer {
  id: string;
  address: string;
  direction: 'inbound' | 'outbound';
  rttMs?: number;
}

/** A stand-in for a node's API: /api/status and /api/peers, counting the asks; `hang` never answers. */
async function fakeNode(nodeId: string, peers: FakePeer[], hang = false): Promise<{ url: string; asks: () => number; server: Server }> {
  let asks = 0;
  const server = createServer((req, res) => {
    if (hang) return;
    const body = req.url === '/api/status' ? { nodeId, height: 1, peers: peers.length } : req.url === '/api/peers' ? (asks++, peers) : undefined;
    res.writeHead(body === undefined ? 404 : 200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body ?? { error: { code: 'NOT_FOUND', message: 'no' } }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, asks: () => asks, server };
}

describe('GET /control/links', () => {
  const servers: Server[] = [];
  let control: TestnetControl;
  let http: ControlServer;
  const asks: (() => number)[] = [];

  before(async () => {
    const [n1, n2, n3, n4] = [1, 2, 3, 4].map(id) as [string, string, string, string];
    // A full mesh of four, each link seen from both ends with its own round trip; node4 also links outside the testnet.
    const mesh: Record<string, FakePeer[]> = {
      node1: [
        { id: n2, address: 'ws://127.0.0.1:6002', direction: 'outbound', rttMs: 4 },
        { id: n3, address: 'tcp://127.0.0.1:7003', direction: 'outbound', rttMs: 1.5 },
        { id: n4, address: 'ws://127.0.0.1:50114', direction: 'inbound' },
      ],
      node2: [
        { id: n1, address: 'ws://127.0.0.1:50100', direction: 'inbound', rttMs: 2 },
        { id: n3, address: 'tcp://127.0.0.1:7003', direction: 'outbound', rttMs: 3 },
        { id: n4, address: 'tls://127.0.0.1:7004', direction: 'outbound', rttMs: 5 },
      ],
      node3: [
        { id: n1, address: 'tcp://127.0.0.1:50101', direction: 'inbound', rttMs: 2.5 },
        { id: n2, address: 'tcp://127.0.0.1:50102', direction: 'inbound' },
        { id: n4, address: 'wss://127.0.0.1:6004', direction: 'outbound', rttMs: 0.5 },
      ],
      node4: [
        { id: n1, address: 'ws://127.0.0.1:6001', direction: 'outbound', rttMs: 7 },
        { id: n2, address: 'tls://127.0.0.1:50103', direction: 'inbound' },
        { id: n3, address: 'wss://127.0.0.1:50104', direction: 'inbound', rttMs: 0.75 },
        { id: id(99), address: 'ws://10.0.0.9:6001', direction: 'outbound', rttMs: 1 },
      ],
    };
    const ids: Record<string, string> = { node1: n1, node2: n2, node3: n3, node4: n4 };
    const nodes: Testnet['nodes'][number][] = [];
    for (const name of ['node1', 'node2', 'node3', 'node4']) {
      const f = await fakeNode(ids[name]!, mesh[name]!);
      servers.push(f.server);
      asks.push(f.asks);
      nodes.push({ name, roles: ['peer'], org: undefined, dataDir: '', wsPort: 0, tcpPort: 0, apiPort: 0, apiUrl: f.url, peers: [], mine: name !== 'node4', process: {} as ChildProcess });
    }
    const stuck = await fakeNode(id(5), [], true);
    servers.push(stuck.server);
    nodes.push({ name: 'node5', roles: ['peer'], org: undefined, dataDir: '', wsPort: 0, tcpPort: 0, apiPort: 0, apiUrl: stuck.url, peers: [], mine: false, process: {} as ChildProcess });
    nodes.push({ name: 'node6', roles: ['peer'], org: undefined, dataDir: '', wsPort: 0, tcpPort: 0, apiPort: 0, apiUrl: 'http://127.0.0.1:9', peers: [], mine: false, process: undefined });
    // The control reads only these fields of a Testnet; the launcher itself is exercised by the browser tests.
    const fake = { network: 'public', nodes, envOf: () => ({}), setEnv: () => undefined } as unknown as Testnet;
    control = new TestnetControl(fake);
    http = await startControlServer(control, { port: 0 });
  });

  after(async () => {
    await http?.close();
    for (const s of servers) {
      s.closeAllConnections();
      s.close();
    }
  });

  test('every node, and each link between two testnet nodes once, with the better round trip', async () => {
    const started = Date.now();
    const r = await fetch(`${http.url}/control/links`, { headers: { origin: 'http://127.0.0.1:3001' }, signal: AbortSignal.timeout(10_000) });
    const took = Date.now() - started;
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('access-control-allow-origin'), 'http://127.0.0.1:3001', 'the explorer page of a local node may read it');
    const v = (await r.json()) as ControlLinksView;
    assert.ok(took < 4000, `a node that never answers is waited for a bounded time, in parallel (took ${took} ms)`);

    assert.deepEqual(
      v.nodes.map((n) => [n.name, n.up, n.role, n.nodeId]),
      [
        ['node1', true, 'miner', id(1)],
        ['node2', true, 'miner', id(2)],
        ['node3', true, 'miner', id(3)],
        ['node4', true, 'peer', id(4)],
        ['node5', false, 'peer', undefined],
        ['node6', false, 'peer', undefined],
      ],
    );
    const pair = (l: { from: string; to: string }): string => [l.from, l.to].sort().join('-');
    assert.deepEqual(v.links.map(pair).sort(), ['node1-node2', 'node1-node3', 'node1-node4', 'node2-node3', 'node2-node4', 'node3-node4'], 'a full mesh of four: six links, none outside the testnet');
    const byPair = new Map(v.links.map((l) => [pair(l), l]));
    assert.equal(byPair.get('node1-node2')!.rttMs, 2, 'the better of the two ends');
    assert.equal(byPair.get('node1-node4')!.rttMs, 7, 'measured by one end only');
    assert.equal(byPair.get('node3-node4')!.rttMs, 0.5);
    assert.equal(byPair.get('node2-node3')!.transport, 'tcp');
    assert.equal(byPair.get('node3-node4')!.transport, 'ws', 'wss is ws inside TLS');
    assert.equal(byPair.get('node2-node4')!.transport, 'tcp', 'tls is tcp inside TLS');
  });

  test('concurrent callers share one round of asks', async () => {
    // Past the reuse window of the previous test's round.
    await new Promise((r) => setTimeout(r, 1100));
    const before = asks.map((a) => a());
    const views = await Promise.all([control.links(), control.links(), control.links()]);
    assert.deepEqual(views[0], views[1]);
    assert.deepEqual(
      asks.map((a, i) => a() - before[i]!),
      [1, 1, 1, 1],
    );
  });

  test('the index lists it, and it answers GET only', async () => {
    const index = (await (await fetch(`${http.url}/`)).json()) as { endpoints: string[] };
    assert.ok(index.endpoints.includes('GET /control/links'));
    const post = await fetch(`${http.url}/control/links`, { method: 'POST' });
    assert.equal(post.status, 404);
  });
});

describe('GET /api/network with peers\' link reports', () => {
  let node: PeerchainNode;
  let api: ApiServer;
  const self = keyPairFromSeed(Buffer.alloc(32, 9)).publicKey;
  const [p1, p2] = [keys[1]!.publicKey, keys[2]!.publicKey];
  const peers: PeerInfo[] = [
    { id: p1, address: 'ws://127.0.0.1:6002', direction: 'outbound', rttMs: 3 },
    { id: p2, address: 'tcp://127.0.0.1:7003', direction: 'inbound', rttMs: 4 },
  ];
  let reports: ReportedLinks[] = [];

  before(async () => {
    node = await PeerchainNode.create({ genesis: powGenesis(), store: new MemoryStore(), key: keyPairFromSeed(Buffer.alloc(32, 9)), log: createLogger({ silent: true }), mine: { threads: 0, continuous: false } });
    node.start();
    api = await startApi(node, { host: '127.0.0.1', port: 0, peers: { list: () => peers, add: async () => ({ ok: true, status: 'connecting' }), reported: () => reports } });
  });

  after(async () => {
    await api?.close();
    await node?.stop();
  });

  interface View {
    nodes: { id: string; self: boolean; connected: boolean; reportedBy?: string }[];
    links: { from: string; to: string; rttMs?: number; reportedBy?: string }[];
    peerReports: number;
  }
  const view = async (): Promise<View> => (await (await fetch(`${api.url}/api/network`, { signal: AbortSignal.timeout(10_000) })).json()) as View;

  test('without reports: this node\'s links only', async () => {
    reports = [];
    const v = await view();
    assert.equal(v.peerReports, 0);
    assert.equal(v.links.length, 2);
    assert.ok(v.links.every((l) => l.from === self && l.reportedBy === undefined));
  });

  test('links between other nodes, marked with who reported them, once each, never about this node', async () => {
    const far = id(77);
    reports = [
      { id: p1, at: Date.now(), peers: [{ id: p2, rttMs: 6 }, { id: far, rttMs: 9 }, { id: self }] },
      { id: p2, at: Date.now(), peers: [{ id: p1, rttMs: 5 }] },
      // A report from a node that is not (any longer) a peer is not shown.
      { id: id(66), at: Date.now(), peers: [{ id: p1 }] },
    ];
    const v = await view();
    assert.equal(v.peerReports, 2, 'only linked peers speak for their links');
    const own = v.links.filter((l) => l.reportedBy === undefined);
    const reported = v.links.filter((l) => l.reportedBy !== undefined);
    assert.equal(own.length, 2);
    assert.deepEqual(
      reported.map((l) => [l.from, l.to, l.rttMs, l.reportedBy]),
      [
        [p1, p2, 5, p1],
        [p1, far, 9, p1],
      ],
      'p1-p2 once, with the better round trip; nothing about this node',
    );
    const farNode = v.nodes.find((n) => n.id === far)!;
    assert.equal(farNode.connected, false);
    assert.equal(farNode.reportedBy, p1);
    assert.equal(v.nodes.some((n) => n.id === id(66)), false);
  });

  test('a hostile report cannot flood the view with made-up nodes', async () => {
    reports = [1, 2].map((k) => ({ id: k === 1 ? p1 : p2, at: Date.now(), peers: Array.from({ length: 128 }, (_, i) => ({ id: id(1000 * k + i) })) }));
    const v = await view();
    assert.equal(v.nodes.filter((n) => n.reportedBy !== undefined).length, 64);
    assert.ok(v.links.filter((l) => l.reportedBy !== undefined).length <= 64);
    assert.equal(v.nodes.length, 3 + 64);
  });
});
