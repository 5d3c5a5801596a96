/**
 * A block the miner found just before the operator stops the node waits in
 * the chain's queue behind a sync batch; close() refuses it with
 * ChainClosedError. That is a normal stop, not an error to log.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import pino from 'pino';
import { blockHash, buildGenesisBlock, type Block } from '../../src/core/index.ts';
import { keyPairFromSeed } from '../../src/crypto/index.ts';
import { MemoryStore } from '../../src/storage/index.ts';
import { PeerchainNode } from '../../src/node/node.ts';
import { mineBlock, powGenesis, transfer } from '../helpers/chain-fixtures.ts';

test('a clean stop with a mined block still queued logs no error', { timeout: 60_000 }, async () => {
  const g = powGenesis();
  const gb = buildGenesisBlock(g);
  // A sync batch with many signatures to check, on the same parent as the mined block.
  const batch: Block[] = [];
  let parent = { hash: gb.hash, height: 0, timestamp: gb.block.header.timestamp, bits: gb.block.header.bits, state: gb.state };
  let nonce = 0;
  for (let i = 0; i < 4; i++) {
    const { block, state } = mineBlock(g, parent, Array.from({ length: 100 }, () => transfer(0, 1, nonce++, 1n, 1n)));
    batch.push(block);
    parent = { hash: blockHash(block.header), height: block.header.height, timestamp: block.header.timestamp, bits: block.header.bits, state };
  }
  const mined = mineBlock(g, { hash: gb.hash, height: 0, timestamp: gb.block.header.timestamp + 7, bits: gb.block.header.bits, state: gb.state }).block;
  const errors: string[] = [];
  const sink = new Writable({ write(chunk, _e, cb) { const l = JSON.parse(String(chunk)); if (l.level >= 50) errors.push(l.msg); cb(); } });
  const node = await PeerchainNode.create({ genesis: g, store: new MemoryStore(), key: keyPairFromSeed(Buffer.alloc(32, 9)), log: pino({ level: 'info' }, sink), mine: { threads: 0, continuous: false } });
  node.start();
  const submitted = node.chain.submitBlocks(batch).catch((e: unknown) => e);
  // The miner reports a block found on the template it was given (as the 'found' listener does).
  const n = node as unknown as { template: { header: Block['header']; txs: Block['txs'] }; miner: { emit: (e: string, h: unknown) => void } };
  n.template = { header: mined.header, txs: mined.txs };
  n.miner.emit('found', mined.header);
  await node.stop();
  await submitted;
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(errors, [], 'a clean stop logged errors');
});
