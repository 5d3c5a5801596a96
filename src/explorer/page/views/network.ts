/**
 * `#/network`: every node this node knows and the links between them, as a
 * live graph and a table, with the topology named. Under `peerchain testnet`
 * the nodes and links come from the launcher, which asks every node for its
 * own peers; otherwise from this node: its own links, and its peers' links as
 * they reported them over P2P (drawn apart, since nothing checks them).
 */
import { every, type App, type Dispose, type View } from '../app.ts';
import { accountLink, card, h, note, put, table } from '../dom.ts';
import { legend, mainRole, networkGraph, nodeName, TOPOLOGY_NAMES } from '../graph.ts';
import { mergeTestnetLinks, testnetLinks } from '../testnet-links.ts';
import type { Network } from '../types.ts';

const REFRESH_MS = 3000;

/** The network to draw: the node's view, with the launcher's nodes and links when it runs under one. */
async function loadNetwork(app: App): Promise<{ net: Network; warning?: string }> {
  const net = await app.network();
  const control = net.testnet?.control;
  if (control === undefined) return { net };
  try {
    return { net: mergeTestnetLinks(net, await testnetLinks(control)) };
  } catch (e) {
    // The launcher may be gone while the node runs on: show what the node itself knows, and say so.
    return { net, warning: `${e instanceof Error ? e.message : String(e)}; showing what this node knows instead` };
  }
}

/** What the graph's links are, said plainly. */
function linksNote(net: Network): string {
  if (net.fromTestnet === true) return 'every node and link, from each node’s own peer list (asked by the testnet launcher)';
  const reports = net.peerReports ?? 0;
  if (reports === 0) return 'links of this node only';
  return `this node's links, and the links ${reports} peer${reports === 1 ? '' : 's'} reported (dotted: their word, not checked)`;
}

/** The nodes as a table. */
function nodeTable(net: Network): HTMLElement {
  const nodes = net.nodes.slice().sort((a, b) => Number(b.self) - Number(a.self) || Number(b.connected) - Number(a.connected) || nodeName(a).localeCompare(nodeName(b), 'en', { numeric: true }));
  return table(
    ['Node', 'Roles', '~Organisation', '~Address', 'Height heard', 'Round trip', '~Account'],
    nodes.map((n) => [
      h('span', { class: `dot role-${mainRole(n)}` }, nodeName(n) + (n.self ? ' (this node)' : '')),
      n.roles.join(', '),
      n.org ?? '',
      n.address === undefined ? (n.state === 'down' ? 'down' : n.connected || n.self ? '' : 'not linked') : `${n.address} (${n.direction ?? '?'})`,
      n.height === undefined ? '' : String(n.height),
      n.rttMs === undefined ? '' : `${n.rttMs.toFixed(1)} ms`,
      n.account === '' ? '' : accountLink(n.account, 10),
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
  let warning: string | undefined;
  let lastWidth = 0;

  const render = (): void => {
    if (last === undefined) return;
    const net = last;
    const linked = net.nodes.filter((n) => n.connected && !n.self).length;
    const counts = net.fromTestnet === true ? `${net.nodes.filter((n) => n.state === 'up').length} of ${net.nodes.length} nodes up, ${net.links.length} link${net.links.length === 1 ? '' : 's'}` : `${net.nodes.length} node${net.nodes.length === 1 ? '' : 's'} known, ${linked} linked to this one`;
    put(
      caption,
      h('strong', { class: 'topology', 'data-topology': net.topology }, TOPOLOGY_NAMES[net.topology] ?? net.topology),
      ` · ${net.network} network · ${counts} · `,
      h('span', { class: 'links-scope' }, linksNote(net)),
      warning === undefined ? null : h('span', { class: 'graph-warning' }, ` · ${warning}`),
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
        h('p', { class: 'note muted' }, `Links: ${linksNote(net)}. Miners are the nodes paid by a coinbase in the last ${net.minerWindow} blocks or mining here.`),
      );
    }
  };

  let loading = false;
  let gone = false;
  const refresh = (): void => {
    // One load at a time: a slow launcher must not pile up requests.
    if (loading) return;
    loading = true;
    loadNetwork(app)
      .then((r) => {
        if (gone) return;
        last = r.net;
        warning = r.warning;
        render();
      })
      .catch((e: unknown) => {
        if (!gone) put(graphBox, note(`cannot load /api/network: ${e instanceof Error ? e.message : String(e)}`, 'error'));
      })
      .finally(() => (loading = false));
  };
  const stop = every(REFRESH_MS, refresh);
  // The event stream carries no peer events; a change in this node's peer count (from its polled status) stands in for one.
  let peers = app.status?.peers;
  const unsubscribe = app.onStatus((st) => {
    if (st.peers === peers) return;
    peers = st.peers;
    refresh();
  });
  // Redraw at the new width when the layout changes (rotation, resizing).
  const observer = new ResizeObserver(() => {
    if (graphBox.clientWidth !== lastWidth) render();
  });
  observer.observe(graphBox);
  return {
    el,
    dispose: () => {
      gone = true;
      stop();
      unsubscribe();
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
