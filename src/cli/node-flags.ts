import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The peerchain executable. */
export const BIN = fileURLToPath(new URL('../../bin/peerchain.js', import.meta.url));

/**
 * The V8 flags bin/peerchain.js asks for on its shebang line, so that a
 * process spawned as `node FLAGS bin/peerchain.js` runs as `peerchain` does.
 * The shebang is the one place they are written.
 */
export function nodeFlags(): string[] {
  const first = readFileSync(BIN, 'utf8').split('\n', 1)[0] ?? '';
  const m = /^#!\/usr\/bin\/env -S node((?: --[\w-]+(?:=\S+)?)*)\s*$/.exec(first);
  return m === null ? [] : m[1]!.trim().split(/\s+/).filter((f) => f !== '');
}
