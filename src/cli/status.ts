import type { Command } from 'commander';
import type { StatusView } from '../api/index.ts';
import { NODE_FLAG_HELP, nodeClient, type NodeFlags } from './client.ts';
import type { CliContext } from './context.ts';
import { table } from './output.ts';

interface StatusFlags extends NodeFlags {
  json?: boolean;
}

/** A hash rate with a unit prefix: 0 H/s, 850 H/s, 12.3 kH/s, 4.56 MH/s. */
export function formatHashRate(hps: number): string {
  const units = ['H/s', 'kH/s', 'MH/s', 'GH/s', 'TH/s'];
  let v = Math.max(0, hps);
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? Math.round(v) : v.toPrecision(3)} ${units[i]}`;
}

function statusRows(s: StatusView): [string, string][] {
  const rows: [string, string][] = [
    ['network', `${s.network} (${s.consensus})`],
    ['chain id', s.chainId],
    ['height', String(s.height)],
    ['tip', s.tip],
    ['peers', String(s.peers)],
    ['mempool', `${s.mempool} transaction${s.mempool === 1 ? '' : 's'}`],
  ];
  // Only proof-of-work networks mine; BFT networks would only ever show "no".
  if (s.consensus === 'pow') rows.push(['mining', s.mining ? `yes, ${formatHashRate(s.hashRate)}` : 'no']);
  rows.push(['syncing', s.syncing ? 'yes' : 'no'], ['node id', s.nodeId], ['node address', s.address]);
  return rows;
}

/** Fetches and prints a node's status. */
async function runStatus(ctx: CliContext, flags: StatusFlags): Promise<void> {
  const s = await nodeClient(ctx.env, flags).status();
  if (flags.json === true) ctx.out.json(s);
  else for (const l of table(statusRows(s))) ctx.out.line(l);
}

/** Registers `peerchain status`. */
export function registerStatus(program: Command, ctx: CliContext): Command {
  return program
    .command('status')
    .description("show a node's network, chain id, height and tip, peers, mempool, mining and sync state")
    .option('--node <url>', NODE_FLAG_HELP)
    .option('--json', 'print the status as JSON')
    .action((flags: StatusFlags) => runStatus(ctx, flags));
}
