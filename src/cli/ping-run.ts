/**
 * `peerchain ping ADDR`: an echo client over a real P2P link. It dials the node
 * with the p2p transports, reads the node's HELLO and mirrors its network,
 * chain id and genesis hash in its own HELLO (so any public network accepts it
 * without a genesis file), finishes the handshake with a fresh throwaway key,
 * then times PING/PONG round trips through a Peer and sums them up like ping(8).
 */
import { join } from 'node:path';
import { generateKeyPair, type KeyPair } from '../crypto/index.ts';
import { NODE_KEY_FILE, readKeyFile, readMemberCert } from '../node/keystore.ts';
import {
  addressError,
  HandshakeError,
  HandshakeMachine,
  isTlsScheme,
  message,
  nodeTlsIdentity,
  parseAddress,
  parseMessage,
  payloadSchemas,
  Peer,
  tcpTransport,
  tlsTransport,
  wsTransport,
  wssTransport,
  type CloseInfo,
  type Connection,
  type HandshakeAction,
  type HandshakeConfig,
  type Handshaken,
  type HelloPayload,
  type Incoming,
  type PeerCloseInfo,
} from '../p2p/index.ts';
import { parseIntIn } from './config.ts';
import type { CliContext } from './context.ts';
import { CliError } from './errors.ts';

/** Flags of `peerchain ping`. */
export interface PingFlags {
  data?: string;
  count?: string;
  intervalMs?: string;
  timeoutMs?: string;
  json?: boolean;
}

interface PingSettings {
  readonly count: number;
  readonly intervalMs: number;
  readonly timeoutMs: number;
}

/** What a ping run measured; also the --json output. */
export interface PingReport {
  address: string;
  nodeId: string;
  network: string;
  chainId: string;
  height: number;
  agent: string;
  handshakeMs: number;
  sent: number;
  received: number;
  lossPercent: number;
  rttMs: number[];
  min: number | null;
  avg: number | null;
  max: number | null;
}

// How long the closing DISCONNECT may take to flush before we stop waiting.
const CLOSE_WAIT_MS = 2000;
const AGENT = 'peerchain-ping';

function settings(flags: PingFlags): PingSettings {
  const int = (value: string | undefined, source: string, dflt: number, min: number, max: number): number => (value === undefined ? dflt : parseIntIn({ value, source }, min, max));
  return {
    count: int(flags.count, '--count', 4, 1, 100_000),
    intervalMs: int(flags.intervalMs, '--interval-ms', 1000, 0, 3_600_000),
    timeoutMs: int(flags.timeoutMs, '--timeout-ms', 5000, 1, 600_000),
  };
}

/** A DISCONNECT from the node, worded for the person who ran ping. */
function refusal(address: string, reason: string, msg: string): CliError {
  const hint =
    reason === 'not-member'
      ? ' (this is a permissioned network: only its members may connect; pass --data with a member node\'s directory to ping with its key)'
      : reason === 'banned'
        ? ' (the node has banned this host for a while)'
        : reason === 'too-many-peers'
          ? ' (the node is full; try again later)'
          : '';
  return new CliError(`${address} refused the link: ${reason}${msg === '' ? '' : `: ${msg}`}${hint}`);
}

async function dial(address: string, timeoutMs: number, keys: KeyPair): Promise<Connection> {
  const scheme = parseAddress(address)?.scheme;
  const o = { dialTimeoutMs: timeoutMs };
  // Over TLS ping presents a certificate for the key it handshakes with, as a node does.
  const transport =
    scheme === 'tcp' ? tcpTransport(o) : scheme === 'tls' ? tlsTransport(nodeTlsIdentity(keys), o) : scheme === 'wss' ? wssTransport(nodeTlsIdentity(keys), o) : wsTransport(o);
  try {
    return await transport.dial(address);
  } catch (e) {
    const code = typeof e === 'object' && e !== null && 'code' in e ? String(e.code) : '';
    const detail = e instanceof Error ? e.message : String(e);
    const why =
      code === 'ECONNREFUSED'
        ? 'connection refused (is a node listening there?)'
        : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
          ? 'host name not found'
          : /Unexpected server response/.test(detail)
            ? `${detail} (is that the node's ws:// P2P port, not its HTTP API?)`
            : detail;
    throw new CliError(`cannot connect to ${address}: ${why}`);
  }
}

/**
 * Waits for the node's first frame, which must be its HELLO (or a DISCONNECT
 * refusing us). The connection is paused on return so nothing after it is lost.
 */
function awaitHello(conn: Connection, address: string, timeoutMs: number): Promise<{ frame: Incoming; hello: HelloPayload }> {
  return new Promise((resolve, reject) => {
    const finish = (err: CliError | undefined, v?: { frame: Incoming; hello: HelloPayload }): void => {
      clearTimeout(timer);
      conn.off('message', onMessage);
      conn.off('close', onClose);
      if (err !== undefined) {
        conn.close('ping failed');
        reject(err);
      } else resolve(v!);
    };
    const onMessage = (inc: Incoming): void => {
      conn.pause();
      if (!inc.ok) return finish(new CliError(`${address} does not speak the peerchain protocol: ${inc.error.message}`));
      const parsed = parseMessage(inc.value);
      if (parsed.ok && parsed.message.type === 'DISCONNECT') return finish(refusal(address, parsed.message.payload.reason, parsed.message.payload.message));
      // Read leniently: a newer node's HELLO may carry fields this version does not know; the handshake decides on versions.
      const env = inc.value as { type?: unknown; payload?: unknown } | null;
      const hello = env?.type === 'HELLO' ? payloadSchemas.HELLO.strip().safeParse(env.payload) : undefined;
      if (hello === undefined || !hello.success) return finish(new CliError(`${address} did not open with a valid HELLO: is it a peerchain node's P2P port?`));
      finish(undefined, { frame: inc, hello: hello.data });
    };
    const onClose = (info: CloseInfo): void => finish(new CliError(`${address} closed the link before saying HELLO (${info.reason})`));
    const timer = setTimeout(() => finish(new CliError(`${address} sent no HELLO within ${timeoutMs} ms: is it a peerchain node's P2P port?`)), timeoutMs);
    conn.on('message', onMessage);
    conn.on('close', onClose);
  });
}

/**
 * The handshake with the node's HELLO already in hand. The p2p layer's
 * handshake() sends our HELLO before reading theirs; ping must read first to
 * learn what to claim, so it drives the same HandshakeMachine itself.
 */
function handshakeAfterHello(conn: Connection, cfg: HandshakeConfig, first: Incoming, timeoutMs: number): Promise<Handshaken> {
  const machine = new HandshakeMachine(cfg);
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (then: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      conn.off('message', onMessage);
      conn.off('close', onClose);
      then();
    };
    const apply = (actions: HandshakeAction[]): void => {
      for (const a of actions) {
        if (settled) return;
        if (a.kind === 'send') conn.send(a.message);
        else if (a.kind === 'fail') {
          settle(() => {
            if (!a.remote) conn.send(message('DISCONNECT', { reason: a.reason, message: a.message }));
            conn.close(a.reason);
            reject(new HandshakeError(a.reason, a.message, a.remote));
          });
        } else {
          // Paused, as handshake() leaves it: the Peer resumes it once its listeners are on.
          settle(() => {
            conn.pause();
            resolve({ conn, remote: a.remote, version: a.version });
          });
        }
      }
    };
    const onMessage = (inc: Incoming): void => apply(machine.receive(inc));
    const onClose = (): void => settle(() => reject(new HandshakeError('connection-closed', 'the connection closed during the handshake', true)));
    const timer = setTimeout(() => apply(machine.timeout()), timeoutMs);
    conn.on('message', onMessage);
    conn.on('close', onClose);
    apply(machine.start());
    apply(machine.receive(first));
    if (!settled) conn.resume();
  });
}

/** Resolves after ms, or at once when the signal aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted || ms <= 0) return resolve();
    const done = (): void => {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });
}

/** One PING's round trip in ms, or the reason there was none; undefined when the run is stopped first. */
function pingOnce(peer: Peer, timeoutMs: number, signal: AbortSignal): Promise<{ rtt: number } | { error: string } | undefined> {
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const onAbort = (): void => resolve(undefined);
    signal.addEventListener('abort', onAbort);
    // Settled either way, so a ping still in flight when the run stops never rejects unhandled.
    peer.ping(timeoutMs).then(
      (rtt) => resolve({ rtt }),
      (e: unknown) => resolve({ error: e instanceof Error ? e.message : String(e) }),
    ).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function ms(v: number): string {
  return v.toFixed(3);
}

/** Closes the link politely (DISCONNECT, then close) and waits a bounded time for it to go. */
async function hangUp(peer: Peer): Promise<void> {
  peer.disconnect('shutdown', 'ping finished');
  if (peer.conn.closeInfo !== undefined) return;
  await new Promise<void>((resolve) => {
    const t = setTimeout(resolve, CLOSE_WAIT_MS);
    peer.conn.once('close', () => {
      clearTimeout(t);
      resolve();
    });
  });
}

/** Connects to a node's P2P address and times PING/PONG round trips. */
export async function runPing(ctx: CliContext, address: string, flags: PingFlags): Promise<void> {
  const err = addressError(address);
  if (err !== undefined) throw new CliError(`address ${JSON.stringify(address.slice(0, 100))}: ${err}`);
  const s = settings(flags);
  const json = flags.json === true;
  const started = performance.now();
  // A member node's own key (and certificate) lets ping into a permissioned network; otherwise a throwaway key.
  const keys = flags.data === undefined ? generateKeyPair() : await readKeyFile(join(flags.data, NODE_KEY_FILE)).catch((e: unknown) => {
    throw new CliError(`--data ${flags.data}: ${e instanceof Error ? e.message : String(e)}`);
  });
  const memberCert = flags.data === undefined ? undefined : await readMemberCert(flags.data);
  const conn = await dial(address, s.timeoutMs, keys);
  const { frame, hello } = await awaitHello(conn, address, s.timeoutMs);
  let h: Handshaken;
  try {
    h = await handshakeAfterHello(
      conn,
      {
        keys,
        ...(memberCert === undefined ? {} : { memberCert }),
        ...(isTlsScheme(conn.scheme) ? { tls: { peerCertKey: conn.peerCertKey } } : {}),
        network: hello.network,
        chainId: hello.chainId,
        genesisHash: hello.genesisHash,
        // We serve nothing: no listen address, and a chain of just the genesis block, so the node never syncs from us.
        listen: [],
        height: 0,
        tip: hello.genesisHash,
        agent: AGENT,
      },
      frame,
      s.timeoutMs,
    );
  } catch (e) {
    if (e instanceof HandshakeError && e.remote) throw refusal(address, e.reason, e.message.replace(`${e.reason}: `, ''));
    if (e instanceof HandshakeError) throw new CliError(`handshake with ${address} failed: ${e.message}`);
    throw e;
  }
  const report: PingReport = {
    address,
    nodeId: h.remote.nodeId,
    network: h.remote.network,
    chainId: h.remote.chainId,
    height: h.remote.height,
    agent: h.remote.agent,
    handshakeMs: Number(ms(performance.now() - started)),
    sent: 0,
    received: 0,
    lossPercent: 0,
    rttMs: [],
    min: null,
    avg: null,
    max: null,
  };
  if (!json) ctx.out.line(`PING ${address}: node ${report.nodeId.slice(0, 12)} (${report.network} network ${report.chainId}, height ${report.height}, ${report.agent}), connected in ${ms(report.handshakeMs)} ms`);

  // Keepalive off: this run sends its own pings, and a second stream would skew the count.
  const peer = new Peer(h, { pingIntervalMs: 0 });
  const stop = new AbortController();
  let closed: PeerCloseInfo | undefined;
  peer.on('close', (info) => {
    closed = info;
    stop.abort();
  });
  // Ctrl-C ends the run early with the summary, as ping(8) does.
  const onSigint = (): void => stop.abort();
  process.once('SIGINT', onSigint);
  const t0 = performance.now();
  try {
    peer.start();
    for (let seq = 1; seq <= s.count && !stop.signal.aborted; seq++) {
      report.sent++;
      const r = await pingOnce(peer, s.timeoutMs, stop.signal);
      if (r === undefined) break;
      if ('rtt' in r) {
        report.rttMs.push(Number(ms(r.rtt)));
        if (!json) ctx.out.line(`pong from ${address}: seq=${seq} time=${ms(r.rtt)} ms`);
      } else if (!stop.signal.aborted && !json) ctx.out.line(`no pong from ${address}: seq=${seq}: ${r.error}`);
      if (seq < s.count) await pause(s.intervalMs, stop.signal);
    }
  } finally {
    process.off('SIGINT', onSigint);
    if (closed === undefined) await hangUp(peer);
  }
  const rtts = report.rttMs;
  report.received = rtts.length;
  report.lossPercent = report.sent === 0 ? 0 : Math.round(((report.sent - report.received) / report.sent) * 100);
  if (rtts.length > 0) {
    report.min = Math.min(...rtts);
    report.max = Math.max(...rtts);
    report.avg = Number(ms(rtts.reduce((a, b) => a + b, 0) / rtts.length));
  }
  if (json) ctx.out.json(report);
  else {
    ctx.out.line(`--- ${address} ping statistics ---`);
    ctx.out.line(`${report.sent} pings sent, ${report.received} pongs received, ${report.lossPercent}% loss, time ${Math.round(performance.now() - t0)} ms`);
    if (rtts.length > 0) ctx.out.line(`rtt min/avg/max = ${ms(report.min!)}/${ms(report.avg!)}/${ms(report.max!)} ms`);
  }
  if (closed !== undefined && closed.by !== 'local') throw new CliError(`${address} closed the link: ${closed.reason}${closed.message === '' ? '' : `: ${closed.message}`}`);
  if (report.received === 0) throw new CliError(`no pong from ${address}: ${report.sent} ping${report.sent === 1 ? '' : 's'} sent, none answered`);
}
