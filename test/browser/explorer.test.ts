/**
 * The explorer in a real browser (Debian's chromium driven by playwright-core)
 * against a real three-node public testnet: new blocks appear without a
 * reload, a block and a transaction open, search finds an address and a
 * record, the peer graph shows every node. Any console error or page error
 * fails the run. Screenshots at laptop and phone width go to test-artifacts/.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { signTx, txToJson, type JsonValue } from '../../src/core/index.ts';
import { addressFromPublicKey, generateKeyPair } from '../../src/crypto/index.ts';
import { readKeyFile } from '../../src/node/keystore.ts';
import { initNetwork } from '../../src/cli/init-run.ts';
import { parseInitFlags } from '../../src/cli/init-options.ts';
import { Testnet } from '../../src/testnet/launcher.ts';
import { countIs, findChromium, type PageGlobals } from '../helpers/browser.ts';
import { getJson, mineBlocks, nodeStatus, postJson, waitFor, sameTip } from '../helpers/http.ts';

const CHROMIUM = findChromium();
const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/explorer/', import.meta.url));
// The launcher takes base+i (ws), base+100+i (tcp) and base+200+i (api): 17500-17702 here,
// clear of the 161xx-169xx ranges the e2e tests use, since test files run two at a time.
const BASE_PORT = 17500;
const UI_WAIT_MS = 20_000;
const LAPTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };


describe('explorer in a browser', { timeout: 300_000 }, () => {
  let dir: string;
  let net: Testnet | undefined;
  let browser: Browser | undefined;
  let urls: string[];
  let page: Page;
  let laptop: BrowserContext;
  const errors: string[] = [];
  const recipient = addressFromPublicKey(generateKeyPair().publicKey);
  let transferId = '';
  let transferHeight = 0;

  /** Collects console errors and uncaught exceptions of a page; the last test asserts there were none. */
  const watch = (p: Page, where: string): void => {
    p.on('console', (m) => {
      if (m.type() === 'error') errors.push(`${where}: console: ${m.text()}`);
    });
    p.on('pageerror', (e) => errors.push(`${where}: page error: ${e.message}`));
  };

  const shot = async (p: Page, name: string): Promise<void> => {
    await p.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  };

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `no chromium at ${CHROMIUM}: install it (apt-get install -y chromium) or set PEERCHAIN_CHROMIUM`);
    assert.ok(existsSync(fileURLToPath(new URL('../../dist/explorer/main.js', import.meta.url))), 'dist/explorer is missing: run npm run build');
    mkdirSync(ARTIFACTS, { recursive: true });
    dir = mkdtempSync(join(tmpdir(), 'peerchain-explorer-'));
    // Easy, fixed difficulty: blocks come on demand through /api/mine, so the test decides when.
    const s = await initNetwork(parseInitFlags({ network: 'public', out: join(dir, 'net'), nodes: '3', initialZeroBits: '4', blockTimeMs: '1000' }), Date.now());
    // Node output is kept to explain a node that fails to start.
    const logs: string[] = [];
    try {
      net = await Testnet.start({ dir: join(dir, 'net'), basePort: BASE_PORT, miners: [], logLevel: 'warn', onLine: (n, line) => void logs.push(`${n}: ${line}`) });
    } catch (e) {
      throw new Error(`${(e as Error).message}\nnode output:\n${logs.slice(-40).join('\n')}`);
    }
    urls = net.nodes.map((n) => n.apiUrl);
    await waitFor('a full mesh', async () => ((await Promise.all(urls.map(nodeStatus))).every((x) => x.peers === 2) ? true : undefined), 30_000);

    // Some history to look at: two blocks, then a transfer and two writes of one record in a third.
    const [a, , c] = urls as [string, string, string];
    await mineBlocks(a, 2);
    const funded = await readKeyFile(join(dir, 'net', 'wallets', 'funded.json'));
    const from = addressFromPublicKey(funded.publicKey);
    const send = async (body: Parameters<typeof signTx>[0]): Promise<string> => {
      const r = await postJson<{ id: string }>(`${c}/api/txs`, txToJson(signTx(body, funded)));
      assert.equal(r.status, 202, JSON.stringify(r.body));
      return r.body.id;
    };
    let nonce = (await getJson<{ pendingNonce: number }>(`${c}/api/accounts/${from}`)).body.pendingNonce;
    transferId = await send({ kind: 'transfer', chainId: s.chainId, from: funded.publicKey, nonce: nonce++, fee: 3n, to: recipient, amount: 1234n });
    const values: JsonValue[] = [{ event: 'manufactured', plant: 'Wolfsburg' }, { event: 'service', km: 15000 }];
    for (const value of values) await send({ kind: 'record', chainId: s.chainId, from: funded.publicKey, nonce: nonce++, fee: 1n, key: 'vin:WVW0001', value });
    await waitFor('three txs in the miner\'s mempool', async () => ((await getJson<{ size: number }>(`${a}/api/mempool`)).body.size >= 3 ? true : undefined));
    await mineBlocks(a, 1);
    transferHeight = (await sameTip(urls, 3))[0]!.height;

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-background-networking', '--disable-dev-shm-usage', '--disable-component-update', '--no-first-run'],
      timeout: 60_000,
    });
    laptop = await browser.newContext({ viewport: LAPTOP });
    page = await laptop.newPage();
    page.setDefaultTimeout(UI_WAIT_MS);
    watch(page, 'laptop');
  });

  after(async () => {
    // The browser goes first, so the page never sees its node vanish.
    await browser?.close().catch(() => undefined);
    await net?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  test('the overview shows the newest blocks, and a new one appears without a reload', async () => {
    const url = urls[2]!;
    await page.goto(`${url}/`);
    await page.locator(`.blocks-table tr[data-height="${transferHeight}"]`).waitFor();
    await page.locator('#live.open').waitFor();
    // A marker on window survives only if the page is not reloaded.
    await page.evaluate(() => ((globalThis as unknown as PageGlobals).marker = 42));
    const [hash] = await mineBlocks(urls[0]!, 1);
    const row = page.locator(`.blocks-table tr[data-height="${transferHeight + 1}"]`);
    await row.waitFor();
    assert.match((await row.textContent()) ?? '', new RegExp(hash!.slice(0, 16)));
    assert.equal(await page.evaluate(() => (globalThis as unknown as PageGlobals).marker), 42);
    await page.locator('#status-height', { hasText: String(transferHeight + 1) }).waitFor();
    await page.locator('.chart-svg').first().waitFor();
    await shot(page, 'laptop-overview');
  });

  test('the peer graph shows all three nodes and their links, named pure P2P', async () => {
    await page.locator('nav a[data-route="network"]').click();
    await countIs(page, '.graph-node', 3);
    assert.equal(await page.locator('.graph-node.self').count(), 1);
    assert.equal(await page.locator('.graph-link').count(), 2);
    assert.match((await page.locator('.topology').textContent()) ?? '', /pure P2P/);
    assert.equal(await page.locator('.nodes-table tbody tr').count(), 3);
    // Hovering a link shows its round trip.
    await page.locator('.graph-link-hit').first().hover({ force: true });
    await page.locator('.graph-tip:not([hidden])', { hasText: 'round trip' }).waitFor();
    await shot(page, 'laptop-network');
  });

  test('a block opens with its header and transactions, and a transaction from it', async () => {
    await page.goto(`${urls[2]!}/#/block/${transferHeight}`);
    await page.locator('#block-hash').waitFor();
    const txRow = page.locator('.txs-table a', { hasText: transferId.slice(0, 10) });
    await txRow.waitFor();
    assert.equal(await page.locator('.txs-table tbody tr').count(), 4, 'coinbase, transfer and two record writes');
    await shot(page, 'laptop-block');
    await txRow.click();
    await page.locator('#tx-id', { hasText: transferId }).waitFor();
    await page.locator('.status.confirmed').waitFor();
    const text = (await page.locator('.card').first().textContent()) ?? '';
    assert.match(text, /1,234/);
    assert.match(text, new RegExp(recipient.slice(0, 14)));
    await shot(page, 'laptop-tx');
  });

  test('search finds an address and a record', async () => {
    await page.fill('#search-input', recipient);
    await page.press('#search-input', 'Enter');
    await page.locator('#account-balance', { hasText: '1,234' }).waitFor();
    assert.match(page.url(), /#\/account\//);
    await page.locator('.account-txs a', { hasText: transferId.slice(0, 10) }).waitFor();
    await shot(page, 'laptop-account');

    await page.fill('#search-input', 'vin:WVW0001');
    await page.press('#search-input', 'Enter');
    await page.locator('#record-key', { hasText: 'vin:WVW0001' }).waitFor();
    assert.equal(await page.locator('.timeline-item').count(), 2);
    assert.match((await page.locator('.timeline-item').first().textContent()) ?? '', /15000/, 'newest write first');
    await shot(page, 'laptop-record');

    await page.fill('#search-input', String(transferHeight));
    await page.press('#search-input', 'Enter');
    await page.locator('#block-hash').waitFor();
    assert.match(page.url(), new RegExp(`#/block/${transferHeight}$`));
  });

  test('the mempool and PoW consensus views render', async () => {
    await page.locator('nav a[data-route="mempool"]').click();
    await page.locator('.mempool .note', { hasText: 'pending' }).waitFor();
    await page.locator('nav a[data-route="consensus"]').click();
    await page.waitForFunction(() => (globalThis as unknown as PageGlobals).document.querySelectorAll('.chart-svg path, .chart-svg rect').length >= 3);
    await page.locator('.fork-log').waitFor();
    await shot(page, 'laptop-consensus');
  });

  test('at phone width the pages fit the screen', async () => {
    const phone = await browser!.newContext({ viewport: PHONE, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    try {
      const p = await phone.newPage();
      p.setDefaultTimeout(UI_WAIT_MS);
      watch(p, 'phone');
      const pages: [string, string, string][] = [
        ['/', `.blocks-table tr[data-height="${transferHeight}"]`, 'phone-overview'],
        ['/#/network', '.graph-node.self', 'phone-network'],
        [`/#/block/${transferHeight}`, '#block-hash', 'phone-block'],
        [`/#/tx/${transferId}`, '#tx-id', 'phone-tx'],
        ['/#/record/vin%3AWVW0001', '.timeline-item', 'phone-record'],
      ];
      for (const [path, ready, name] of pages) {
        await p.goto(`${urls[2]!}${path}`);
        await p.locator(ready).first().waitFor();
        // Wide tables scroll inside their own box; the page itself must not scroll sideways.
        const overflow = await p.evaluate(() => (globalThis as unknown as PageGlobals).document.documentElement.scrollWidth - (globalThis as unknown as PageGlobals).innerWidth);
        assert.ok(overflow <= 1, `${path} is ${overflow}px wider than the phone screen`);
        if (name === 'phone-network') await countIs(p, '.graph-node', 3);
        await shot(p, name);
      }
    } finally {
      await phone.close();
    }
  });

  test('without /api/consensus a BFT node shows no BFT panel', async () => {
    const ctx = await browser!.newContext({ viewport: LAPTOP });
    try {
      await ctx.route('**/api/status', async (route) => {
        const real = (await (await route.fetch()).json()) as Record<string, unknown>;
        await route.fulfill({ json: { ...real, network: 'private', consensus: 'bft' } });
      });
      const p = await ctx.newPage();
      p.setDefaultTimeout(UI_WAIT_MS);
      const seen: string[] = [];
      p.on('console', (m) => {
        // The browser itself logs the 404 of /api/consensus; anything else is a fault.
        if (m.type() === 'error' && !m.location().url.endsWith('/api/consensus')) seen.push(m.text());
      });
      p.on('pageerror', (e) => seen.push(e.message));
      await p.goto(`${urls[2]!}/#/consensus`);
      await p.locator('.bft-panel').waitFor({ state: 'attached' });
      await p.waitForFunction(() => (globalThis as unknown as PageGlobals).document.querySelector('.bft-panel')?.hidden === true);
      assert.deepEqual(seen, []);
    } finally {
      await ctx.close();
    }
  });

  test('no console errors and no page errors on the way', () => {
    assert.deepEqual(errors, []);
  });
});
