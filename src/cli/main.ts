import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { ENV_VARS, type Env } from './config.ts';
import type { CliContext } from './context.ts';
import { CliError, EXIT_INTERNAL_ERROR, EXIT_USER_ERROR, userErrorMessage } from './errors.ts';
import { registerInit } from './init.ts';
import { processOutput } from './output.ts';
import { registerWallet } from './wallet.ts';
import { registerNode } from './node.ts';
import { registerTestnet } from './testnet.ts';
import { registerStatus } from './status.ts';
import { registerPeers } from './peers.ts';
import { registerPing } from './ping.ts';
import { registerTx } from './tx.ts';
import { registerOrg } from './org.ts';

/**
 * The `peerchain` program. Each command lives in its own module and registers
 * itself here; later issues add node, testnet, status, peers, ping and tx to
 * COMMANDS (and `wallet balance` inside wallet.ts) without touching the rest.
 * A registration module stays light and imports its heavy implementation inside
 * the action, so `peerchain --help` never loads the node, its storage or its server.
 */
const COMMANDS: readonly ((program: Command, ctx: CliContext) => unknown)[] = [
  registerInit,
  registerNode,
  registerTestnet,
  registerWallet,
  registerTx,
  registerStatus,
  registerPeers,
  registerPing,
  registerOrg,
];

/** The version in package.json, read at run time so it can never drift from the package. */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}

function envHelp(): string {
  const width = Math.max(...Object.keys(ENV_VARS).map((k) => k.length));
  const lines = Object.entries(ENV_VARS).map(([k, v]) => `  ${k.padEnd(width)}  ${v}`);
  return `\nSettings come from flags first, then these environment variables:\n${lines.join('\n')}`;
}

/** Builds the commander program with every command registered. */
export function buildProgram(ctx: CliContext): Command {
  const program = new Command('peerchain')
    .description('a peer-to-peer blockchain node: public (PoW), private and consortium (BFT) networks over WebSocket and TCP')
    .version(packageVersion(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .configureOutput({ writeOut: (s) => ctx.out.writeOut(s), writeErr: (s) => ctx.out.writeErr(s) })
    // Throw instead of calling process.exit, so main() decides the exit code and output is flushed.
    .exitOverride()
    .showSuggestionAfterError()
    .addHelpText('afterAll', envHelp());
  // Subcommands copy these settings when created, so register commands last.
  for (const register of COMMANDS) register(program, ctx);
  return program;
}

/** The context of a real run: process environment, stdout/stderr, wall clock. */
export function processContext(): CliContext {
  return { env: process.env as Env, out: processOutput(), now: () => Date.now() };
}

/** Runs the CLI on argv (without node and script) and returns the exit code. */
export async function main(argv: readonly string[], ctx: CliContext = processContext()): Promise<number> {
  const program = buildProgram(ctx);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (e) {
    // Commander has already printed help, the version or its usage error.
    if (e instanceof CommanderError) return e.exitCode;
    const message = userErrorMessage(e);
    if (message !== undefined) {
      ctx.out.writeErr(`error: ${message}\n`);
      return e instanceof CliError ? e.exitCode : EXIT_USER_ERROR;
    }
    const detail = e instanceof Error ? e.message : String(e);
    ctx.out.writeErr(`error: internal error: ${detail}\n`);
    if (ctx.env.PEERCHAIN_DEBUG === '1' && e instanceof Error && e.stack !== undefined) ctx.out.writeErr(e.stack + '\n');
    else ctx.out.writeErr('(this is a bug in peerchain; set PEERCHAIN_DEBUG=1 for the stack trace)\n');
    return EXIT_INTERNAL_ERROR;
  }
}
