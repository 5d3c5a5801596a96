import { readFile } from 'node:fs/promises';
import { parseGenesis } from '../core/index.ts';
import { KeystoreError, readKeyFile, loadOrCreateNodeKey, NODE_KEY_FILE, readMemberCert } from '../node/keystore.ts';
import { createLogger } from '../node/logger.ts';
import { NodeRuntime } from '../node/runtime.ts';
import { join } from 'node:path';
import type { CliContext } from './context.ts';
import { badValue, CliError } from './errors.ts';
import { fromEnv, type Sourced } from './config.ts';
import type { BftFault } from '../consensus/bft/index.ts';
import { resolveNodeSettings, type NodeFlags } from './node-config.ts';
import { startProgress } from './progress.ts';

/** Reads PEERCHAIN_FAULT: "byzantine" or "crash-after-precommit:H". */
function parseFault(v: Sourced<string> | undefined): BftFault | undefined {
  if (v === undefined) return undefined;
  if (v.value === 'byzantine') return { byzantine: true };
  const m = /^crash-after-precommit:(\d{1,15})$/.exec(v.value);
  if (m !== null) return { crashAfterPrecommitAt: Number(m[1]) };
  throw badValue(v.source, v.value, '"byzantine" or "crash-after-precommit:HEIGHT"');
}

/** Runs one node until SIGINT or SIGTERM. */
export async function runNode(ctx: CliContext, flags: NodeFlags): Promise<void> {
  const s = resolveNodeSettings(flags, ctx.env);
  let genesisJson: unknown;
  try {
    genesisJson = JSON.parse(await readFile(s.genesisFile, 'utf8'));
  } catch (e) {
    throw new CliError(`genesis file ${s.genesisFile}: ${(e as Error).message}`);
  }
  const parsed = parseGenesis(genesisJson);
  if (!parsed.ok) throw new CliError(`genesis file ${s.genesisFile}: ${parsed.error.message}`);
  const genesis = parsed.value;
  // A public node may make its own identity; a permissioned one must use the key its organisation admitted.
  let key;
  if (genesis.network === 'public') key = (await loadOrCreateNodeKey(s.dataDir)).keys;
  else {
    try {
      key = await readKeyFile(join(s.dataDir, NODE_KEY_FILE));
    } catch (e) {
      if (e instanceof KeystoreError && e.reason === 'missing') throw new CliError(`--data ${s.dataDir}: no ${NODE_KEY_FILE}; a ${genesis.network} node needs the key its organisation admitted (see peerchain init)`);
      throw e;
    }
  }
  if (s.mine && genesis.consensus.type !== 'pow') throw new CliError(`--mine: a ${genesis.network} network does not mine; its validators produce blocks`);
  const fault = parseFault(fromEnv(ctx.env, 'PEERCHAIN_FAULT'));
  if (fault !== undefined && genesis.consensus.type !== 'bft') throw new CliError('PEERCHAIN_FAULT: fault modes exist for BFT validators only');
  const log = createLogger({ level: s.logLevel, name: s.name });
  if (fault !== undefined) log.warn({ fault }, 'FAULT MODE: this node misbehaves on purpose (tests only)');
  if (s.faultControl) log.info({ faults: s.faults }, 'fault control on: /api/faults may cut and slow this node\'s links (testnet)');
  // Settles when the runtime has stopped itself after a fatal error (its log says why).
  let fatalStop: () => void = () => undefined;
  const fatal = new Promise<void>((r) => (fatalStop = r));
  const rt = await NodeRuntime.start({
    name: s.name,
    dataDir: s.dataDir,
    genesis,
    key,
    log,
    host: s.host,
    wsPort: s.wsPort,
    tcpPort: s.tcpPort,
    peers: s.peers,
    api: { host: s.apiHost, port: s.apiPort, token: s.apiToken },
    mine: genesis.consensus.type === 'pow' ? { threads: s.mineThreads, continuous: s.mine, coinbase: s.coinbase } : undefined,
    discoverLan: s.discoverLan,
    maxOutbound: s.maxOutbound,
    bootstrap: s.bootstrap,
    insecure: s.insecure,
    memberCert: await readMemberCert(s.dataDir),
    fault,
    faultControl: s.faultControl,
    faults: s.faults,
    testnetControl: s.testnetControl,
    onFatal: () => {
      process.exitCode = 1;
      fatalStop();
    },
  });
  ctx.out.line(`peerchain node ${s.name}: ${genesis.network} network ${genesis.chainId}, height ${rt.node.chain.height}`);
  ctx.out.line(`  peers: ${rt.net.listenAddresses().join(' ') || '(not listening)'}`);
  ctx.out.line(`  API:   ${rt.apiUrl ?? '(off)'}`);
  const progress = startProgress(rt, { tty: flags.progress !== false && process.stderr.isTTY === true, write: (l) => ctx.out.writeErr(l) });
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'stopping');
      progress.stop();
      rt.stop().then(resolve, (e: unknown) => {
        log.error({ err: e }, 'error while stopping');
        resolve();
      });
    };
    void fatal.then(() => {
      stopping = true;
      progress.stop();
      resolve();
    });
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}
