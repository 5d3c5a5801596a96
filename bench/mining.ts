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
  // Process start-up is not hashing time: measure once every process has reported hashes.
  const ready = performance.now() + 10_000;
  while (m.totalHashes === 0 && performance.now() < ready) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 300));
  const h0 = m.totalHashes;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const rate = ((m.totalHashes - h0) * 1000) / (performance.now() - t0);
  await m.stop();
  return rate;
}

const ROUNDS = 3;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/**
 * Ceiling and miner measured in alternating rounds, and the median round
 * reported: this machine's speed drifts by a tenth or more from one second to
 * the next (a shared virtual machine), so a ceiling measured seconds apart
 * from its figure would make the ratio mostly noise.
 */
async function rounds(ceiling: () => Promise<number>, miner: () => Promise<number>): Promise<{ value: number; ceiling: number; ratios: number[] }> {
  const pairs: { value: number; ceiling: number }[] = [];
  for (let i = 0; i < ROUNDS; i++) pairs.push({ ceiling: await ceiling(), value: await miner() });
  const ratios = pairs.map((p) => p.value / p.ceiling);
  const mid = pairs[ratios.indexOf(median(ratios))]!;
  return { ...mid, ratios };
}

/** Runs the mining bench. */
export async function run(): Promise<void> {
  const bytes = encodeHeader(header);
  const cores = cpus().length;
  const rows: BenchRow[] = [];
  const one = await rounds(async () => rawSha256dRate(bytes, 1.5), () => minerRate(0, 1.5));
  rows.push({ name: 'miner, in-process (1 core)', value: one.value, unit: 'H/s', ceiling: one.ceiling, ceilingName: 'raw sha256d, 1 core', target: '>= 90%' });
  const many = await rounds(() => rawSha256dRateProcs(bytes, cores, 1.5), () => minerRate(cores, 1.5));
  rows.push({ name: `miner, ${cores} processes`, value: many.value, unit: 'H/s', ceiling: many.ceiling, ceilingName: `raw sha256d, ${cores} processes`, target: '>= 90%' });
  report('mining', rows, { headerBytes: bytes.length, rounds: ROUNDS, ratiosInProcess: one.ratios, ratiosProcesses: many.ratios });
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
