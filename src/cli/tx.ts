import type { Command } from 'commander';
import { NODE_FLAG_HELP } from './client.ts';
import { withEnv } from './config.ts';
import type { CliContext } from './context.ts';
import type { GovernFlags, RecordFlags, TransferFlags } from './tx-run.ts';

const PASSPHRASE_FILE_HELP = withEnv('file holding the wallet passphrase (PEERCHAIN_PASSPHRASE also works)', 'PEERCHAIN_PASSPHRASE_FILE');

const EXAMPLES = `
Examples:
  peerchain tx transfer --wallet net/wallets/funded.json --to pc1... --amount 1000
  peerchain tx record --wallet me.json --key vin:WVW123 --value '{"km":41000,"work":"brakes"}' --wait
  peerchain tx govern --wallet net/wallets/org1.json --op add-validator --org org1 --node-id 3b6a...e1 --name validator5

The transaction is built and signed here; only the signed transaction goes to the node.
A node whose API is not on loopback wants a token: set PEERCHAIN_API_TOKEN and it is sent.`;

/** The flags every kind of transaction shares. */
function common(cmd: Command): Command {
  return cmd
    .option('--wallet <file>', withEnv('wallet file of the sender (required)', 'PEERCHAIN_WALLET'))
    .option('--passphrase-file <file>', PASSPHRASE_FILE_HELP)
    .option('--fee <n>', 'fee, a whole number (default 1)')
    .option('--nonce <n>', "sender nonce (default: the node's next pending nonce for the sender)")
    .option('--wait', 'wait until the transaction is in a block')
    .option('--timeout <seconds>', 'how long --wait waits (default 60)')
    .option('--node <url>', NODE_FLAG_HELP)
    .option('--json', 'print the result as JSON');
}

/** Registers `peerchain tx transfer`, `peerchain tx record` and `peerchain tx govern`. */
export function registerTx(program: Command, ctx: CliContext): Command {
  const tx = program.command('tx').description('sign transactions locally and submit them to a node').addHelpText('after', EXAMPLES);
  common(
    tx
      .command('transfer')
      .description('send coins from the wallet\'s account to an address')
      .option('--to <address>', 'recipient address, pc1... (required)')
      .option('--amount <n>', 'amount, a positive whole number (required)'),
  )
    // Loaded on use: signing pulls in core, which --help does not need.
    .action(async (flags: TransferFlags) => (await import('./tx-run.ts')).runTransfer(ctx, flags));
  common(
    tx
      .command('record')
      .description('set a record key to a JSON value (the ledger keeps every past value)')
      .option('--key <key>', 'record key, printable ASCII without spaces (required)')
      .option('--value <json>', 'the new value as JSON, e.g. \'{"km":41000}\' or \'"text"\' (required)'),
  ).action(async (flags: RecordFlags) => (await import('./tx-run.ts')).runRecord(ctx, flags));
  common(
    tx
      .command('govern')
      .description("approve a membership or validator change on behalf of the wallet's organisation (private and consortium networks)")
      .option('--op <op>', 'add-member, remove-member, add-validator or remove-validator (required)')
      .option('--org <name>', 'the organisation the node belongs to or joins (required)')
      .option('--node-id <hex>', "the node's public key, 64 lowercase hex characters (required)")
      .option('--name <name>', 'name of a node that joins (add-member, add-validator)')
      .addHelpText(
        'after',
        `
Each organisation approves with its own admitted wallet. The change is scheduled once more
than the genesis governanceThreshold of organisations approve, and takes effect a few blocks
later. Follow it with: GET /api/records/~gov%2F<proposal id> (the id is printed on submit).`,
      ),
  ).action(async (flags: GovernFlags) => (await import('./tx-run.ts')).runGovern(ctx, flags));
  return tx;
}
