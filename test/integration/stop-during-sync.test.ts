/**
 * A node stopped while a sync batch still has its signatures checked on the
 * thread pool stops cleanly: the chain takes no more changes and waits for
 * the one under way before the store closes. Otherwise the batch would be
 * connected after the store closed, the write would fail, and an ordinary
 * shutdown would be reported as a fatal store failure (exit code 1).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { blockHash, buildGenesisBlock, type Block } from '../../src/core/index.ts';
import { keyPairFromSeed } from '../../src/crypto/index.ts';
import { NodeRuntime } from '../../src/node/runtime.ts';
import { createLogger } from '../../src/node/logger.ts';
import { mineBlock, powGenesis, transfer } from '../helpers/chain-fixtures.ts';

test('a clean stop while a batch has its signatures checked is not a store failure', { timeout: 60_000 }, async () => {
  const g = powGenesis();
  const gb = buildGenesisBlock(g);
  const blocks: Block[] = [];
  let parent = { hash: gb.hash, height: 0, timestamp: gb.block.header.timestamp, bits: gb.block.header.bits, state: gb.state };
  let nonce = 0;
  for (let i = 0; i < 8; i++) {
    const txs = Array.from({ length: 100 }, () => transfer(0, 1, nonce++, 1n, 1n));
    const { block, state } = mineBlock(g, parent, txs);
    blocks.push(block);
    parent = { hash: blockHash(block.header), height: block.header.height, timestamp: block.header.timestamp, bits: block.header.bits, state };
  }
  const dir = mkdtempSync(join(tmpdir(), 'review2-stop-'));
  let fatal: Error | undefined;
  const rt = await NodeRuntime.start({ genesis: g, log: createLogger({ silent: true }), host: '127.0.0.1', wsPort: 0, tcpPort: 0, name: 'n', dataDir: dir, key: keyPairFromSeed(Buffer.alloc(32, 0x77)), peers: [], onFatal: (e) => (fatal = e) });
  try {
    // As a sync answer arrives: its 800 signatures go to the thread pool.
    const submitted = rt.node.chain.submitBlocks(blocks).catch((e: unknown) => e);
    // The operator presses Ctrl-C meanwhile.
    await rt.stop();
    const outcome = await submitted;
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(rt.node.chain.failure, undefined, `a clean stop left the chain with a store failure: ${String(rt.node.chain.failure?.message ?? outcome)}`);
    assert.equal(fatal, undefined, `a clean stop was reported as fatal: ${fatal?.message}`);
  } finally {
    await rt.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
});
