#!/usr/bin/env -S MALLOC_MMAP_THRESHOLD_=131072 node --max-semi-space-size=2 --v8-pool-size=1
// The settings above keep an idle node's resident set down: a young
// generation that startup cannot grow past 2 MB per semi-space, one V8
// background thread instead of four (this is a 2-core machine class), and
// a fixed malloc mmap threshold, so that a large block freed at startup goes
// back to the system instead of raising glibc's threshold and staying in the
// heap (2 MB in about half of the runs without it). The testnet
// launcher reads them from this line (src/cli/node-flags.ts). `env -S` needs
// coreutils 8.30 or newer (or BSD/macOS env); where env lacks it (busybox),
// run `node bin/peerchain.js ...` instead.
// Runs the bundle that `npm install` builds (dist/cli/main.js) when it is at
// least as new as every source file; otherwise runs the TypeScript sources
// through tsx. The bundle starts faster and leaves out tsx's loader thread,
// which costs an idle node some 30 MB.
import { readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const bundle = `${root}dist/cli/main.js`;

function newestSource(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = `${dir}/${e.name}`;
    newest = Math.max(newest, e.isDirectory() ? newestSource(p) : statSync(p).mtimeMs);
  }
  return newest;
}

function bundleIsFresh() {
  try {
    return statSync(bundle).mtimeMs >= newestSource(`${root}src`);
  } catch {
    return false;
  }
}

let main;
if (process.env.PEERCHAIN_FROM_SOURCE !== '1' && bundleIsFresh()) {
  // Started as `node bin/peerchain.js`, without the shebang's flags: a semi-space
  // cap set now still helps some (V8 has sized the young generation already).
  if (!process.execArgv.some((a) => a.startsWith('--max-semi-space-size'))) (await import('node:v8')).setFlagsFromString('--max-semi-space-size=2');
  ({ main } = await import(bundle));
} else {
  const { register } = await import('tsx/esm/api');
  // Our own tsconfig, not whatever tsconfig sits in the caller's working directory.
  register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
  ({ main } = await import('../src/cli/main.ts'));
}
process.exitCode = await main(process.argv.slice(2));
