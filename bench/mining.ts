/** Mining: hashes per second of the miner against raw double SHA-256 on the same cores. */
import { cpus } from 'node:os';
import { encodeHeader, NO_PROPOSER, type BlockHeader } from '../src/core/index.ts';
import { Miner } from '../src/consensus/pow/miner.ts';
import { rawSha256dRate, rawSha256dRateProcs } from './ceilings.ts';
import { report, type BenchRow } from './report.ts';

const header: BlockHeader = {
  version: 1,
  chainId: 'peerchain-bench',
  height: 1000,
  prevHash: 'ab'.repeat(32),
  timestamp: Date.now(),
  txRoot: 'cd'.repeat(32),
  stateRoot: 'ef'.repeat(32),
  // An impossible target: the miner hashes for the whole window.
  bits: 0x03000001,
  nonce: 0,
  proposer: NO_PROPOSER,
};

async function minerRate(threads: number, seconds: number): Promise<number> {
  const m = new Miner(threads);
  m.start();
  m.setTemplate(header);
  await new Promise((r) => setTimeout(r, 700)); // process start-up is not hashing time
  const h0 = m.totalHashes;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const rate = ((m.totalHashes - h0) * 1000) / (performance.now() - t0);
  await m.stop();
  return rate;
}

/** Runs the mining bench. */
export async function run(): Promise<void> {
  const bytes = encodeHeader(header);
  const cores = cpus().length;
  const rows: BenchRow[] = [];
  const raw1 = rawSha256dRate(bytes);
  rows.push({ name: 'miner, in-process (1 core)', value: await minerRate(0, 3), unit: 'H/s', ceiling: raw1, ceilingName: 'raw sha256d, 1 core', target: '>= 90%' });
  const rawN = await rawSha256dRateProcs(bytes, cores);
  rows.push({ name: `miner, ${cores} processes`, value: await minerRate(cores, 3), unit: 'H/s', ceiling: rawN, ceilingName: `raw sha256d, ${cores} processes`, target: '>= 90%' });
  report('mining', rows, { headerBytes: bytes.length });
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
