import type { Command } from 'commander';
import { withEnv } from './config.ts';
import type { CliContext } from './context.ts';
import type { CertifyFlags } from './org-run.ts';

const EXAMPLES = `
Examples:
  peerchain org certify --org-key net/orgs/org1/org-key.json --org org1 --node-id 3b6a...e1 \\
    --name member7 --chain-id peerchain-private-1a2b3c --out member7-cert.json

The certificate admits the node to the P2P network as a member of the organisation,
without a new genesis or a governance vote. It does not make the node a validator:
that takes a governance transaction (peerchain tx govern --op add-validator).`;

/** Registers `peerchain org` and `peerchain org certify`. */
export function registerOrg(program: Command, ctx: CliContext): Command {
  const org = program.command('org').description('organisation tasks of private and consortium networks');
  org
    .command('certify')
    .description("sign a member certificate for a node with the organisation's key")
    .option('--org-key <file>', "the organisation's key file, e.g. DIR/orgs/NAME/org-key.json from peerchain init (required)")
    .option('--passphrase-file <file>', withEnv('file holding the org key passphrase, if it is sealed (PEERCHAIN_PASSPHRASE also works)', 'PEERCHAIN_PASSPHRASE_FILE'))
    .option('--org <name>', 'the organisation, as named in genesis (required)')
    .option('--node-id <hex>', "the node's public key, 64 lowercase hex characters (required)")
    .option('--name <name>', "the member's name (required)")
    .option('--chain-id <id>', 'the chain id of the network, as in genesis.json (required)')
    .option('--out <file>', 'certificate file to write (required)')
    .option('--force', 'replace an existing file')
    .option('--json', 'print the certificate as JSON')
    .addHelpText('after', EXAMPLES)
    // Loaded on use: signing pulls in core, which --help does not need.
    .action(async (flags: CertifyFlags) => (await import('./org-run.ts')).runCertify(ctx, flags));
  return org;
}
