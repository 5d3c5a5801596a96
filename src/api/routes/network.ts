/**
 * GET /api/network: the network as this node sees it, for the explorer's peer
 * graph. A node knows its own links first hand; the links between other nodes
 * are what its peers reported over P2P (GET_PEERS/PEERS), marked as such since
 * nothing checks them. In permissioned networks it also knows every member
 * from genesis, so those are listed even when not linked.
 */
import type { FastifyInstance } from 'fastify';
import type { Hash } from '../../core/index.ts';
import { addressFromPublicKey } from '../../crypto/index.ts';
import type { ApiContext } from '../context.ts';
import type { PeerInfo } from '../types.ts';

/** What a node does in its network; the explorer colours nodes by it. */
export type NodeRole = 'miner' | 'validator' | 'member' | 'bootstrap' | 'peer';

/** One node of the graph. */
export interface NetworkNodeView {
  /** Node id: its Ed25519 public key, hex. */
  id: string;
  /** The name genesis gives a member node; absent for public-network peers. */
  name?: string;
  org?: string;
  roles: NodeRole[];
  /** True for the node answering. */
  self: boolean;
  /** True for the node answering and the nodes it has a live link to. */
  connected: boolean;
  /** The account a node's id derives to (where a miner's rewards go by default). */
  account: string;
  /** The peer's P2P address as this node sees it. */
  address?: string;
  direction?: 'inbound' | 'outbound';
  height?: number;
  rttMs?: number;
  /** A node known only because a peer reported a link to it: that peer's id. */
  reportedBy?: string;
}

/** A live P2P link between two nodes, by id. */
export interface NetworkLinkView {
  from: string;
  to: string;
  /** The round trip measured by `from` (this node for its own links, the reporting peer otherwise). */
  rttMs?: number;
  transport?: 'ws' | 'tcp';
  /** Absent for this node's own links; else the id of the peer that reported the link (unverified). */
  reportedBy?: string;
}

/** `GET /api/network`. */
export interface NetworkView {
  network: string;
  /** How the network is wired: public = pure P2P, private = hybrid, consortium = super-peer. */
  topology: 'pure-p2p' | 'hybrid' | 'super-peer';
  consensus: string;
  nodeId: string;
  height: number;
  nodes: NetworkNodeView[];
  links: NetworkLinkView[];
  /** How many peers' link reports (from the last 90 s) the links between other nodes come from. */
  peerReports: number;
  /** How many recent main-chain blocks the miner roles were read from. */
  minerWindow: number;
  /** PoW: the block time difficulty aims at, from genesis. */
  targetBlockTimeMs?: number;
  /** Under `peerchain testnet`: where its fault controls answer (the explorer shows them then). */
  testnet?: { control: string };
}

const TOPOLOGY: Record<string, NetworkView['topology']> = { public: 'pure-p2p', private: 'hybrid', consortium: 'super-peer' };

// Peers do not say whether they mine; the coinbases of recent blocks do.
const MINER_WINDOW = 50;

// Reports are unverified: a hostile peer may claim many made-up nodes, so only this many join the view...
const MAX_REPORTED_NODES = 64;
// ...and the view holds at most this many links, own links first.
const MAX_LINKS = 1024;

interface GenesisMember {
  name: string;
  org: string;
  validator: boolean;
  bootstrap: boolean;
}

/** Genesis members by node id. */
function membersOf(ctx: ApiContext): Map<string, GenesisMember> {
  const m = new Map<string, GenesisMember>();
  for (const org of ctx.node.genesis.orgs) for (const mem of org.members) m.set(mem.nodeId, { name: mem.name, org: org.name, validator: mem.validator, bootstrap: mem.bootstrap });
  return m;
}

/** Addresses paid by the coinbases of the last MINER_WINDOW main-chain blocks; cached per tip. */
function minerCache(ctx: ApiContext): () => Promise<Set<string>> {
  let cached: { tip: Hash; miners: Set<string> } | undefined;
  return async () => {
    const chain = ctx.node.chain;
    const tip = chain.tip.hash;
    if (cached?.tip === tip) return cached.miners;
    const miners = new Set<string>();
    if (ctx.node.genesis.consensus.type === 'pow') {
      for (let h = chain.height; h > 0 && h > chain.height - MINER_WINDOW; h--) {
        const e = chain.index.main[h];
        if (e === undefined) continue;
        const first = (await chain.getBlock(e.hash))?.txs[0];
        if (first?.kind === 'coinbase') miners.add(first.to);
      }
    }
    cached = { tip, miners };
    return miners;
  };
}

/** Roles of a node from genesis membership and recent mining. */
function rolesOf(member: GenesisMember | undefined, mines: boolean, permissioned: boolean): NodeRole[] {
  const roles: NodeRole[] = [];
  if (mines) roles.push('miner');
  if (member?.validator === true) roles.push('validator');
  if (member?.bootstrap === true) roles.push('bootstrap');
  if (member !== undefined && permissioned && !member.validator && !member.bootstrap) roles.push('member');
  if (roles.length === 0) roles.push(permissioned && member !== undefined ? 'member' : 'peer');
  return roles;
}

/** The transport an address names (`wss://` and `tls://` are ws and tcp inside TLS). */
function transportOf(address: string): 'ws' | 'tcp' | undefined {
  if (address.startsWith('ws://') || address.startsWith('wss://')) return 'ws';
  if (address.startsWith('tcp://') || address.startsWith('tls://')) return 'tcp';
  return undefined;
}

/** Builds the network view from the node, its peers and genesis. */
async function networkView(ctx: ApiContext, recentMiners: () => Promise<Set<string>>): Promise<NetworkView> {
  const node = ctx.node;
  const g = node.genesis;
  const permissioned = g.network !== 'public';
  const members = membersOf(ctx);
  const miners = await recentMiners();
  const selfId = node.key.publicKey;
  const peers: readonly PeerInfo[] = ctx.peers?.list() ?? [];

  const nodeOf = (id: string): NetworkNodeView => {
    const member = members.get(id);
    const account = addressFromPublicKey(id);
    const v: NetworkNodeView = { id, roles: [], self: false, connected: false, account };
    if (member !== undefined) {
      v.name = member.name;
      v.org = member.org;
    }
    v.roles = rolesOf(member, miners.has(account), permissioned);
    return v;
  };

  const self = nodeOf(selfId);
  self.self = true;
  self.connected = true;
  self.height = node.chain.height;
  // Every public node may mine on request; one counts as a miner while it mines or once it has mined recently.
  if (node.status().mining && !self.roles.includes('miner')) self.roles = ['miner', ...self.roles.filter((r) => r !== 'peer')];

  const nodes = new Map<string, NetworkNodeView>([[selfId, self]]);
  const links: NetworkLinkView[] = [];
  for (const p of peers) {
    // Two links to one peer (one each way) draw as one edge with the better round trip.
    const v = nodes.get(p.id) ?? nodeOf(p.id);
    v.connected = true;
    v.address ??= p.address;
    v.direction ??= p.direction;
    if (p.height !== undefined) v.height = Math.max(v.height ?? 0, p.height);
    if (p.rttMs !== undefined) v.rttMs = v.rttMs === undefined ? p.rttMs : Math.min(v.rttMs, p.rttMs);
    nodes.set(p.id, v);
    const existing = links.find((l) => l.to === p.id);
    if (existing === undefined) {
      const link: NetworkLinkView = { from: selfId, to: p.id };
      if (p.rttMs !== undefined) link.rttMs = p.rttMs;
      const t = transportOf(p.address);
      if (t !== undefined) link.transport = t;
      links.push(link);
    } else if (p.rttMs !== undefined && (existing.rttMs === undefined || p.rttMs < existing.rttMs)) existing.rttMs = p.rttMs;
  }
  // Members known from genesis but not linked to us still belong on the map.
  for (const id of members.keys()) if (!nodes.has(id)) nodes.set(id, nodeOf(id));

  // Links between other nodes, as the peers at one end reported them; a link both ends report is drawn once.
  // Only a peer linked right now speaks for its links (the P2P layer drops a report with its link anyway).
  const linked = new Set(peers.map((p) => p.id));
  const reports = (ctx.peers?.reported?.() ?? []).filter((r) => linked.has(r.id));
  const byPair = new Map<string, NetworkLinkView>();
  let extraNodes = 0;
  for (const r of reports) {
    for (const p of r.peers) {
      // This node's own links are known first hand; a report cannot add to them or contradict them.
      if (p.id === selfId || p.id === r.id) continue;
      const key = r.id < p.id ? `${r.id}:${p.id}` : `${p.id}:${r.id}`;
      const existing = byPair.get(key);
      if (existing !== undefined) {
        if (p.rttMs !== undefined && (existing.rttMs === undefined || p.rttMs < existing.rttMs)) existing.rttMs = p.rttMs;
        continue;
      }
      if (links.length >= MAX_LINKS) break;
      if (!nodes.has(p.id)) {
        if (extraNodes >= MAX_REPORTED_NODES) continue;
        extraNodes++;
        nodes.set(p.id, { ...nodeOf(p.id), reportedBy: r.id });
      }
      const link: NetworkLinkView = { from: r.id, to: p.id, reportedBy: r.id };
      if (p.rttMs !== undefined) link.rttMs = p.rttMs;
      byPair.set(key, link);
      links.push(link);
    }
  }

  const view: NetworkView = {
    network: g.network,
    topology: TOPOLOGY[g.network] ?? 'pure-p2p',
    consensus: g.consensus.type,
    nodeId: selfId,
    height: node.chain.height,
    nodes: [...nodes.values()],
    links,
    peerReports: reports.length,
    minerWindow: MINER_WINDOW,
  };
  if (g.consensus.type === 'pow') view.targetBlockTimeMs = g.consensus.targetBlockTimeMs;
  if (ctx.testnet !== undefined) view.testnet = { control: ctx.testnet.control };
  return view;
}

/** Registers GET /api/network. */
export function networkRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const recentMiners = minerCache(ctx);
  app.get('/api/network', async (): Promise<NetworkView> => networkView(ctx, recentMiners));
}
