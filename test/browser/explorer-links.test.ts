/**
 * The peer graph's links in a real browser (Debian's chromium driven by
 * playwright-core) against a real four-node public testnet run with its
 * control server. Under the launcher the graph draws every node and every
 * link from GET /control/links (a full mesh: six links), with round trips on
 * hover, and follows a node being stopped and restarted. Without the
 * launcher (the page told nothing about it) the graph draws this node's own
 * links and, apart, the links its peers reported over P2P. Any console error
 * or page error fails the run. Screenshots go to test-artifacts/explorer/.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { initNetwork } from '../../src/cli/init-run.ts';
import { parseInitFlags } from '../../src/cli/init-options.ts';
import { Testnet } from '../../src/testnet/launcher.ts';
import type { ControlLinksView } from '../../src/testnet/control.ts';
import { CHROMIUM_ARGS, countIs, findChromium, watchErrors } from '../helpers/browser.ts';
import { getJson, waitFor, peersOf } from '../helpers/http.ts';
import { PORTS } from '../helpers/ports.ts';

const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/explorer/', import.meta.url));
const UI_WAIT_MS = 30_000;
const NODES = 4;
const MESH_LINKS = (NODES * (NODES - 1)) / 2;

interface NetworkLite {
  nodeId: string;
  links: { from: string; to: string; reportedBy?: string }[];
  peerReports: number;
  testnet?: { control: string };
}

describe('explorer: the peer graph\'s links', { timeout: 300_000 }, () => {
  let dir: string;
  let net: Testnet | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let urls: string[];
  const errors: string[] = [];

  const shot = async (p: Page, name: string): Promise<void> => {
    await p.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  };

  before(async () => {
    const chromiumPath = findChromium();
    assert.ok(existsSync(chromiumPath), `no chromium at ${chromiumPath}: install it (apt-get install -y chromium) or set PEERCHAIN_CHROMIUM`);
    assert.ok(existsSync(fileURLToPath(new URL('../../dist/explorer/main.js', import.meta.url))), 'dist/explorer is missing: run npm run build');
    mkdirSync(ARTIFACTS, { recursive: true });
    dir = mkdtempSync(join(tmpdir(), 'peerchain-links-'));
    await initNetwork(parseInitFlags({ network: 'public', out: join(dir, 'net'), nodes: String(NODES), initialZeroBits: '4', blockTimeMs: '1000' }), Date.now());
    const logs: string[] = [];
    try {
      net = await Testnet.start({ dir: join(dir, 'net'), basePort: PORTS.explorerLinks, miners: [], logLevel: 'warn', control: {}, onLine: (n, line) => void logs.push(`${n}: ${line}`) });
    } catch (e) {
      throw new Error(`${(e as Error).message}\nnode output:\n${logs.slice(-40).join('\n')}`);
    }
    urls = net.nodes.map((n) => n.apiUrl);
    await waitFor('a full mesh', async () => ((await Promise.all(urls.map(peersOf))).every((p) => p === NODES - 1) ? true : undefined), 30_000);
    browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
    page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    page.setDefaultTimeout(UI_WAIT_MS);
    watchErrors(page, 'launcher', errors);
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
    await net?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  test('GET /control/links: four nodes up, six links', async () => {
    assert.equal(net!.controlUrl, `http://127.0.0.1:${PORTS.explorerLinks + 199}`);
    const v = await waitFor('every link seen', async () => {
      const r = (await getJson<ControlLinksView>(`${net!.controlUrl}/control/links`)).body;
      return r.links.length === MESH_LINKS ? r : undefined;
    });
    assert.deepEqual(v.nodes.map((n) => [n.name, n.up]), net!.nodes.map((n) => [n.name, true]));
    assert.ok(v.nodes.every((n) => typeof n.nodeId === 'string'));
    const pairs = new Set(v.links.map((l) => [l.from, l.to].sort().join('-')));
    assert.equal(pairs.size, MESH_LINKS, 'each link once');
    assert.ok(v.links.every((l) => l.transport === 'ws' || l.transport === 'tcp'));
  });

  test('under the launcher the graph shows every node and every link, with round trips on hover', async () => {
    await page.goto(`${urls[2]!}/#/network`);
    await countIs(page, '.graph-node', NODES);
    await countIs(page, '.graph-link', MESH_LINKS);
    assert.equal(await page.locator('.graph-link-reported').count(), 0, 'the launcher\'s links are each node\'s own, not reports');
    assert.equal(await page.locator('.graph-node.self').count(), 1);
    for (const name of ['node1', 'node2', 'node3', 'node4']) assert.equal(await page.locator('.graph-label', { hasText: new RegExp(`^${name}`) }).count(), 1, name);
    assert.match((await page.locator('.graph-caption').textContent()) ?? '', /pure P2P.*4 of 4 nodes up, 6 links.*own peer list/);
    // A link between two other nodes: one this node could never measure itself.
    const self = (await getJson<NetworkLite>(`${urls[2]!}/api/network`)).body.nodeId;
    const far = page.locator(`.graph-link-hit:not([data-from="${self}"]):not([data-to="${self}"])`);
    assert.equal(await far.count(), MESH_LINKS - (NODES - 1));
    await far.first().hover({ force: true });
    await page.locator('.graph-tip:not([hidden])', { hasText: /round trip: (\d+\.\d ms|not measured yet)/ }).waitFor();
    await shot(page, 'links-testnet');
  });

  test('the graph follows a node stopped and restarted', async () => {
    await net!.control!.stop('node1');
    await countIs(page, '.graph-link', MESH_LINKS - (NODES - 1));
    await countIs(page, '.graph-node.offline', 1);
    await page.locator('.graph-caption', { hasText: '3 of 4 nodes up' }).waitFor();
    await shot(page, 'links-testnet-node1-down');
    await net!.control!.restart('node1');
    await page.waitForFunction(
      (want) => (globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } }).document.querySelectorAll('.graph-link').length === want,
      MESH_LINKS,
      { timeout: 60_000 },
    );
    await countIs(page, '.graph-node.offline', 0);
  });

  test('without the launcher: this node\'s links, and apart from them its peers\' reported links', async () => {
    // Peers report their links on connect and every 30 s: wait until node3 has heard the whole mesh (node1 was restarted).
    const seen = await waitFor(
      'node3 to hear every link between its peers',
      async () => {
        const v = (await getJson<NetworkLite>(`${urls[2]!}/api/network`)).body;
        return v.links.filter((l) => l.reportedBy !== undefined).length === MESH_LINKS - (NODES - 1) ? v : undefined;
      },
      75_000,
      500,
    );
    assert.equal(seen.peerReports, NODES - 1);
    assert.equal(seen.links.filter((l) => l.reportedBy === undefined).length, NODES - 1);

    // The same node, its page not told about the launcher: what a node run by hand shows.
    const ctx = await browser!.newContext({ viewport: { width: 1280, height: 800 } });
    try {
      await ctx.route('**/api/network', async (route) => {
        const real = (await (await route.fetch()).json()) as NetworkLite;
        delete real.testnet;
        await route.fulfill({ json: real });
      });
      const p = await ctx.newPage();
      p.setDefaultTimeout(UI_WAIT_MS);
      watchErrors(p, 'no launcher', errors);
      await p.goto(`${urls[2]!}/#/network`);
      await countIs(p, '.graph-node', NODES);
      await countIs(p, '.graph-link', NODES - 1);
      await countIs(p, '.graph-link-reported', MESH_LINKS - (NODES - 1));
      assert.match((await p.locator('.links-scope').textContent()) ?? '', /links 3 peers reported/);
      await p.locator('.legend', { hasText: 'link a peer reported' }).waitFor();
      // Every link not touching this node is a reported one here.
      await p.locator(`.graph-link-hit:not([data-from="${seen.nodeId}"]):not([data-to="${seen.nodeId}"])`).first().hover({ force: true });
      await p.locator('.graph-tip:not([hidden])', { hasText: 'not verified' }).waitFor();
      await shot(p, 'links-p2p-reports');
    } finally {
      await ctx.close();
    }
  });

  test('no console errors and no page errors on the way', () => {
    assert.deepEqual(errors, []);
  });
});
