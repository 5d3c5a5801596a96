import { join, relative } from 'node:path';
import { addressFromPublicKey } from '../crypto/index.ts';
import type { CliContext } from './context.ts';
import { faultTolerance, parseInitFlags, type InitFlags, type InitOptions } from './init-options.ts';
import { planNetwork, type NetworkPlan } from './init-layout.ts';
import { checkOutDir, writeNetwork } from './init-write.ts';
import { table } from './output.ts';

// The body of `peerchain init`, loaded only when the command runs (see init.ts).

/** What init reports, on screen or as JSON. */
export interface InitSummary {
  readonly network: string;
  readonly chainId: string;
  readonly genesisHash: string;
  readonly dir: string;
  readonly genesis: string;
  readonly validators?: number;
  readonly nodes: readonly { name: string; roles: readonly string[]; org?: string; nodeId: string; dir: string; ports: { ws: number; tcp: number; api: number } }[];
  readonly wallets: readonly { file: string; address: string; balance: string; org?: string }[];
}

/** Checks the output directory, then plans, writes and verifies a new network; returns its summary. */
export async function initNetwork(options: InitOptions, now: number): Promise<InitSummary> {
  await checkOutDir(options.out, options.force);
  const plan = planNetwork(options, now);
  const genesisHash = await writeNetwork(options.out, plan, options.force);
  return summarise(options.out, plan, genesisHash);
}

function summarise(dir: string, plan: NetworkPlan, genesisHash: string): InitSummary {
  const validators = plan.nodes.filter((n) => n.roles.includes('validator')).length;
  return {
    network: plan.network,
    chainId: plan.genesis.chainId,
    genesisHash,
    dir,
    genesis: join(dir, 'genesis.json'),
    ...(plan.network === 'public' ? {} : { validators }),
    nodes: plan.nodes.map((n) => ({
      name: n.name,
      roles: n.roles,
      ...(n.org === undefined ? {} : { org: n.org }),
      nodeId: n.keys.publicKey,
      dir: join(dir, 'nodes', n.name),
      ports: n.ports,
    })),
    wallets: plan.wallets.map((w) => ({
      file: join(dir, w.file),
      address: addressFromPublicKey(w.keys.publicKey),
      balance: w.balance,
      ...(w.org === undefined ? {} : { org: w.org }),
    })),
  };
}

function printSummary(ctx: CliContext, s: InitSummary): void {
  const out = ctx.out;
  out.line(`initialised a ${s.network} network in ${s.dir}`);
  const rows: [string, string][] = [
    ['network', s.network],
    ['chain id', s.chainId],
    ['genesis hash', s.genesisHash],
    ['genesis', s.genesis],
  ];
  if (s.validators !== undefined) rows.push(['validators', `${s.validators} (tolerates ${faultTolerance(s.validators)} faulty)`]);
  for (const l of table(rows)) out.line(l);
  out.line(`nodes (${s.nodes.length}):`);
  const nameWidth = Math.max(...s.nodes.map((n) => n.name.length));
  for (const n of s.nodes) {
    out.line(`  ${n.name.padEnd(nameWidth)}  ${n.roles.join(',').padEnd(9)}  ws ${n.ports.ws}  tcp ${n.ports.tcp}  api ${n.ports.api}  ${n.dir}`);
  }
  out.line(`wallets (${s.wallets.length}):`);
  for (const w of s.wallets) out.line(`  ${w.file}  ${w.address}  balance ${w.balance}${w.org === undefined ? '' : `  admitted by ${w.org}`}`);
  const first = s.nodes[0];
  if (first !== undefined) out.line(`next: peerchain node --data ${relative('.', first.dir) || '.'} --genesis ${relative('.', s.genesis)}`);
}

/** The `init` action: validate every flag, then write, verify and summarise. */
export async function runInit(ctx: CliContext, flags: InitFlags): Promise<void> {
  const options = parseInitFlags(flags);
  const summary = await initNetwork(options, ctx.now());
  if (options.json) ctx.out.json(summary);
  else printSummary(ctx, summary);
}
