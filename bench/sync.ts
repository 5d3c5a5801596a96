/**
 * Sync: a fresh node downloading a chain from one peer over the real P2P
 * stack, with full validation (proof, target, signatures, state root) and
 * persistence in LevelDB. Empty blocks are compared with naivechain's 264 ms
 * for 10,000 blocks on this machine kind (which skips both and sends the
 * chain as one message); blocks of transfers with the Ed25519 ceiling.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addressFromPublicKey, keyPairFromSeed, type KeyPair } from '../src/crypto/index.ts';
import { assembleBlock, bitsForLeadingZeroBits, blockHash, buildGenesisBlock, checkProofOfWork, parseGenesis, signTx, unwrap, type Block, type Genesis, type SignedTx } from '../src/core/index.ts';
import { MemoryStore } from '../src/storage/index.ts';
import { NodeRuntime } from '../src/node/runtime.ts';
import { createLogger } from '../src/node/logger.ts';
import { rawVerifyRate } from './ceilings.ts';
import { report, type BenchRow } from './report.ts';
import { profiled } from './profile.ts';

const BLOCKS = Number(process.env.PEERCHAIN_BENCH_BLOCKS ?? 10_000);
const TX_PER_BLOCK = 20;

function genesisFor(senders: KeyPair[]): Genesis {
  return unwrap(
    parseGenesis({
      network: 'public',
      chainId: 'bench-sync',
      timestamp: 1_700_000_000_000,
      // The easiest target and no retarget: the bench measures sync, not mining.
      consensus: { type: 'pow', targetBlockTimeMs: 1000, initialBits: bitsForLeadingZeroBits(1), powLimitBits: bitsForLeadingZeroBits(1), retargetInterval: 1_000_000, maxAdjustFactor: 4, reward: '50', halvingInterval: 0 },
      alloc: senders.map((k) => ({ address: addressFromPublicKey(k.publicKey), balance: '1000000000000' })),
    }),
  );
}

function buildBlocks(g: Genesis, n: number, txsFor: (height: number) => SignedTx[]): Block[] {
  const gb = buildGenesisBlock(g);
  const miner = addressFromPublicKey(keyPairFromSeed(Buffer.alloc(32, 0x77)).publicKey);
  const ctx = { chainId: g.chainId, params: g.params, consensus: g.consensus };
  let state = gb.state;
  let prev = gb.hash;
  let ts = gb.block.header.timestamp;
  const out: Block[] = [];
  for (let h = 1; h <= n; h++) {
    ts += 1000;
    const r = unwrap(assembleBlock(state, txsFor(h), { parentHash: prev, parentHeight: h - 1, timestamp: ts, bits: gb.block.header.bits, coinbaseTo: miner }, ctx));
    let header = r.block.header;
    while (!checkProofOfWork(header).ok) header = { ...header, nonce: header.nonce + 1 };
    const block = { ...r.block, header };
    out.push(block);
    state = r.state;
    prev = blockHash(header);
  }
  return out;
}

async function measure(name: string, g: Genesis, blocks: Block[]): Promise<number> {
  const log = createLogger(process.env.PEERCHAIN_BENCH_DEBUG ? { level: 'debug' } : { silent: true });
  const src = await NodeRuntime.start({ name: 'source', dataDir: '', genesis: g, key: keyPairFromSeed(Buffer.alloc(32, 1)), log, host: '127.0.0.1', wsPort: 0, peers: [], store: new MemoryStore() });
  for (const b of blocks) {
    const r = await src.node.chain.submitBlock(b);
    if (r.status !== 'connected') throw new Error(`source refused block ${b.header.height}: ${JSON.stringify(r)}`);
  }
  if (process.env.PEERCHAIN_BENCH_DEBUG) console.error(`source ready at ${src.node.chain.height}`);
  const dir = mkdtempSync(join(tmpdir(), 'peerchain-bench-sync-'));
  try {
    const t0 = performance.now();
    const dst = await NodeRuntime.start({ name: 'fresh', dataDir: dir, genesis: g, key: keyPairFromSeed(Buffer.alloc(32, 2)), log, host: '127.0.0.1', peers: [src.net.listenAddresses()[0]!] });
    await profiled(name, () => new Promise<void>((resolve, reject) => {
      const limit = setTimeout(() => reject(new Error(`sync did not finish: height ${dst.node.chain.height}`)), 600_000);
      const check = setInterval(() => {
        if (process.env.PEERCHAIN_BENCH_DEBUG && Math.random() < 0.02) console.error(`${Date.now() % 100000} fresh at ${dst.node.chain.height} best header ${dst.node.chain.index.bestHeader().height} peers ${dst.net.peers().length}`);
        if (dst.node.chain.height >= blocks.length) {
          clearInterval(check);
          clearTimeout(limit);
          resolve();
        }
      }, 2);
    }));
    const ms = performance.now() - t0;
    if (dst.node.chain.state.root() !== src.node.chain.state.root()) throw new Error('synced state differs from the source');
    await dst.stop();
    return ms;
  } finally {
    await src.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs the sync bench. */
export async function run(): Promise<void> {
  const rows: BenchRow[] = [];
  const empty = genesisFor([]);
  const emptyMs = await measure('sync-empty', empty, buildBlocks(empty, BLOCKS, () => []));
  rows.push({ name: `sync ${BLOCKS} empty blocks (validated, persisted)`, value: emptyMs, unit: 'ms', ceiling: (264 * BLOCKS) / 10_000, ceilingName: 'naivechain, no checks', target: '<= naivechain' });
  const senders = Array.from({ length: TX_PER_BLOCK }, (_, i) => keyPairFromSeed(Buffer.alloc(32, 10 + i)));
  const sink = addressFromPublicKey(keyPairFromSeed(Buffer.alloc(32, 0x99)).publicKey);
  const txg = genesisFor(senders);
  const txBlocks = Number(process.env.PEERCHAIN_BENCH_TX_BLOCKS ?? BLOCKS);
  const built = buildBlocks(txg, txBlocks, (h) => senders.map((k) => signTx({ kind: 'transfer', chainId: txg.chainId, from: k.publicKey, nonce: h - 1, fee: 1n, to: sink, amount: 1n }, k)));
  const ceiling = rawVerifyRate();
  const txMs = await measure('sync-transfers', txg, built);
  rows.push({ name: `sync ${txBlocks} blocks x ${TX_PER_BLOCK} transfers`, value: (txBlocks * TX_PER_BLOCK * 1000) / txMs, unit: 'tx/s', ceiling, ceilingName: 'raw Ed25519 verify, 1 core', target: '>= 50%' });
  report('sync', rows, { blocks: BLOCKS, txBlocks });
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
