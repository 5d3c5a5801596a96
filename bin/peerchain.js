#!/usr/bin/env node
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
  // A small young generation keeps an idle node's resident set down.
  (await import('node:v8')).setFlagsFromString('--max-semi-space-size=1');
  ({ main } = await import(bundle));
} else {
  const { register } = await import('tsx/esm/api');
  // Our own tsconfig, not whatever tsconfig sits in the caller's working directory.
  register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
  ({ main } = await import('../src/cli/main.ts'));
}
process.exitCode = await main(process.argv.slice(2));
