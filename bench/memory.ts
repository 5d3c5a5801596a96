/**
 * Memory: resident set of an idle node process (public network, API on, no
 * peers, not mining) beside a bare `node` process measured in the same run.
 * Target: at most 70 MB. Linux only (reads /proc).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initNetwork } from '../src/cli/init-run.ts';
import { parseInitFlags } from '../src/cli/init-options.ts';
import { BIN, nodeLaunch } from '../src/cli/node-flags.ts';
import { waitForApi, terminate } from '../src/testnet/launcher.ts';
import { report } from './report.ts';

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m === null ? NaN : Number(m[1]) / 1024;
}

async function idleRss(args: string[], ready: () => Promise<void>, env: Readonly<Record<string, string>> = {}): Promise<number> {
  const p = spawn(process.execPath, args, { stdio: 'ignore', env: { ...process.env, ...env } });
  try {
    await ready();
    await new Promise((r) => setTimeout(r, 5000));
    return rssMb(p.pid!);
  } finally {
    await terminate(p);
  }
}

/** True when dist/cli/main.js is at least as new as every source file (else the executable runs the sources through tsx). */
function bundleIsFresh(): boolean {
  const newest = (dir: string): number => Math.max(0, ...readdirSync(dir, { withFileTypes: true }).map((e) => (e.isDirectory() ? newest(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs)));
  const root = fileURLToPath(new URL('..', import.meta.url));
  try {
    return statSync(join(root, 'dist', 'cli', 'main.js')).mtimeMs >= newest(join(root, 'src'));
  } catch {
    return false;
  }
}

/** Runs the memory bench. */
export async function run(): Promise<void> {
  // A node run from the sources carries tsx's loader: that is not what a user runs.
  if (!bundleIsFresh()) throw new Error('memory bench: dist/cli/main.js is older than src/; run `npm run build` first');
  const dir = mkdtempSync(join(tmpdir(), 'peerchain-bench-mem-'));
  try {
    await initNetwork(parseInitFlags({ network: 'public', out: join(dir, 'net'), nodes: '1' }), Date.now());
    const bare = await idleRss(['-e', 'setInterval(() => {}, 1000)'], async () => undefined);
    // Spawned as `peerchain node` runs: with the settings and flags on the executable's shebang line.
    const launch = nodeLaunch();
    const node = await idleRss([...launch.flags, BIN, 'node', '--data', join(dir, 'net', 'nodes', 'node1'), '--api-port', '3990', '--ws-port', '6990', '--tcp-port', '7990', '--log-level', 'warn', '--no-progress'], () => waitForApi('http://127.0.0.1:3990', 60_000), launch.env);
    report('memory', [{ name: 'idle node, resident set', value: node, unit: 'MB', ceiling: bare, ceilingName: 'bare node process', target: '<= 70 MB' }]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
