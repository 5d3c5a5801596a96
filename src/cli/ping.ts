import type { Command } from 'commander';
import type { CliContext } from './context.ts';
import type { PingFlags } from './ping-run.ts';

const EXAMPLES = `
Examples:
  peerchain ping ws://127.0.0.1:6001
  peerchain ping tcp://127.0.0.1:7001 --count 10 --interval-ms 200
  peerchain ping wss://127.0.0.1:6002 --data ./corp/nodes/member1

It connects like a peer would, with a fresh throwaway key: a node of a private or
consortium network refuses that, since only members may connect. --data uses a
member node's key (and member certificate) instead.`;

/** Registers `peerchain ping ADDR`. */
export function registerPing(program: Command, ctx: CliContext): Command {
  return program
    .command('ping')
    .description('measure round trips to a node over a P2P link (handshake, then PING/PONG), like ping(8)')
    .argument('<address>', "the node's peer address: ws://, tcp://, wss:// or tls:// host:port")
    .option('--data <dir>', "ping with this node directory's key (a member of a private or consortium network)")
    .option('--count <n>', 'pings to send (default 4)')
    .option('--interval-ms <ms>', 'pause between pings (default 1000)')
    .option('--timeout-ms <ms>', 'longest wait for the connection, the handshake and each reply (default 5000)')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', EXAMPLES)
    // Loaded on use: the p2p layer pulls in ws and zod.
    .action(async (address: string, flags: PingFlags) => (await import('./ping-run.ts')).runPing(ctx, address, flags));
}
