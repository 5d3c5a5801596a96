/**
 * One equivocation is kept once, whichever order its two votes arrive in:
 * nodes report a pair in the order they saw it, so the same evidence travels
 * as (A, B) and as (B, A). Kept twice, it was listed twice by
 * GET /api/evidence and gossiped again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addressFromPublicKey, keyPairFromSeed, type KeyPair } from '../../src/crypto/index.ts';
import { signVote, type Evidence } from '../../src/consensus/bft/index.ts';
import { MemoryStore } from '../../src/storage/index.ts';
import { NodeRuntime } from '../../src/node/runtime.ts';
import { createLogger } from '../../src/node/logger.ts';
import { bftGenesis } from '../helpers/chain-fixtures.ts';

const CHAIN = 'review-evdup';
const vkeys: KeyPair[] = [11, 12, 13, 14].map((n) => keyPairFromSeed(Buffer.alloc(32, n)));

test('the same equivocation received in both vote orders is kept once', { timeout: 20_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'review-evdup-'));
  const g = bftGenesis({ chainId: CHAIN, timestamp: Date.now() - 1000, validators: vkeys, funded: [{ address: addressFromPublicKey(vkeys[0]!.publicKey), balance: '1' }] });
  const rt = await NodeRuntime.start({ genesis: g, log: createLogger({ silent: true }), host: '127.0.0.1', peers: [], dataDir: dir, name: 'v0', key: vkeys[0]!, store: new MemoryStore(), maxOutbound: 0 });
  try {
    const a = signVote(vkeys[3]!, { type: 'prevote', height: 1, round: 0, blockHash: 'aa'.repeat(32) }, CHAIN);
    const b = signVote(vkeys[3]!, { type: 'prevote', height: 1, round: 0, blockHash: 'bb'.repeat(32) }, CHAIN);
    const record = (e: Evidence): void => (rt as unknown as { recordEvidence(e: Evidence, from: string | undefined): void }).recordEvidence(e, 'peer');
    record({ voteA: a, voteB: b });
    record({ voteA: b, voteB: a });
    assert.equal(rt.evidenceSeen().length, 1, 'one equivocation, kept (and re-gossiped) twice');
  } finally {
    await rt.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
