// One hop, in process: A announces prebuilt blocks one at a time; B (LevelDB) receives, connects, relays nowhere.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';
import { addressFromPublicKey, keyPairFromSeed } from '/work/main/src/crypto/index.ts';
import { assembleBlock, bitsForLeadingZeroBits, blockHash, buildGenesisBlock, checkProofOfWork, parseGenesis, unwrap, type Block } from '/work/main/src/core/index.ts';
import { MemoryStore } from '/work/main/src/storage/index.ts';
import { NodeRuntime } from '/work/main/src/node/runtime.ts';
import { createLogger } from '/work/main/src/node/logger.ts';
const g = unwrap(parseGenesis({ network: 'public', chainId: 'hop', timestamp: Date.now() - 10_000_000, consensus: { type: 'pow', targetBlockTimeMs: 1000, initialBits: bitsForLeadingZeroBits(1), powLimitBits: bitsForLeadingZeroBits(1), retargetInterval: 1_000_000, maxAdjustFactor: 4, reward: '50', halvingInterval: 0 }, alloc: [] }));
const gb = buildGenesisBlock(g); const ctx = { chainId: g.chainId, params: g.params, consensus: g.consensus };
let state = gb.state, prev = gb.hash, ts = gb.block.header.timestamp; const blocks: Block[] = [];
const miner = addressFromPublicKey(keyPairFromSeed(Buffer.alloc(32, 7)).publicKey);
for (let h = 1; h <= 400; h++) { ts += 1000; const r = unwrap(assembleBlock(state, [], { parentHash: prev, parentHeight: h - 1, timestamp: ts, bits: gb.block.header.bits, coinbaseTo: miner }, ctx)); let header = r.block.header; while (!checkProofOfWork(header).ok) header = { ...header, nonce: header.nonce + 1 }; blocks.push({ ...r.block, header }); state = r.state; prev = blockHash(header); }
const log = createLogger({ silent: true });
const a = await NodeRuntime.start({ name: 'a', dataDir: '', genesis: g, key: keyPairFromSeed(Buffer.alloc(32, 1)), log, host: '127.0.0.1', wsPort: 0, peers: [], store: new MemoryStore() });
const dir = mkdtempSync(join(tmpdir(), 'hop-'));
const b = await NodeRuntime.start({ name: 'b', dataDir: dir, genesis: g, key: keyPairFromSeed(Buffer.alloc(32, 2)), log, host: '127.0.0.1', peers: [a.net.listenAddresses()[0]!], api: process.env.API ? { host: '127.0.0.1', port: 0 } : undefined });
while (b.net.peers().length === 0) await new Promise((r) => setTimeout(r, 20));
const s = new Session(); s.connect(); await s.post('Profiler.enable'); await s.post('Profiler.setSamplingInterval', { interval: 50 }); await s.post('Profiler.start');
const lat: number[] = []; const cpu0 = process.cpuUsage();
for (const blk of blocks) {
  await a.node.chain.submitBlock(blk);
  const t0 = performance.now();
  a.gossip.announce('block', blockHash(blk.header));
  while (b.node.chain.height < blk.header.height) await new Promise((r) => setImmediate(r));
  lat.push(performance.now() - t0);
}
const cpu = process.cpuUsage(cpu0);
const { profile } = await s.post('Profiler.stop'); writeFileSync('/tmp/hop.cpuprofile', JSON.stringify(profile));
lat.sort((x, y) => x - y);
console.log(`hop p50 ${lat[200]!.toFixed(2)} p99 ${lat[396]!.toFixed(2)} ms; cpu per block (both nodes) ${((cpu.user + cpu.system) / 1000 / blocks.length).toFixed(2)} ms`);
await b.stop(); await a.stop(); process.exit(0);
