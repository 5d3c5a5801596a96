import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bitsForLeadingZeroBits, checkProofOfWork, NO_PROPOSER, type BlockHeader } from '../../src/core/index.ts';
import { Miner } from '../../src/consensus/pow/miner.ts';
import { searchNonce, targetBytes } from '../../src/consensus/pow/search.ts';
import { decodeBits, encodeHeader } from '../../src/core/index.ts';

const template: BlockHeader = {
  version: 1,
  chainId: 'miner-test',
  height: 1,
  prevHash: 'ab'.repeat(32),
  timestamp: 1_700_000_000_000,
  txRoot: 'cd'.repeat(32),
  stateRoot: 'ef'.repeat(32),
  bits: bitsForLeadingZeroBits(10),
  nonce: 0,
  proposer: NO_PROPOSER,
};

function found(m: Miner, timeoutMs: number): Promise<BlockHeader> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no solution in time')), timeoutMs);
    m.once('found', (h) => {
      clearTimeout(t);
      resolve(h);
    });
  });
}

test('searchNonce finds a nonce that checkProofOfWork accepts, and writes it as u64', () => {
  const bytes = encodeHeader(template);
  const r = searchNonce(bytes, targetBytes(decodeBits(template.bits)!), 0, 1_000_000);
  assert.notEqual(r.nonce, undefined);
  assert.equal(checkProofOfWork({ ...template, nonce: r.nonce! }).ok, true);
  assert.deepEqual(bytes, encodeHeader({ ...template, nonce: r.nonce! }));
  // the high word is written too
  const big = 2 ** 40 + 7;
  searchNonce(bytes, Buffer.alloc(32), big, 1);
  assert.deepEqual(bytes, encodeHeader({ ...template, nonce: big }));
});

test('in-process miner solves a template', async () => {
  const m = new Miner(0);
  m.start();
  const p = found(m, 10_000);
  m.setTemplate(template);
  const h = await p;
  assert.equal(checkProofOfWork(h).ok, true);
  await m.stop();
});

test('process miners solve a template, and a new template replaces the job', async () => {
  const m = new Miner(2);
  m.start();
  try {
    const p1 = found(m, 20_000);
    m.setTemplate(template);
    const h1 = await p1;
    assert.equal(checkProofOfWork(h1).ok, true);
    const next = { ...template, height: 2, prevHash: '12'.repeat(32) };
    const p2 = found(m, 20_000);
    m.setTemplate(next);
    const h2 = await p2;
    assert.equal(h2.height, 2, 'the solution is for the newest template');
    assert.equal(checkProofOfWork(h2).ok, true);
    assert.ok(m.totalHashes > 0);
  } finally {
    await m.stop();
  }
});
