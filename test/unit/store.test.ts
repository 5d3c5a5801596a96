/**
 * The Store contract, run against every backend: what the chain layer may rely
 * on whichever store a node uses.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { historyHashOf, State, txId, type Block, type Hash, type SignedTx } from '../../src/core/index.ts';
import { LevelStore, MemoryStore, openStore, type Store } from '../../src/storage/index.ts';
import { ADDRESSES, MINER, RECORD_KEYS, makeBlock, randomTxs, rng, testGenesisBlock } from '../integration/fixtures/chain.ts';

interface Backend {
  readonly name: string;
  /** A fresh empty store. */
  open(): Promise<Store>;
  /** Closes and reopens the same data, where the backend persists it. */
  reopen?(s: Store): Promise<Store>;
}

const tempDirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'peerchain-store-'));
  tempDirs.push(d);
  return d;
}

const backends: Backend[] = [
  { name: 'MemoryStore', open: async () => new MemoryStore() },
  {
    name: 'LevelStore',
    open: async () => LevelStore.open(join(await tempDir(), 'db')),
    reopen: async (s) => {
      await s.close();
      return LevelStore.open((s as LevelStore).dir);
    },
  },
];

interface Chained {
  hash: Hash;
  block: Block;
  state: State;
}

/** Genesis plus `n` blocks of random signed transactions, built in memory. */
function buildChain(n: number, seed = 1, txsPerBlock = 12): Chained[] {
  const g = testGenesisBlock();
  const chain: Chained[] = [{ hash: g.hash, block: g.block, state: g.state }];
  const r = rng(seed);
  for (let i = 0; i < n; i++) {
    const parent = chain[chain.length - 1]!;
    const { write, state } = makeBlock(parent.state, parent, randomTxs(parent.state, r, txsPerBlock));
    chain.push({ hash: write.hash, block: write.block, state });
  }
  return chain;
}

/** Writes the genesis and connects every block after it, recomputing each BlockWrite. */
async function writeChain(store: Store, chain: readonly Chained[]): Promise<void> {
  const g = chain[0]!;
  await store.writeGenesis(g.hash, g.block, g.state);
  for (let i = 1; i < chain.length; i++) await store.connectBlock(writeFor(chain, i));
}

function writeFor(chain: readonly Chained[], i: number) {
  const parent = chain[i - 1]!;
  const c = chain[i]!;
  const { write } = makeBlock(parent.state, parent, c.block.txs.filter((t): t is SignedTx => t.kind !== 'coinbase'));
  assert.equal(write.hash, c.hash, 'rebuilding a block must give the same hash');
  return write;
}

/** Checks everything the store says against the in-memory state of the block at its tip. */
async function assertMatches(store: Store, chain: readonly Chained[]): Promise<void> {
  const top = chain[chain.length - 1]!;
  assert.deepEqual(await store.getTip(), { hash: top.hash, height: top.block.header.height });
  for (const c of chain) {
    assert.equal(await store.getHashAtHeight(c.block.header.height), c.hash);
    assert.deepEqual(await store.getBlock(c.hash), c.block);
    for (const [i, tx] of c.block.txs.entries()) {
      assert.deepEqual(await store.getTxLocation(txId(tx)), { blockHash: c.hash, height: c.block.header.height, index: i });
    }
  }
  assert.equal(await store.getHashAtHeight(chain.length), undefined);
  const loaded = await store.loadState();
  assert.equal(loaded.root(), top.state.root());
  assert.equal(loaded.root(), top.block.header.stateRoot);
  for (const a of [...ADDRESSES, MINER]) {
    assert.deepEqual(await store.getAccount(a), top.state.hasAccount(a) ? top.state.account(a) : undefined);
  }
  for (const k of RECORD_KEYS) {
    const rec = top.state.record(k);
    assert.deepEqual(await store.getRecord(k), rec);
    const history = await store.getRecordHistory(k);
    assert.equal(history.length, rec?.updates ?? 0, `history length of ${k}`);
    if (rec !== undefined) assert.equal(historyHashOf(history), rec.historyHash);
  }
}

for (const backend of backends) {
  describe(`Store contract: ${backend.name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await backend.open();
    });
    afterEach(async () => {
      await store.close();
      await Promise.all(tempDirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
    });

    test('an empty store has no chain and an empty state', async () => {
      assert.equal(await store.getTip(), undefined);
      assert.equal(await store.getHashAtHeight(0), undefined);
      assert.equal(await store.getBlock('00'.repeat(32)), undefined);
      assert.equal(await store.getBlock('not a hash'), undefined);
      assert.equal(await store.hasBlock('zz'), false);
      assert.equal(await store.getTxLocation('xyz'), undefined);
      assert.equal((await store.loadState()).root(), State.empty().root());
      assert.deepEqual(await store.getRecordHistory('anything'), []);
    });

    test('writeGenesis stores block 0, its state and the tip, once', async () => {
      const g = testGenesisBlock();
      await store.writeGenesis(g.hash, g.block, g.state);
      assert.deepEqual(await store.getTip(), { hash: g.hash, height: 0 });
      assert.deepEqual(await store.getBlock(g.hash), g.block);
      assert.equal(await store.hasBlock(g.hash), true);
      assert.equal(await store.getHashAtHeight(0), g.hash);
      assert.deepEqual(await store.getAccount(ADDRESSES[0]!), { balance: 1_000_000_000_000n, nonce: 0 });
      assert.equal(await store.getAccount(MINER), undefined);
      assert.equal((await store.loadState()).root(), g.block.header.stateRoot);
      await assert.rejects(store.writeGenesis(g.hash, g.block, g.state), /genesis already written/);
    });

    test('writeGenesis rejects a state that is not the block state or a wrong hash', async () => {
      const g = testGenesisBlock();
      await assert.rejects(store.writeGenesis(g.hash, g.block, State.empty()), /state root/);
      await assert.rejects(store.writeGenesis('11'.repeat(32), g.block, g.state), /not the hash of its header/);
      assert.equal(await store.getTip(), undefined);
    });

    test('connectBlock appends blocks with indexes, state and record history', async () => {
      const chain = buildChain(6);
      await writeChain(store, chain);
      await assertMatches(store, chain);
    });

    test('getRecordHistory pages entries oldest first', async () => {
      const chain = buildChain(8, 7, 20);
      await writeChain(store, chain);
      const top = chain[chain.length - 1]!.state;
      const key = RECORD_KEYS.map((k) => [k, top.record(k)?.updates ?? 0] as const).sort((a, b) => b[1] - a[1])[0]![0];
      const all = await store.getRecordHistory(key);
      assert.ok(all.length >= 5, `record ${key} has ${all.length} entries`);
      assert.deepEqual(await store.getRecordHistory(key, 0, 2), all.slice(0, 2));
      assert.deepEqual(await store.getRecordHistory(key, 2, 3), all.slice(2, 5));
      assert.deepEqual(await store.getRecordHistory(key, all.length - 1, 10), all.slice(-1));
      assert.deepEqual(await store.getRecordHistory(key, all.length), []);
      assert.deepEqual(await store.getRecordHistory(key, 0, 0), []);
      assert.deepEqual(await store.getRecordHistory(key, -1), []);
      for (let i = 1; i < all.length; i++) assert.ok(all[i]!.height >= all[i - 1]!.height, 'history is in chain order');
      // Record keys that are prefixes of each other keep separate histories.
      assert.equal((await store.getRecordHistory('x')).length, top.record('x')?.updates ?? 0);
    });

    test('disconnectTip restores the exact previous state, indexes and history', async () => {
      const chain = buildChain(5, 3);
      await writeChain(store, chain);
      for (let i = chain.length - 1; i >= 1; i--) {
        const c = chain[i]!;
        const { hash, block } = await store.disconnectTip();
        assert.equal(hash, c.hash);
        assert.deepEqual(block, c.block);
        assert.equal((await store.loadState()).root(), chain[i - 1]!.block.header.stateRoot);
        assert.equal(await store.getHashAtHeight(i), undefined);
        assert.equal(await store.hasBlock(c.hash), true, 'the body stays as a side block');
        for (const tx of c.block.txs) assert.equal(await store.getTxLocation(txId(tx)), undefined);
        await assertMatches(store, chain.slice(0, i));
      }
      await assert.rejects(store.disconnectTip(), /genesis/);
      // The same blocks connect again after being disconnected.
      for (let i = 1; i < chain.length; i++) await store.connectBlock(writeFor(chain, i));
      await assertMatches(store, chain);
    });

    test('a fork replaces the tip after a disconnect', async () => {
      const chain = buildChain(3, 5);
      await writeChain(store, chain);
      const parent = chain[2]!;
      const fork = makeBlock(parent.state, parent, randomTxs(parent.state, rng(99), 9));
      assert.notEqual(fork.write.hash, chain[3]!.hash);
      await assert.rejects(store.connectBlock(fork.write), /height 3, the tip is at 3/);
      await store.disconnectTip();
      await store.connectBlock(fork.write);
      await assertMatches(store, [...chain.slice(0, 3), { hash: fork.write.hash, block: fork.write.block, state: fork.state }]);
    });

    test('connectBlock rejects blocks that do not extend the tip and changes nothing', async () => {
      const chain = buildChain(3, 11);
      const g = chain[0]!;
      await assert.rejects(store.connectBlock(writeFor(chain, 1)), /before genesis/);
      await store.writeGenesis(g.hash, g.block, g.state);
      await assert.rejects(store.connectBlock(writeFor(chain, 2)), /height 2, the tip is at 0/);
      await store.connectBlock(writeFor(chain, 1));
      // Right height, wrong parent: block 2 built on a different block 1.
      const other1 = makeBlock(g.state, g, randomTxs(g.state, rng(1234), 4));
      const other2 = makeBlock(other1.state, { hash: other1.write.hash, block: other1.write.block }, []);
      await assert.rejects(store.connectBlock(other2.write), /prevHash .* is not the tip/);
      const w = writeFor(chain, 2);
      await assert.rejects(store.connectBlock({ ...w, hash: '22'.repeat(32) }), /not the hash of its header/);
      await assert.rejects(store.connectBlock({ ...w, txIds: w.txIds.slice(1) }), /tx ids/);
      await assertMatches(store, chain.slice(0, 2));
    });

    test('connectBlocks writes a run in one batch, or nothing when one block does not fit', async () => {
      const chain = buildChain(6, 17);
      const g = chain[0]!;
      await store.writeGenesis(g.hash, g.block, g.state);
      // Block 4 is left out: 5 does not follow 3, so none of 1, 2, 3, 5 may land.
      await assert.rejects(store.connectBlocks([1, 2, 3, 5].map((i) => writeFor(chain, i))), /height 5, the tip is at 3/);
      await assertMatches(store, chain.slice(0, 1));
      assert.equal(await store.getHashAtHeight(1), undefined);
      await store.connectBlocks([1, 2, 3].map((i) => writeFor(chain, i)));
      await store.connectBlocks([]);
      await store.connectBlocks([4, 5, 6].map((i) => writeFor(chain, i)));
      await assertMatches(store, chain);
      // A batch writes each account once, with its last value; each block's undo still restores its own parent's.
      await store.disconnectTip();
      await assertMatches(store, chain.slice(0, 6));
      await store.disconnectTip();
      await assertMatches(store, chain.slice(0, 5));
      await store.connectBlocks([5, 6].map((i) => writeFor(chain, i)));
      await assertMatches(store, chain);
      assert.deepEqual(
        (await store.getBlocks([chain[2]!.hash, 'ff'.repeat(32), 'not hex', chain[6]!.hash])).map((b) => b?.header.height),
        [2, undefined, undefined, 6],
      );
    });

    test('concurrent connectBlock calls are serialised against the tip', async () => {
      const chain = buildChain(3, 13);
      const g = chain[0]!;
      await store.writeGenesis(g.hash, g.block, g.state);
      const w1 = writeFor(chain, 1);
      const results = await Promise.allSettled([store.connectBlock(w1), store.connectBlock(w1), store.connectBlock(writeFor(chain, 2))]);
      assert.deepEqual(
        results.map((r) => r.status),
        ['fulfilled', 'rejected', 'fulfilled'],
      );
      await store.connectBlock(writeFor(chain, 3));
      await assertMatches(store, chain);
    });

    test('putBlock stores a side block without touching the main chain', async () => {
      const chain = buildChain(2, 17);
      await writeChain(store, chain.slice(0, 2));
      const c = chain[2]!;
      await store.putBlock(c.hash, c.block);
      assert.equal(await store.hasBlock(c.hash), true);
      assert.deepEqual(await store.getBlock(c.hash), c.block);
      assert.deepEqual(await store.getTip(), { hash: chain[1]!.hash, height: 1 });
      assert.equal(await store.getHashAtHeight(2), undefined);
      await assert.rejects(store.putBlock('33'.repeat(32), c.block), /not the hash/);
    });

    test('meta values round-trip by name', async () => {
      assert.equal(await store.getMeta('peers'), undefined);
      await store.putMeta('peers', { book: ['ws://127.0.0.1:6001'], n: 2, ok: true, none: null });
      await store.putMeta('bans', []);
      assert.deepEqual(await store.getMeta('peers'), { book: ['ws://127.0.0.1:6001'], n: 2, ok: true, none: null });
      await store.putMeta('peers', 'replaced');
      assert.equal(await store.getMeta('peers'), 'replaced');
      assert.deepEqual(await store.getMeta('bans'), []);
      await assert.rejects(store.putMeta('bad', Number.NaN), /non-finite/);
    });

    if (backend.reopen !== undefined) {
      test('reopening keeps the chain, state, history and meta', async () => {
        const chain = buildChain(4, 19);
        await writeChain(store, chain);
        await store.putMeta('settings', { a: 1 });
        await store.disconnectTip();
        store = await backend.reopen!(store);
        await assertMatches(store, chain.slice(0, 4));
        assert.deepEqual(await store.getMeta('settings'), { a: 1 });
        await store.connectBlock(writeFor(chain, 4));
        store = await backend.reopen!(store);
        await assertMatches(store, chain);
      });
    }
  });
}

describe('openStore', () => {
  test('gives a memory store without a dir and a LevelStore with one', async () => {
    const mem = await openStore();
    assert.ok(mem instanceof MemoryStore);
    await mem.close();
    const dir = await mkdtemp(join(tmpdir(), 'peerchain-store-'));
    try {
      const lvl = await openStore(join(dir, 'nested', 'db'));
      assert.ok(lvl instanceof LevelStore);
      const g = testGenesisBlock();
      await lvl.writeGenesis(g.hash, g.block, g.state);
      await lvl.close();
      const again = await openStore(join(dir, 'nested', 'db'));
      assert.deepEqual(await again.getTip(), { hash: g.hash, height: 0 });
      await again.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
