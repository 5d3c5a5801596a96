/**
 * The explorer's BFT views in a real browser against a real private network
 * (a bootstrap and four validator processes): the consensus panel shows the
 * height, step and each validator's votes as they change, a block shows its
 * commit certificate and who signed it, and the peer graph names the hybrid
 * topology. Any console error or page error fails the run.
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
import { CHROMIUM_ARGS, countIs, findChromium, watchErrors } from '../helpers/browser.ts';
import { getJson, waitFor } from '../helpers/http.ts';
import { PORTS } from '../helpers/ports.ts';

const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/explorer/', import.meta.url));
const UI_WAIT_MS = 20_000;

describe('explorer on a private BFT network', { timeout: 240_000 }, () => {
  let dir: string;
  let net: Testnet | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let api: string;
  const errors: string[] = [];

  before(async () => {
    const chromiumPath = findChromium();
    assert.ok(existsSync(chromiumPath), `no chromium at ${chromiumPath}: install it (apt-get install -y chromium) or set PEERCHAIN_CHROMIUM`);
    mkdirSync(ARTIFACTS, { recursive: true });
    dir = mkdtempSync(join(tmpdir(), 'peerchain-explorer-bft-'));
    await initNetwork(parseInitFlags({ network: 'private', validators: '4', members: '0', blockTimeMs: '700', out: join(dir, 'net') }), Date.now());
    net = await Testnet.start({ dir: join(dir, 'net'), basePort: PORTS.explorerBft, logLevel: 'warn' });
    api = net.node('validator1').apiUrl;
    await waitFor('a few committed blocks', async () => ((await getJson<{ height: number }>(`${api}/api/status`)).body.height >= 3 ? true : undefined), 30_000);
    browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: CHROMIUM_ARGS });
    page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    page.setDefaultTimeout(UI_WAIT_MS);
    watchErrors(page, 'bft', errors);
  });

  after(async () => {
    await browser?.close();
    await net?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  test('the consensus panel shows the height, the step and the four validators\' votes, live', async () => {
    await page.goto(`${api}/#/consensus`);
    await countIs(page, '.votes-table tbody tr', 4);
    const heightOf = async (): Promise<number> => Number(/Height\s*(\d+)/.exec((await page.locator('.bft-panel').textContent()) ?? '')?.[1] ?? NaN);
    const first = await heightOf();
    assert.ok(first >= 3, `panel height ${first}`);
    await waitFor('the panel to move on to a later height', async () => ((await heightOf()) > first ? true : undefined), 20_000, 200);
    assert.match((await page.locator('.bft-panel .step').textContent()) ?? '', /waiting|propose|prevote|precommit|decided/);
    await page.screenshot({ path: join(ARTIFACTS, 'bft-consensus.png'), fullPage: true });
  });

  test('a block shows its commit certificate and who signed it', async () => {
    await page.goto(`${api}/#/block/2`);
    await page.locator('.commit-table tbody tr').first().waitFor();
    const signed = await page.locator('.commit-table .vote.yes').count();
    assert.ok(signed >= 3, `${signed} signatures shown; more than 2/3 of 4 needed`);
    assert.match((await page.locator('main').textContent()) ?? '', /validator\d/);
    await page.screenshot({ path: join(ARTIFACTS, 'bft-block.png'), fullPage: true });
  });

  test('the peer graph names the hybrid topology and shows every node', async () => {
    await page.goto(`${api}/#/network`);
    await countIs(page, '.graph-node', 5);
    assert.match((await page.locator('.topology').textContent()) ?? '', /hybrid/i);
    assert.equal(await page.locator('.graph-node.role-validator').count(), 4);
    await page.screenshot({ path: join(ARTIFACTS, 'bft-network.png'), fullPage: true });
  });

  test('no console errors or page errors', () => {
    assert.deepEqual(errors, []);
  });
});
