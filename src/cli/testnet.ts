import type { Command } from 'commander';
import type { CliContext } from './context.ts';

/** Flags of `peerchain testnet`. */
export interface TestnetFlags {
  network?: string;
  nodes?: string;
  validators?: string;
  members?: string;
  orgs?: string;
  blockTimeMs?: string;
  dir?: string;
  basePort?: string;
  mineThreads?: string;
  fresh?: boolean;
  logLevel?: string;
  controlPort?: string;
}

/** Registers `peerchain testnet`. */
export function registerTestnet(program: Command, ctx: CliContext): Command {
  return program
    .command('testnet')
    .description('start a local network of node processes linked by its topology (public: all mining; private/consortium: BFT validators); Ctrl-C stops them all')
    .option('--network <kind>', 'public, private or consortium (default public)')
    .option('--nodes <n>', 'public: number of nodes (default 3); private: number of validators')
    .option('--validators <n>', 'private: validators (default 4); consortium: validators per organisation (default 2)')
    .option('--members <n>', 'ordinary member nodes (private: in all, default 1; consortium: per organisation, default 1)')
    .option('--orgs <n>', 'consortium: organisations (default 3)')
    .option('--block-time-ms <ms>', 'public: target block time; BFT: empty-block interval (default 2000 for a testnet)')
    .option('--dir <dir>', 'where the network lives (default ./.peerchain/<network>); reused on the next start')
    .option('--base-port <p>', 'ports P+i (ws), P+100+i (tcp), P+200+i (API); default 6001.., 7001.., 3001..')
    .option('--mine-threads <n>', 'mining processes per node (default 0: mine inside each node process)')
    .option('--fresh', 'delete the network in --dir and create a new one')
    .option('--log-level <level>', 'node log level (default info); logs go to DIR/logs/NAME.log')
    .option('--control-port <p>', 'port of the fault controls (HTTP on 127.0.0.1: stop, restart, partition, heal, slow); default: the lowest API port - 1')
    .action(async (flags: TestnetFlags) => (await import('./testnet-run.ts')).runTestnet(ctx, flags));
}
