/**
 * The HTTP API over a real node (MemoryStore, fixture genesis, in-process
 * mining) on 127.0.0.1: submit a transfer and records, mine them through
 * POST /api/mine, read them back through every read endpoint, watch the
 * event stream, scrape /metrics, and serve peers from a stand-in P2P layer.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { WebSocket } from 'ws';
import { signTx, txId, txToJson, type SignedTx } from '../../src/core/index.ts';
import { addressFromPublicKey, keyPairFromSeed } from '../../src/crypto/index.ts';
import { MemoryStore } from '../../src/storage/index.ts';
import { PeerchainNode } from '../../src/node/node.ts';
import { createLogger } from '../../src/node/logger.ts';
import {
  startApi,
  type AccountView,
  type AddPeerResult,
  type ApiOptions,
  type ApiServer,
  type BlockListView,
  type BlockView,
  type EventMessage,
  type MempoolView,
  type MineView,
  type PeerInfo,
  type RecordView,
  type StatusView,
  type TxStatusView,
} from '../../src/api/index.ts';
import { addrs, CHAIN_ID, keys, powGenesis, transfer } from '../helpers/chain-fixtures.ts';

const WAIT_MS = 20_000;

/** Rejects if p does not settle within ms. */
function within<T>(p: Promise<T>, ms = WAIT_MS, what = 'operation'): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, rej) => (t = setTimeout(() => rej(new Error(`${what} timed out after ${ms} ms`)), ms)))]).finally(() => clearTimeout(t));
}

interface Reply<T> {
  status: number;
  body: T;
  type: string | null;
}

/** One JSON request with a bounded wait. */
async function call<T>(base: string, method: string, path: string, body?: unknown): Promise<Reply<T>> {
  const init: RequestInit = { method, signal: AbortSignal.timeout(WAIT_MS) };
  if (body !== undefined) init.body = JSON.stringify(body);
  if (body !== undefined) init.headers = { 'content-type': 'application/json' };
  const r = await fetch(base + path, init);
  const text = await r.text();
  const type = r.headers.get('content-type');
  return { status: r.status, body: (type?.startsWith('application/json') ? JSON.parse(text) : text) as T, type };
}

/** A WebSocket client on /api/events that keeps every message. */
class EventClient {
  readonly messages: EventMessage[] = [];
  readonly ws: WebSocket;
  response: IncomingMessage | undefined;
  private waiters: { pred: () => boolean; resolve: () => void }[] = [];

  constructor(url: string) {
    this.ws = new WebSocket(url);
    this.ws.on('upgrade', (res) => (this.response = res));
    this.ws.on('message', (data) => {
      this.messages.push(JSON.parse(data.toString()) as EventMessage);
      this.check();
    });
    this.ws.on('close', () => this.check());
  }

  /** Resolves once the connection is open. */
  opened(): Promise<void> {
    return within(new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    }), WAIT_MS, 'event stream connection');
  }

  /** Resolves once pred holds. */
  until(pred: () => boolean, what: string): Promise<void> {
    if (pred()) return Promise.resolve();
    return within(new Promise<void>((resolve) => this.waiters.push({ pred, resolve })), WAIT_MS, what);
  }

  /** Messages of one type. */
  of(type: string): EventMessage[] {
    return this.messages.filter((m) => m.type === type);
  }

  close(): void {
    this.ws.terminate();
  }

  private check(): void {
    this.waiters = this.waiters.filter((w) => {
      if (!w.pred()) return true;
      w.resolve();
      return false;
    });
  }
}

async function newNode(mine: boolean): Promise<PeerchainNode> {
  const node = await PeerchainNode.create({
    genesis: powGenesis(),
    store: new MemoryStore(),
    key: keyPairFromSeed(Buffer.alloc(32, 9)),
    log: createLogger({ silent: true }),
    ...(mine ? { mine: { threads: 0, continuous: false } } : {}),
  });
  node.start();
  return node;
}

/** A signed record write. */
function record(from: number, nonce: number, key: string, value: Record<string, string | number>, fee = 2n): SignedTx {
  const k = keys[from]!;
  return signTx({ kind: 'record', chainId: CHAIN_ID, from: k.publicKey, nonce, fee, key, value }, k);
}

/** Parses Prometheus text: every sample with its HELP and TYPE seen before it. */
function parseMetrics(text: string): Map<string, { value: number; type: string }> {
  const help = new Set<string>();
  const types = new Map<string, string>();
  const out = new Map<string, { value: number; type: string }>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let m = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+$/.exec(line);
    if (m !== null) {
      help.add(m[1]!);
      continue;
    }
    m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (gauge|counter|histogram|summary|untyped)$/.exec(line);
    if (m !== null) {
      types.set(m[1]!, m[2]!);
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*) (-?[0-9]+(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?)$/.exec(line);
    assert.ok(m !== null, `not a Prometheus sample line: ${JSON.stringify(line)}`);
    const name = m[1]!;
    assert.ok(help.has(name), `${name} has no HELP line`);
    assert.ok(types.has(name), `${name} has no TYPE line`);
    if (types.get(name) === 'counter') assert.ok(name.endsWith('_total'), `counter ${name} should end in _total`);
    out.set(name, { value: Number(m[2]), type: types.get(name)! });
  }
  return out;
}

describe('api endpoints on a mining node', () => {
  let node: PeerchainNode;
  let api: ApiServer;
  let events: EventClient;
  const get = <T>(path: string): Promise<Reply<T>> => call<T>(api.url, 'GET', path);
  const post = <T>(path: string, body?: unknown): Promise<Reply<T>> => call<T>(api.url, 'POST', path, body);

  const xfer = transfer(0, 3, 0, 500n);
  const rec = record(0, 1, 'vin/WVW-123', { km: 1200, shop: 'north' });
  let mined: string[] = [];

  before(async () => {
    node = await newNode(true);
    api = await startApi(node, { host: '127.0.0.1', port: 0 });
    events = new EventClient(`${api.url.replace('http', 'ws')}/api/events`);
    await events.opened();
  });

  after(async () => {
    events?.close();
    await api?.close();
    await node?.stop();
  });

  test('GET /api/status reports the node and its peers', async () => {
    const r = await get<StatusView>('/api/status');
    assert.equal(r.status, 200);
    assert.equal(r.body.network, 'public');
    assert.equal(r.body.chainId, CHAIN_ID);
    assert.equal(r.body.height, 0);
    assert.equal(r.body.peers, 0);
    assert.equal(r.body.syncing, false);
    assert.equal(r.body.mining, false);
    assert.equal(typeof r.body.work, 'string');
    assert.match(api.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    await events.until(() => events.of('hello').length === 1, 'hello event');
    assert.equal((events.of('hello')[0]!.data as { height: number }).height, 0);
  });

  test('POST /api/txs admits a transfer and a record (202 with the id)', async () => {
    const a = await post<{ id: string }>('/api/txs', txToJson(xfer));
    assert.equal(a.status, 202, JSON.stringify(a.body));
    assert.equal(a.body.id, txId(xfer));
    const b = await post<{ id: string }>('/api/txs', txToJson(rec));
    assert.equal(b.status, 202, JSON.stringify(b.body));
    assert.equal(b.body.id, txId(rec));
    await events.until(() => events.of('tx').length === 2, 'two tx events');
    assert.deepEqual(events.of('tx').map((m) => m.data), [
      { id: txId(xfer), kind: 'transfer', from: 'api' },
      { id: txId(rec), kind: 'record', from: 'api' },
    ]);
    for (const m of events.messages) assert.equal(typeof m.time, 'number');
  });

  test('pending transactions show in txs, mempool and the pending nonce', async () => {
    const t = await get<TxStatusView>(`/api/txs/${txId(xfer)}`);
    assert.equal(t.status, 200);
    assert.equal(t.body.status, 'pending');
    assert.equal(t.body.tx.kind, 'transfer');
    assert.equal(t.body.tx.kind === 'transfer' && t.body.tx.amount, '500');
    assert.equal(t.body.status === 'pending' && t.body.fee, '1');

    const m = await get<MempoolView>('/api/mempool');
    assert.equal(m.status, 200);
    assert.equal(m.body.size, 2);
    assert.deepEqual(new Set(m.body.txs.map((e) => e.id)), new Set([txId(xfer), txId(rec)]));
    // Highest fee per byte first.
    const rates = m.body.txs.map((e) => Number(e.fee) / e.size);
    assert.ok(rates[0]! >= rates[1]!, `mempool order by fee rate: ${rates.join(', ')}`);
    const one = await get<MempoolView>('/api/mempool?limit=1');
    assert.equal(one.body.txs.length, 1);
    assert.equal(one.body.size, 2);

    const acct = await get<AccountView>(`/api/accounts/${addrs[0]}`);
    assert.equal(acct.status, 200);
    assert.deepEqual(acct.body, { address: addrs[0], balance: '1000000', nonce: 0, pendingNonce: 2, pendingTxs: 2 });
  });

  test('POST /api/mine mines blocks and answers with their hashes', async () => {
    const r = await within(post<MineView>('/api/mine', { blocks: 2 }), WAIT_MS, 'POST /api/mine');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.complete, true);
    assert.equal(r.body.hashes.length, 2);
    assert.equal(r.body.height, 2);
    mined = r.body.hashes;
    assert.equal(node.mempool.size, 0);
    await events.until(() => events.of('block').length === 2 && events.of('mined').length === 2, 'block and mined events');
    assert.deepEqual(events.of('block').map((m) => (m.data as { height: number }).height), [1, 2]);
    assert.deepEqual(events.of('mined').map((m) => (m.data as { hash: string }).hash), mined);
  });

  test('GET /api/blocks pages the main chain both ways', async () => {
    const all = await get<BlockListView>('/api/blocks');
    assert.equal(all.status, 200);
    assert.equal(all.body.tip, 2);
    assert.deepEqual(all.body.blocks.map((b) => b.height), [2, 1, 0]);
    assert.deepEqual(all.body.blocks.map((b) => b.hash).slice(0, 2), [mined[1], mined[0]]);
    assert.equal(all.body.next, null);
    assert.equal(all.body.blocks[1]!.txCount, 3);
    assert.equal(all.body.blocks[0]!.confirmations, 1);
    const asc = await get<BlockListView>('/api/blocks?order=asc&limit=2');
    assert.deepEqual(asc.body.blocks.map((b) => b.height), [0, 1]);
    assert.equal(asc.body.next, 2);
    const down = await get<BlockListView>('/api/blocks?from=1&limit=1');
    assert.deepEqual(down.body.blocks.map((b) => b.height), [1]);
    assert.equal(down.body.next, 0);
  });

  test('GET /api/blocks/:heightOrHash returns the block with its transactions and ids', async () => {
    const byHeight = await get<BlockView>('/api/blocks/1');
    assert.equal(byHeight.status, 200);
    assert.equal(byHeight.body.hash, mined[0]);
    assert.equal(byHeight.body.height, 1);
    assert.equal(byHeight.body.mainChain, true);
    assert.equal(byHeight.body.confirmations, 2);
    assert.ok(byHeight.body.size > 0);
    assert.equal(byHeight.body.txs[0]!.kind, 'coinbase');
    assert.deepEqual(byHeight.body.txs.slice(1).map((t) => t.id).sort(), [txId(xfer), txId(rec)].sort());
    for (const t of byHeight.body.txs) assert.match(t.id, /^[0-9a-f]{64}$/);
    const coinbase = byHeight.body.txs[0]!;
    assert.equal(coinbase.kind === 'coinbase' && typeof coinbase.amount, 'string');
    const byHash = await get<BlockView>(`/api/blocks/${mined[0]}`);
    assert.deepEqual(byHash.body, byHeight.body);
    const upper = await get<BlockView>(`/api/blocks/${mined[0]!.toUpperCase()}`);
    assert.equal(upper.body.hash, mined[0]);
  });

  test('GET /api/txs/:id reports a confirmed transaction with its block and confirmations', async () => {
    const r = await get<TxStatusView>(`/api/txs/${txId(rec)}`);
    assert.equal(r.status, 200);
    assert.equal(r.body.status, 'confirmed');
    if (r.body.status !== 'confirmed') return;
    assert.equal(r.body.blockHash, mined[0]);
    assert.equal(r.body.height, 1);
    assert.equal(r.body.confirmations, 2);
    assert.equal(r.body.tx.kind, 'record');
    assert.equal(r.body.tx.id, txId(rec));
  });

  test('GET /api/accounts/:address shows balances as strings, and zero for unknown addresses', async () => {
    const to = await get<AccountView>(`/api/accounts/${addrs[3]}`);
    assert.deepEqual(to.body, { address: addrs[3], balance: '500', nonce: 0, pendingNonce: 0, pendingTxs: 0 });
    const from = await get<AccountView>(`/api/accounts/${addrs[0]}`);
    assert.deepEqual(from.body, { address: addrs[0], balance: String(1_000_000 - 500 - 1 - 2), nonce: 2, pendingNonce: 2, pendingTxs: 0 });
    const miner = await get<AccountView>(`/api/accounts/${node.address}`);
    assert.equal(miner.body.balance, String(50 + 3 + 50));
    const stranger = addressFromPublicKey(keyPairFromSeed(Buffer.alloc(32, 77)).publicKey);
    const z = await get<AccountView>(`/api/accounts/${stranger}`);
    assert.equal(z.status, 200);
    assert.deepEqual(z.body, { address: stranger, balance: '0', nonce: 0, pendingNonce: 0, pendingTxs: 0 });
  });

  test('GET /api/records/:key returns the value, owner and paged history', async () => {
    const key = encodeURIComponent('vin/WVW-123');
    const first = await get<RecordView>(`/api/records/${key}`);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.deepEqual(first.body.value, { km: 1200, shop: 'north' });
    assert.equal(first.body.owner, addrs[0]);
    assert.equal(first.body.updates, 1);
    assert.equal(first.body.txId, txId(rec));
    assert.deepEqual(first.body.history.entries, [{ height: 1, txId: txId(rec), from: addrs[0], value: { km: 1200, shop: 'north' } }]);
    assert.equal(first.body.history.next, null);

    // Two more writes, one from another account: history keeps every value. The
    // fees order them in the block (highest fee rate first).
    for (const tx of [record(0, 2, 'vin/WVW-123', { km: 5400, shop: 'north' }, 5n), record(1, 0, 'vin/WVW-123', { km: 9100, shop: 'south' }, 2n)]) {
      const r = await post<{ id: string }>('/api/txs', txToJson(tx));
      assert.equal(r.status, 202, JSON.stringify(r.body));
    }
    const m = await within(post<MineView>('/api/mine', { blocks: 1 }), WAIT_MS, 'POST /api/mine');
    assert.equal(m.status, 200);
    const page1 = await get<RecordView>(`/api/records/${key}?limit=2`);
    assert.equal(page1.body.updates, 3);
    assert.equal(page1.body.owner, addrs[0]);
    assert.deepEqual(page1.body.value, { km: 9100, shop: 'south' });
    assert.deepEqual(page1.body.history.entries.map((e) => e.value), [{ km: 1200, shop: 'north' }, { km: 5400, shop: 'north' }]);
    assert.equal(page1.body.history.next, 2);
    const page2 = await get<RecordView>(`/api/records/${key}?from=2&limit=2`);
    assert.deepEqual(page2.body.history.entries.map((e) => [e.height, e.from]), [[3, addrs[1]]]);
    assert.equal(page2.body.history.next, null);
  });

  test('GET /metrics is Prometheus text with the node gauges and counters', async () => {
    const r = await get<string>('/metrics');
    assert.equal(r.status, 200);
    assert.equal(r.type, 'text/plain; version=0.0.4; charset=utf-8');
    const m = parseMetrics(r.body);
    assert.deepEqual(
      [...m.keys()].sort(),
      ['peerchain_hash_rate', 'peerchain_height', 'peerchain_mempool_size', 'peerchain_messages_in_total', 'peerchain_messages_out_total', 'peerchain_orphans', 'peerchain_peers', 'peerchain_sync_progress'],
    );
    assert.equal(m.get('peerchain_height')!.value, 3);
    assert.equal(m.get('peerchain_mempool_size')!.value, 0);
    assert.equal(m.get('peerchain_sync_progress')!.value, 1);
    assert.equal(m.get('peerchain_messages_in_total')!.type, 'counter');
    assert.equal(m.get('peerchain_messages_in_total')!.value, 0);
  });

  test('GET /api/peers is empty and POST /api/peers says P2P is not running', async () => {
    const list = await get<PeerInfo[]>('/api/peers');
    assert.equal(list.status, 200);
    assert.deepEqual(list.body, []);
    const add = await post<{ error: { code: string; message: string } }>('/api/peers', { address: 'ws://127.0.0.1:6001' });
    assert.equal(add.status, 503);
    assert.equal(add.body.error.code, 'P2P_UNAVAILABLE');
  });

  test('a filtered event stream only carries the chosen types', async () => {
    const blocksOnly = new EventClient(`${api.url.replace('http', 'ws')}/api/events?types=block`);
    try {
      await blocksOnly.opened();
      const r = await post<{ id: string }>('/api/txs', txToJson(transfer(1, 3, 1, 7n)));
      assert.equal(r.status, 202);
      const m = await within(post<MineView>('/api/mine', { blocks: 1 }), WAIT_MS, 'POST /api/mine');
      await blocksOnly.until(() => blocksOnly.of('block').length === 1, 'filtered block event');
      await events.until(() => events.of('tx').some((e) => (e.data as { id: string }).id === r.body.id), 'unfiltered tx event');
      assert.deepEqual([...new Set(blocksOnly.messages.map((x) => x.type))], ['hello', 'block']);
      assert.equal((blocksOnly.of('block')[0]!.data as { hash: string }).hash, m.body.hashes[0]);
    } finally {
      blocksOnly.close();
    }
  });
});

describe('api with a P2P layer and a slow event client', () => {
  let node: PeerchainNode;
  const servers: ApiServer[] = [];

  before(async () => {
    node = await newNode(false);
  });

  after(async () => {
    for (const s of servers) await s.close();
    await node?.stop();
  });

  async function serve(opts: Partial<ApiOptions>): Promise<ApiServer> {
    const s = await startApi(node, { host: '127.0.0.1', port: 0, ...opts });
    servers.push(s);
    return s;
  }

  test('peers, peer count and message counters come from the P2P layer', async () => {
    const peers: PeerInfo[] = [{ id: 'ab'.repeat(32), address: 'ws://10.0.0.2:6001', direction: 'outbound', height: 4, rttMs: 12 }];
    const added: string[] = [];
    const api = await serve({
      peers: {
        list: () => peers,
        add: async (address): Promise<AddPeerResult> => {
          if (address.includes('10.9.9.9')) return { ok: false, code: 'BANNED', message: 'that peer is banned for 10 minutes' };
          added.push(address);
          return { ok: true, status: 'connecting' };
        },
      },
      stats: () => ({ messagesIn: 41, messagesOut: 17 }),
    });
    const list = await call<PeerInfo[]>(api.url, 'GET', '/api/peers');
    assert.deepEqual(list.body, peers);
    const ok = await call<{ address: string; status: string }>(api.url, 'POST', '/api/peers', { address: 'tcp://10.0.0.3:7001' });
    assert.equal(ok.status, 202);
    assert.deepEqual(ok.body, { address: 'tcp://10.0.0.3:7001', status: 'connecting' });
    assert.deepEqual(added, ['tcp://10.0.0.3:7001']);
    const refused = await call<{ error: { code: string; message: string } }>(api.url, 'POST', '/api/peers', { address: 'ws://10.9.9.9:6001' });
    assert.equal(refused.status, 400);
    assert.deepEqual(refused.body.error, { code: 'BANNED', message: 'that peer is banned for 10 minutes' });
    const status = await call<StatusView>(api.url, 'GET', '/api/status');
    assert.equal(status.body.peers, 1);
    const m = parseMetrics((await call<string>(api.url, 'GET', '/metrics')).body);
    assert.equal(m.get('peerchain_peers')!.value, 1);
    assert.equal(m.get('peerchain_messages_in_total')!.value, 41);
    assert.equal(m.get('peerchain_messages_out_total')!.value, 17);
  });

  test('a client that stops reading is disconnected instead of buffered for', async () => {
    const api = await serve({ events: { maxBufferedBytes: 64 * 1024 } });
    const slow = new EventClient(`${api.url.replace('http', 'ws')}/api/events`);
    const fast = new EventClient(`${api.url.replace('http', 'ws')}/api/events?types=mined`);
    try {
      await slow.opened();
      await fast.opened();
      await slow.until(() => slow.of('hello').length === 1, 'hello');
      slow.response!.socket.pause();
      const closed = new Promise<number>((resolve) => slow.ws.once('close', (code) => resolve(code)));
      // 3000 events of 10 KiB: far more than socket buffers hold, all sent while the client reads nothing.
      const big = 'f'.repeat(10 * 1024);
      for (let i = 0; i < 3000; i++) node.emit('tx', { id: `${big}${i}`, kind: 'transfer', from: 'peer' });
      slow.response!.socket.resume();
      const code = await within(closed, WAIT_MS, 'slow client disconnect');
      assert.equal(code, 1006);
      assert.ok(slow.of('tx').length < 3000, `the slow client got ${slow.of('tx').length} of 3000 events`);
      // Other clients are unaffected.
      node.emit('mined', { hash: 'ff'.repeat(32), height: 9 });
      await fast.until(() => fast.of('mined').length === 1, 'mined event on the other client');
      assert.equal(fast.ws.readyState, WebSocket.OPEN);
    } finally {
      slow.close();
      fast.close();
    }
  });
});

describe('api mining that outlasts the request', () => {
  let node: PeerchainNode;
  let api: ApiServer;

  before(async () => {
    // 28 leading zero bits: no block will be found in-process while these tests run.
    node = await PeerchainNode.create({
      genesis: powGenesis({ zeroBits: 28 }),
      store: new MemoryStore(),
      key: keyPairFromSeed(Buffer.alloc(32, 9)),
      log: createLogger({ silent: true }),
      mine: { threads: 0, continuous: false },
    });
    node.start();
    api = await startApi(node, { host: '127.0.0.1', port: 0, mineTimeoutMs: 200 });
  });

  after(async () => {
    await api?.close();
    await node?.stop();
  });

  test('closing the API ends a pending POST /api/mine at once', async () => {
    const slow = await startApi(node, { host: '127.0.0.1', port: 0, mineTimeoutMs: 60_000 });
    const pending = call<{ error: { code: string } }>(slow.url, 'POST', '/api/mine', { blocks: 1 });
    // The node reports mining once the handler has queued the request.
    const deadline = Date.now() + WAIT_MS;
    while (!node.status().mining && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(node.status().mining, true, 'the mine request reached the node');
    await within(slow.close(), 5000, 'close with a pending mine request');
    const r = await pending;
    assert.equal(r.status, 503);
    assert.equal(r.body.error.code, 'SHUTTING_DOWN');
  });

  test('a timed-out POST /api/mine answers 202 and mining goes on; the queue is bounded', async () => {
    // This server's budget is untouched by the other server's request above.
    const r = await call<MineView>(api.url, 'POST', '/api/mine', { blocks: 100 });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    assert.equal(r.body.complete, false);
    assert.deepEqual(r.body.hashes, []);
    assert.match(r.body.message ?? '', /mining goes on in the background/);
    assert.equal(node.status().mining, true);
    const busy = await call<{ error: { code: string; message: string } }>(api.url, 'POST', '/api/mine', { blocks: 1 });
    assert.equal(busy.status, 409);
    assert.equal(busy.body.error.code, 'MINING_BUSY');
    assert.match(busy.body.error.message, /100 blocks requested/);
  });
});
