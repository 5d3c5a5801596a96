import { test } from 'node:test';
import assert from 'node:assert/strict';
import { txToJson } from '../../src/core/index.ts';
import { keyPairFromSeed } from '../../src/crypto/index.ts';
import { MemoryStore } from '../../src/storage/index.ts';
import { PeerchainNode } from '../../src/node/node.ts';
import { createLogger } from '../../src/node/logger.ts';
import { addrs, powGenesis, transfer } from '../helpers/chain-fixtures.ts';

test('a node admits a transaction, mines it on request, and cleans its mempool', async () => {
  const g = powGenesis();
  const node = await PeerchainNode.create({ genesis: g, store: new MemoryStore(), key: keyPairFromSeed(Buffer.alloc(32, 9)), log: createLogger({ silent: true }), mine: { threads: 0, continuous: false } });
  node.start();
  try {
    const r = node.submitTx(txToJson(transfer(0, 3, 0, 500n)));
    assert.ok(r.ok);
    const bad = node.submitTx({ kind: 'transfer', nonsense: true });
    assert.equal(!bad.ok && bad.error.code, 'MALFORMED');
    assert.equal(node.mempool.size, 1);
    const hashes = await Promise.race([node.mineBlocks(2), new Promise<never>((_, rej) => setTimeout(() => rej(new Error('mining timed out')), 20_000))]);
    assert.equal(hashes.length, 2);
    assert.equal(node.chain.height, 2);
    assert.equal(node.mempool.size, 0);
    assert.equal(node.chain.state.account(addrs[3]!).balance, 500n);
    assert.equal(node.status().height, 2);
  } finally {
    await node.stop();
  }
});
