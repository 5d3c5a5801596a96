import { createWriteStream, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, type WriteStream } from 'node:fs';
import { join, resolve } from 'node:path';
import { Testnet } from '../testnet/launcher.ts';
import { parseIntIn } from './config.ts';
import type { CliContext } from './context.ts';
import { badValue, CliError } from './errors.ts';
import { initNetwork } from './init-run.ts';
import { parseInitFlags, type InitFlags, type InitOptions } from './init-options.ts';
import type { TestnetFlags } from './testnet.ts';

/** Creates (or reuses) a network directory and runs its nodes until Ctrl-C. */
export async function runTestnet(ctx: CliContext, flags: TestnetFlags): Promise<void> {
  const network = flags.network ?? 'public';
  if (!['public', 'private', 'consortium'].includes(network)) throw badValue('--network', network, 'public, private or consortium');
  const basePort = flags.basePort === undefined ? undefined : parseIntIn({ value: flags.basePort, source: '--base-port' }, 1024, 65000);
  const mineThreads = flags.mineThreads === undefined ? 0 : parseIntIn({ value: flags.mineThreads, source: '--mine-threads' }, 0, 64);
  const controlPort = flags.controlPort === undefined ? undefined : parseIntIn({ value: flags.controlPort, source: '--control-port' }, 1, 65535);
  const dir = resolve(flags.dir ?? join('.peerchain', network));
  const init = parseInitFlags({ ...testnetInitFlags(network, flags), out: dir });
  const count = nodeCount(init);
  if (flags.fresh === true && existsSync(dir)) rmSync(dir, { recursive: true, force: true });
  const genesisFile = join(dir, 'genesis.json');
  if (existsSync(genesisFile)) {
    const g = JSON.parse(readFileSync(genesisFile, 'utf8')) as { network?: string };
    const have = existsSync(join(dir, 'nodes')) ? readdirSync(join(dir, 'nodes')).length : 0;
    if (g.network !== network || have !== count) {
      throw new CliError(`--dir ${dir} holds a ${g.network} network of ${have} nodes; pass --fresh to replace it with a ${network} network of ${count} nodes`);
    }
    ctx.out.line(`reusing the ${network} network in ${dir}`);
  } else {
    const s = await initNetwork(init, ctx.now());
    ctx.out.line(`created a ${network} network in ${dir} (chain ${s.chainId})`);
  }
  const logDir = join(dir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const logs = new Map<string, WriteStream>();
  ctx.out.line(`starting ${count} node${count === 1 ? '' : 's'}...`);
  const net = await Testnet.start({
    dir,
    basePort,
    mineThreads,
    logLevel: flags.logLevel,
    control: { port: controlPort },
    onLine: (node, line) => {
      let s = logs.get(node);
      if (s === undefined) {
        s = createWriteStream(join(logDir, `${node}.log`), { flags: 'a' });
        logs.set(node, s);
      }
      s.write(line + '\n');
    },
  });
  ctx.out.line('');
  const width = Math.max(8, ...net.nodes.map((n) => n.name.length));
  // Private and consortium links are TLS: print the addresses a peer must dial.
  const [ws, tcp] = network === 'public' ? ['ws', 'tcp'] : ['wss', 'tls'];
  for (const n of net.nodes) ctx.out.line(`  ${n.name.padEnd(width)} ${(n.roles[0] ?? '').padEnd(9)} API ${n.apiUrl}   peers ${ws}://127.0.0.1:${n.wsPort} ${tcp}://127.0.0.1:${n.tcpPort}`);
  ctx.out.line('');
  ctx.out.line(`explorer: ${net.nodes[0]!.apiUrl}/   (every node serves it at its API URL)`);
  ctx.out.line(`controls: ${net.controlUrl}/control   (stop, restart, partition, heal, slow: buttons under the explorer's Testnet tab)`);
  ctx.out.line(`logs:     ${logDir}`);
  ctx.out.line('Ctrl-C stops every node.');
  const timer = setInterval(() => void summary(ctx, net), 10_000);
  await new Promise<void>((resolvePromise) => {
    const stop = (): void => {
      clearInterval(timer);
      ctx.out.line('stopping every node...');
      net.stop().then(() => {
        for (const s of logs.values()) s.end();
        resolvePromise();
      }, resolvePromise);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

/** The init flags a testnet of this kind uses: small, quick defaults a person can watch. */
function testnetInitFlags(network: string, f: TestnetFlags): InitFlags {
  const blockTimeMs = f.blockTimeMs ?? (network === 'public' ? undefined : '2000');
  if (network === 'public') {
    for (const [flag, v] of [['--validators', f.validators], ['--members', f.members], ['--orgs', f.orgs]] as const) if (v !== undefined) throw new CliError(`${flag} applies to private and consortium networks`);
    return { network, out: '.', nodes: f.nodes ?? '3', blockTimeMs };
  }
  if (network === 'private') {
    if (f.orgs !== undefined) throw new CliError('--orgs applies to consortium networks');
    if (f.nodes !== undefined && f.validators !== undefined) throw new CliError('--nodes and --validators say the same thing for a private network; give one');
    return { network, out: '.', validators: f.validators ?? f.nodes ?? '4', members: f.members ?? '1', blockTimeMs };
  }
  if (f.nodes !== undefined) throw new CliError('--nodes: a consortium is sized by --orgs, --validators and --members (per organisation)');
  return { network, out: '.', orgs: f.orgs ?? '3', validators: f.validators ?? '2', members: f.members ?? '1', blockTimeMs };
}

/** How many node processes a network of these options runs. */
function nodeCount(o: InitOptions): number {
  if (o.network === 'public') return o.nodes;
  if (o.network === 'private') return 1 + o.validators + o.members;
  return o.orgs * (o.validators + o.members);
}

async function summary(ctx: CliContext, net: Testnet): Promise<void> {
  const parts = await Promise.all(
    net.nodes.map(async (n) => {
      try {
        const r = await fetch(`${n.apiUrl}/api/status`, { signal: AbortSignal.timeout(2000) });
        const s = (await r.json()) as { height: number; peers: number; mempool: number };
        return `${n.name} h=${s.height} peers=${s.peers} mempool=${s.mempool}`;
      } catch {
        return `${n.name} down`;
      }
    }),
  );
  ctx.out.line(parts.join(' | '));
}
