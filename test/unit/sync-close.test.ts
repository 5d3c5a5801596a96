/**
 * A HEADERS answer whose addHeaders waits in the chain's queue behind a sync
 * batch (its signatures on the thread pool) when the node stops: close()
 * refuses it with ChainClosedError, and Synchronizer.onHeaders must take that
 * quietly. Let through, it would end an ordinary shutdown in an unhandled
 * rejection, which ends a Node process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Chain, ChainClosedError, powRules, Synchronizer, type SyncNetwork } from '../../src/chain/index.ts';
import { MemoryStore } from '../../src/storage/index.ts';
import { mineChain, powGenesis } from '../helpers/chain-fixtures.ts';

test('onHeaders does not reject when the chain closes with its headers still queued', async () => {
  const g = powGenesis();
  const blocks = mineChain(g, 3);
  const source = await Chain.open(new MemoryStore(), g, powRules(g), { now: () => 1_800_000_000_000 });
  for (const b of blocks) await source.submitBlock(b);
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const target = await Chain.open(new MemoryStore(), g, powRules(g), { now: () => 1_800_000_000_000, prefetchSignatures: () => gate });
  const net: SyncNetwork = { peers: () => [{ id: 'p', height: 3 }], requestHeaders: () => true, requestBlocks: () => true, penalize: () => undefined };
  const sync = new Synchronizer(target, net, { now: () => 0 });
  // A sync batch waits for its signature checks in its turn of the queue.
  const batch = target.submitBlocks([blocks[0]!]).catch((e: unknown) => e);
  // Headers asked for ahead arrive meanwhile: addHeaders queues behind the batch.
  sync.askHeaders('p');
  const headers = sync.onHeaders('p', source.headersAfter([], 10));
  // As NodeRuntime wires it: `void sync.onHeaders(...)`. Record what it would leave unhandled.
  let escaped: unknown;
  headers.catch((e: unknown) => (escaped = e));
  // The operator stops the node.
  const closing = target.close();
  release();
  await closing;
  await batch;
  await new Promise((r) => setImmediate(r));
  assert.ok(!(escaped instanceof ChainClosedError), `onHeaders rejected with ${String(escaped)}: the runtime's \`void sync.onHeaders(...)\` leaves it unhandled`);
});
