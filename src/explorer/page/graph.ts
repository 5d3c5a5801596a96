/**
 * The peer graph: every known node on rings (hubs, meaning validators and
 * bootstrap nodes, on the inner ring), the node answering marked, links as
 * lines: solid for ws, dashed for tcp, dotted for a link a peer reported but
 * this node cannot see. Colour says role; hovering (or tapping) a node or a
 * link shows its details and round-trip time. Positions depend only on which
 * nodes are known, so a live redraw does not shuffle the picture.
 */
import { h, s } from './dom.ts';
import type { Network, NetworkLink, NetworkNode, NodeRole } from './types.ts';

/** Roles from most to least specific: a node is drawn in the colour of its first. */
export const ROLE_ORDER: NodeRole[] = ['bootstrap', 'validator', 'miner', 'member', 'peer'];

/** What each topology kind is called on the page. */
export const TOPOLOGY_NAMES: Record<string, string> = {
  'pure-p2p': 'pure P2P',
  hybrid: 'hybrid P2P (a bootstrap node introduces peers)',
  'super-peer': 'super-peer (each organisation’s validators)',
};

/** The role a node is coloured by. */
export function mainRole(n: NetworkNode): NodeRole {
  return ROLE_ORDER.find((r) => n.roles.includes(r)) ?? 'peer';
}

/** A short name for a node: its genesis name, or the start of its id. */
export function nodeName(n: NetworkNode): string {
  return n.name ?? n.id.slice(0, 8);
}

/** True for a node drawn as down or unreachable (dimmed). */
function offline(n: NetworkNode): boolean {
  return n.state === undefined ? !n.connected : n.state === 'down';
}

function tooltipLines(n: NetworkNode, byId: ReadonlyMap<string, NetworkNode>): string[] {
  const lines = [`${nodeName(n)}${n.self ? ' (this node)' : ''}`, `roles: ${n.roles.join(', ')}`];
  if (n.org !== undefined) lines.push(`organisation: ${n.org}`);
  if (n.address !== undefined) lines.push(`address: ${n.address} (${n.direction ?? '?'})`);
  if (n.height !== undefined) lines.push(`height: ${n.height}`);
  if (n.rttMs !== undefined) lines.push(`round trip: ${n.rttMs.toFixed(1)} ms`);
  if (n.state === 'down') lines.push('down: its API does not answer');
  else if (!n.connected && !n.self) lines.push('not linked to this node');
  if (n.reportedBy !== undefined) lines.push(`known from ${peerName(n.reportedBy, byId)}'s report`);
  if (!n.id.startsWith('testnet:')) lines.push(`id: ${n.id.slice(0, 16)}…`);
  return lines;
}

function peerName(id: string, byId: ReadonlyMap<string, NetworkNode>): string {
  const n = byId.get(id);
  return n === undefined ? id.slice(0, 8) : nodeName(n);
}

function linkLines(l: NetworkLink, byId: ReadonlyMap<string, NetworkNode>, fromTestnet: boolean): string[] {
  const lines = [`${peerName(l.from, byId)} ↔ ${peerName(l.to, byId)}`];
  const rtt = l.rttMs === undefined ? 'not measured yet' : `${l.rttMs.toFixed(1)} ms`;
  if (l.reportedBy !== undefined) {
    // A reported link is the peer's word only: say whose, and that this node did not measure it.
    lines.push(`reported by ${peerName(l.reportedBy, byId)}, not verified`, `round trip: ${l.rttMs === undefined ? 'not measured by it yet' : `${rtt} (as it measured)`}`);
  } else {
    lines.push(`transport: ${l.transport ?? '?'}`, `round trip: ${rtt}`);
    if (fromTestnet) lines.push('from the nodes’ own peer lists (testnet launcher)');
  }
  return lines;
}

/**
 * Positions: every node, this one included, round one or two ellipses in one
 * angular order (by organisation, so an organisation's nodes sit together),
 * hubs on the inner ring and the rest on the outer one. Links between other
 * nodes would cross a node drawn in the middle, so none is.
 */
function layout(net: Network, w: number, hgt: number): Map<string, { x: number; y: number }> {
  const pos = new Map<string, { x: number; y: number }>();
  const hub = (n: NetworkNode): boolean => n.roles.includes('validator') || n.roles.includes('bootstrap');
  const all = net.nodes
    .slice()
    .sort((a, b) => (a.org ?? '').localeCompare(b.org ?? '') || Number(hub(b)) - Number(hub(a)) || nodeName(a).localeCompare(nodeName(b), 'en', { numeric: true }) || a.id.localeCompare(b.id));
  if (all.length === 1) {
    pos.set(all[0]!.id, { x: w / 2, y: hgt / 2 });
    return pos;
  }
  const twoRings = all.some(hub) && all.some((n) => !hub(n));
  // Rings are ellipses filling the box, leaving room at the edges for the labels (wider than tall).
  const rx = Math.max(40, w / 2 - 60);
  const ry = Math.max(40, hgt / 2 - 34);
  // An even count starts half a step round, so two nodes sit left and right rather than above and below.
  const offset = all.length % 2 === 0 ? Math.PI / all.length : 0;
  all.forEach((n, i) => {
    const a = offset + (2 * Math.PI * i) / all.length - Math.PI / 2;
    const scale = twoRings ? (hub(n) ? 0.55 : 1) : 0.85;
    pos.set(n.id, { x: w / 2 + rx * scale * Math.cos(a), y: hgt / 2 + ry * scale * Math.sin(a) });
  });
  return pos;
}

/** The graph of a network view, sized to `width` × `height` pixels, with its tooltip. */
export function networkGraph(net: Network, width: number, height: number): HTMLElement {
  const wrap = h('div', { class: 'graph' });
  const tip = h('div', { class: 'graph-tip', hidden: true });
  const svg = s('svg', { width, height, viewBox: `0 0 ${width} ${height}`, class: 'graph-svg', role: 'img', 'aria-label': `peer graph: ${net.nodes.length} nodes, ${net.links.length} links` });
  const pos = layout(net, width, height);
  const byId = new Map(net.nodes.map((n) => [n.id, n]));

  const show = (e: Event, lines: string[]): void => {
    tip.replaceChildren(...lines.map((l) => h('div', null, l)));
    tip.hidden = false;
    const box = wrap.getBoundingClientRect();
    // Focus (keyboard) has no pointer position: place the tooltip mid-graph.
    const pe = e instanceof PointerEvent ? e : undefined;
    const x = pe === undefined ? box.width / 2 : pe.clientX - box.left;
    const y = pe === undefined ? box.height / 2 : pe.clientY - box.top;
    // Keep the tooltip inside the graph on narrow screens.
    tip.style.left = `${Math.max(4, Math.min(x + 12, box.width - 240))}px`;
    tip.style.top = `${Math.max(4, y + 12)}px`;
  };
  const hide = (): void => void (tip.hidden = true);

  const links = s('g', { class: 'graph-links' });
  for (const l of net.links) {
    const a = pos.get(l.from);
    const b = pos.get(l.to);
    if (a === undefined || b === undefined) continue;
    const lines = linkLines(l, byId, net.fromTestnet === true);
    // Reported links get a class of their own: what this node saw and what it was told stay apart.
    const line = s('line', { x1: a.x, y1: a.y, x2: b.x, y2: b.y, class: l.reportedBy === undefined ? `graph-link ${l.transport ?? ''}` : 'graph-link-reported' });
    // A wide invisible twin makes a thin line easy to hover or tap.
    const hit = s('line', { x1: a.x, y1: a.y, x2: b.x, y2: b.y, class: 'graph-link-hit', 'data-from': l.from, 'data-to': l.to });
    hit.addEventListener('pointerenter', (e) => show(e, lines));
    hit.addEventListener('pointerdown', (e) => show(e, lines));
    hit.addEventListener('pointerleave', hide);
    links.append(line, hit);
  }
  svg.appendChild(links);

  const nodes = s('g', { class: 'graph-nodes' });
  for (const n of net.nodes) {
    const p = pos.get(n.id);
    if (p === undefined) continue;
    const role = mainRole(n);
    const g = s(
      'g',
      { class: `graph-node role-${role}${n.self ? ' self' : ''}${offline(n) ? ' offline' : ''}`, 'data-id': n.id, 'data-role': role, transform: `translate(${p.x.toFixed(1)},${p.y.toFixed(1)})`, tabindex: 0 },
      s('circle', { r: n.self ? 15 : 12 }),
      s('text', { y: n.self ? 29 : 26, 'text-anchor': 'middle', class: 'graph-label' }, n.self ? `${nodeName(n)} (here)` : nodeName(n)),
    );
    const lines = tooltipLines(n, byId);
    g.addEventListener('pointerenter', (e) => show(e, lines));
    g.addEventListener('pointerdown', (e) => show(e, lines));
    g.addEventListener('pointerleave', hide);
    g.addEventListener('focus', (e) => show(e, lines));
    g.addEventListener('blur', hide);
    nodes.appendChild(g);
  }
  svg.appendChild(nodes);
  wrap.append(svg, tip);
  return wrap;
}

/** The colour key for the roles present in a network. */
export function legend(net: Network): HTMLElement {
  const present = ROLE_ORDER.filter((r) => net.nodes.some((n) => mainRole(n) === r));
  return h(
    'ul',
    { class: 'legend' },
    present.map((r) => h('li', null, h('span', { class: `swatch role-${r}` }), r)),
    h('li', null, h('span', { class: 'swatch-line ws' }), 'ws link'),
    h('li', null, h('span', { class: 'swatch-line tcp' }), 'tcp link'),
    net.links.some((l) => l.reportedBy !== undefined) ? h('li', null, h('span', { class: 'swatch-line reported' }), 'link a peer reported') : null,
  );
}
