/** Runs the real `peerchain` binary as a user would, with a clean environment and a time bound. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';

import { BIN } from '../../src/cli/node-flags.ts';
export { BIN };

/** What a run printed and how it ended. */
export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node bin/peerchain.js ...args` without the developer's PEERCHAIN_* variables. */
export function run(args: readonly string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<Run> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PEERCHAIN_') && k !== 'NODE_TEST_CONTEXT'));
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...base, ...env }, timeout: timeoutMs }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr });
    });
  });
}

/** Asserts a zero exit code, showing the output otherwise. */
export function assertOk(r: Run): void {
  assert.equal(r.code, 0, `exit code ${String(r.code)}; stdout: ${r.stdout} stderr: ${r.stderr}`);
}

/** A user error: exit code 1, one `error:` line matching the pattern, no stack trace, nothing on stdout. */
export function assertUserError(r: Run, pattern: RegExp): void {
  assert.equal(r.code, 1, `expected exit code 1; stdout: ${r.stdout} stderr: ${r.stderr}`);
  assert.equal(r.stdout, '');
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `expected one line on stderr, got: ${r.stderr}`);
  assert.match(lines[0]!, /^error: /);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
}
