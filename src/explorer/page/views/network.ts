/** `#/network`: every node this node knows, as a live graph and a table, with the topology named. */
import { every, type App, type Dispose, type View } from '../app.ts';
import { accountLink, card, h, note, put, table } from '../dom.ts';
import { legend, mainRole, networkGraph, nodeName, TOPOLOGY_NAMES } from '../graph.ts';
import type { Network } from '../types.ts';

const REFRESH_MS = 3000;

/** The nodes as a table. */
function nodeTable(net: Network): HTMLElement {
  const nodes = net.nodes.slice().sort((a, b) => Number(b.self) - Number(a.self) || Number(b.connected) - Number(a.connected) || nodeName(a).localeCompare(nodeName(b), 'en', { numeric: true }));
  return table(
    ['Node', 'Roles', '~Organisation', '~Address', 'Height heard', 'Round trip', '~Account'],
    nodes.map((n) => [
      h('span', { class: `dot role-${mainRole(n)}` }, nodeName(n) + (n.self ? ' (this node)' : '')),
      n.roles.join(', '),
      n.org ?? '',
      n.address === undefined ? (n.connected ? '' : 'not linked') : `${n.address} (${n.direction ?? '?'})`,
      n.height === undefined ? '' : String(n.height),
      n.rttMs === undefined ? '' : `${n.rttMs.toFixed(1)} ms`,
      accountLink(n.account, 10),
    ]),
    { class: 'nodes-table' },
  );
}

/** The graph (and optionally the table) of this node's network, refreshed every few seconds. */
export function networkPanel(app: App, opts: { height: number; table: boolean }): { el: HTMLElement; dispose: Dispose } {
  const caption = h('p', { class: 'graph-caption' });
  const graphBox = h('div', { class: 'graph-box' });
  const key = h('div');
  const extra = h('div');
  const el = h('div', { class: 'network-panel' }, caption, graphBox, key, extra);
  let last: Network | undefined;
  let lastWidth = 0;

  const render = (): void => {
    if (last === undefined) return;
    const net = last;
    const linked = net.nodes.filter((n) => n.connected).length;
    put(
      caption,
      h('strong', { class: 'topology', 'data-topology': net.topology }, TOPOLOGY_NAMES[net.topology] ?? net.topology),
      ` · ${net.network} network · ${net.nodes.length} node${net.nodes.length === 1 ? '' : 's'} known, ${linked - 1} linked to this one`,
    );
    lastWidth = graphBox.clientWidth;
    const width = Math.max(280, lastWidth || 600);
    // A phone-width box gets a shorter graph, so it does not float in empty space.
    put(graphBox, networkGraph(net, width, Math.min(opts.height, Math.max(220, Math.round(width * 0.7)))));
    put(key, legend(net));
    if (opts.table) {
      put(
        extra,
        nodeTable(net),
        h('p', { class: 'note muted' }, `Links shown are this node's own; miners are the nodes paid by a coinbase in the last ${net.minerWindow} blocks or mining here.`),
      );
    }
  };

  const refresh = (): void => {
    app
      .network()
      .then((net) => {
        last = net;
        render();
      })
      .catch((e: unknown) => put(graphBox, note(`cannot load /api/network: ${e instanceof Error ? e.message : String(e)}`, 'error')));
  };
  const stop = every(REFRESH_MS, refresh);
  // Redraw at the new width when the layout changes (rotation, resizing).
  const observer = new ResizeObserver(() => {
    if (graphBox.clientWidth !== lastWidth) render();
  });
  observer.observe(graphBox);
  return {
    el,
    dispose: () => {
      stop();
      observer.disconnect();
    },
  };
}

/** Renders the network view. */
export const networkView: View = (root, _arg, app) => {
  const panel = networkPanel(app, { height: 420, table: true });
  root.append(card('Network', panel.el));
  return panel.dispose;
};
