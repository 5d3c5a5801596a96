import type { Command } from 'commander';
import type { CliContext } from './context.ts';

/** Flags of `peerchain testnet`. */
export interface TestnetFlags {
  network?: string;
  nodes?: string;
  dir?: string;
  basePort?: string;
  mineThreads?: string;
  fresh?: boolean;
  logLevel?: string;
}

/** Registers `peerchain testnet`. */
export function registerTestnet(program: Command, ctx: CliContext): Command {
  return program
    .command('testnet')
    .description('start a local network: N node processes linked to each other (public: all mining); Ctrl-C stops them all')
    .option('--network <kind>', 'public, private or consortium (default public)')
    .option('--nodes <n>', 'number of nodes (default 3)')
    .option('--dir <dir>', 'where the network lives (default ./.peerchain/<network>); reused on the next start')
    .option('--base-port <p>', 'ports P+i (ws), P+100+i (tcp), P+200+i (API); default 6001.., 7001.., 3001..')
    .option('--mine-threads <n>', 'mining processes per node (default 0: mine inside each node process)')
    .option('--fresh', 'delete the network in --dir and create a new one')
    .option('--log-level <level>', 'node log level (default info); logs go to DIR/logs/NAME.log')
    .action(async (flags: TestnetFlags) => (await import('./testnet-run.ts')).runTestnet(ctx, flags));
}
