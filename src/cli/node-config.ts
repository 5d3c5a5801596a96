import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { availableParallelism } from 'node:os';
import { addressError } from '../crypto/index.ts';
import { MAX_FAULT_DELAY_MS } from '../p2p/index.ts';
import { flagOrEnv, fromEnv, parseIntIn, type Env, type Sourced } from './config.ts';
import { badValue, CliError } from './errors.ts';

/** Flags of `peerchain node` as commander hands them over. */
export interface NodeFlags {
  data?: string;
  genesis?: string;
  config?: string;
  host?: string;
  wsPort?: string;
  tcpPort?: string;
  apiPort?: string;
  apiHost?: string;
  apiToken?: string;
  peer?: string[];
  mine?: boolean;
  mineThreads?: string;
  coinbase?: string;
  discoverLan?: boolean;
  maxOutbound?: string;
  bootstrap?: boolean;
  insecure?: boolean;
  logLevel?: string;
  name?: string;
  progress?: boolean;
  faultControl?: boolean;
}

/** Fully resolved settings of one node process. */
export interface NodeSettings {
  readonly name: string;
  readonly dataDir: string;
  readonly genesisFile: string;
  readonly host: string;
  readonly wsPort: number;
  readonly tcpPort: number;
  readonly apiHost: string;
  readonly apiPort: number;
  readonly apiToken?: string;
  readonly peers: readonly string[];
  readonly mine: boolean;
  readonly mineThreads: number;
  readonly coinbase?: string;
  readonly discoverLan: boolean;
  /** Peers this node dials on its own from addresses it learns (undefined: the network default). */
  readonly maxOutbound?: number;
  readonly bootstrap: boolean;
  readonly insecure: boolean;
  readonly logLevel: string;
  /** Serve /api/faults (hidden --fault-control, set by `peerchain testnet`). */
  readonly faultControl: boolean;
  /** Faults from the start (PEERCHAIN_TESTNET_FAULTS; only with faultControl). */
  readonly faults?: { readonly block: readonly string[]; readonly delayMs: number };
  /** The testnet launcher's control URL (PEERCHAIN_TESTNET_CONTROL). */
  readonly testnetControl?: string;
}

/** The config file (`DIR/node.json` written by init, or --config): a subset of the settings. */
interface ConfigFile {
  name?: string;
  host?: string;
  ports?: { ws?: number; tcp?: number; api?: number };
  genesis?: string;
  peers?: string[];
  roles?: string[];
  mine?: boolean;
  mineThreads?: number;
  coinbase?: string;
  apiHost?: string;
  maxOutbound?: number;
}

// A node dialing hundreds of peers on its own is a misconfiguration, not a stronger node.
const MAX_OUTBOUND_LIMIT = 128;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function readConfigFile(file: string): ConfigFile {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new CliError(`config file ${file}: ${(e as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new CliError(`config file ${file}: not a JSON object`);
  return json as ConfigFile;
}

function port(s: Sourced<string> | undefined, fallback: number): number {
  return s === undefined ? fallback : parseIntIn(s, 0, 65535);
}

function fileValue<T>(v: T | undefined, source: string): Sourced<T> | undefined {
  return v === undefined ? undefined : { value: v, source };
}

/**
 * Resolves node settings: flags first, then PEERCHAIN_* variables, then the
 * config file (--config, or node.json in the data directory), then defaults.
 * Every bad value is reported with the flag, variable or file it came from.
 */
export function resolveNodeSettings(flags: NodeFlags, env: Env): NodeSettings {
  const data = flagOrEnv(env, '--data', flags.data, 'PEERCHAIN_DATA');
  if (data === undefined) throw new CliError('--data: the node\'s data directory is required (e.g. --data ./net/nodes/node1)');
  const dataDir = resolve(data.value);
  const cfgPath = flags.config !== undefined ? resolve(flags.config) : join(dataDir, 'node.json');
  if (flags.config !== undefined && !existsSync(cfgPath)) throw new CliError(`--config ${flags.config}: no such file`);
  const cfg: ConfigFile = existsSync(cfgPath) ? readConfigFile(cfgPath) : {};
  const cfgSrc = `config file ${cfgPath}`;

  const genesisFlag = flagOrEnv(env, '--genesis', flags.genesis, 'PEERCHAIN_GENESIS');
  let genesisFile: string;
  if (genesisFlag !== undefined) genesisFile = resolve(genesisFlag.value);
  else if (cfg.genesis !== undefined) genesisFile = isAbsolute(cfg.genesis) ? cfg.genesis : resolve(dirname(cfgPath), cfg.genesis);
  else throw new CliError('--genesis: the network\'s genesis.json is required (e.g. --genesis ./net/genesis.json)');
  if (!existsSync(genesisFile)) throw new CliError(`${genesisFlag?.source ?? cfgSrc}: genesis file ${genesisFile} does not exist`);

  const host = flagOrEnv(env, '--host', flags.host, 'PEERCHAIN_HOST')?.value ?? cfg.host ?? '127.0.0.1';
  const wsPort = port(flagOrEnv(env, '--ws-port', flags.wsPort, 'PEERCHAIN_WS_PORT') ?? mapNum(fileValue(cfg.ports?.ws, cfgSrc)), 6001);
  const tcpPort = port(flagOrEnv(env, '--tcp-port', flags.tcpPort, 'PEERCHAIN_TCP_PORT') ?? mapNum(fileValue(cfg.ports?.tcp, cfgSrc)), 7001);
  const apiPort = port(flagOrEnv(env, '--api-port', flags.apiPort, 'PEERCHAIN_API_PORT') ?? mapNum(fileValue(cfg.ports?.api, cfgSrc)), 3001);
  const apiHost = flagOrEnv(env, '--api-host', flags.apiHost, 'PEERCHAIN_API_HOST')?.value ?? cfg.apiHost ?? '127.0.0.1';
  const apiToken = flagOrEnv(env, '--api-token', flags.apiToken, 'PEERCHAIN_API_TOKEN')?.value;

  const peers = [...(flags.peer ?? [])];
  const envPeers = fromEnv(env, 'PEERCHAIN_PEERS');
  if (envPeers !== undefined) peers.push(...envPeers.value.split(',').map((p) => p.trim()).filter((p) => p !== ''));
  if (flags.peer === undefined && envPeers === undefined && Array.isArray(cfg.peers)) peers.push(...cfg.peers);
  for (const p of peers) if (!/^(ws|wss|tcp|tls):\/\/[^\s/]+:\d{1,5}\/?$/.test(p)) throw badValue('--peer', p, 'an address like ws://127.0.0.1:6001 or tcp://127.0.0.1:7001');

  const mineEnv = fromEnv(env, 'PEERCHAIN_MINE');
  const mine = flags.mine === true || mineEnv?.value === '1' || mineEnv?.value === 'true' || (flags.mine === undefined && mineEnv === undefined && cfg.mine === true);
  const threadsSrc = flagOrEnv(env, '--mine-threads', flags.mineThreads, 'PEERCHAIN_MINE_THREADS') ?? mapNum(fileValue(cfg.mineThreads, cfgSrc));
  const mineThreads = threadsSrc === undefined ? 1 : parseIntIn(threadsSrc, 0, Math.max(1, availableParallelism()) * 4);
  const coinbase = flagOrEnv(env, '--coinbase', flags.coinbase, 'PEERCHAIN_COINBASE') ?? fileValue(cfg.coinbase, cfgSrc);
  if (coinbase !== undefined) {
    const e = addressError(coinbase.value);
    if (e !== undefined) throw new CliError(`${coinbase.source}: ${e}`);
  }
  const outboundSrc = flagOrEnv(env, '--max-outbound', flags.maxOutbound, 'PEERCHAIN_MAX_OUTBOUND') ?? mapNum(fileValue(cfg.maxOutbound, cfgSrc));
  const maxOutbound = outboundSrc === undefined ? undefined : parseIntIn(outboundSrc, 0, MAX_OUTBOUND_LIMIT);
  const logLevel = flagOrEnv(env, '--log-level', flags.logLevel, 'PEERCHAIN_LOG_LEVEL')?.value ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) throw badValue('--log-level', logLevel, LOG_LEVELS.join(', '));
  const bootstrap = flags.bootstrap === true || (flags.bootstrap === undefined && Array.isArray(cfg.roles) && cfg.roles.includes('bootstrap'));
  const faultControl = flags.faultControl === true;
  const faultsEnv = fromEnv(env, 'PEERCHAIN_TESTNET_FAULTS');
  const faults = faultControl && faultsEnv !== undefined ? parseFaults(faultsEnv) : undefined;
  const control = fromEnv(env, 'PEERCHAIN_TESTNET_CONTROL');
  if (control !== undefined && !/^https?:\/\/[^\s/]+\/?$/.test(control.value)) throw badValue(control.source, control.value, 'a URL like http://127.0.0.1:3000');
  return {
    name: flags.name ?? cfg.name ?? (dataDir.split(/[\\/]/).pop() || 'node'),
    dataDir,
    genesisFile,
    host,
    wsPort,
    tcpPort,
    apiHost,
    apiPort,
    apiToken,
    peers,
    mine,
    mineThreads,
    coinbase: coinbase?.value,
    discoverLan: flags.discoverLan === true,
    maxOutbound,
    bootstrap,
    insecure: flags.insecure === true || ['1', 'true'].includes(fromEnv(env, 'PEERCHAIN_INSECURE')?.value ?? ''),
    logLevel,
    faultControl,
    faults,
    testnetControl: control?.value.replace(/\/$/, ''),
  };
}

/** PEERCHAIN_TESTNET_FAULTS: {"block": [nodeId...], "delayMs": n}, both optional. */
function parseFaults(s: Sourced<string>): { block: string[]; delayMs: number } {
  const want = `{"block": [node ids, 64 hex each], "delayMs": an integer from 0 to ${MAX_FAULT_DELAY_MS}}`;
  let v: unknown;
  try {
    v = JSON.parse(s.value);
  } catch {
    throw badValue(s.source, s.value, want);
  }
  const o = (typeof v === 'object' && v !== null && !Array.isArray(v) ? v : {}) as { block?: unknown; delayMs?: unknown };
  const block = o.block ?? [];
  const delayMs = o.delayMs ?? 0;
  const okBlock = Array.isArray(block) && block.every((id) => typeof id === 'string' && /^[0-9a-f]{64}$/.test(id));
  const okDelay = typeof delayMs === 'number' && Number.isInteger(delayMs) && delayMs >= 0 && delayMs <= MAX_FAULT_DELAY_MS;
  if (typeof v !== 'object' || v === null || Array.isArray(v) || !okBlock || !okDelay) throw badValue(s.source, s.value, want);
  return { block: block as string[], delayMs: delayMs as number };
}

function mapNum(s: Sourced<number> | undefined): Sourced<string> | undefined {
  return s === undefined ? undefined : { value: String(s.value), source: s.source };
}
