/**
 * A node whose store fails to write a connected block stops itself: the chain
 * in memory is then ahead of the disk and cannot be kept in order, so the
 * runtime logs why, closes its API and network, and reports the error to its
 * owner (the CLI exits non-zero). In-process node, real sockets on 127.0.0.1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keyPairFromSeed } from '../../src/crypto/index.ts';
import { MemoryStore } from '../../src/storage/index.ts';
import { NodeRuntime } from '../../src/node/runtime.ts';
import { createLogger } from '../../src/node/logger.ts';
import { powGenesis } from '../helpers/chain-fixtures.ts';

test('a failed block write stops the node and reaches onFatal', { timeout: 30_000 }, async () => {
  const store = new MemoryStore();
  let fatal: (e: Error) => void = () => undefined;
  const stopped = new Promise<Error>((r) => (fatal = r));
  const rt = await NodeRuntime.start({
    name: 'failing',
    genesis: powGenesis(),
    key: keyPairFromSeed(Buffer.alloc(32, 0xd1)),
    log: createLogger({ silent: true }),
    host: '127.0.0.1',
    wsPort: 0,
    tcpPort: 0,
    dataDir: '',
    peers: [],
    api: { host: '127.0.0.1', port: 0 },
    mine: { threads: 0, continuous: false },
    store,
    onFatal: (e) => fatal(e),
  });
  try {
    store.connectBlocks = () => Promise.reject(new Error('disk full'));
    const api = rt.apiUrl!;
    // The mined block is connected in memory; its write fails.
    const mining = fetch(`${api}/api/mine`, { method: 'POST', headers: { 'content-type': 'application/json', connection: 'close' }, body: '{"blocks":1}', signal: AbortSignal.timeout(10_000) }).then(
      (r) => r.status,
      () => 'no answer',
    );
    let timer: NodeJS.Timeout | undefined;
    const err = await Promise.race([stopped, new Promise<never>((_, rej) => (timer = setTimeout(() => rej(new Error('node did not stop in 10 s')), 10_000)))]).finally(() => clearTimeout(timer));
    assert.equal(err.message, 'disk full');
    await assert.rejects(fetch(`${api}/api/status`, { signal: AbortSignal.timeout(2_000) }));
    await assert.rejects(rt.node.chain.persisted(), /disk full/);
    // The request that mined the block gets an answer or a closed connection, not a hang.
    assert.ok([409, 503, 'no answer'].includes(await mining), String(await mining));
  } finally {
    await rt.stop();
  }
});
