/**
 * Sync: a fresh node downloading a chain from one peer over the real P2P
 * stack, with full validation (proof, target, signatures, state root) and
 * persistence in LevelDB. The peer runs in its own process, serving from its
 * own LevelDB, as it would on another machine (and as naivechain's nodes are
 * separate processes). Empty blocks are compared with naivechain's 264 ms
 * for 10,000 blocks on this machine kind (which skips validation and
 * persistence and sends the chain as one message); blocks of transfers with
 * the Ed25519 ceiling of every core (the node checks a batch's signatures on
 * all of them).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { keyPairFromSeed } from '../src/crypto/index.ts';
import { NodeRuntime } from '../src/node/runtime.ts';
import { createLogger } from '../src/node/logger.ts';
import { rawVerifyRateAllCores } from './ceilings.ts';
import { report, type BenchRow } from './report.ts';
import { profiled } from './profile.ts';
import { genesisFor, TX_PER_BLOCK, type SyncChainKind } from './sync-chain.ts';
import type { SourceReady } from './sync-source.ts';

const BLOCKS = Number(process.env.PEERCHAIN_BENCH_BLOCKS ?? 10_000);

/** Starts the source process and waits until it serves `n` blocks of `kind`. */
function startSource(kind: SyncChainKind, n: number): Promise<{ child: ChildProcess; ready: SourceReady }> {
  const child = fork(fileURLToPath(new URL('./sync-source.ts', import.meta.url)), [kind, String(n)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    const limit = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('the sync source did not get ready in 10 minutes'));
    }, 600_000);
    child.once('message', (m) => {
      clearTimeout(limit);
      resolve({ child, ready: m as SourceReady });
    });
    child.once('exit', (code) => {
      clearTimeout(limit);
      reject(new Error(`the sync source exited (${code}) before it was ready`));
    });
  });
}

/** Ends the source process: it stops and cleans up when its IPC channel closes. */
function stopSource(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.disconnect();
  });
}

async function measure(kind: SyncChainKind, n: number): Promise<number> {
  const log = createLogger(process.env.PEERCHAIN_BENCH_DEBUG ? { level: 'debug' } : { silent: true });
  const { child, ready } = await startSource(kind, n);
  const dir = mkdtempSync(join(tmpdir(), 'peerchain-bench-sync-'));
  try {
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const dst = await NodeRuntime.start({ name: 'fresh', dataDir: dir, genesis: genesisFor(kind), key: keyPairFromSeed(Buffer.alloc(32, 2)), log, host: '127.0.0.1', peers: [ready.address] });
    // PEERCHAIN_BENCH_DEBUG: a timeline (ms since start) of the link, each HEADERS (H), the first BLOCKS (B) and every 1000th block connected.
    const marks: string[] = [];
    if (process.env.PEERCHAIN_BENCH_DEBUG) {
      marks.push(`started ${(performance.now() - t0).toFixed(0)}`);
      const at = (what: string) => () => marks.push(`${what}@${(performance.now() - t0).toFixed(0)}`);
      dst.net.once('peer:connected', at('peer'));
      dst.net.on('HEADERS', at('H'));
      dst.net.once('BLOCKS', at('B'));
      let next = 1;
      dst.node.chain.on('tip', ({ height }) => {
        if (height >= next) {
          marks.push(`${height}@${(performance.now() - t0).toFixed(0)}`);
          next = next === 1 ? 1000 : next + 1000;
        }
      });
    }
    try {
      await profiled(`sync-${kind}`, () => new Promise<void>((resolve, reject) => {
        const limit = setTimeout(() => reject(new Error(`sync did not finish: height ${dst.node.chain.height}`)), 600_000);
        let headersAt = 0;
        const check = setInterval(() => {
          if (headersAt === 0 && dst.node.chain.index.bestHeader().height >= ready.height) headersAt = performance.now() - t0;
          if (dst.node.chain.height >= ready.height) {
            if (process.env.PEERCHAIN_BENCH_DEBUG) {
              const cpu = process.cpuUsage(cpu0);
              console.error(marks.join(' '));
              console.error(`${kind}: all headers after ${headersAt.toFixed(0)} ms, all blocks after ${(performance.now() - t0).toFixed(0)} ms; this process used ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms of CPU`);
            }
            clearInterval(check);
            clearTimeout(limit);
            resolve();
          }
        }, 2);
      }));
      const ms = performance.now() - t0;
      if (dst.node.chain.state.root() !== ready.stateRoot) throw new Error('synced state differs from the source');
      return ms;
    } finally {
      await dst.stop();
    }
  } finally {
    await stopSource(child);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs the sync bench. */
export async function run(): Promise<void> {
  const rows: BenchRow[] = [];
  const emptyMs = await measure('empty', BLOCKS);
  rows.push({ name: `sync ${BLOCKS} empty blocks (validated, persisted)`, value: emptyMs, unit: 'ms', ceiling: (264 * BLOCKS) / 10_000, ceilingName: 'naivechain, no checks', target: '<= naivechain' });
  const txBlocks = Number(process.env.PEERCHAIN_BENCH_TX_BLOCKS ?? BLOCKS);
  // The node checks a synced batch's signatures on every core (the thread pool), so the ceiling is every core's.
  const ceiling = await rawVerifyRateAllCores();
  const txMs = await measure('transfers', txBlocks);
  rows.push({ name: `sync ${txBlocks} blocks x ${TX_PER_BLOCK} transfers`, value: (txBlocks * TX_PER_BLOCK * 1000) / txMs, unit: 'tx/s', ceiling, ceilingName: `raw Ed25519 verify, all ${availableParallelism()} cores`, target: '>= 50%' });
  report('sync', rows, { blocks: BLOCKS, txBlocks, source: 'separate process, LevelDB' });
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
