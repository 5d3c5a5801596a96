/**
 * An honest syncing node never has more GET_BLOCKS waiting at a slow peer
 * than that peer lets one peer have (NodeRuntime's bound, protocol.md 5.7).
 * A request that timed out still waits at the peer, which answers in turn:
 * asked again for everything at once, the peer would drop the excess and
 * charge us, its dropped answers would time out and cost it a point each,
 * and two honest nodes on a slow link would keep charging each other.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blockHash, blockToJson, buildGenesisBlock, type Hash } from '../../src/core/index.ts';
import { Chain, powRules, Synchronizer, type SyncNetwork } from '../../src/chain/index.ts';
import { MemoryStore } from '../../src/storage/index.ts';
import { mineBlock, powGenesis } from '../helpers/chain-fixtures.ts';
import { MAX_BLOCK_REQUESTS_PER_PEER } from '../../src/node/runtime.ts';
import { until } from '../helpers/raw-peer.ts';


test('an honest syncing node never has more GET_BLOCKS waiting at a slow peer than that peer lets wait', async () => {
  const g = powGenesis();
  const source = await Chain.open(new MemoryStore(), g, powRules(g), { now: () => 1_800_000_000_000 });
  const gb = buildGenesisBlock(g);
  let tip = { hash: gb.hash, height: 0, timestamp: gb.block.header.timestamp, bits: gb.block.header.bits, state: gb.state };
  for (let i = 0; i < 400; i++) {
    const { block, state } = mineBlock(g, tip);
    await source.submitBlock(block);
    tip = { hash: blockHash(block.header), height: block.header.height, timestamp: block.header.timestamp, bits: block.header.bits, state };
  }
  const target = await Chain.open(new MemoryStore(), g, powRules(g), { now: () => 1_800_000_000_000 });
  let now = 1_000_000;
  // The server's queue of GET_BLOCKS from us: a slow link, nothing answered yet.
  const waiting: Hash[][] = [];
  let most = 0;
  let sync!: Synchronizer;
  const net: SyncNetwork = {
    peers: () => [{ id: 'slow', height: source.height }],
    requestHeaders(peer, locator, limit) {
      setImmediate(() => void sync.onHeaders(peer, source.headersAfter(locator, limit)));
      return true;
    },
    requestBlocks(_peer, hashes) {
      waiting.push(hashes);
      most = Math.max(most, waiting.length);
      if (fast) serveAll();
      return true;
    },
    penalize: (_peer, _points, reason) => penalties.push(reason),
  };
  const penalties: string[] = [];
  let fast = false;
  // The peer answers its requests in the order they came, as NodeRuntime serves them.
  const serveAll = (): void => {
    setImmediate(async () => {
      while (waiting.length > 0) {
        const hashes = waiting.shift()!;
        const bs = await Promise.all(hashes.map((h) => source.getBlock(h)));
        await sync.onBlocks('slow', bs.map((b) => blockToJson(b!)));
      }
    });
  };
  sync = new Synchronizer(target, net, { now: () => now });
  sync.tick();
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(waiting.length, 4, 'four batches asked of the one peer');
  // The answers are on their way, slowly: the periodic check runs past the request timeout.
  now += 10_001;
  sync.tick();
  assert.ok(most <= MAX_BLOCK_REQUESTS_PER_PEER, `${most} GET_BLOCKS waiting at the peer: ${most - MAX_BLOCK_REQUESTS_PER_PEER} dropped and charged to this honest node`);
  // The late answers come after all: taken without blame, and sync goes on to the end.
  fast = true;
  serveAll();
  await until(() => target.height === 400, 'sync to the end', 10_000);
  assert.ok(penalties.every((p) => p === 'block request timed out'), penalties.join('; '));
});
