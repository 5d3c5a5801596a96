import type { Command } from 'commander';
import type { AccountView } from '../api/index.ts';
import { addressError, addressFromPublicKey, generateKeyPair, isEncryptedKeyFile, isPublicKeyHex, type KeyPair } from '../crypto/index.ts';
import { KeystoreError, loadKeyFile, readKeyFileJson, writeKeyFile } from '../node/keystore.ts';
import { NODE_FLAG_HELP, nodeClient, type NodeFlags } from './client.ts';
import { flagOrEnv, withEnv, type Sourced } from './config.ts';
import type { CliContext } from './context.ts';
import { CliError } from './errors.ts';
import { table } from './output.ts';
import { resolvePassphrase } from './passphrase.ts';

interface WalletNewFlags {
  out?: string;
  passphraseFile?: string;
  force?: boolean;
  json?: boolean;
}

interface WalletShowFlags {
  wallet?: string;
  passphraseFile?: string;
  json?: boolean;
}

interface WalletBalanceFlags extends NodeFlags {
  wallet?: string;
  address?: string;
  json?: boolean;
}

/** What `wallet new` and `wallet show` report: never the private key. */
interface WalletInfo {
  file: string;
  address: string;
  publicKey: string;
  encrypted: boolean;
}

function info(file: string, keys: KeyPair, encrypted: boolean): WalletInfo {
  return { file, address: addressFromPublicKey(keys.publicKey), publicKey: keys.publicKey, encrypted };
}

function print(ctx: CliContext, w: WalletInfo, json: boolean): void {
  if (json) {
    ctx.out.json(w);
    return;
  }
  const rows = table([
    ['address', w.address],
    ['public key', w.publicKey],
    ['file', w.file],
    ['encrypted', w.encrypted ? 'yes' : 'no'],
  ]);
  for (const l of rows) ctx.out.line(l);
}

const PASSPHRASE_FILE_HELP = withEnv('file holding the passphrase (PEERCHAIN_PASSPHRASE also works)', 'PEERCHAIN_PASSPHRASE_FILE');

/** Creates a key pair and writes it as a wallet file, encrypted when a passphrase is set. */
async function walletNew(ctx: CliContext, flags: WalletNewFlags): Promise<void> {
  if (flags.out === undefined || flags.out === '') throw new CliError('--out: the wallet file to write is required (e.g. --out wallet.json)');
  const passphrase = await resolvePassphrase(ctx.env, flags.passphraseFile);
  const keys = generateKeyPair();
  try {
    await writeKeyFile(flags.out, keys, { passphrase: passphrase?.value, overwrite: flags.force === true });
  } catch (e) {
    if (e instanceof KeystoreError && e.reason === 'exists') throw new CliError(`--out ${flags.out}: file already exists; pass --force to replace it (the key in it would be lost)`);
    throw e;
  }
  print(ctx, info(flags.out, keys, passphrase !== undefined), flags.json === true);
  if (passphrase === undefined && flags.json !== true) ctx.out.note('note: the wallet is not encrypted; use --passphrase-file or PEERCHAIN_PASSPHRASE to encrypt it');
}

/** Reads a wallet file (decrypting it, which also proves the passphrase) and prints its public parts. */
async function walletShow(ctx: CliContext, flags: WalletShowFlags): Promise<void> {
  const wallet = flagOrEnv(ctx.env, '--wallet', flags.wallet, 'PEERCHAIN_WALLET');
  if (wallet === undefined) throw new CliError('--wallet: the wallet file is required (or set PEERCHAIN_WALLET)');
  const passphrase = await resolvePassphrase(ctx.env, flags.passphraseFile);
  const { keys, encrypted } = await loadKeyFile(wallet.value, passphrase?.value);
  print(ctx, info(wallet.value, keys, encrypted), flags.json === true);
}

/** The account address a wallet file holds; a sealed file keeps its public key in the clear, so no passphrase is needed. */
async function walletFileAddress(wallet: Sourced<string>): Promise<string> {
  try {
    const json = await readKeyFileJson(wallet.value);
    if (!isEncryptedKeyFile(json)) return addressFromPublicKey((await loadKeyFile(wallet.value)).keys.publicKey);
    const publicKey = (json as { publicKey?: unknown }).publicKey;
    if (!isPublicKeyHex(publicKey)) throw new KeystoreError('damaged', wallet.value, `key file ${wallet.value} is damaged: no valid publicKey`);
    return addressFromPublicKey(publicKey);
  } catch (e) {
    if (e instanceof KeystoreError) throw new CliError(`${wallet.source}: ${e.message}`);
    throw e;
  }
}

/** Asks the node for an account's balance and nonce, by --address or by the wallet's address. */
async function walletBalance(ctx: CliContext, flags: WalletBalanceFlags): Promise<void> {
  if (flags.address !== undefined && flags.wallet !== undefined) throw new CliError('--wallet and --address: give one of them, not both');
  let address: string;
  if (flags.address !== undefined) {
    const err = addressError(flags.address);
    if (err !== undefined) throw new CliError(`--address: ${err}`);
    address = flags.address;
  } else {
    const wallet = flagOrEnv(ctx.env, '--wallet', flags.wallet, 'PEERCHAIN_WALLET');
    if (wallet === undefined) throw new CliError('--wallet or --address: say whose balance to show (--wallet FILE, PEERCHAIN_WALLET or --address pc1...)');
    address = await walletFileAddress(wallet);
  }
  const a: AccountView = await nodeClient(ctx.env, flags).account(address);
  if (flags.json === true) {
    ctx.out.json(a);
    return;
  }
  const rows: [string, string][] = [
    ['address', a.address],
    ['balance', a.balance],
    ['nonce', String(a.nonce)],
    ['pending', `${a.pendingTxs} transaction${a.pendingTxs === 1 ? '' : 's'} (next nonce ${a.pendingNonce})`],
  ];
  if (a.org !== undefined) rows.push(['organisation', a.org]);
  for (const l of table(rows)) ctx.out.line(l);
}

/**
 * Registers `wallet` and its subcommands; returns the group so later modules
 * (`wallet balance`) can add theirs.
 */
export function registerWallet(program: Command, ctx: CliContext): Command {
  const wallet = program.command('wallet').description('create and inspect wallet key files');
  wallet
    .command('new')
    .description('create a new key pair and write it as a wallet file (mode 0600)')
    .option('--out <file>', 'wallet file to write (required)')
    .option('--passphrase-file <file>', PASSPHRASE_FILE_HELP)
    .option('--force', 'replace an existing file')
    .option('--json', 'print the result as JSON')
    .action((flags: WalletNewFlags) => walletNew(ctx, flags));
  wallet
    .command('show')
    .description("print a wallet's address and public key (never the private key)")
    .option('--wallet <file>', withEnv('wallet file to read', 'PEERCHAIN_WALLET'))
    .option('--passphrase-file <file>', PASSPHRASE_FILE_HELP)
    .option('--json', 'print the result as JSON')
    .action((flags: WalletShowFlags) => walletShow(ctx, flags));
  wallet
    .command('balance')
    .description("ask a node for an account's balance and nonce")
    .option('--wallet <file>', withEnv('wallet file whose account to show (no passphrase needed)', 'PEERCHAIN_WALLET'))
    .option('--address <address>', 'account address (pc1...) instead of a wallet file')
    .option('--node <url>', NODE_FLAG_HELP)
    .option('--json', 'print the account as JSON')
    .action((flags: WalletBalanceFlags) => walletBalance(ctx, flags));
  return wallet;
}
