/**
 * A network partition in a private network of real node processes: four BFT
 * validators and the bootstrap, cut 2 | 2 by the testnet's fault controls.
 * Neither side holds more than two thirds of the validators, so neither may
 * commit anything; healed, commits resume and every node holds the same
 * blocks, each with a certificate of more than two thirds.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initNetwork } from '../../src/cli/init-run.ts';
import { parseInitFlags } from '../../src/cli/init-options.ts';
import { Testnet } from '../../src/testnet/launcher.ts';
import { assertAgree, heights, nodeLogs, reach, status } from '../helpers/bft.ts';
import { getJson, waitFor } from '../helpers/http.ts';
import { PORTS } from '../helpers/ports.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('private network: a 2-2 partition', { timeout: 180_000 }, () => {
  let net: Testnet;
  let dir: string;
  const url = (name: string): string => net.node(name).apiUrl;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'peerchain-bft-partition-'));
    await initNetwork(parseInitFlags({ network: 'private', validators: '4', members: '0', blockTimeMs: '500', out: join(dir, 'net') }), Date.now());
    net = await Testnet.start({ dir: join(dir, 'net'), basePort: PORTS.bftPartition, logLevel: 'warn', faultControl: true, ...nodeLogs() });
  });

  after(async () => {
    await net?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  test('a 2-2 partition commits nothing on either side; healed, it resumes', async () => {
    const all = net.nodes.map((n) => n.apiUrl);
    assert.deepEqual(net.nodes.map((n) => n.name).sort(), ['bootstrap', 'validator1', 'validator2', 'validator3', 'validator4']);
    await reach(all, 2);
    const ids = new Map(await Promise.all(net.nodes.map(async (n) => [n.name, (await status(n.apiUrl)).nodeId] as const)));

    // The bootstrap votes on nothing; it goes with one side so that it bridges neither.
    const sides = [['validator1', 'validator2'], ['validator3', 'validator4', 'bootstrap']];
    await net.control!.partition(sides);
    for (const side of sides) {
      for (const name of side) {
        const allowed = new Set(side.filter((x) => x !== name).map((x) => ids.get(x)));
        await waitFor(`${name} linked within its side only`, async () => {
          const peers = (await getJson<{ id: string }[]>(`${url(name)}/api/peers`)).body;
          return peers.every((p) => allowed.has(p.id)) ? true : undefined;
        }, 10_000);
      }
    }
    // Let anything decided before the cut land, then watch for commits that must not come.
    await sleep(1500);
    const stalled = await heights(all);
    await sleep(5000);
    assert.deepEqual(await heights(all), stalled, 'two of four validators cannot commit, on either side');
    // Still cut: the fault holds, nothing reconnected behind it.
    const v1Peers = (await getJson<{ id: string }[]>(`${url('validator1')}/api/peers`)).body.map((p) => p.id);
    assert.deepEqual(v1Peers, [ids.get('validator2')]);

    await net.control!.heal();
    await reach(all, Math.max(...stalled) + 2, 60_000);
    await assertAgree(all, 4);
    const view = await net.control!.view();
    assert.equal(view.groups, null);
    assert.ok(view.nodes.every((n) => n.state === 'up' && n.faults.blocked.length === 0));
  });
});
