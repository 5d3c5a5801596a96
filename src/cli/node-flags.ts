import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The peerchain executable. */
export const BIN = fileURLToPath(new URL('../../bin/peerchain.js', import.meta.url));

/** How bin/peerchain.js asks to be started: environment settings and V8 flags. */
export interface NodeLaunch {
  readonly env: Readonly<Record<string, string>>;
  readonly flags: readonly string[];
}

/**
 * The environment and V8 flags bin/peerchain.js asks for on its shebang line
 * (`#!/usr/bin/env -S NAME=VALUE... node --flag...`), so that a process
 * spawned as `node FLAGS bin/peerchain.js` runs as `peerchain` does. The
 * shebang is the one place they are written.
 */
export function nodeLaunch(): NodeLaunch {
  const first = readFileSync(BIN, 'utf8').split('\n', 1)[0] ?? '';
  const m = /^#!\/usr\/bin\/env -S (.*)$/.exec(first);
  if (m === null) return { env: {}, flags: [] };
  const words = m[1]!.trim().split(/\s+/);
  const at = words.indexOf('node');
  if (at < 0) return { env: {}, flags: [] };
  const env: Record<string, string> = {};
  for (const w of words.slice(0, at)) {
    const eq = w.indexOf('=');
    if (eq > 0) env[w.slice(0, eq)] = w.slice(eq + 1);
  }
  return { env, flags: words.slice(at + 1).filter((f) => f.startsWith('--')) };
}
