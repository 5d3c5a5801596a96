/**
 * The peer a sync bench node downloads from, in its own process as a real
 * peer would be: it builds the chain, stores it in LevelDB, serves it, and
 * tells its parent (over IPC) where it listens and its state root.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keyPairFromSeed } from '../src/crypto/index.ts';
import { NodeRuntime } from '../src/node/runtime.ts';
import { createLogger } from '../src/node/logger.ts';
import { buildBlocks, genesisFor, type SyncChainKind } from './sync-chain.ts';

/** What the source tells its parent once it serves the chain. */
export interface SourceReady {
  readonly address: string;
  readonly height: number;
  readonly stateRoot: string;
}

const kind = process.argv[2] as SyncChainKind;
const n = Number(process.argv[3]);
const g = genesisFor(kind);
const blocks = buildBlocks(kind, n);
const dir = mkdtempSync(join(tmpdir(), 'peerchain-bench-sync-source-'));
const src = await NodeRuntime.start({ name: 'source', dataDir: dir, genesis: g, key: keyPairFromSeed(Buffer.alloc(32, 1)), log: createLogger({ silent: true }), host: '127.0.0.1', wsPort: 0, peers: [] });
// Fed in runs, as a sync would: each run is checked and written as one batch.
for (let i = 0; i < blocks.length; i += 500) {
  for (const r of await src.node.chain.submitBlocks(blocks.slice(i, i + 500))) {
    if (r.status !== 'connected') throw new Error(`source refused a block: ${JSON.stringify(r)}`);
  }
}
const ready: SourceReady = { address: src.net.listenAddresses()[0]!, height: src.node.chain.height, stateRoot: src.node.chain.state.root() };
const cpuAtReady = process.cpuUsage();
process.send!(ready);
// The parent disconnects (or dies): stop serving and clean up.
process.on('disconnect', () => {
  if (process.env.PEERCHAIN_BENCH_DEBUG) {
    const c = process.cpuUsage(cpuAtReady);
    console.error(`source: serving used ${((c.user + c.system) / 1000).toFixed(0)} ms of CPU`);
  }
  void src.stop().finally(() => {
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  });
});
