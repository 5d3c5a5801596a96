import { badValue } from './errors.ts';

/**
 * Settings come from flags, then PEERCHAIN_* environment variables (later also a
 * config file). Each resolved value keeps the name of where it came from, so an
 * error can say "PEERCHAIN_WALLET" when that is what the user actually set.
 */

/** The environment, read-only; passed in so tests need not mutate process.env. */
export type Env = Readonly<Record<string, string | undefined>>;

/** A setting's value and its source, named as the user wrote it ("--wallet" or "PEERCHAIN_WALLET"). */
export interface Sourced<T> {
  readonly value: T;
  readonly source: string;
}

/** Every environment variable the CLI reads, with its help line; `--help` prints this list. */
export const ENV_VARS = {
  PEERCHAIN_WALLET: 'wallet key file, when --wallet is not given',
  PEERCHAIN_PASSPHRASE_FILE: 'file holding the key-file passphrase, when --passphrase-file is not given',
  PEERCHAIN_PASSPHRASE: 'the key-file passphrase itself (used when neither of the above is set)',
  PEERCHAIN_DEBUG: 'set to 1 to print stack traces of internal errors',
  PEERCHAIN_NODE: 'API URL of the node to talk to, when --node is not given (default http://127.0.0.1:3001)',
  PEERCHAIN_DATA: 'node: data directory, when --data is not given',
  PEERCHAIN_GENESIS: 'node: genesis file, when --genesis is not given',
  PEERCHAIN_HOST: 'node: address to listen on for peers',
  PEERCHAIN_WS_PORT: 'node: WebSocket P2P port (0 = any free port)',
  PEERCHAIN_TCP_PORT: 'node: TCP P2P port (0 = any free port)',
  PEERCHAIN_API_PORT: 'node: HTTP API port (0 = any free port)',
  PEERCHAIN_API_HOST: 'node: address the HTTP API binds to (default 127.0.0.1)',
  PEERCHAIN_API_TOKEN: 'API token: the node requires it of mutating calls off loopback; client commands send it',
  PEERCHAIN_PEERS: 'node: comma-separated peer addresses, added to any --peer flags',
  PEERCHAIN_MINE: 'node: set to 1 to mine',
  PEERCHAIN_MINE_THREADS: 'node: mining processes (0 = mine in the node process)',
  PEERCHAIN_COINBASE: 'node: address that receives mining rewards',
  PEERCHAIN_MAX_OUTBOUND: 'node: peers dialed on the node\'s own from learned addresses (default 8; 0 = only the named ones)',
  PEERCHAIN_LOG_LEVEL: 'node: log level (fatal, error, warn, info, debug, trace)',
  PEERCHAIN_INSECURE: 'node: set to 1 to allow plaintext ws:// and tcp:// links in a private or consortium network',
  PEERCHAIN_FAULT: 'node, tests only: "byzantine" (equivocate) or "crash-after-precommit:H" (a BFT validator misbehaves on purpose)',
  PEERCHAIN_TESTNET_CONTROL: 'node, set by peerchain testnet: the launcher\'s control URL, shown to the explorer',
  PEERCHAIN_TESTNET_FAULTS: 'node, set by peerchain testnet with --fault-control: faults from the start, as JSON {"block": [nodeId...], "delayMs": n}',
} as const;

/** The name of a variable the CLI reads. */
export type EnvVar = keyof typeof ENV_VARS;

/** An environment variable's value, treating an empty string as unset (as shells make that easy). */
export function fromEnv(env: Env, name: EnvVar): Sourced<string> | undefined {
  const v = env[name];
  return v === undefined || v === '' ? undefined : { value: v, source: name };
}

/** The flag's value if given, else its PEERCHAIN_* variable's, else undefined. */
export function flagOrEnv(env: Env, flag: string, flagValue: string | undefined, envVar: EnvVar): Sourced<string> | undefined {
  if (flagValue !== undefined) return { value: flagValue, source: flag };
  return fromEnv(env, envVar);
}

/** A flag's help text with the variable that can stand in for it, so `--help` lists both. */
export function withEnv(description: string, envVar: EnvVar): string {
  return `${description} (env: ${envVar})`;
}

const INT_RE = /^-?(0|[1-9][0-9]*)$/;

/** Parses a decimal integer in [min, max]; the error names the source and the bad value. */
export function parseIntIn(setting: Sourced<string>, min: number, max: number): number {
  const raw = setting.value.trim();
  const n = INT_RE.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw badValue(setting.source, setting.value, `an integer from ${min} to ${max}`);
  return n;
}
