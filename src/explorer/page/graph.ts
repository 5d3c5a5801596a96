/**
 * The peer graph: the node answering at the centre, the nodes it knows on
 * rings around it (hubs, meaning validators and bootstrap nodes, on the inner
 * ring), links as lines. Colour says role; hovering (or tapping) a node or a
 * link shows its details and round-trip time. Positions depend only on which
 * nodes are known, so a live redraw does not shuffle the picture.
 */
import { h, s } from './dom.ts';
import type { Network, NetworkNode, NodeRole } from './types.ts';

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

function tooltipLines(n: NetworkNode): string[] {
  const lines = [`${nodeName(n)}${n.self ? ' (this node)' : ''}`, `roles: ${n.roles.join(', ')}`];
  if (n.org !== undefined) lines.push(`organisation: ${n.org}`);
  if (n.address !== undefined) lines.push(`address: ${n.address} (${n.direction ?? '?'})`);
  if (n.height !== undefined) lines.push(`height: ${n.height}`);
  if (n.rttMs !== undefined) lines.push(`round trip: ${n.rttMs.toFixed(1)} ms`);
  if (!n.connected) lines.push('not linked to this node');
  lines.push(`id: ${n.id.slice(0, 16)}…`);
  return lines;
}

/**
 * Positions: self in the middle, the others around it in one angular order
 * (by organisation, so an organisation's nodes sit together), hubs on an
 * inner ring and the rest on the outer one.
 */
function layout(net: Network, w: number, hgt: number): Map<string, { x: number; y: number }> {
  const pos = new Map<string, { x: number; y: number }>();
  const hub = (n: NetworkNode): boolean => n.roles.includes('validator') || n.roles.includes('bootstrap');
  const others = net.nodes
    .filter((n) => !n.self)
    .sort((a, b) => (a.org ?? '').localeCompare(b.org ?? '') || Number(hub(b)) - Number(hub(a)) || nodeName(a).localeCompare(nodeName(b), 'en', { numeric: true }) || a.id.localeCompare(b.id));
  const twoRings = others.some(hub) && others.some((n) => !hub(n));
  // Rings are ellipses filling the box, leaving room at the edges for the labels (wider than tall).
  const rx = Math.max(40, w / 2 - 60);
  const ry = Math.max(40, hgt / 2 - 34);
  // An even count starts half a step round, so two peers sit left and right rather than above and below.
  const offset = others.length % 2 === 0 ? Math.PI / Math.max(others.length, 1) : 0;
  others.forEach((n, i) => {
    const a = offset + (2 * Math.PI * i) / others.length - Math.PI / 2;
    const scale = twoRings ? (hub(n) ? 0.55 : 1) : 0.85;
    pos.set(n.id, { x: w / 2 + rx * scale * Math.cos(a), y: hgt / 2 + ry * scale * Math.sin(a) });
  });
  const self = net.nodes.find((n) => n.self);
  if (self !== undefined) pos.set(self.id, { x: w / 2, y: hgt / 2 });
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
    const peer = byId.get(l.to);
    const lines = [`${nodeName(byId.get(l.from)!)} ↔ ${peer === undefined ? l.to.slice(0, 8) : nodeName(peer)}`, `transport: ${l.transport ?? '?'}`, `round trip: ${l.rttMs === undefined ? 'not measured yet' : `${l.rttMs.toFixed(1)} ms`}`];
    const line = s('line', { x1: a.x, y1: a.y, x2: b.x, y2: b.y, class: `graph-link ${l.transport ?? ''}` });
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
      { class: `graph-node role-${role}${n.self ? ' self' : ''}${n.connected ? '' : ' offline'}`, 'data-id': n.id, 'data-role': role, transform: `translate(${p.x.toFixed(1)},${p.y.toFixed(1)})`, tabindex: 0 },
      s('circle', { r: n.self ? 15 : 12 }),
      s('text', { y: n.self ? 29 : 26, 'text-anchor': 'middle', class: 'graph-label' }, n.self ? `${nodeName(n)} (here)` : nodeName(n)),
    );
    const lines = tooltipLines(n);
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
  );
}
