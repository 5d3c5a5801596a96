/**
 * Crash consistency of LevelStore: a child process writes blocks (and reorgs)
 * as fast as it can and is killed with SIGKILL at a random instant, many times
 * over on the same directory. After every kill the store must reopen at a
 * complete block whose state, indexes and record histories all agree.
 *
 * PEERCHAIN_CRASH_RUNS sets the number of kill/reopen cycles (default 40).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { applyBlock, blockHash, historyHashOf, txId, type Block, type Hash } from '../../src/core/index.ts';
import { LevelStore } from '../../src/storage/index.ts';
import { blockContext, testGenesisBlock } from './fixtures/chain.ts';

const RUNS = Math.max(1, Number(process.env.PEERCHAIN_CRASH_RUNS ?? 40) || 40);
/** Replaying the whole chain grows with its length, so it runs every few kills and after the last. */
const REPLAY_EVERY = 5;
const READY_TIMEOUT_MS = 20_000;
const EXIT_TIMEOUT_MS = 10_000;

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, '..', '..');
const writer = join(here, 'fixtures', 'store-writer.ts');

const live = new Set<ChildProcess>();
const dirs: string[] = [];
after(async () => {
  for (const c of live) c.kill('SIGKILL');
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

interface Writer {
  readonly child: ChildProcess;
  /** Resolves with the height the writer started at, once it is writing. */
  readonly ready: Promise<number>;
  /** Resolves when the process has exited. */
  readonly exited: Promise<void>;
  /** Main-chain changes the writer reported. */
  changes(): number;
  stderr(): string;
}

function startWriter(db: string, seed: number): Writer {
  const child = spawn(process.execPath, ['--import', 'tsx', writer, db, String(seed)], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let err = '';
  let changes = 0;
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => (live.delete(child), resolve())));
  const ready = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`writer not ready after ${READY_TIMEOUT_MS} ms: ${err}`)), READY_TIMEOUT_MS);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.startsWith('ready ')) {
        clearTimeout(timer);
        resolve(Number(line.slice(6)));
      } else if (line.startsWith('height ')) changes++;
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`writer exited before it was ready (code ${child.exitCode}): ${err}`));
    });
  });
  return { child, ready, exited, changes: () => changes, stderr: () => err };
}

/** Kills the writer and waits, bounded, for it to be gone. */
async function kill(w: Writer): Promise<void> {
  if (w.child.exitCode !== null || w.child.signalCode !== null) {
    throw new Error(`writer died on its own (code ${w.child.exitCode}): ${w.stderr()}`);
  }
  w.child.kill('SIGKILL');
  const stop = new AbortController();
  const timeout = sleep(EXIT_TIMEOUT_MS, undefined, { signal: stop.signal }).then(() => {
    throw new Error(`writer still alive ${EXIT_TIMEOUT_MS} ms after SIGKILL`);
  });
  try {
    await Promise.race([w.exited, timeout]);
  } finally {
    // A pending timer would hold the test process open long after the test ends.
    stop.abort();
    timeout.catch(() => undefined);
  }
}

/** Every invariant a reopened store must hold; returns the tip height. */
async function checkStore(store: LevelStore, replay: boolean): Promise<number> {
  const tip = await store.getTip();
  assert.ok(tip !== undefined, 'the store has a tip');
  const genesis = testGenesisBlock();
  const blocks: Block[] = [];
  let prev: Hash | undefined;
  for (let h = 0; h <= tip.height; h++) {
    const hash = await store.getHashAtHeight(h);
    assert.ok(hash !== undefined, `height ${h} of ${tip.height} has a block hash`);
    const block = await store.getBlock(hash);
    assert.ok(block !== undefined, `block ${hash} at height ${h} is stored`);
    assert.equal(blockHash(block.header), hash, `block at height ${h} hashes to its index entry`);
    assert.equal(block.header.height, h);
    if (prev !== undefined) assert.equal(block.header.prevHash, prev, `block ${h} links to block ${h - 1}`);
    else assert.equal(hash, genesis.hash, 'height 0 is the genesis block');
    prev = hash;
    blocks.push(block);
  }
  assert.equal(prev, tip.hash, 'the tip is the last indexed block');
  assert.equal(await store.getHashAtHeight(tip.height + 1), undefined, 'no height index above the tip');
  const tipBlock = blocks[tip.height]!;
  for (const [i, tx] of tipBlock.txs.entries()) {
    assert.deepEqual(await store.getTxLocation(txId(tx)), { blockHash: tip.hash, height: tip.height, index: i }, `tip tx ${i} is indexed`);
  }
  const state = await store.loadState();
  assert.equal(state.root(), tipBlock.header.stateRoot, 'the stored state is the state of the tip');
  for (const e of state.entries()) {
    if (e.t !== 'record') continue;
    const history = await store.getRecordHistory(e.key);
    assert.equal(history.length, e.record.updates, `record ${e.key}: history length is its update count`);
    assert.equal(historyHashOf(history), e.record.historyHash, `record ${e.key}: history hash`);
    assert.equal(history.at(-1)?.txId, e.record.txId, `record ${e.key}: the last entry is the latest write`);
  }
  if (replay) {
    const ctx = blockContext();
    let s = genesis.state;
    for (let h = 1; h <= tip.height; h++) s = assertOk(applyBlock(s, blocks[h]!, ctx), h).state;
    assert.equal(s.root(), state.root(), 'replaying the chain from genesis gives the stored state');
  }
  return tip.height;
}

function assertOk<T>(r: { ok: true; value: T } | { ok: false; error: { message: string } }, h: number): T {
  if (!r.ok) assert.fail(`replay of block ${h}: ${r.error.message}`);
  return r.value;
}

test(`LevelStore survives ${RUNS} SIGKILLs during writes`, { timeout: 60_000 + RUNS * 5_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'peerchain-crash-'));
  dirs.push(dir);
  const db = join(dir, 'db');
  const started = Date.now();
  let changes = 0;
  let replays = 0;
  let height = 0;
  for (let run = 0; run < RUNS; run++) {
    const w = startWriter(db, run + 1);
    try {
      const from = await w.ready;
      assert.equal(from, height, `run ${run}: the writer starts where the last check ended`);
      await sleep(30 + Math.floor(Math.random() * 270));
      await kill(w);
    } finally {
      if (live.has(w.child)) w.child.kill('SIGKILL');
    }
    changes += w.changes();
    const replay = (run + 1) % REPLAY_EVERY === 0 || run === RUNS - 1;
    const store = await LevelStore.open(db);
    try {
      height = await checkStore(store, replay);
    } catch (e) {
      (e as Error).message = `after kill ${run + 1} of ${RUNS}: ${(e as Error).message}`;
      throw e;
    } finally {
      await store.close();
    }
    if (replay) replays++;
  }
  assert.ok(height > 0 && changes > RUNS, `the writers made progress (${changes} chain changes, final height ${height})`);
  t.diagnostic(`${RUNS} kill/reopen cycles, ${changes} main-chain changes reported, final height ${height}, ${replays} full replays, ${Date.now() - started} ms`);
});
