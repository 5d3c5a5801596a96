/** `#/`: the network at a glance: tiles, the newest blocks as they arrive, the peer graph, throughput and block-time charts, the top of the mempool. */
import { every, type App, type Dispose, type View } from '../app.ts';
import { Chart } from '../chart.ts';
import { ago, blockLink, card, duration, h, int, mono, put, si, table } from '../dom.ts';
import { blockTimes, hashRate, meanOfLast, throughput } from '../stats.ts';
import { consensusSummary } from './consensus.ts';
import { mempoolTable } from './mempool.ts';
import { networkPanel } from './network.ts';

const LATEST = 12;

/** A stat tile. */
function tile(label: string, value: HTMLElement, sub?: HTMLElement): HTMLElement {
  return h('div', { class: 'tile' }, h('div', { class: 'tile-label' }, label), value, sub ?? null);
}

/** The newest main-chain blocks; rows that arrived while the page was open flash once. */
export function latestBlocks(app: App, count = LATEST): { el: HTMLElement; dispose: Dispose } {
  const el = h('div', { class: 'latest-blocks' });
  const seen = new Set<string>();
  const render = (): void => {
    const blocks = app.chain.blocks.slice(-count).reverse();
    if (blocks.length === 0) return put(el, h('p', { class: 'note muted' }, 'loading blocks…'));
    const now = Date.now();
    const t = table(
      ['Height', 'Hash', 'Txs', 'Age'],
      blocks.map((b) => [blockLink(b.height), h('a', { href: `#/block/${b.hash}` }, mono(b.hash, 16)), String(b.txCount), ago(b.timestamp, now)]),
      { class: 'blocks-table' },
    );
    // Mark rows for styling and for tests: which block, and whether it is new since the page opened.
    t.querySelectorAll('tbody tr').forEach((tr, i) => {
      const b = blocks[i]!;
      tr.setAttribute('data-height', String(b.height));
      if (app.chain.arrived.has(b.hash) && !seen.has(b.hash)) tr.classList.add('new');
    });
    for (const b of blocks) seen.add(b.hash);
    put(el, t);
  };
  render();
  const off = app.chain.onChange(render);
  // Ages tick without new data.
  const timer = window.setInterval(render, 5000);
  return {
    el,
    dispose: () => {
      off();
      window.clearInterval(timer);
    },
  };
}

/** Renders the overview. */
export const overviewView: View = (root, _arg, app) => {
  const disposers: Dispose[] = [];
  const tiles = h('div', { class: 'tiles' });
  const latest = latestBlocks(app);
  const net = networkPanel(app, { height: 260, table: false });
  const tps = new Chart({ label: 'transactions per second', format: (y) => y.toFixed(y < 10 ? 2 : 1) });
  const bt = new Chart({ label: 'block time', kind: 'bars', format: (y) => duration(y * 1000) });
  const mempool = mempoolTable(app, 5);
  const cons = consensusSummary(app);
  disposers.push(latest.dispose, net.dispose, mempool.dispose, cons.dispose, () => tps.dispose(), () => bt.dispose());

  root.append(
    tiles,
    h(
      'div',
      { class: 'grid two' },
      card(['Latest blocks ', h('a', { class: 'more', href: '#/consensus' }, 'charts →')], latest.el),
      card(['Network ', h('a', { class: 'more', href: '#/network' }, 'details →')], net.el),
      card('Transactions per second', tps.el),
      card('Block time', bt.el),
      card(['Mempool ', h('a', { class: 'more', href: '#/mempool' }, 'all →')], mempool.el),
      card(['Consensus ', h('a', { class: 'more', href: '#/consensus' }, 'details →')], cons.el),
    ),
  );

  const renderTiles = (): void => {
    const s = app.status;
    const blocks = app.chain.blocks;
    const pow = app.pow;
    const times = blockTimes(blocks);
    const rate = throughput(blocks, pow);
    const tip = app.chain.tip;
    const items = [
      tile('Height', h('div', { class: 'tile-value', id: 'tile-height' }, s === undefined ? '–' : int(Math.max(s.height, tip?.height ?? 0))), h('div', { class: 'tile-sub' }, tip === undefined ? '' : ago(tip.timestamp))),
      tile('Peers', h('div', { class: 'tile-value' }, s === undefined ? '–' : String(s.peers))),
      tile('Mempool', h('div', { class: 'tile-value' }, s === undefined ? '–' : int(s.mempool)), h('div', { class: 'tile-sub' }, 'pending')),
      tile('Block time', h('div', { class: 'tile-value' }, duration(meanOfLast(times, 10) * 1000)), h('div', { class: 'tile-sub' }, 'mean of last 10')),
      tile('Throughput', h('div', { class: 'tile-value' }, `${meanOfLast(rate, 1).toFixed(2)} tx/s`), h('div', { class: 'tile-sub' }, 'last 10 blocks')),
    ];
    if (pow) items.push(tile('Hash rate', h('div', { class: 'tile-value' }, si(meanOfLast(hashRate(blocks), 1), 'H/s')), h('div', { class: 'tile-sub' }, 'network estimate')));
    put(tiles, items);
    tps.update(rate);
    bt.update(times, target === undefined ? undefined : { y: target / 1000, label: `target ${duration(target)}` });
  };
  // The PoW target block time comes with the network view; until then the chart has no reference line.
  let target: number | undefined;
  app.network().then((n) => {
    target = n.targetBlockTimeMs;
    renderTiles();
  }, () => undefined);
  renderTiles();
  disposers.push(app.chain.onChange(renderTiles), app.onStatus(renderTiles), every(5000, renderTiles));
  return () => disposers.forEach((d) => d());
};
