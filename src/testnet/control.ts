/**
 * Fault controls of a local testnet: stop and restart a node, cut the links
 * between groups of nodes and heal them, slow a node's links. It drives a
 * Testnet whose nodes run with --fault-control, through each node's
 * /api/faults. It also gathers every node's own peer list into the whole
 * network's links, for the explorer's graph. The HTTP server in
 * control-server.ts serves it to people and the explorer; tests call it directly.
 */
import type { Testnet } from './launcher.ts';

/** Longest delay `slow` accepts: the nodes' own limit (MAX_FAULT_DELAY_MS in p2p/network.ts). */
export const MAX_SLOW_MS = 10_000;

// How long one node may take to answer the control; a node that does not is reported, not waited for.
const NODE_TIMEOUT_MS = 3000;
// The links are asked for every few seconds by each open explorer page: a node slower than this is shown without its links.
const LINKS_TIMEOUT_MS = 2000;
// Answers to /control/links are shared for this long, so many pages polling at once cost the nodes one round of asks.
const LINKS_REUSE_MS = 1000;

/** A refused or failed control action, with the HTTP status and code the control server answers. */
export class ControlError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ControlError';
  }
}

/** One node as the controls show it. */
export interface ControlNodeView {
  readonly name: string;
  readonly roles: readonly string[];
  readonly org?: string;
  readonly nodeId?: string;
  readonly apiUrl: string;
  /** up: its API answers; starting: its process runs but the API does not answer (yet); down: no process. */
  readonly state: 'up' | 'starting' | 'down';
  readonly height?: number;
  readonly peers?: number;
  /** Names of the nodes it is cut off from, and the latency added to what it sends. */
  readonly faults: { readonly blocked: readonly string[]; readonly delayMs: number };
}

/** `GET /control`. */
export interface ControlView {
  readonly network: string;
  readonly nodes: readonly ControlNodeView[];
  /** The partition in force, by node names, or null. */
  readonly groups: readonly (readonly string[])[] | null;
  readonly maxDelayMs: number;
}

/** One node in `GET /control/links`. */
export interface ControlLinkNode {
  readonly name: string;
  /** Absent until the node has answered once since the launcher started. */
  readonly nodeId?: string;
  /** The role it is drawn in: bootstrap, validator, miner, member or peer. */
  readonly role: string;
  readonly org?: string;
  /** True when its API answered just now with its peers. */
  readonly up: boolean;
}

/** A link between two testnet nodes, by name, as either end reports it (both ends: once). */
export interface ControlLink {
  readonly from: string;
  readonly to: string;
  /** The better of the two ends' measured round trips, when measured. */
  readonly rttMs?: number;
  readonly transport?: 'ws' | 'tcp';
}

/** `GET /control/links`: every testnet node and every link between two of them. */
export interface ControlLinksView {
  readonly nodes: readonly ControlLinkNode[];
  readonly links: readonly ControlLink[];
}

interface PeerLite {
  id: string;
  address: string;
  rttMs?: number;
}

interface Faults {
  blocked: Set<string>;
  delayMs: number;
}

interface StatusLite {
  nodeId: string;
  height: number;
  peers: number;
}

/** The fault controls of one running testnet. */
export class TestnetControl {
  private readonly ids = new Map<string, string>();
  private readonly faults = new Map<string, Faults>();
  private groups: string[][] | null = null;
  // Actions run one at a time: a restart and a partition must not interleave.
  private queue: Promise<unknown> = Promise.resolve();
  private linksAsk: { at: number; value: Promise<ControlLinksView> } | undefined;

  constructor(private readonly net: Testnet) {}

  /** Learns the node id of every node that is up (ids do not change across restarts). */
  async learnIds(): Promise<void> {
    await Promise.all(this.net.nodes.map((n) => this.statusOf(n.apiUrl).catch(() => undefined)));
  }

  /** Every node with its state, chain height, peer count and faults. */
  async view(): Promise<ControlView> {
    const nodes = await Promise.all(
      this.net.nodes.map(async (n): Promise<ControlNodeView> => {
        const f = this.faultsOf(n.name);
        const base = { name: n.name, roles: n.roles, org: n.org, apiUrl: n.apiUrl, faults: { blocked: [...f.blocked], delayMs: f.delayMs } };
        if (n.process === undefined) return { ...base, nodeId: this.ids.get(n.name), state: 'down' };
        const s = await this.statusOf(n.apiUrl).catch(() => undefined);
        if (s === undefined) return { ...base, nodeId: this.ids.get(n.name), state: 'starting' };
        return { ...base, nodeId: s.nodeId, state: 'up', height: s.height, peers: s.peers };
      }),
    );
    return { network: this.net.network, nodes, groups: this.groups, maxDelayMs: MAX_SLOW_MS };
  }

  /**
   * Every node and the links between testnet nodes, from each running node's
   * own GET /api/peers, asked in parallel with a bounded wait. Links to nodes
   * outside the testnet are left out. Concurrent callers share one round.
   */
  links(): Promise<ControlLinksView> {
    const now = Date.now();
    if (this.linksAsk === undefined || now - this.linksAsk.at > LINKS_REUSE_MS) this.linksAsk = { at: now, value: this.gatherLinks() };
    return this.linksAsk.value;
  }

  private async gatherLinks(): Promise<ControlLinksView> {
    const answers = await Promise.all(
      this.net.nodes.map(async (n) => {
        if (n.process === undefined) return { n, peers: undefined };
        // The status call keeps the node id fresh (it is how a node first started later gets its id known).
        const [, peers] = await Promise.all([this.statusOf(n.apiUrl, LINKS_TIMEOUT_MS).catch(() => undefined), this.peersOf(n.apiUrl).catch(() => undefined)]);
        return { n, peers };
      }),
    );
    const nameOf = new Map<string, string>();
    for (const [name, id] of this.ids) nameOf.set(id, name);
    const byPair = new Map<string, { from: string; to: string; rttMs?: number; transport?: 'ws' | 'tcp' }>();
    for (const { n, peers } of answers) {
      for (const p of peers ?? []) {
        const other = nameOf.get(p.id);
        if (other === undefined || other === n.name) continue;
        const key = n.name < other ? `${n.name}\n${other}` : `${other}\n${n.name}`;
        const link = byPair.get(key) ?? { from: n.name, to: other };
        if (typeof p.rttMs === 'number' && (link.rttMs === undefined || p.rttMs < link.rttMs)) link.rttMs = p.rttMs;
        link.transport ??= transportOf(p.address);
        byPair.set(key, link);
      }
    }
    const nodes = answers.map(({ n, peers }): ControlLinkNode => ({ name: n.name, nodeId: this.ids.get(n.name), role: roleOf(n), org: n.org, up: peers !== undefined }));
    return { nodes, links: [...byPair.values()] };
  }

  private async peersOf(apiUrl: string): Promise<PeerLite[]> {
    const r = await fetch(`${apiUrl}/api/peers`, { signal: AbortSignal.timeout(LINKS_TIMEOUT_MS) });
    if (!r.ok) throw new Error(`${apiUrl}/api/peers answered ${r.status}`);
    const body: unknown = await r.json();
    if (!Array.isArray(body)) throw new Error(`${apiUrl}/api/peers did not answer a list`);
    // Our own nodes answer this, but a port reused by something else must not break the view.
    return body.filter((p): p is PeerLite => typeof p === 'object' && p !== null && typeof (p as PeerLite).id === 'string' && typeof (p as PeerLite).address === 'string');
  }

  /** Stops a node (SIGTERM); its data stays for a restart. */
  async stop(name: string): Promise<void> {
    this.known(name);
    return this.run(() => this.net.stopNode(name));
  }

  /** Starts a node again (stopping it first if it runs) and waits for its API; it starts with its faults in force. */
  async restart(name: string): Promise<void> {
    const n = this.known(name);
    return this.run(async () => {
      await this.net.restartNode(name);
      await this.statusOf(n.apiUrl).catch(() => undefined);
    });
  }

  /**
   * Cuts every link between nodes of different groups, replacing any earlier
   * partition; nodes named in no group form one more group together. Added
   * latency stays as it was.
   */
  async partition(groups: readonly (readonly string[])[]): Promise<void> {
    if (!Array.isArray(groups) || groups.length === 0) throw new ControlError(400, 'BAD_GROUPS', 'groups must be a non-empty array of arrays of node names');
    const seen = new Set<string>();
    for (const g of groups) {
      if (!Array.isArray(g) || g.length === 0) throw new ControlError(400, 'BAD_GROUPS', 'each group must be a non-empty array of node names');
      for (const name of g) {
        if (typeof name !== 'string') throw new ControlError(400, 'BAD_GROUPS', 'node names are strings');
        this.known(name);
        if (seen.has(name)) throw new ControlError(400, 'BAD_GROUPS', `${name} is in two groups`);
        seen.add(name);
      }
    }
    const all = groups.map((g) => [...g]);
    const rest = this.net.nodes.map((n) => n.name).filter((n) => !seen.has(n));
    if (rest.length > 0) all.push(rest);
    return this.run(async () => {
      // Every node's id is needed before anything changes, or the partition would be half made.
      if (this.net.nodes.some((n) => !this.ids.has(n.name))) await this.learnIds();
      const unknown = this.net.nodes.filter((n) => !this.ids.has(n.name)).map((n) => n.name);
      if (unknown.length > 0) throw new ControlError(409, 'NODE_ID_UNKNOWN', `the node id of ${unknown.join(', ')} is not known: it has not answered since the launcher started; restart it first`);
      const groupOf = new Map<string, number>();
      all.forEach((g, i) => g.forEach((name) => groupOf.set(name, i)));
      for (const n of this.net.nodes) this.faultsOf(n.name).blocked = new Set(this.net.nodes.filter((o) => groupOf.get(o.name) !== groupOf.get(n.name)).map((o) => o.name));
      this.groups = all.length > 1 ? all : null;
      await this.applyAll();
    });
  }

  /** Ends any partition and any added latency: every node links with every other again. */
  async heal(): Promise<void> {
    return this.run(async () => {
      for (const n of this.net.nodes) this.faults.set(n.name, { blocked: new Set(), delayMs: 0 });
      this.groups = null;
      await this.applyAll();
    });
  }

  /** Adds latency to every message a node sends (0 removes it). */
  async slow(name: string, delayMs: number): Promise<void> {
    this.known(name);
    if (typeof delayMs !== 'number' || !Number.isInteger(delayMs) || delayMs < 0 || delayMs > MAX_SLOW_MS) throw new ControlError(400, 'BAD_DELAY', `delayMs must be an integer from 0 to ${MAX_SLOW_MS}`);
    return this.run(async () => {
      this.faultsOf(name).delayMs = delayMs;
      await this.apply([name]);
    });
  }

  private known(name: string): Testnet['nodes'][number] {
    const n = typeof name === 'string' ? this.net.nodes.find((x) => x.name === name) : undefined;
    if (n === undefined) throw new ControlError(404, 'NO_SUCH_NODE', `no node named ${JSON.stringify(String(name).slice(0, 60))}; the nodes are ${this.net.nodes.map((x) => x.name).join(', ')}`);
    return n;
  }

  private faultsOf(name: string): Faults {
    let f = this.faults.get(name);
    if (f === undefined) {
      f = { blocked: new Set(), delayMs: 0 };
      this.faults.set(name, f);
    }
    return f;
  }

  private run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private applyAll(): Promise<void> {
    return this.apply(this.net.nodes.map((n) => n.name));
  }

  /**
   * Hands each node its faults: through its /api/faults when it runs, and in
   * its environment for its next start, so a node restarted during a
   * partition never bridges it. Reports the nodes that could not be told.
   */
  private async apply(names: readonly string[]): Promise<void> {
    const failed: string[] = [];
    await Promise.all(
      names.map(async (name) => {
        const n = this.known(name);
        const f = this.faultsOf(name);
        // partition() checked every id is known; ids are never forgotten.
        const body = { block: [...f.blocked].flatMap((b) => this.ids.get(b) ?? []), delayMs: f.delayMs };
        const none = body.block.length === 0 && body.delayMs === 0;
        this.net.setEnv(name, { ...this.net.envOf(name), PEERCHAIN_TESTNET_FAULTS: none ? '' : JSON.stringify(body) });
        if (n.process === undefined) return;
        try {
          const r = await fetch(`${n.apiUrl}/api/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(NODE_TIMEOUT_MS) });
          if (!r.ok) failed.push(`${name}: ${r.status} ${(await r.text()).slice(0, 200)}`);
        } catch (e) {
          failed.push(`${name}: ${e instanceof Error ? e.message : String(e)}`);
        }
      }),
    );
    if (failed.length > 0) throw new ControlError(502, 'NODE_UNREACHABLE', `could not set the faults of ${failed.join('; ')} (a node that is down gets them when it starts)`);
  }

  private async statusOf(apiUrl: string, timeoutMs = NODE_TIMEOUT_MS): Promise<StatusLite> {
    const r = await fetch(`${apiUrl}/api/status`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!r.ok) throw new Error(`${apiUrl}/api/status answered ${r.status}`);
    const s = (await r.json()) as StatusLite;
    const n = this.net.nodes.find((x) => x.apiUrl === apiUrl);
    if (n !== undefined && typeof s.nodeId === 'string') this.ids.set(n.name, s.nodeId);
    return s;
  }
}

/** The role a testnet node is drawn in, most specific first (as the explorer colours nodes). */
function roleOf(n: Testnet['nodes'][number]): string {
  if (n.roles.includes('bootstrap')) return 'bootstrap';
  if (n.roles.includes('validator')) return 'validator';
  if (n.mine) return 'miner';
  if (n.roles.includes('member')) return 'member';
  return 'peer';
}

/** The transport an address's scheme names (TLS variants included). */
function transportOf(address: string): 'ws' | 'tcp' | undefined {
  if (address.startsWith('ws://') || address.startsWith('wss://')) return 'ws';
  if (address.startsWith('tcp://') || address.startsWith('tls://')) return 'tcp';
  return undefined;
}
