/**
 * A transaction admitted while a node has no peers still spreads: a new peer
 * is told what the pool holds (INV) and fetches it. Real sockets on
 * 127.0.0.1, ephemeral ports, in-process nodes.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { keyPairFromSeed } from '../../src/crypto/index.ts';
import { txId, txToJson } from '../../src/core/index.ts';
import { MemoryStore } from '../../src/storage/index.ts';
import { NodeRuntime } from '../../src/node/runtime.ts';
import { createLogger } from '../../src/node/logger.ts';
import { powGenesis, transfer } from '../helpers/chain-fixtures.ts';
import { waitFor } from '../helpers/http.ts';

const started: NodeRuntime[] = [];
after(async () => {
  await Promise.all(started.map((r) => r.stop()));
});

test('a transaction admitted before any link reaches a peer that connects later', async () => {
  const common = { genesis: powGenesis(), log: createLogger({ silent: true }), host: '127.0.0.1', wsPort: 0, tcpPort: 0, dataDir: '' } as const;
  const a = await NodeRuntime.start({ ...common, name: 'a', key: keyPairFromSeed(Buffer.alloc(32, 0xc1)), peers: [], store: new MemoryStore() });
  started.push(a);
  const tx = transfer(0, 2, 0);
  const r = a.node.submitTx(txToJson(tx));
  assert.ok(r.ok, r.ok ? '' : r.error.message);
  assert.equal(a.net.peers().length, 0, 'nobody to tell yet');
  const b = await NodeRuntime.start({ ...common, name: 'b', key: keyPairFromSeed(Buffer.alloc(32, 0xc2)), peers: [a.net.listenAddresses()[0]!], store: new MemoryStore() });
  started.push(b);
  await waitFor('the transaction in b\'s pool', () => (b.node.mempool.has(txId(tx)) ? true : undefined), 15_000);
});
