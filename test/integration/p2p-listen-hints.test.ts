/**
 * HELLO listen addresses are hints, not proof of whose an address is. A peer
 * that claims an honest node's addresses in its HELLO
 * - does not make this node think it is already linked to them: connect()
 *   still dials the honest node (only a dial shows who is at an address), and
 * - once banned for misbehaving, gets banned by node id, host and the address
 *   it was dialed at, never by the addresses it merely claimed: the honest
 *   node stays unbanned and remains a static peer.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { keyPairFromSeed } from '../../src/crypto/index.ts';
import { MemoryStore } from '../../src/storage/index.ts';
import { NodeRuntime } from '../../src/node/runtime.ts';
import { createLogger } from '../../src/node/logger.ts';
import { powGenesis } from '../helpers/chain-fixtures.ts';
import { RawPeer, sleep, until } from '../helpers/raw-peer.ts';

const g = powGenesis();
const log = createLogger({ silent: true });
const runtimes: NodeRuntime[] = [];
const raws: RawPeer[] = [];
let seed = 0x81;

async function start(peers: string[] = []): Promise<NodeRuntime> {
  const rt = await NodeRuntime.start({ genesis: g, log, host: '127.0.0.1', wsPort: 0, tcpPort: 0, dataDir: '', maxOutbound: 0, name: `n${seed}`, key: keyPairFromSeed(Buffer.alloc(32, seed++)), peers, store: new MemoryStore() });
  runtimes.push(rt);
  return rt;
}

const tcp = (rt: NodeRuntime): string => rt.net.listenAddresses().find((a) => a.startsWith('tcp'))!;

after(async () => {
  for (const p of raws) p.destroy();
  await Promise.all(runtimes.map((r) => r.stop()));
});

async function liar(victim: NodeRuntime, claims: string[]): Promise<RawPeer> {
  const p = new RawPeer(tcp(victim));
  raws.push(p);
  p.onLine((l) => {
    if (l.type === 'PING') p.send('PONG', { nonce: l.payload.nonce });
  });
  assert.ok(await p.handshake({ listen: claims }), 'the liar linked');
  return p;
}

test('a peer claiming an honest node’s address in HELLO does not stop this node from dialing it', { timeout: 30_000 }, async () => {
  const honest = await start();
  const victim = await start();
  await liar(victim, honest.net.listenAddresses());
  const r = await victim.net.connect(tcp(honest));
  await sleep(300);
  assert.ok(victim.net.peerIds().includes(honest.net.nodeId), `the victim linked to the honest node (connect said ${JSON.stringify(r)})`);
});

test('a misbehaving peer that claimed a static peer’s address does not get that address banned', { timeout: 30_000 }, async () => {
  const honest = await start();
  const victim = await start([tcp(honest)]);
  await until(() => victim.net.peerIds().includes(honest.net.nodeId), 'the victim linked to its static peer');
  const p = await liar(victim, honest.net.listenAddresses());
  // Garbage until the victim bans it (10 points per bad line, 100 to ban).
  for (let i = 0; i < 12; i++) p.socket.write('not json\n');
  await until(() => !victim.net.peerIds().includes(p.keys.publicKey), 'the liar dropped');
  const banned = victim.net.banList().filter((b) => b.kind === 'address').map((b) => b.value);
  const again = await victim.net.connect(tcp(honest));
  assert.deepEqual(banned, [], `honest addresses banned because of another peer's HELLO: ${banned.join(', ')}`);
  assert.ok(again.ok, `the victim may still dial its static peer: ${JSON.stringify(again)}`);
});
