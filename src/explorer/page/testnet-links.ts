/**
 * The whole testnet's links for the peer graph. A node knows its own links
 * first hand and its peers' only as they report them; the launcher can ask
 * every node for its own peer list, so under `peerchain testnet` the graph
 * draws from its `GET /control/links` instead, with this node's view (roles
 * from recent coinbases, accounts, heights) laid over the launcher's nodes.
 */
import type { Network, NetworkLink, NetworkNode, NodeRole, TestnetLinks } from './types.ts';

const TIMEOUT_MS = 5000;
const ROLES: readonly NodeRole[] = ['miner', 'validator', 'member', 'bootstrap', 'peer'];

/** GETs the launcher's `/control/links`; throws with a message for people when it does not answer. */
export async function testnetLinks(control: string): Promise<TestnetLinks> {
  let r: Response;
  try {
    r = await fetch(`${control}/control/links`, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (e) {
    throw new Error(`the testnet launcher at ${control} did not answer: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!r.ok) throw new Error(`${control}/control/links answered ${r.status}`);
  const body = (await r.json()) as Partial<TestnetLinks>;
  if (!Array.isArray(body.nodes) || !Array.isArray(body.links)) throw new Error(`${control}/control/links answered something else than nodes and links`);
  return body as TestnetLinks;
}

/**
 * The node's network view with the launcher's nodes and links in place of the
 * node's own: every testnet node (by id once known, else by name), and any
 * node outside the testnet that this node links to, with that link.
 */
export function mergeTestnetLinks(net: Network, t: TestnetLinks): Network {
  const mine = new Map(net.nodes.map((n) => [n.id, n]));
  const idOf = new Map<string, string>();
  const nodes: NetworkNode[] = t.nodes.map((c) => {
    // A node that never came up has no id yet; its name stands in, so it is still drawn (as down).
    const id = c.nodeId ?? `testnet:${c.name}`;
    idOf.set(c.name, id);
    const seen = mine.get(id);
    const role = ROLES.find((r) => r === c.role) ?? 'peer';
    // This node's roles (miners read from recent coinbases) plus the launcher's; 'peer' only when nothing more is known.
    const roles: NodeRole[] = (seen?.roles ?? []).filter((r) => r !== 'peer');
    if (role !== 'peer' && !roles.includes(role)) roles.push(role);
    if (roles.length === 0) roles.push('peer');
    return {
      ...(seen ?? { account: '', connected: false }),
      id,
      name: c.name,
      org: c.org ?? seen?.org,
      roles,
      self: id === net.nodeId,
      connected: seen?.connected ?? false,
      state: c.up ? 'up' : 'down',
    };
  });
  const inTestnet = new Set(idOf.values());
  for (const n of net.nodes) if (!inTestnet.has(n.id) && (n.self || n.connected)) nodes.push(n);
  const links: NetworkLink[] = [];
  for (const l of t.links) {
    const from = idOf.get(l.from);
    const to = idOf.get(l.to);
    if (from === undefined || to === undefined) continue;
    const link: NetworkLink = { from, to };
    if (l.rttMs !== undefined) link.rttMs = l.rttMs;
    if (l.transport !== undefined) link.transport = l.transport;
    links.push(link);
  }
  // The launcher sees testnet nodes only; this node's own links to anything else are still first hand.
  for (const l of net.links) if (l.reportedBy === undefined && !(inTestnet.has(l.from) && inTestnet.has(l.to))) links.push(l);
  return { ...net, nodes, links, fromTestnet: true };
}
