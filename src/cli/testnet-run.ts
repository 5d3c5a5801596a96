import { createWriteStream, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, type WriteStream } from 'node:fs';
import { join, resolve } from 'node:path';
import { Testnet } from '../testnet/launcher.ts';
import { parseIntIn } from './config.ts';
import type { CliContext } from './context.ts';
import { badValue, CliError } from './errors.ts';
import { initNetwork } from './init-run.ts';
import { parseInitFlags } from './init-options.ts';
import type { TestnetFlags } from './testnet.ts';

/** Creates (or reuses) a network directory and runs its nodes until Ctrl-C. */
export async function runTestnet(ctx: CliContext, flags: TestnetFlags): Promise<void> {
  const network = flags.network ?? 'public';
  if (!['public', 'private', 'consortium'].includes(network)) throw badValue('--network', network, 'public, private or consortium');
  if (network !== 'public') throw new CliError(`--network ${network}: BFT consensus is not built yet; a local ${network} testnet comes with it (public works today)`);
  const count = flags.nodes === undefined ? 3 : parseIntIn({ value: flags.nodes, source: '--nodes' }, 1, 64);
  const basePort = flags.basePort === undefined ? undefined : parseIntIn({ value: flags.basePort, source: '--base-port' }, 1024, 65000);
  const mineThreads = flags.mineThreads === undefined ? 0 : parseIntIn({ value: flags.mineThreads, source: '--mine-threads' }, 0, 64);
  const dir = resolve(flags.dir ?? join('.peerchain', network));
  if (flags.fresh === true && existsSync(dir)) rmSync(dir, { recursive: true, force: true });
  const genesisFile = join(dir, 'genesis.json');
  if (existsSync(genesisFile)) {
    const g = JSON.parse(readFileSync(genesisFile, 'utf8')) as { network?: string };
    const have = existsSync(join(dir, 'nodes')) ? readdirSync(join(dir, 'nodes')).length : 0;
    if (g.network !== network || have !== count) {
      throw new CliError(`--dir ${dir} holds a ${g.network} network of ${have} nodes; pass --fresh to replace it with a ${network} network of ${count}`);
    }
    ctx.out.line(`reusing the ${network} network in ${dir}`);
  } else {
    const s = await initNetwork(parseInitFlags({ network, out: dir, nodes: String(count) }), ctx.now());
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
  for (const n of net.nodes) ctx.out.line(`  ${n.name.padEnd(8)} API ${n.apiUrl}   peers ws://127.0.0.1:${n.wsPort} tcp://127.0.0.1:${n.tcpPort}`);
  ctx.out.line('');
  ctx.out.line(`status:   ${net.nodes[0]!.apiUrl}/api/status   (the web explorer at / comes with its own issue)`);
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
