import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blockHash, blockToJson, buildGenesisBlock, type Genesis, type Hash } from '../../src/core/index.ts';
import { Chain, powRules, Synchronizer, type SyncNetwork } from '../../src/chain/index.ts';
import { MemoryStore } from '../../src/storage/index.ts';
import { mineBlock, powGenesis, transfer } from '../helpers/chain-fixtures.ts';

async function buildChain(g: Genesis, n: number): Promise<Chain> {
  const chain = await Chain.open(new MemoryStore(), g, powRules(g), { now: () => 1_800_000_000_000 });
  const gb = buildGenesisBlock(g);
  let tip = { hash: gb.hash, height: 0, timestamp: gb.block.header.timestamp, bits: gb.block.header.bits, state: gb.state };
  for (let i = 0; i < n; i++) {
    const txs = i < 20 ? [transfer(0, 3, i, 5n)] : [];
    const { block, state } = mineBlock(g, tip, txs);
    const r = await chain.submitBlock(block);
    assert.equal(r.status, 'connected');
    tip = { hash: blockHash(block.header), height: block.header.height, timestamp: block.header.timestamp, bits: block.header.bits, state };
  }
  return chain;
}

function until(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (cond()) return resolve();
      if (Date.now() > end) return reject(new Error('condition not met in time'));
      setTimeout(check, 5);
    };
    check();
  });
}

/** A network of one peer, "p", serving `source`; `deliver` decides when (and with what error handling) each block answer is handed over. */
function onePeer(source: Chain, sync: () => Synchronizer, deliver: (answer: () => Promise<void>) => void, penalize: SyncNetwork['penalize'] = () => undefined): SyncNetwork {
  return {
    peers: () => [{ id: 'p', height: source.height }],
    requestHeaders(peer, locator, limit) {
      setImmediate(() => void sync().onHeaders(peer, source.headersAfter(locator, limit)));
      return true;
    },
    requestBlocks(peer, hashes) {
      deliver(async () => {
        const bs = await Promise.all(hashes.map((h) => source.getBlock(h)));
        await sync().onBlocks(peer, bs.map((b) => blockToJson(b!)));
      });
      return true;
    },
    penalize,
  };
}

test('a fresh chain syncs headers first, then bodies in batches from several peers', async () => {
  const g = powGenesis();
  const source = await buildChain(g, 300);
  const target = await Chain.open(new MemoryStore(), g, powRules(g), { now: () => 1_800_000_000_000 });
  const clock = { t: 0 };
  const requests = { headers: 0, blocks: 0, maxBatch: 0, byPeer: new Map<string, number>() };
  let sync: Synchronizer;
  const serve = (peer: string, hashes: Hash[]): void => {
    requests.blocks++;
    requests.maxBatch = Math.max(requests.maxBatch, hashes.length);
    requests.byPeer.set(peer, (requests.byPeer.get(peer) ?? 0) + 1);
    void Promise.all(hashes.map((h) => source.getBlock(h))).then((bs) => sync.onBlocks(peer, bs.filter((b) => b !== undefined).map(blockToJson)));
  };
  const net: SyncNetwork = {
    peers: () => [
      { id: 'honest-1', height: source.height },
      { id: 'honest-2', height: source.height },
      { id: 'silent', height: source.height },
    ],
    requestHeaders(peer, locator, limit) {
      if (peer === 'silent') return true;
      requests.headers++;
      setImmediate(() => void sync.onHeaders(peer, source.headersAfter(locator, limit)));
      return true;
    },
    requestBlocks(peer, hashes) {
      if (peer === 'silent') return true; // never answers: its batches must time out and move
      setImmediate(() => serve(peer, hashes));
      return true;
    },
    penalize() {},
  };
  sync = new Synchronizer(target, net, { now: () => clock.t, headersPerRequest: 50, blocksPerRequest: 16, timeoutMs: 1000 });
  sync.tick();
  await until(() => target.index.bestHeader().height === 300, 20_000);
  // Let the silent peer's batches expire and go elsewhere.
  const ticker = setInterval(() => {
    clock.t += 600;
    sync.tick();
  }, 10);
  try {
    await until(() => target.height === 300, 30_000);
  } finally {
    clearInterval(ticker);
  }
  assert.equal(target.tip.hash, source.tip.hash);
  assert.equal(target.state.root(), source.state.root());
  assert.ok(requests.headers >= 6, 'headers came in several requests of at most 50');
  assert.ok(requests.maxBatch <= 16, 'bodies came in bounded batches');
  assert.ok((requests.byPeer.get('honest-1') ?? 0) > 0 && (requests.byPeer.get('honest-2') ?? 0) > 0, 'both honest peers served bodies');
  assert.equal(sync.progress().syncing, false);
});

test('answers that arrive out of order still settle their own requests', async () => {
  const g = powGenesis();
  const source = await buildChain(g, 120);
  const target = await Chain.open(new MemoryStore(), g, powRules(g), { now: () => 1_800_000_000_000 });
  const penalties: string[] = [];
  let n = 0;
  // Later requests are answered first.
  const net = onePeer(source, () => sync, (answer) => setTimeout(() => void answer(), 40 - 10 * (n++ % 4)), (peer, points, reason) => penalties.push(`${reason}`));
  const sync = new Synchronizer(target, net, { now: () => 0, blocksPerRequest: 10, requestsPerPeer: 4 });
  sync.tick();
  await until(() => target.height === 120, 20_000);
  assert.deepEqual(penalties, []);
});

test('a batch this node fails to store stops the chain; reopened, it resumes from the store and syncs the rest', async () => {
  const g = powGenesis();
  const source = await buildChain(g, 40);
  const store = new MemoryStore();
  const target = await Chain.open(store, g, powRules(g), { now: () => 1_800_000_000_000 });
  // The disk fails once, on the second batch.
  let writes = 0;
  const connectBlocks = store.connectBlocks.bind(store);
  store.connectBlocks = (ws) => (++writes === 2 ? Promise.reject(new Error('disk full')) : connectBlocks(ws));
  const failed: string[] = [];
  target.on('storeFailed', ({ error }) => failed.push(error.message));
  const net = onePeer(source, () => sync, (answer) => setImmediate(() => void answer().catch(() => undefined)));
  const sync = new Synchronizer(target, net, { now: () => 0, blocksPerRequest: 10, requestsPerPeer: 1 });
  sync.tick();
  await until(() => failed.length === 1, 5_000);
  assert.deepEqual(failed, ['disk full']);
  assert.equal(target.failure?.message, 'disk full');
  await assert.rejects(target.persisted(), /disk full/);
  // Memory ran ahead of the failed write: the chain takes nothing more.
  await assert.rejects(target.submitBlock((await source.getBlock(source.tip.hash))!), /the store failed/);
  sync.stop();
  // Reopened on the same store, the node is at the last batch that was written, and sync completes.
  const reopened = await Chain.open(store, g, powRules(g), { now: () => 1_800_000_000_000 });
  assert.equal(reopened.height, 10);
  const net2 = onePeer(source, () => sync2, (answer) => setImmediate(() => void answer()));
  const sync2 = new Synchronizer(reopened, net2, { now: () => 0, blocksPerRequest: 10, requestsPerPeer: 1 });
  const ticker = setInterval(() => sync2.tick(), 20);
  try {
    await until(() => reopened.height === 40, 10_000);
  } finally {
    clearInterval(ticker);
    sync2.stop();
  }
  assert.equal(reopened.state.root(), source.state.root());
});

test('a peer serving a bad header is penalised and its headers are not indexed', async () => {
  const g = powGenesis();
  const source = await buildChain(g, 5);
  const target = await Chain.open(new MemoryStore(), g, powRules(g), { now: () => 1_800_000_000_000 });
  const penalties: string[] = [];
  let sync: Synchronizer;
  const net: SyncNetwork = {
    peers: () => [{ id: 'liar', height: 5 }],
    requestHeaders(peer, locator, limit) {
      const hs = source.headersAfter(locator, limit).map((h) => ({ ...h, nonce: h.nonce + 1 }));
      setImmediate(() => void sync.onHeaders(peer, hs));
      return true;
    },
    requestBlocks: () => true,
    penalize: (peer, points, reason) => penalties.push(`${peer}:${points}:${reason}`),
  };
  sync = new Synchronizer(target, net, { now: () => 0 });
  sync.tick();
  await until(() => penalties.length > 0, 5000);
  assert.match(penalties[0]!, /^liar:20:bad header/);
  assert.equal(target.index.bestHeader().height, 0);
});

test('the next headers request goes out before a full batch is checked, after its last header', async () => {
  const g = powGenesis();
  const source = await buildChain(g, 120);
  const target = await Chain.open(new MemoryStore(), g, powRules(g), { now: () => 1_800_000_000_000 });
  const firstOfLocator: Hash[] = [];
  const checkedWhenAsked: number[] = [];
  let sync: Synchronizer;
  const net: SyncNetwork = {
    peers: () => [{ id: 'p', height: source.height }],
    requestHeaders(peer, locator, limit) {
      firstOfLocator.push(locator[0]!);
      checkedWhenAsked.push(target.index.bestHeader().height);
      setImmediate(() => void sync.onHeaders(peer, source.headersAfter(locator, limit)));
      return true;
    },
    requestBlocks: () => true,
    penalize: () => assert.fail('no penalty expected'),
  };
  sync = new Synchronizer(target, net, { now: () => 0, headersPerRequest: 50 });
  sync.askHeaders('p');
  await until(() => target.index.bestHeader().height === 120, 5_000);
  await until(() => firstOfLocator.length === 3, 5_000);
  // Batches end at heights 50 and 100; each next request names that last header first,
  // and was sent while the batch it follows was not yet indexed.
  assert.equal(firstOfLocator[1], source.index.main[50]!.hash);
  assert.equal(firstOfLocator[2], source.index.main[100]!.hash);
  assert.deepEqual(checkedWhenAsked, [0, 0, 50]);
});

test('an answer in another order than asked is taken whole, without penalty', async () => {
  const g = powGenesis();
  const source = await buildChain(g, 60);
  const target = await Chain.open(new MemoryStore(), g, powRules(g), { now: () => 1_800_000_000_000 });
  const penalties: string[] = [];
  let sync: Synchronizer;
  const net: SyncNetwork = {
    peers: () => [{ id: 'p', height: source.height }],
    requestHeaders(peer, locator, limit) {
      setImmediate(() => void sync.onHeaders(peer, source.headersAfter(locator, limit)));
      return true;
    },
    requestBlocks(peer, hashes) {
      setImmediate(async () => {
        const bs = await Promise.all(hashes.map((h) => source.getBlock(h)));
        await sync.onBlocks(peer, bs.reverse().map((b) => blockToJson(b!)));
      });
      return true;
    },
    penalize: (peer, points, reason) => penalties.push(reason),
  };
  sync = new Synchronizer(target, net, { now: () => 0, blocksPerRequest: 10 });
  sync.tick();
  await until(() => target.height === 60, 10_000);
  assert.deepEqual(penalties, []);
  assert.equal(target.state.root(), source.state.root());
});

test('one bad header batch costs the peer once, even with the next batch already asked for', async () => {
  const g = powGenesis();
  const source = await buildChain(g, 80);
  const target = await Chain.open(new MemoryStore(), g, powRules(g), { now: () => 1_800_000_000_000 });
  const penalties: string[] = [];
  let requests = 0;
  let sync: Synchronizer;
  const net: SyncNetwork = {
    peers: () => [{ id: 'p', height: source.height }],
    requestHeaders(peer, locator, limit) {
      requests++;
      // The peer serves header 35 with a timestamp before its ancestors': that batch fails its checks.
      const headers = source.headersAfter(locator, limit).map((h) => (h.height === 35 ? { ...h, timestamp: 1 } : h));
      setImmediate(() => void sync.onHeaders(peer, headers));
      return true;
    },
    requestBlocks: () => true,
    penalize: (peer, points, reason) => penalties.push(`${points}:${reason}`),
  };
  sync = new Synchronizer(target, net, { now: () => 0, headersPerRequest: 10 });
  sync.askHeaders('p');
  await until(() => penalties.length > 0, 5_000);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(penalties.length, 1, penalties.join('; '));
  assert.match(penalties[0]!, /^20:bad header/);
  assert.ok(requests <= 5, `asking stopped after the failure (${requests} requests)`);
  assert.equal(target.index.bestHeader().height < 35, true);
});

test('a peer whose answers stop short (its size limit) is asked for the rest at once, without penalty', async () => {
  const g = powGenesis();
  const source = await buildChain(g, 60);
  const target = await Chain.open(new MemoryStore(), g, powRules(g), { now: () => 1_800_000_000_000 });
  const penalties: string[] = [];
  let sync: Synchronizer;
  const net: SyncNetwork = {
    peers: () => [{ id: 'p', height: source.height }],
    requestHeaders(peer, locator, limit) {
      setImmediate(() => void sync.onHeaders(peer, source.headersAfter(locator, limit)));
      return true;
    },
    requestBlocks(peer, hashes) {
      setImmediate(async () => {
        const bs = await Promise.all(hashes.slice(0, 3).map((h) => source.getBlock(h)));
        await sync.onBlocks(peer, bs.map((b) => blockToJson(b!)));
      });
      return true;
    },
    penalize: (peer, points, reason) => penalties.push(reason),
  };
  sync = new Synchronizer(target, net, { now: () => 0, blocksPerRequest: 10 });
  // One tick and no timer: the rest of each batch must be asked for as the short answer comes in.
  sync.tick();
  await until(() => target.height === 60, 10_000);
  assert.deepEqual(penalties, []);
});

test('a peer answering empty is passed over for another; alone, it is asked again only at the periodic check', async () => {
  const g = powGenesis();
  const source = await buildChain(g, 80);
  const run = async (withHonest: boolean) => {
    const target = await Chain.open(new MemoryStore(), g, powRules(g), { now: () => 1_800_000_000_000 });
    const asked = new Map<string, number>();
    const penalties: string[] = [];
    let sync: Synchronizer;
    const net: SyncNetwork = {
      peers: () => [{ id: 'empty', height: 1_000_000 }, ...(withHonest ? [{ id: 'honest', height: source.height }] : [])],
      requestHeaders(peer, locator, limit) {
        if (peer === 'honest' || !withHonest) setImmediate(() => void sync.onHeaders(peer, source.headersAfter(locator, limit)));
        return true;
      },
      requestBlocks(peer, hashes) {
        asked.set(peer, (asked.get(peer) ?? 0) + 1);
        setImmediate(async () => {
          const bs = peer === 'empty' ? [] : await Promise.all(hashes.map((h) => source.getBlock(h)));
          await sync.onBlocks(peer, bs.map((b) => blockToJson(b!)));
        });
        return true;
      },
      penalize: (peer, points, reason) => penalties.push(`${peer}: ${reason}`),
    };
    sync = new Synchronizer(target, net, { now: () => 0, blocksPerRequest: 10, requestsPerPeer: 2 });
    return { target, asked, penalties, sync: () => sync };
  };

  const two = await run(true);
  two.sync().tick();
  await until(() => two.target.height === 80, 10_000);
  // 80 blocks in batches of 10: the empty peer may get each batch once, never one it failed.
  assert.ok((two.asked.get('empty') ?? 0) <= 8, `the empty peer was asked ${two.asked.get('empty')} times`);
  assert.deepEqual(two.penalties, [], 'an empty answer is no offence (an honest peer on another branch gives one)');

  const alone = await run(false);
  alone.sync().tick();
  await until(() => (alone.asked.get('empty') ?? 0) >= 2 && alone.target.index.bestHeader().height === 80, 5_000);
  await new Promise((r) => setTimeout(r, 50));
  const before = alone.asked.get('empty')!;
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(alone.asked.get('empty'), before, 'not asked again until the periodic check');
  alone.sync().tick();
  await until(() => alone.asked.get('empty')! > before, 2_000);
  assert.equal(alone.target.height, 0);
});

test('headers and blocks ahead of our clock are refused without blaming the peer (its clock or ours may be off)', async () => {
  const g = powGenesis();
  const source = await buildChain(g, 30);
  // This node's clock runs a day behind the chain it is offered.
  const target = await Chain.open(new MemoryStore(), g, powRules(g), { now: () => g.timestamp - 24 * 3600_000 });
  const penalties: string[] = [];
  let sync: Synchronizer;
  const net = onePeer(source, () => sync, (answer) => setImmediate(() => void answer()), (_peer, _points, reason) => penalties.push(reason));
  sync = new Synchronizer(target, net, { now: () => 0 });
  sync.tick();
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(target.index.bestHeader().height, 0, 'nothing taken while it is in the future');
  assert.equal(penalties.length, 0, penalties.join('; '));
  // Blocks offered whole (a gossiped block, a sync answer) are not charged either.
  const b1 = await source.getBlock(source.index.main[1]!.hash);
  await sync.onBlocks('p', [blockToJson(b1!)]).catch(() => undefined);
  assert.equal(penalties.filter((p) => p.startsWith('invalid block')).length, 0, penalties.join('; '));
});
