/**
 * Serving sync to a peer that asks and never reads: each peer's GET_HEADERS
 * and GET_BLOCKS are answered one at a time, each answer built only when its
 * turn comes, and only a few requests may wait per peer (more are dropped and
 * charged). So the answers such a peer leaves unread cost the node a bounded
 * amount of memory, and the requests it had waiting are not read from the
 * store or encoded once it is gone.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import vm from 'node:vm';
import { blockHash, buildGenesisBlock } from '../../src/core/index.ts';
import { keyPairFromSeed } from '../../src/crypto/index.ts';
import { MemoryStore } from '../../src/storage/index.ts';
import { NodeRuntime } from '../../src/node/runtime.ts';
import { createLogger } from '../../src/node/logger.ts';
import { mineChain, powGenesis } from '../helpers/chain-fixtures.ts';
import { RawPeer, sleep } from '../helpers/raw-peer.ts';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const g = powGenesis();
const gb = buildGenesisBlock(g);
const CHAIN_LENGTH = 600;
let node: NodeRuntime;
const peers: RawPeer[] = [];
let hashes: string[] = [];


before(async () => {
  node = await NodeRuntime.start({ genesis: g, log: createLogger({ silent: true }), host: '127.0.0.1', wsPort: 0, tcpPort: 0, name: 'victim', dataDir: '', key: keyPairFromSeed(Buffer.alloc(32, 0x51)), peers: [], store: new MemoryStore() });
  const blocks = mineChain(g, CHAIN_LENGTH);
  await node.node.chain.submitBlocks(blocks);
  assert.equal(node.node.chain.height, CHAIN_LENGTH);
  hashes = blocks.map((b) => blockHash(b.header));
});

after(async () => {
  for (const p of peers) p.destroy();
  await node?.stop();
});

function heapMb(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

/** A linked peer that reads nothing from now on. */
async function deafPeer(): Promise<RawPeer> {
  const p = new RawPeer(node.net.listenAddresses().find((a) => a.startsWith('tcp'))!);
  peers.push(p);
  assert.ok(await p.handshake(), 'linked');
  p.socket.pause();
  return p;
}

/** Sends `total` copies of one message within the node's per-peer rate limit (burst 2000, then 1000/s). */
async function sendWithinRate(p: RawPeer, type: string, payload: unknown, total: number): Promise<void> {
  let sent = 0;
  const burst = Math.min(1900, total);
  for (; sent < burst; sent++) p.send(type, payload);
  while (sent < total) {
    await sleep(1000);
    for (let i = 0; i < 900 && sent < total; i++, sent++) p.send(type, payload);
  }
}

test('GET_HEADERS from a peer that never reads does not pile up answers in memory', { timeout: 60_000 }, async () => {
  const before = heapMb();
  const p = await deafPeer();
  await sendWithinRate(p, 'GET_HEADERS', { locator: [gb.hash], limit: 2000 }, 4600);
  await sleep(500);
  const grown = heapMb() - before;
  const linked = node.net.peerIds().includes(p.keys.publicKey);
  p.destroy();
  // Each request is ~150 bytes on the wire; a bounded node holds a few answers per peer, not thousands.
  assert.ok(grown < 64, `heap grew by ${grown.toFixed(0)} MB for one peer's unread HEADERS answers (peer still linked: ${linked})`);
});

test('GET_BLOCKS from a peer that never reads does not queue without bound', { timeout: 90_000 }, async () => {
  const before = heapMb();
  const p = await deafPeer();
  // 128 hashes of blocks the node holds; every request is served in full (some 60 KB of JSON).
  const ask = { hashes: Array.from({ length: 128 }, (_, i) => hashes[i % hashes.length]!) };
  await sendWithinRate(p, 'GET_BLOCKS', ask, 4600);
  await sleep(500);
  const grown = heapMb() - before;
  // Once the peer is gone, every request still queued is read from the store and encoded before it is dropped.
  p.destroy();
  const cpu0 = process.cpuUsage();
  const t0 = Date.now();
  await sleep(3000);
  const cpu = process.cpuUsage(cpu0);
  const busy = (cpu.user + cpu.system) / 1000 / (Date.now() - t0);
  assert.ok(grown < 32 && busy < 0.5, `heap grew by ${grown.toFixed(0)} MB for one peer's queued GET_BLOCKS requests; after it left the node stayed ${(busy * 100).toFixed(0)}% busy serving them`);
});
