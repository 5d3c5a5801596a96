import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { TestnetControl } from './control.ts';
import { startControlServer, type ControlServer } from './control-server.ts';
import { BIN, nodeLaunch } from '../cli/node-flags.ts';

/** A node of a local testnet. */
export interface TestnetNode {
  readonly name: string;
  /** Roles from node.json: peer, bootstrap, validator, member. */
  readonly roles: readonly string[];
  readonly org: string | undefined;
  readonly dataDir: string;
  readonly wsPort: number;
  readonly tcpPort: number;
  readonly apiPort: number;
  readonly apiUrl: string;
  readonly peers: readonly string[];
  readonly mine: boolean;
  process: ChildProcess | undefined;
}

/** How to launch a testnet whose files `peerchain init` already wrote. */
export interface TestnetOptions {
  readonly dir: string;
  /** Ports are basePort + i (ws), + 100 + i (tcp), + 200 + i (api); default: the ports in each node.json. */
  readonly basePort?: number;
  readonly mineThreads?: number;
  readonly logLevel?: string;
  /** Where a node's output goes (default: its data dir's node.log). */
  readonly onLine?: (node: string, line: string) => void;
  /** How long to wait for every API to answer. */
  readonly readyTimeoutMs?: number;
  /** Names of the nodes that mine continuously (default: every node of a public network). */
  readonly miners?: readonly string[];
  /** Extra environment variables per node name (e.g. PEERCHAIN_FAULT for fault tests). */
  readonly env?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** Private/consortium: run the nodes with --insecure (plaintext links allowed). */
  readonly insecure?: boolean;
  /** Extra node runtime flags per node name (e.g. --cpu-prof for a bench). */
  readonly execArgv?: Readonly<Record<string, readonly string[]>>;
  /** 'mesh' links the nodes by the network's topology (see topologyPeers); 'none' starts them unlinked. */
  readonly topology?: 'mesh' | 'none';
  /** Run every node with --fault-control, so that `Testnet.control` can partition and slow them. */
  readonly faultControl?: boolean;
  /**
   * Also serve the controls over HTTP on 127.0.0.1 (implies faultControl) and
   * tell every node the URL, for its explorer. Port 0 picks a free one;
   * without a port, the lowest API port - 1.
   */
  readonly control?: { readonly port?: number };
}


interface NodeFileLite {
  name: string;
  roles?: string[];
  org?: string;
  ports: { ws: number; tcp: number; api: number };
}

interface Placed {
  readonly name: string;
  readonly roles: readonly string[];
  readonly org: string | undefined;
  readonly wsPort: number;
  readonly tcpPort: number;
}

/**
 * Whom node i dials, by the network's topology (links mix ws and tcp):
 * public, a mesh of everyone started before it; private (hybrid), only the
 * bootstrap nodes, which introduce the members to each other; consortium
 * (super-peer), validators mesh with the validators before them and members
 * attach to their own organisation's validators.
 */
export function topologyPeers(network: string, nodes: readonly Placed[], i: number, insecure = false): string[] {
  const me = nodes[i]!;
  // Private and consortium links are TLS unless the nodes run --insecure.
  const [ws, tcp] = network === 'public' || insecure ? ['ws', 'tcp'] : ['wss', 'tls'];
  const addr = (p: Placed, j: number): string => ((i + j) % 2 === 0 ? `${ws}://127.0.0.1:${p.wsPort}` : `${tcp}://127.0.0.1:${p.tcpPort}`);
  const pick = (want: (p: Placed, j: number) => boolean): string[] => nodes.flatMap((p, j) => (j !== i && want(p, j) ? [addr(p, j)] : []));
  if (network === 'private') {
    if (me.roles.includes('bootstrap')) return pick((p, j) => j < i && p.roles.includes('bootstrap'));
    return pick((p) => p.roles.includes('bootstrap'));
  }
  if (network === 'consortium') {
    if (me.roles.includes('validator')) return pick((p, j) => j < i && p.roles.includes('validator'));
    return pick((p) => p.roles.includes('validator') && p.org === me.org);
  }
  return pick((_p, j) => j < i);
}

/**
 * Runs the nodes of a network directory as separate processes on this
 * machine, each linked to the ones started before it, and stops them all
 * together. A crashed or stopped node can be restarted with its data.
 */
export class Testnet {
  readonly nodes: TestnetNode[];
  /** Fault controls (stop, restart, partition, heal, slow), when started with faultControl or control. */
  readonly control: TestnetControl | undefined;
  private stopping = false;
  private readonly env = new Map<string, Readonly<Record<string, string>>>();
  private controlServer: ControlServer | undefined;

  private constructor(
    nodes: TestnetNode[],
    /** public, private or consortium, from genesis. */
    readonly network: string,
    private readonly o: TestnetOptions,
  ) {
    this.nodes = nodes;
    for (const [name, env] of Object.entries(o.env ?? {})) this.env.set(name, env);
    this.control = o.faultControl === true || o.control !== undefined ? new TestnetControl(this) : undefined;
  }

  /** Where the control server answers (its endpoints are under /control), when it runs. */
  get controlUrl(): string | undefined {
    return this.controlServer?.url;
  }

  /** A node's extra environment for its next start. */
  envOf(name: string): Readonly<Record<string, string>> {
    this.node(name);
    return this.env.get(name) ?? {};
  }

  /** Replaces a node's extra environment for its next start. */
  setEnv(name: string, env: Readonly<Record<string, string>>): void {
    this.node(name);
    this.env.set(name, env);
  }

  /** Reads DIR's node folders and starts every node; resolves once every API answers. */
  static async start(o: TestnetOptions): Promise<Testnet> {
    const dir = resolve(o.dir);
    const genesis = JSON.parse(readFileSync(join(dir, 'genesis.json'), 'utf8')) as { network: string };
    const names = readNodeNames(dir);
    const base = names.map((name, i) => {
      const file = JSON.parse(readFileSync(join(dir, 'nodes', name, 'node.json'), 'utf8')) as NodeFileLite;
      const ports = o.basePort === undefined ? file.ports : { ws: o.basePort + i, tcp: o.basePort + 100 + i, api: o.basePort + 200 + i };
      return {
        name,
        roles: file.roles ?? [],
        org: file.org,
        dataDir: join(dir, 'nodes', name),
        wsPort: ports.ws,
        tcpPort: ports.tcp,
        apiPort: ports.api,
        apiUrl: `http://127.0.0.1:${ports.api}`,
      };
    });
    const nodes: TestnetNode[] = base.map((n, i) => ({
      ...n,
      peers: o.topology === 'none' ? [] : topologyPeers(genesis.network, base, i, o.insecure === true),
      mine: genesis.network === 'public' && (o.miners === undefined || o.miners.includes(n.name)),
      process: undefined,
    }));
    const t = new Testnet(nodes, genesis.network, o);
    try {
      // The server comes first: every node is told its URL when it starts.
      if (o.control !== undefined && t.control !== undefined) t.controlServer = await startControlServer(t.control, { port: o.control.port ?? Math.min(...nodes.map((n) => n.apiPort)) - 1 });
      for (const n of nodes) t.spawnNode(n);
      await Promise.all(nodes.map((n) => waitForApi(n.apiUrl, o.readyTimeoutMs ?? 60_000, () => n.process?.exitCode !== null && n.process?.exitCode !== undefined)));
      await t.control?.learnIds();
    } catch (e) {
      await t.stop();
      throw e;
    }
    return t;
  }

  /** A node by name. */
  node(name: string): TestnetNode {
    const n = this.nodes.find((x) => x.name === name);
    if (n === undefined) throw new Error(`no node named ${name}`);
    return n;
  }

  /** Stops one node (SIGTERM, SIGKILL after a grace period, or SIGKILL at once when asked). */
  async stopNode(name: string, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const n = this.node(name);
    const p = n.process;
    n.process = undefined;
    if (p !== undefined) await terminate(p, signal);
  }

  /** Starts a stopped node again with its data and waits for its API. */
  async restartNode(name: string): Promise<void> {
    const n = this.node(name);
    if (n.process !== undefined) await this.stopNode(name);
    // stop() may have run meanwhile (Ctrl-C during a restart from the controls): start nothing it would not stop.
    if (this.stopping) throw new Error('the testnet is stopping');
    this.spawnNode(n);
    await waitForApi(n.apiUrl, this.o.readyTimeoutMs ?? 60_000, () => n.process?.exitCode !== null && n.process?.exitCode !== undefined);
  }

  /** Stops every node. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.controlServer?.close();
    await Promise.all(this.nodes.map((n) => this.stopNode(n.name)));
  }

  private spawnNode(n: TestnetNode): void {
    const launch = nodeLaunch();
    const args = [...launch.flags, ...(this.o.execArgv?.[n.name] ?? []), BIN, 'node', '--data', n.dataDir, '--ws-port', String(n.wsPort), '--tcp-port', String(n.tcpPort), '--api-port', String(n.apiPort), '--no-progress'];
    for (const p of n.peers) args.push('--peer', p);
    if (n.mine) args.push('--mine', '--mine-threads', String(this.o.mineThreads ?? 0));
    if (this.o.insecure === true) args.push('--insecure');
    if (this.control !== undefined) args.push('--fault-control');
    args.push('--log-level', this.o.logLevel ?? 'info');
    // Inherited settings must not leak into a node: each gets only what this launcher means for it.
    const own = { PEERCHAIN_PEERS: '', PEERCHAIN_FAULT: '', PEERCHAIN_TESTNET_FAULTS: '', PEERCHAIN_TESTNET_CONTROL: this.controlUrl ?? '' };
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...launch.env, ...own, ...this.env.get(n.name) } });
    n.process = child;
    const onLine = this.o.onLine;
    for (const stream of [child.stdout, child.stderr]) {
      let buf = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        buf += chunk;
        let i: number;
        while ((i = buf.indexOf('\n')) >= 0) {
          onLine?.(n.name, buf.slice(0, i));
          buf = buf.slice(i + 1);
        }
      });
    }
    child.on('exit', (code, signal) => {
      if (!this.stopping && n.process === child) {
        onLine?.(n.name, `exited (${signal ?? `code ${code}`})`);
        n.process = undefined;
      }
    });
  }
}

function readNodeNames(dir: string): string[] {
  const nodesDir = join(dir, 'nodes');
  if (!existsSync(nodesDir)) throw new Error(`${dir} has no nodes/ folder; run peerchain init first`);
  return readdirSync(nodesDir)
    .filter((n) => existsSync(join(nodesDir, n, 'node.json')))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
}

/** Sends a signal and waits for the process to exit (SIGKILL after 5 s). */
export function terminate(p: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  return new Promise((resolve) => {
    if (p.exitCode !== null || p.signalCode !== null) return resolve();
    const t = setTimeout(() => p.kill('SIGKILL'), 5000);
    p.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    p.kill(signal);
  });
}

/** Polls an API's status until it answers, the process dies, or the time runs out. */
export async function waitForApi(url: string, timeoutMs: number, died: () => boolean = () => false): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      const r = await fetch(`${url}/api/status`, { signal: AbortSignal.timeout(2000) });
      if (r.ok) return;
    } catch {
      // not up yet
    }
    if (died()) throw new Error(`node at ${url} exited before its API answered`);
    if (Date.now() > end) throw new Error(`node at ${url} did not answer within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
