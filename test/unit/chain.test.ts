import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blockHash, buildGenesisBlock, checkProofOfWork, txId, txRootOf, type Block, type Genesis, type State } from '../../src/core/index.ts';
import { Chain, ChainError, powRules } from '../../src/chain/index.ts';
import { MemoryStore } from '../../src/storage/index.ts';
import { addrs, mineBlock, powGenesis, transfer } from '../helpers/chain-fixtures.ts';

interface Tip {
  hash: string;
  height: number;
  timestamp: number;
  bits: number;
  state: State;
}

function genesisTip(g: Genesis): Tip {
  const gb = buildGenesisBlock(g);
  return { hash: gb.hash, height: 0, timestamp: gb.block.header.timestamp, bits: gb.block.header.bits, state: gb.state };
}

function next(g: Genesis, parent: Tip, txs = [] as ReturnType<typeof transfer>[], miner = addrs[2]!): { block: Block; tip: Tip } {
  const { block, state } = mineBlock(g, parent, txs, miner);
  return { block, tip: { hash: blockHash(block.header), height: block.header.height, timestamp: block.header.timestamp, bits: block.header.bits, state } };
}

async function open(g: Genesis, store = new MemoryStore()): Promise<Chain> {
  return Chain.open(store, g, powRules(g), { now: () => 1_800_000_000_000 });
}

test('blocks extend the main chain and the state follows', async () => {
  const g = powGenesis();
  const chain = await open(g);
  let tip = genesisTip(g);
  const a = next(g, tip, [transfer(0, 3, 0, 100n)]);
  assert.deepEqual(await chain.submitBlock(a.block), { status: 'connected', hash: a.tip.hash });
  assert.equal(chain.height, 1);
  assert.equal(chain.state.account(addrs[3]!).balance, 100n);
  assert.equal((await chain.submitBlock(a.block)).status, 'duplicate');
  tip = a.tip;
  const b = next(g, tip);
  assert.equal((await chain.submitBlock(b.block)).status, 'connected');
  assert.equal(chain.state.root(), b.block.header.stateRoot);
});

test('a branch with more work reorganises the chain and reports dropped transactions', async () => {
  const g = powGenesis();
  const chain = await open(g);
  const g0 = genesisTip(g);
  const tx = transfer(0, 3, 0, 100n);
  const a1 = next(g, g0, [tx]);
  await chain.submitBlock(a1.block);
  const reorgs: { disconnected: Block[]; connected: Block[] }[] = [];
  chain.on('reorg', (r) => reorgs.push(r));
  const b1 = next(g, g0, [], addrs[1]!);
  assert.equal((await chain.submitBlock(b1.block)).status, 'side', 'equal work keeps the first-seen tip');
  const b2 = next(g, b1.tip, [], addrs[1]!);
  assert.equal((await chain.submitBlock(b2.block)).status, 'reorg');
  assert.equal(chain.tip.hash, b2.tip.hash);
  assert.equal(chain.state.root(), b2.tip.state.root());
  assert.equal(chain.state.account(addrs[3]!).balance, 0n, 'the transfer was undone');
  assert.equal(reorgs.length, 1);
  assert.deepEqual(Chain.droppedTxs(reorgs[0]!.disconnected).map((t) => t.sig), [tx.sig]);
});

test('orphans wait for their parent and then connect', async () => {
  const g = powGenesis();
  const chain = await open(g);
  const a1 = next(g, genesisTip(g));
  const a2 = next(g, a1.tip);
  const a3 = next(g, a2.tip);
  assert.deepEqual(await chain.submitBlock(a3.block), { status: 'orphan', hash: a3.tip.hash, missing: a2.tip.hash });
  assert.equal((await chain.submitBlock(a2.block)).status, 'orphan');
  assert.equal(chain.orphanCount, 2);
  await chain.submitBlock(a1.block);
  assert.equal(chain.height, 3);
  assert.equal(chain.orphanCount, 0);
});

test('the orphan pool stays bounded', async () => {
  const g = powGenesis();
  const chain = await Chain.open(new MemoryStore(), g, powRules(g), { now: () => 1_800_000_000_000, maxOrphans: 3 });
  let t = next(g, genesisTip(g)).tip;
  for (let i = 0; i < 6; i++) {
    const n = next(g, t);
    t = n.tip;
    await chain.submitBlock(n.block);
  }
  assert.equal(chain.orphanCount, 3);
});

test('invalid blocks are refused with a named error and an event naming the peer', async () => {
  const g = powGenesis();
  const chain = await open(g);
  const events: { error: { code: string }; from?: string }[] = [];
  chain.on('invalid', (e) => events.push(e));
  const g0 = genesisTip(g);
  const good = next(g, g0);
  // An inflated coinbase changes the tx root: re-mine so only the coinbase rule fails.
  const cb = good.block.txs[0]!;
  assert.equal(cb.kind, 'coinbase');
  const inflated = { ...good.block, txs: [{ ...cb, amount: 5000n } as typeof cb] };
  const r1 = await chain.submitBlock(inflated, 'peer-x');
  assert.equal(r1.status === 'invalid' && r1.error.code, 'BAD_TX_ROOT', 'a body that does not match its header');
  // A correctly committed block with an inflated coinbase.
  const { block: greedy } = mineBlock(g, g0, [], addrs[2]!);
  const cb2 = greedy.txs[0]!;
  const txs = [{ ...cb2, amount: 5000n } as typeof cb2];
  let gh = { ...greedy.header, txRoot: txRootOf(txs) };
  while (!checkProofOfWork(gh).ok) gh = { ...gh, nonce: gh.nonce + 1 };
  const r3 = await chain.submitBlock({ header: gh, txs }, 'peer-z');
  assert.equal(r3.status === 'invalid' && r3.error.code, 'BAD_COINBASE');
  const r2 = await chain.submitBlock({ ...good.block, header: { ...good.block.header, bits: 0x1d00ffff } }, 'peer-y');
  assert.equal(r2.status === 'invalid' && r2.error.code, 'BAD_TARGET');
  assert.ok(events.some((e) => e.from === 'peer-y'));
  assert.equal(chain.height, 0);
  assert.equal((await chain.submitBlock(good.block)).status, 'connected');
});

test('a branch whose body breaks a rule is abandoned and the old chain kept', async () => {
  const g = powGenesis();
  const chain = await open(g);
  const g0 = genesisTip(g);
  const a1 = next(g, g0);
  await chain.submitBlock(a1.block);
  // b1 spends more than the sender has: its header is fine, its state transition is not.
  const b1 = next(g, g0, [], addrs[1]!);
  const bad = { ...b1.block, header: { ...b1.block.header, stateRoot: 'ab'.repeat(32) } };
  let h = bad.header;
  while (!blockHash(h).match(/^[0-3]/)) h = { ...h, nonce: h.nonce + 1 };
  const badBlock = { ...bad, header: h };
  await chain.submitBlock(badBlock);
  const badTip: Tip = { ...b1.tip, hash: blockHash(h), timestamp: h.timestamp };
  const b2 = next(g, badTip, [], addrs[1]!);
  const r = await chain.submitBlock(b2.block);
  assert.equal(r.status, 'invalid');
  assert.equal(chain.tip.hash, a1.tip.hash);
  assert.equal(chain.state.root(), a1.tip.state.root());
});

test('a run of blocks is connected with one write; a bad one stops the run where it is', async () => {
  const g = powGenesis();
  const store = new MemoryStore();
  const chain = await open(g, store);
  let tip = genesisTip(g);
  const run: Block[] = [];
  for (let i = 0; i < 5; i++) {
    const n = next(g, tip, i === 1 ? [transfer(0, 3, 0, 100n)] : []);
    run.push(n.block);
    tip = n.tip;
  }
  let writes = 0;
  const connectBlocks = store.connectBlocks.bind(store);
  store.connectBlocks = (ws) => {
    writes++;
    return connectBlocks(ws);
  };
  const events: number[] = [];
  chain.on('connected', ({ block }) => events.push(block.header.height));
  // In order: one write for the whole run.
  assert.deepEqual(
    (await chain.submitBlocks([run[0]!, run[1]!])).map((x) => x.status),
    ['connected', 'connected'],
  );
  assert.equal(writes, 1);
  // Out of order and with a duplicate: 3 waits as an orphan, and so does 4 (its parent is that orphan); both are adopted.
  const r = await chain.submitBlocks([run[3]!, run[2]!, run[2]!]);
  assert.deepEqual(
    r.map((x) => x.status),
    ['orphan', 'connected', 'duplicate'],
  );
  assert.equal(chain.height, 4);
  assert.deepEqual(events, [1, 2, 3, 4]);
  assert.equal(chain.state.account(addrs[3]!).balance, 100n);
  // A block whose state root lies: it is refused, those before it stay connected.
  const good = next(g, tip);
  const lie = next(g, good.tip);
  let h = { ...lie.block.header, stateRoot: 'ab'.repeat(32) };
  while (!checkProofOfWork(h).ok) h = { ...h, nonce: h.nonce + 1 };
  const r2 = await chain.submitBlocks([run[4]!, good.block, { ...lie.block, header: h }]);
  assert.deepEqual(
    r2.map((x) => x.status),
    ['connected', 'connected', 'invalid'],
  );
  assert.equal(chain.height, 6);
  assert.equal(chain.tip.hash, good.tip.hash);
  const reopened = await open(g, store);
  assert.equal(reopened.tip.hash, good.tip.hash);
  assert.equal(reopened.state.root(), good.tip.state.root());
});

test('the chain runs ahead of a slow write; store reads and persisted() wait for it; a reopen sees only what landed', async () => {
  const g = powGenesis();
  const store = new MemoryStore();
  const chain = await open(g, store);
  // A backend whose next writes take until the test lets them land (as LevelDB's thread can, on a busy machine).
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => (release = r));
  const kv = (store as unknown as { kv: { write: (ops: unknown) => Promise<void> } }).kv;
  const write = kv.write.bind(kv);
  kv.write = (ops) => gate.then(() => write(ops));
  const a = next(g, genesisTip(g), [transfer(0, 3, 0, 100n)]);
  assert.equal((await chain.submitBlock(a.block)).status, 'connected');
  // In memory at once; on disk only when the write lands.
  assert.equal(chain.height, 1);
  let persisted = false;
  const p = chain.persisted().then(() => (persisted = true));
  let stored: number | undefined;
  const read = store.getTip().then((t) => (stored = t?.height));
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(persisted, false);
  assert.equal(stored, undefined, 'a read waits for the write handed over before it');
  release();
  await Promise.all([p, read]);
  assert.equal(stored, 1);
  assert.equal((await store.getTxLocation(txId(a.block.txs[1]!)))?.height, 1);
  const reopened = await open(g, store);
  assert.equal(reopened.tip.hash, a.tip.hash);
});

test('a failed write stops the chain: storeFailed once, persisted() rejects, further blocks are refused', async () => {
  const g = powGenesis();
  const store = new MemoryStore();
  const chain = await open(g, store);
  store.connectBlocks = () => Promise.reject(new Error('disk full'));
  const failures: string[] = [];
  chain.on('storeFailed', ({ error }) => failures.push(error.message));
  const a = next(g, genesisTip(g));
  assert.equal((await chain.submitBlock(a.block)).status, 'connected');
  await assert.rejects(chain.persisted(), /disk full/);
  assert.deepEqual(failures, ['disk full']);
  const b = next(g, a.tip);
  await assert.rejects(chain.submitBlock(b.block), (e: Error) => e instanceof ChainError && /the store failed.*disk full/.test(e.message));
  assert.deepEqual(failures, ['disk full']);
  // The store still holds the chain up to the last write that landed.
  assert.equal((await open(g, store)).height, 0);
});

test('a reorganisation waits for pending writes: one that fails stops it before anything stored is removed', async () => {
  const g = powGenesis();
  const store = new MemoryStore();
  const chain = await open(g, store);
  const p1 = next(g, genesisTip(g));
  await chain.submitBlock(p1.block);
  await chain.persisted();
  // The next write hangs until the test fails it.
  const kv = (store as unknown as { kv: { write: (ops: unknown) => Promise<void> } }).kv;
  const write = kv.write.bind(kv);
  let fail: (e: Error) => void = () => undefined;
  const gate = new Promise<void>((_, rej) => (fail = rej));
  let first = true;
  kv.write = (ops) => {
    if (!first) return write(ops);
    first = false;
    return gate;
  };
  const a2 = next(g, p1.tip);
  assert.equal((await chain.submitBlock(a2.block)).status, 'connected');
  const b2 = next(g, p1.tip, [], addrs[1]!);
  assert.equal((await chain.submitBlock(b2.block)).status, 'side');
  const disconnected: string[] = [];
  chain.on('disconnected', ({ hash }) => disconnected.push(hash));
  // b3 makes the other branch heavier: the switch must first see a2's write land.
  const b3 = next(g, b2.tip, [], addrs[1]!);
  const switched = chain.submitBlock(b3.block);
  await new Promise((r) => setTimeout(r, 10));
  fail(new Error('disk full'));
  await assert.rejects(switched, /disk full/);
  assert.deepEqual(disconnected, []);
  assert.equal((await store.getTip())?.hash, p1.tip.hash, 'the stored block below the failed write stays');
});

test('reopening a store continues from its tip; another genesis is refused', async () => {
  const g = powGenesis();
  const store = new MemoryStore();
  const chain = await open(g, store);
  const a1 = next(g, genesisTip(g), [transfer(0, 1, 0)]);
  await chain.submitBlock(a1.block);
  const again = await open(g, store);
  assert.equal(again.tip.hash, a1.tip.hash);
  assert.equal(again.state.root(), a1.tip.state.root());
  await assert.rejects(open(powGenesis({ zeroBits: 3 }), store), ChainError);
});

test('headers first: headers are indexed without bodies, then bodies connect', async () => {
  const g = powGenesis();
  const chain = await open(g);
  const a1 = next(g, genesisTip(g));
  const a2 = next(g, a1.tip);
  const r = await chain.addHeaders([a1.block.header, a2.block.header]);
  assert.equal(r.ok, true);
  assert.equal(chain.index.bestHeader().hash, a2.tip.hash);
  assert.equal(chain.height, 0);
  await chain.submitBlock(a2.block);
  assert.equal(chain.height, 0, 'a body whose parent body is missing waits');
  await chain.submitBlock(a1.block);
  assert.equal(chain.height, 2);
  assert.deepEqual(chain.headersAfter([a1.tip.hash], 10), [a2.block.header]);
  const bad = await chain.addHeaders([{ ...a2.block.header, prevHash: 'ee'.repeat(32) }]);
  assert.equal(bad.ok, false);
});
