import { Option, type Command } from 'commander';
import { withEnv } from './config.ts';
import type { CliContext } from './context.ts';
import type { NodeFlags } from './node-config.ts';

const EXAMPLES = `
Examples:
  peerchain node --data ./net/nodes/node1                       (settings from ./net/nodes/node1/node.json)
  peerchain node --data ./mydata --genesis ./net/genesis.json --peer ws://127.0.0.1:6001 --mine`;

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Registers `peerchain node`. */
export function registerNode(program: Command, ctx: CliContext): Command {
  return program
    .command('node')
    .description('run one node: it listens for peers over WebSocket and TCP, dials its peers, syncs, and serves the HTTP API')
    .option('--data <dir>', withEnv('data directory: the node key and the chain (required)', 'PEERCHAIN_DATA'))
    .option('--genesis <file>', withEnv('the network\'s genesis.json (default: from DIR/node.json)', 'PEERCHAIN_GENESIS'))
    .option('--config <file>', 'config file (default DIR/node.json, as written by init)')
    .option('--host <addr>', withEnv('address to listen on for peers (default 127.0.0.1)', 'PEERCHAIN_HOST'))
    .option('--ws-port <port>', withEnv('WebSocket P2P port (default 6001; 0 = any free port)', 'PEERCHAIN_WS_PORT'))
    .option('--tcp-port <port>', withEnv('TCP P2P port (default 7001; 0 = any free port)', 'PEERCHAIN_TCP_PORT'))
    .option('--api-port <port>', withEnv('HTTP API port (default 3001; 0 = any free port)', 'PEERCHAIN_API_PORT'))
    .option('--api-host <addr>', withEnv('address the HTTP API binds to (default 127.0.0.1)', 'PEERCHAIN_API_HOST'))
    .option('--api-token <token>', withEnv('token mutating API calls must present when the API is not on loopback', 'PEERCHAIN_API_TOKEN'))
    .option('--peer <addr>', 'a peer to dial and keep: ws://, tcp:// (public) or wss://, tls:// (private, consortium) host:port (repeatable; env PEERCHAIN_PEERS, comma-separated)', collect)
    .option('--mine', withEnv('mine blocks (public networks)', 'PEERCHAIN_MINE'))
    .option('--mine-threads <n>', withEnv('mining processes (default 1; 0 = in the node process)', 'PEERCHAIN_MINE_THREADS'))
    .option('--coinbase <address>', withEnv('address that receives mining rewards (default: the node\'s own)', 'PEERCHAIN_COINBASE'))
    .option('--max-outbound <n>', withEnv('peers the node dials on its own from addresses it learns (default 8; 0: only --peer and peers added through the API)', 'PEERCHAIN_MAX_OUTBOUND'))
    .option('--discover-lan', 'find peers on the LAN over UDP multicast (off by default)')
    .option('--insecure', withEnv('private/consortium: also allow plaintext ws:// and tcp:// links (TLS only by default)', 'PEERCHAIN_INSECURE'))
    .option('--bootstrap', 'act as a bootstrap node: keep a member directory and introduce members to each other')
    .option('--log-level <level>', withEnv('fatal, error, warn, info, debug or trace (default info)', 'PEERCHAIN_LOG_LEVEL'))
    .option('--name <name>', 'name used in logs (default: from node.json or the directory name)')
    .option('--no-progress', 'no progress bar while syncing, even on a terminal')
    // Hidden: for `peerchain testnet` only, it lets any local caller cut this node's links and slow them.
    .addOption(new Option('--fault-control', 'serve /api/faults (testnet partitions and latency; set by peerchain testnet)').hideHelp())
    .addHelpText('after', EXAMPLES)
    .action(async (flags: NodeFlags) => (await import('./node-run.ts')).runNode(ctx, flags));
}
