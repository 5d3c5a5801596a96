import type { Command } from 'commander';
import type { PeerInfo } from '../api/index.ts';
import { NODE_FLAG_HELP, nodeClient, type NodeFlags } from './client.ts';
import type { CliContext } from './context.ts';
import { CliError } from './errors.ts';

interface PeersFlags extends NodeFlags {
  json?: boolean;
}

/** Hex characters of a node id shown in the list: enough to tell peers apart, short enough for one line. */
const SHORT_ID = 12;

/** The peer list as aligned columns (ID, ADDRESS, DIRECTION, HEIGHT, RTT). */
export function peerTable(peers: readonly PeerInfo[]): string[] {
  const rows = [
    ['ID', 'ADDRESS', 'DIRECTION', 'HEIGHT', 'RTT'],
    ...peers.map((p) => [p.id.slice(0, SHORT_ID), p.address, p.direction, p.height === undefined ? '-' : String(p.height), p.rttMs === undefined ? '-' : `${p.rttMs.toFixed(1)} ms`]),
  ];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  '));
}

async function listPeers(ctx: CliContext, flags: PeersFlags): Promise<void> {
  const peers = await nodeClient(ctx.env, flags).peers();
  if (flags.json === true) ctx.out.json(peers);
  else if (peers.length === 0) ctx.out.line('no peers connected');
  else for (const l of peerTable(peers)) ctx.out.line(l);
}

async function addPeer(ctx: CliContext, address: string, flags: PeersFlags): Promise<void> {
  // Checked here too, so a typo is reported even when the node is down. Loaded on use: p2p pulls in ws and zod.
  const { addressError } = await import('../p2p/index.ts');
  const err = addressError(address);
  if (err !== undefined) throw new CliError(`peer address ${JSON.stringify(address.slice(0, 100))}: ${err}`);
  const r = await nodeClient(ctx.env, flags).addPeer(address);
  if (flags.json === true) ctx.out.json(r);
  else ctx.out.line(`${r.address}: ${r.status}`);
}

/** Registers `peerchain peers` (list) and `peerchain peers add ADDR`. */
export function registerPeers(program: Command, ctx: CliContext): Command {
  const peers = program
    .command('peers')
    .description("list a node's connected peers (id, address, direction, height, round-trip time)")
    .option('--node <url>', NODE_FLAG_HELP)
    .option('--json', 'print the list as JSON')
    .action((flags: PeersFlags) => listPeers(ctx, flags));
  peers
    .command('add')
    .description('ask the node to connect to a peer and keep it (sends PEERCHAIN_API_TOKEN as the bearer token when set)')
    .argument('<address>', 'ws://host:port or tcp://host:port')
    .option('--node <url>', NODE_FLAG_HELP)
    .option('--json', 'print the answer as JSON')
    // `peers add X --node U`: commander hands --node to the parent, so merge both levels' flags.
    .action((address: string, _flags: PeersFlags, cmd: Command) => addPeer(ctx, address, cmd.optsWithGlobals<PeersFlags>()));
  return peers;
}
