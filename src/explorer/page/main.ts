/**
 * The explorer's entry point: the page shell (status line, search, tabs), the
 * hash router, and the views. Every view gets the shared App and returns a
 * cleanup that runs when the route changes.
 */
import { App, every, type Dispose, type View } from './app.ts';
import { card, h, int, note, put } from './dom.ts';
import { currentRoute, go, href } from './router.ts';
import type { BlockEvent } from './types.ts';
import { accountView } from './views/account.ts';
import { blockView } from './views/block.ts';
import { consensusView } from './views/consensus.ts';
import { mempoolView } from './views/mempool.ts';
import { networkView } from './views/network.ts';
import { overviewView } from './views/overview.ts';
import { recordView } from './views/record.ts';
import { searchView } from './views/search.ts';
import { revealTestnetTab, testnetView } from './views/testnet.ts';
import { txView } from './views/tx.ts';

/** Views by route name. */
const VIEWS: Record<string, View> = {
  overview: overviewView,
  network: networkView,
  mempool: mempoolView,
  consensus: consensusView,
  block: blockView,
  tx: txView,
  account: accountView,
  record: recordView,
  search: searchView,
  testnet: testnetView,
};

/**
 * The tabs. Views reached by links (block, tx, account, record, search) have
 * no tab. The testnet tab shows only on a node run by `peerchain testnet`.
 */
const NAV: { route: string; label: string }[] = [
  { route: 'overview', label: 'Overview' },
  { route: 'network', label: 'Network' },
  { route: 'mempool', label: 'Mempool' },
  { route: 'consensus', label: 'Consensus' },
  { route: 'testnet', label: 'Testnet' },
];

const TITLES: Record<string, string> = { block: 'Block', tx: 'Transaction', account: 'Account', record: 'Record', search: 'Search' };

function byId(id: string): HTMLElement {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`index.html lacks #${id}`);
  return el;
}

/** Starts the page. */
function boot(): void {
  const app = new App();
  const view = byId('view');
  const nav = byId('nav');
  const badge = byId('net-badge');
  const summary = byId('summary');
  const liveEl = byId('live');
  let dispose: Dispose | undefined;

  put(nav, NAV.map((n) => h('a', { href: href(n.route), 'data-route': n.route }, n.label)));
  revealTestnetTab(app, nav);

  const render = (): void => {
    dispose?.();
    dispose = undefined;
    const route = currentRoute();
    const v = VIEWS[route.name];
    view.replaceChildren();
    view.setAttribute('data-view', route.name);
    for (const a of nav.querySelectorAll('a')) a.classList.toggle('active', a.getAttribute('data-route') === route.name);
    const tab = NAV.find((n) => n.route === route.name);
    document.title = `${tab?.label ?? TITLES[route.name] ?? 'Not found'}${route.arg === '' ? '' : ` ${route.arg.slice(0, 20)}`} · peerchain explorer`;
    if (v === undefined) {
      view.append(card('Not found', note(`There is no page "${route.name}".`), h('a', { href: '#/' }, 'Back to the overview')));
      return;
    }
    dispose = v(view, route.arg, app) ?? undefined;
    window.scrollTo(0, 0);
  };

  app.onStatus((s) => {
    badge.textContent = `${s.network} · ${s.consensus === 'pow' ? 'PoW' : 'BFT'} · ${s.chainId}`;
    badge.className = `badge net-${s.network}`;
    put(summary, h('span', null, 'height ', h('strong', { id: 'status-height' }, int(s.height))), h('span', null, 'peers ', h('strong', null, String(s.peers))), h('span', null, 'mempool ', h('strong', null, int(s.mempool))), s.mining ? h('span', { class: 'mining' }, 'mining') : null);
  });
  app.live.onState((st) => {
    liveEl.textContent = st === 'open' ? 'live' : st === 'connecting' ? 'connecting…' : 'offline, retrying';
    liveEl.className = `live ${st}`;
  });
  // The status line follows blocks at once; the full status is polled.
  app.live.on('block', (d) => {
    const b = d as BlockEvent;
    if (app.status !== undefined && b.height > app.status.height) {
      app.status = { ...app.status, height: b.height, tip: b.hash, tipTimestamp: b.timestamp };
      const el = document.getElementById('status-height');
      if (el !== null) el.textContent = int(b.height);
    }
  });

  byId('search').addEventListener('submit', (e) => {
    e.preventDefault();
    const input = byId('search-input') as HTMLInputElement;
    const q = input.value.trim();
    if (q !== '') go('search', q);
    input.blur();
  });

  window.addEventListener('hashchange', render);
  app.live.start();
  every(5000, () => {
    app.refreshStatus().catch((e: unknown) => {
      badge.textContent = 'node unreachable';
      console.warn('explorer: status failed', e);
    });
  });
  void app.chain.refresh();
  render();
}

boot();
