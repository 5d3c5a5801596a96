/** Chart series computed from recent block summaries: block time, throughput, difficulty, hash rate. */
import type { BlockSummary } from './types.ts';

/** One point of a chart: x is a block height. */
export interface Point {
  x: number;
  y: number;
}

/** The PoW target a compact "bits" value encodes (Bitcoin's format, as in src/core/pow.ts). */
export function targetOfBits(bits: number): bigint | undefined {
  const exponent = bits >>> 24;
  const mantissa = bits & 0x007fffff;
  if ((bits & 0x00800000) !== 0) return undefined;
  const target = exponent <= 3 ? BigInt(mantissa >>> (8 * (3 - exponent))) : BigInt(mantissa) << BigInt(8 * (exponent - 3));
  return target === 0n ? undefined : target;
}

/** Expected hashes to find a block at this difficulty: 2^256 / (target + 1). */
export function workOfBits(bits: number): number {
  const t = targetOfBits(bits);
  return t === undefined ? NaN : Number((1n << 256n) / (t + 1n));
}

/** Seconds between each block and its parent. */
export function blockTimes(blocks: readonly BlockSummary[]): Point[] {
  const out: Point[] = [];
  for (let i = 1; i < blocks.length; i++) {
    const a = blocks[i - 1]!;
    const b = blocks[i]!;
    if (b.height === a.height + 1) out.push({ x: b.height, y: Math.max(0, b.timestamp - a.timestamp) / 1000 });
  }
  return out;
}

/** User transactions in a block (a PoW block's first is the coinbase). */
export function userTxs(b: BlockSummary, pow: boolean): number {
  return pow ? Math.max(0, b.txCount - 1) : b.txCount;
}

/** Transactions per second over a sliding window of `window` blocks. */
export function throughput(blocks: readonly BlockSummary[], pow: boolean, window = 10): Point[] {
  const out: Point[] = [];
  for (let i = 1; i < blocks.length; i++) {
    const start = Math.max(0, i - window);
    const first = blocks[start]!;
    const last = blocks[i]!;
    let txs = 0;
    for (let j = start + 1; j <= i; j++) txs += userTxs(blocks[j]!, pow);
    const secs = (last.timestamp - first.timestamp) / 1000;
    out.push({ x: last.height, y: secs > 0 ? txs / secs : 0 });
  }
  return out;
}

/** Expected hashes per block, block by block. */
export function difficulty(blocks: readonly BlockSummary[]): Point[] {
  return blocks.filter((b) => b.height > 0).map((b) => ({ x: b.height, y: workOfBits(b.header.bits) }));
}

/** Estimated network hash rate (hashes/s): work done over a sliding window divided by its time. */
export function hashRate(blocks: readonly BlockSummary[], window = 10): Point[] {
  const out: Point[] = [];
  for (let i = 1; i < blocks.length; i++) {
    const start = Math.max(0, i - window);
    let work = 0;
    for (let j = start + 1; j <= i; j++) work += workOfBits(blocks[j]!.header.bits);
    const secs = (blocks[i]!.timestamp - blocks[start]!.timestamp) / 1000;
    if (secs > 0 && Number.isFinite(work)) out.push({ x: blocks[i]!.height, y: work / secs });
  }
  return out;
}

/** The mean of the last n values, or NaN if there are none. */
export function meanOfLast(points: readonly Point[], n: number): number {
  const tail = points.slice(-n);
  return tail.length === 0 ? NaN : tail.reduce((s, p) => s + p.y, 0) / tail.length;
}
