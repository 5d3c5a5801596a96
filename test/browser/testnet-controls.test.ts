/**
 * The explorer's testnet controls in a real browser (Debian's chromium driven
 * by playwright-core) against a three-node public testnet started with its
 * control server: the Testnet tab appears, pressing Stop shows the node down
 * and its peers' counts drop, Restart brings it back, and a partition built
 * on the page cuts node3 off until Heal. Any console error or page error
 * fails the run. Screenshots go to test-artifacts/explorer/.
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
import { getJson, postJson, waitFor, peersOf } from '../helpers/http.ts';
import { findChromium } from '../helpers/browser.ts';
import { PORTS } from '../helpers/ports.ts';

const CHROMIUM = findChromium();
const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/explorer/', import.meta.url));
const UI_WAIT_MS = 30_000;

describe('explorer: testnet controls in a browser', { timeout: 300_000 }, () => {
  let dir: string;
  let net: Testnet | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let urls: string[];
  const errors: string[] = [];

  // A node's row by its first cell: another row may name it too ("cut off from node3").
  const row = (name: string) => page.locator('.control-table tbody tr').filter({ has: page.locator('td:first-child', { hasText: new RegExp(`^${name}$`) }) });
  const shot = async (name: string): Promise<void> => {
    await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  };

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `no chromium at ${CHROMIUM}: install it (apt-get install -y chromium) or set PEERCHAIN_CHROMIUM`);
    assert.ok(existsSync(fileURLToPath(new URL('../../dist/explorer/main.js', import.meta.url))), 'dist/explorer is missing: run npm run build');
    mkdirSync(ARTIFACTS, { recursive: true });
    dir = mkdtempSync(join(tmpdir(), 'peerchain-controls-'));
    await initNetwork(parseInitFlags({ network: 'public', out: join(dir, 'net'), nodes: '3', initialZeroBits: '4', blockTimeMs: '1000' }), Date.now());
    const logs: string[] = [];
    try {
      net = await Testnet.start({ dir: join(dir, 'net'), basePort: PORTS.explorerControls, miners: [], logLevel: 'warn', control: {}, onLine: (n, line) => void logs.push(`${n}: ${line}`) });
    } catch (e) {
      throw new Error(`${(e as Error).message}\nnode output:\n${logs.slice(-40).join('\n')}`);
    }
    urls = net.nodes.map((n) => n.apiUrl);
    await waitFor('a full mesh', async () => ((await Promise.all(urls.map(peersOf))).every((p) => p === 2) ? true : undefined), 30_000);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-background-networking', '--disable-dev-shm-usage', '--disable-component-update', '--no-first-run'],
      timeout: 60_000,
    });
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    page = await ctx.newPage();
    page.setDefaultTimeout(UI_WAIT_MS);
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
    await net?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  test('the Testnet tab lists every node, up, with its peers', async () => {
    await page.goto(`${urls[2]!}/`);
    const tab = page.locator('nav a[data-route="testnet"]');
    await tab.waitFor({ state: 'visible' });
    await tab.click();
    for (const name of ['node1', 'node2', 'node3']) await row(name).locator('.state-up').waitFor();
    assert.equal(await page.locator('.control-table tbody tr').count(), 3);
    assert.equal((await row('node3').locator('td').nth(4).textContent())?.trim(), '2');
    await shot('testnet-controls');
  });

  test('pressing Stop shows the node down and its peers\' counts drop; Restart brings it back', async () => {
    await row('node1').locator('button.stop').click();
    await row('node1').locator('.state-down').waitFor();
    await page.locator('#control-msg', { hasText: 'stop node1: done' }).waitFor();
    // The node serving this page lost its link to node1: its own row and the status line say so.
    await row('node3').locator('td').nth(4).filter({ hasText: /^1$/ }).waitFor();
    await page.locator('#summary', { hasText: 'peers 1' }).waitFor();
    assert.equal(net!.node('node1').process, undefined, 'the process is gone');
    await shot('testnet-controls-stopped');

    await row('node1').locator('button.restart').click();
    await row('node1').locator('.state-up').waitFor();
    await row('node3').locator('td').nth(4).filter({ hasText: /^2$/ }).waitFor();
    await page.locator('#summary', { hasText: 'peers 2' }).waitFor();
    await shot('testnet-controls-restarted');
  });

  test('a partition built on the page cuts node3 off; Heal links it again', async () => {
    await page.locator('select[data-node="node1"]').selectOption('A');
    await page.locator('select[data-node="node2"]').selectOption('A');
    await page.locator('select[data-node="node3"]').selectOption('B');
    await page.locator('button.partition').click();
    await page.locator('.controls', { hasText: 'partitioned: node1, node2 | node3' }).waitFor();
    await row('node3').locator('td').nth(4).filter({ hasText: /^0$/ }).waitFor();
    assert.match((await row('node3').locator('td').nth(5).textContent()) ?? '', /cut off from node1, node2/);
    await shot('testnet-controls-partitioned');
    await page.locator('button.heal').click();
    await row('node3').locator('td').nth(4).filter({ hasText: /^2$/ }).waitFor();
    assert.equal(await page.locator('.controls', { hasText: 'partitioned' }).count(), 0);
  });

  test('a fork made through the controls shows as a reorganisation in the explorer', async () => {
    const [a, , c] = urls as [string, string, string];
    const mine = async (url: string, blocks: number): Promise<void> => {
      const r = await postJson(`${url}/api/mine`, { blocks }, 60_000);
      assert.equal(r.status, 200, JSON.stringify(r.body));
    };
    // Watch node3's page: it is the one that will switch branches.
    await page.goto(`${c}/#/consensus`);
    await page.locator('.reorg-table, .card', { hasText: 'Forks and reorganisations' }).first().waitFor();
    await net!.control!.partition([['node1', 'node2'], ['node3']]);
    await waitFor('node3 cut off', async () => ((await peersOf(c)) === 0 ? true : undefined), 20_000);
    await mine(c, 1);
    await mine(a, 3);
    await net!.control!.heal();
    await waitFor('one tip again', async () => {
      const [ta, tc] = await Promise.all([a, c].map(async (u) => (await getJson<{ tip: string }>(`${u}/api/status`)).body.tip));
      return ta === tc ? true : undefined;
    }, 40_000);
    await page.locator('.reorg-table tbody tr').first().waitFor();
    assert.match((await page.locator('.reorg-table tbody tr').first().textContent()) ?? '', /1 block/);
    await shot('testnet-controls-reorg');
  });

  test('no console errors and no page errors on the way', () => {
    assert.deepEqual(errors, []);
  });
});
