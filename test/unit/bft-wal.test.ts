/**
 * The WAL across crashes: a vote appended after a restart that followed a
 * torn write must survive the next restart. Were the torn bytes (no trailing
 * newline) kept, the next entry would be glued onto them and fail to parse at
 * the following open: a vote that WAS sent would be forgotten, and the
 * validator could sign a conflicting one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keyPairFromSeed } from '../../src/crypto/index.ts';
import { BftStateMachine, signVote, ValidatorSet, Wal } from '../../src/consensus/bft/index.ts';

const CHAIN = 'review-wal';
const keys = [1, 2, 3, 4].map((i) => keyPairFromSeed(Buffer.alloc(32, i)));

test('a vote appended after a torn last line is read back after the next crash', () => {
  const dir = mkdtempSync(join(tmpdir(), 'review-wal-'));
  try {
    const file = join(dir, 'consensus', 'wal.ndjson');
    const first = Wal.open(file);
    const v1 = signVote(keys[0]!, { type: 'prevote', height: 5, round: 0, blockHash: 'aa'.repeat(32) }, CHAIN);
    first.wal.append({ vote: v1 });
    first.wal.close();
    // Crash in the middle of writing the next entry (never sent).
    appendFileSync(file, '{"vote":{"type":"precommit","hei');

    // Restart 1: the torn line is skipped, as documented. The validator then
    // signs, logs (fdatasync) and SENDS a precommit.
    const second = Wal.open(file);
    assert.deepEqual(second.contents.votes, [v1]);
    const v2 = signVote(keys[0]!, { type: 'precommit', height: 5, round: 0, blockHash: 'aa'.repeat(32) }, CHAIN);
    second.wal.append({ vote: v2 });
    second.wal.close();

    // Restart 2: v2 was sent, so it must be in the log.
    const third = Wal.open(file);
    third.wal.close();

    // Consequence: rebuilt from what the log now holds, the machine has no
    // record of v2; +2/3 nil prevotes make it sign precommit nil for the very
    // slot it already precommitted 'aa..' in: an equivocation after a crash.
    const m = new BftStateMachine({
      chainId: CHAIN,
      validators: new ValidatorSet(keys.map((k) => k.publicKey)),
      keys: keys[0]!,
      params: { timeoutProposeMs: 100, timeoutVoteMs: 100 },
      isValid: () => true,
      signedVotes: third.contents.votes,
    });
    const out = [...m.start(5)];
    for (const i of [1, 2, 3]) out.push(...m.onVote(signVote(keys[i]!, { type: 'prevote', height: 5, round: 0, blockHash: null }, CHAIN)));
    out.push(...m.onTimeout('propose', 5, 0));
    const precommits = out.flatMap((a) => (a.kind === 'broadcast' && a.message.kind === 'vote' && a.message.vote.type === 'precommit' ? [a.message.vote] : []));
    for (const p of precommits) assert.equal(p.blockHash, v2.blockHash, 'signed a precommit conflicting with the one it sent before the crash');
    assert.deepEqual(third.contents.votes, [v1, v2], 'the precommit sent after the first restart is lost');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
