/**
 * The testnet's control server as a person (or the explorer) uses it, over
 * HTTP against real node processes of a public network: partition 2 | 1,
 * mine on both sides, heal, and every node ends on the branch with more work
 * (a fork and a reorganisation); slow a node and see its round trips grow;
 * stop and restart a node, also in the middle of a partition, which it must
 * not bridge; and the server refuses unknown nodes, bad input and foreign
 * origins.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initNetwork } from '../../src/cli/init-run.ts';
import { parseInitFlags } from '../../src/cli/init-options.ts';
import { Testnet } from '../../src/testnet/launcher.ts';
import type { ControlView } from '../../src/testnet/control.ts';
import { getJson, mineBlocks, nodeStatus, postJson, waitFor, sameTip } from '../helpers/http.ts';
import { PORTS } from '../helpers/ports.ts';


describe('testnet controls over HTTP: a public network', { timeout: 180_000 }, () => {
  let net: Testnet;
  let dir: string;
  let control: string;
  let urls: string[];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'peerchain-control-'));
    // Easy, fixed difficulty: blocks come only through /api/mine, when the test asks.
    await initNetwork(parseInitFlags({ network: 'public', out: join(dir, 'net'), nodes: '3', initialZeroBits: '4', blockTimeMs: '1000' }), Date.now());
    net = await Testnet.start({ dir: join(dir, 'net'), basePort: PORTS.publicFork, miners: [], logLevel: 'warn', control: {} });
    control = `${net.controlUrl!}/control`;
    urls = net.nodes.map((n) => n.apiUrl);
    await waitFor('a full mesh', async () => ((await Promise.all(urls.map(nodeStatus))).every((s) => s.peers === 2) ? true : undefined), 30_000);
  });

  after(async () => {
    await net?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  test('the control server listens on the lowest API port - 1, and every node reports it', async () => {
    assert.equal(net.controlUrl, `http://127.0.0.1:${PORTS.publicFork + 199}`);
    for (const u of urls) assert.deepEqual((await getJson<{ testnet?: { control: string } }>(`${u}/api/network`)).body.testnet, { control: net.controlUrl });
    const v = (await getJson<ControlView>(control)).body;
    assert.equal(v.network, 'public');
    assert.deepEqual(v.nodes.map((n) => [n.name, n.state, n.peers]), [['node1', 'up', 2], ['node2', 'up', 2], ['node3', 'up', 2]]);
    assert.equal(v.groups, null);
  });

  test('partitioned 2 | 1, both sides mine a branch; healed, every node reorganises onto the one with more work', async () => {
    const [a, b, c] = urls as [string, string, string];
    await mineBlocks(a, 1);
    const base = (await sameTip(urls, 1))[0]!;

    const cut = await postJson<ControlView>(`${control}/partition`, { groups: [['node1', 'node2'], ['node3']] });
    assert.equal(cut.status, 200, JSON.stringify(cut.body));
    assert.deepEqual(cut.body.groups, [['node1', 'node2'], ['node3']]);
    assert.deepEqual(cut.body.nodes.find((n) => n.name === 'node3')?.faults, { blocked: ['node1', 'node2'], delayMs: 0 });
    await waitFor('node3 alone, node1 and node2 together', async () => {
      const ss = await Promise.all(urls.map(nodeStatus));
      return ss[0]!.peers === 1 && ss[1]!.peers === 1 && ss[2]!.peers === 0 ? true : undefined;
    }, 10_000);

    // Two blocks on node3's side, four on the other: two branches from one parent.
    const lonely = await mineBlocks(c, 2);
    await mineBlocks(a, 4);
    await sameTip([a, b], base.height + 4);
    assert.equal((await nodeStatus(c)).tip, lonely[1]);
    assert.equal((await nodeStatus(b)).peers, 1, 'the cut holds while both sides mine');

    const healed = await postJson<ControlView>(`${control}/heal`, {});
    assert.equal(healed.status, 200, JSON.stringify(healed.body));
    assert.equal(healed.body.groups, null);
    const tip = (await sameTip(urls, base.height + 4, 30_000))[0]!;
    // node3 dropped its own branch for the heavier one.
    const at = (await getJson<{ hash: string }>(`${c}/api/blocks/${base.height + 1}`)).body.hash;
    assert.notEqual(at, lonely[0]);
    assert.equal(at, (await getJson<{ hash: string }>(`${a}/api/blocks/${base.height + 1}`)).body.hash);
    assert.equal((await nodeStatus(a)).tip, tip.tip);
    await waitFor('the full mesh back', async () => ((await Promise.all(urls.map(nodeStatus))).every((s) => s.peers === 2) ? true : undefined), 10_000);
  });

  test('a slowed node\'s round trips grow by the delay; heal removes it', async () => {
    const r = await postJson<ControlView>(`${control}/slow`, { node: 'node1', delayMs: 300 });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.nodes.find((n) => n.name === 'node1')?.faults.delayMs, 300);
    assert.deepEqual((await getJson(`${urls[0]!}/api/faults`)).body, { block: [], delayMs: 300 });
    await waitFor('node1 measures slow round trips', async () => {
      const peers = (await getJson<{ rttMs?: number }[]>(`${urls[0]!}/api/peers`)).body;
      return peers.length === 2 && peers.every((p) => (p.rttMs ?? 0) >= 290) ? true : undefined;
    }, 10_000);
    assert.equal((await postJson(`${control}/heal`, {})).status, 200);
    assert.deepEqual((await getJson(`${urls[0]!}/api/faults`)).body, { block: [], delayMs: 0 });
  });

  test('stop and restart: the node goes down, its peers notice, and it comes back', async () => {
    const stopped = await postJson<ControlView>(`${control}/nodes/node2/stop`, {});
    assert.equal(stopped.status, 200, JSON.stringify(stopped.body));
    assert.equal(stopped.body.nodes.find((n) => n.name === 'node2')?.state, 'down');
    await waitFor('node1 down to one peer', async () => ((await nodeStatus(urls[0]!)).peers === 1 ? true : undefined), 10_000);
    const back = await postJson<ControlView>(`${control}/nodes/node2/restart`, {}, 90_000);
    assert.equal(back.status, 200, JSON.stringify(back.body));
    assert.equal(back.body.nodes.find((n) => n.name === 'node2')?.state, 'up');
    await waitFor('the full mesh back', async () => ((await Promise.all(urls.map(nodeStatus))).every((s) => s.peers === 2) ? true : undefined), 20_000);
  });

  test('a node restarted during a partition starts with it in force, and never bridges it', async () => {
    const cut = await postJson<ControlView>(`${control}/partition`, { groups: [['node2']] });
    assert.deepEqual(cut.body.groups, [['node2'], ['node1', 'node3']], 'the nodes named nowhere form one more group');
    await waitFor('node2 alone', async () => ((await nodeStatus(urls[1]!)).peers === 0 ? true : undefined), 10_000);
    const back = await postJson<ControlView>(`${control}/nodes/node2/restart`, {}, 90_000);
    assert.equal(back.status, 200, JSON.stringify(back.body));
    const ids = back.body.nodes.filter((n) => n.name !== 'node2').map((n) => n.nodeId);
    assert.deepEqual((await getJson<{ block: string[] }>(`${urls[1]!}/api/faults`)).body.block.slice().sort(), ids.slice().sort());
    for (let i = 0; i < 10; i++) {
      assert.equal((await nodeStatus(urls[1]!)).peers, 0, 'node2 stays cut off after its restart');
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal((await postJson(`${control}/heal`, {})).status, 200);
    await waitFor('the full mesh back', async () => ((await Promise.all(urls.map(nodeStatus))).every((s) => s.peers === 2) ? true : undefined), 20_000);
  });

  test('unknown nodes, bad input and foreign origins are refused; loopback pages get CORS', async () => {
    const bad: [string, unknown, number, string][] = [
      ['/nodes/node9/stop', {}, 404, 'NO_SUCH_NODE'],
      ['/partition', { groups: [['node1'], ['node1', 'node2']] }, 400, 'BAD_GROUPS'],
      ['/partition', { groups: [['node1'], ['nodeX']] }, 404, 'NO_SUCH_NODE'],
      ['/partition', { groups: [] }, 400, 'BAD_GROUPS'],
      ['/partition', [], 400, 'BAD_BODY'],
      ['/slow', { node: 'node1', delayMs: 20_000 }, 400, 'BAD_DELAY'],
      ['/slow', { node: 'node1', delayMs: 'much' }, 400, 'BAD_DELAY'],
      ['/nowhere', {}, 404, 'NOT_FOUND'],
    ];
    for (const [path, body, code, name] of bad) {
      const r = await postJson<{ error: { code: string; message: string } }>(`${control}${path}`, body);
      assert.equal(r.status, code, `${path} ${JSON.stringify(body)}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.error.code, name);
    }
    const plain = await fetch(`${control}/heal`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x', signal: AbortSignal.timeout(10_000) });
    assert.equal(plain.status, 415);

    const page = `http://127.0.0.1:${net.node('node3').apiPort}`;
    const pre = await fetch(`${control}/partition`, { method: 'OPTIONS', headers: { origin: page, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' }, signal: AbortSignal.timeout(10_000) });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), page);
    assert.match(pre.headers.get('access-control-allow-methods') ?? '', /POST/);
    assert.match(pre.headers.get('access-control-allow-headers') ?? '', /content-type/);
    const get = await fetch(control, { headers: { origin: page }, signal: AbortSignal.timeout(10_000) });
    assert.equal(get.headers.get('access-control-allow-origin'), page);

    for (const origin of ['https://evil.example', 'null']) {
      const r = await fetch(`${control}/nodes/node1/stop`, { method: 'POST', headers: { origin }, signal: AbortSignal.timeout(10_000) });
      assert.equal(r.status, 403);
      assert.equal(r.headers.get('access-control-allow-origin'), null);
      assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'FORBIDDEN_ORIGIN');
    }
    assert.equal((await nodeStatus(urls[0]!)).peers, 2, 'nothing was stopped');
  });
});
