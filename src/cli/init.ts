import type { Command } from 'commander';
import type { CliContext } from './context.ts';
import type { InitFlags } from './init-options.ts';

const EXAMPLES = `
Examples:
  peerchain init --network public --out ./net
  peerchain init --network private --out ./net --validators 4 --members 2
  peerchain init --network consortium --out ./net --orgs 3 --validators 2 --members 1`;

/** Registers `peerchain init`. */
export function registerInit(program: Command, ctx: CliContext): Command {
  return program
    .command('init')
    .description('create a new network: genesis.json, one folder per node with its key, and funded wallets')
    .option('--network <kind>', 'public, private or consortium (required)')
    .option('--out <dir>', 'directory to write (required; must be empty unless --force)')
    .option('--nodes <n>', 'public: number of nodes (default 3)')
    .option('--validators <n>', 'private: number of validators (default 4); consortium: validators per organisation (default 2)')
    .option('--orgs <n>', 'consortium: number of organisations (default 3)')
    .option('--members <n>', 'private: non-validator members (default 0); consortium: members per organisation (default 1)')
    .option('--chain-id <id>', 'chain id (default peerchain-<network>-<6 random hex digits>)')
    .option('--block-time-ms <ms>', 'public: target block time; private/consortium: empty-block interval (default 5000)')
    .option('--initial-zero-bits <b>', 'public: leading zero bits of the first blocks\' PoW target (default 12)')
    .option('--force', 'write into a non-empty directory, replacing genesis.json, nodes/, wallets/ and orgs/')
    .option('--json', 'print the summary as JSON')
    .addHelpText('after', EXAMPLES)
    // Loaded on use, so `--help` and other commands do not pay for core and zod.
    .action(async (flags: InitFlags) => (await import('./init-run.ts')).runInit(ctx, flags));
}
