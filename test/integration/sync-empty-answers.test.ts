/**
 * Sync from an honest peer while another peer claims a great height and
 * answers every GET_BLOCKS at once with an empty BLOCKS (which costs it
 * nothing): the synchronizer remembers which peer failed to deliver which
 * blocks and asks another peer for them, and charges the empty answers, so
 * the same batch does not keep going back to the peer that answered empty and
 * the chain downloads from the honest peer.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { keyPairFromSeed } from '../../src/crypto/index.ts';
import { MemoryStore } from '../../src/storage/index.ts';
import { NodeRuntime } from '../../src/node/runtime.ts';
import { createLogger } from '../../src/node/logger.ts';
import { mineChain, powGenesis } from '../helpers/chain-fixtures.ts';
import { RawPeer, sleep, until } from '../helpers/raw-peer.ts';

const g = powGenesis();
const LENGTH = 300;
const log = createLogger({ silent: true });
let victim: NodeRuntime;
let honest: NodeRuntime;
let attacker: RawPeer;


before(async () => {
  const common = { genesis: g, log, host: '127.0.0.1', wsPort: 0, tcpPort: 0, dataDir: '', maxOutbound: 0 } as const;
  victim = await NodeRuntime.start({ ...common, name: 'victim', key: keyPairFromSeed(Buffer.alloc(32, 0x61)), peers: [], store: new MemoryStore() });
  honest = await NodeRuntime.start({ ...common, name: 'honest', key: keyPairFromSeed(Buffer.alloc(32, 0x62)), peers: [], store: new MemoryStore() });
  await honest.node.chain.submitBlocks(mineChain(g, LENGTH));
  assert.equal(honest.node.chain.height, LENGTH);
});

after(async () => {
  attacker?.destroy();
  await victim?.stop();
  await honest?.stop();
});

test('a peer answering every GET_BLOCKS with an empty BLOCKS does not stall sync from an honest peer', { timeout: 60_000 }, async () => {
  // The attacker links first (so it is first in the victim's peer order) and claims a height far ahead.
  attacker = new RawPeer(victim.net.listenAddresses().find((a) => a.startsWith('tcp'))!);
  let emptyAnswers = 0;
  attacker.onLine((l) => {
    if (l.type === 'PING') attacker.send('PONG', { nonce: l.payload.nonce });
    else if (l.type === 'GET_HEADERS') attacker.send('HEADERS', { headers: [] });
    else if (l.type === 'GET_BLOCKS') {
      emptyAnswers++;
      attacker.send('BLOCKS', { blocks: [] });
    }
  });
  assert.ok(await attacker.handshake({ height: 1_000_000 }), 'attacker linked');
  const r = await victim.net.connect(honest.net.listenAddresses().find((a) => a.startsWith('tcp'))!);
  assert.ok(r.ok, JSON.stringify(r));
  try {
    await until(() => victim.node.chain.height >= LENGTH, `the victim synced ${LENGTH} blocks from the honest peer`, 20_000);
  } catch (e) {
    throw new Error(
      `${(e as Error).message}: victim at height ${victim.node.chain.height}; the attacker answered ${emptyAnswers} GET_BLOCKS empty and is ${victim.net.peerIds().includes(attacker.keys.publicKey) ? 'still linked' : 'gone'}`,
    );
  }
  await sleep(10);
});
