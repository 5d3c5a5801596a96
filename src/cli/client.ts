/**
 * The HTTP client of the commands that talk to a running node (status, peers,
 * wallet balance, tx). It stays light: node:http and type-only imports, so a command
 * registering itself never loads the API server. Every request is bounded by a
 * timeout, and every failure becomes one CliError line naming the node's URL.
 * It uses node:http rather than fetch, because fetch refuses the Fetch
 * standard's "bad ports" (6000, 6665-6669, ...), which a local node may well use.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AccountView, AddPeerView, ErrorBody, PeerInfo, StatusView, SubmitTxView, TxStatusView } from '../api/index.ts';
import type { TxJson } from '../core/index.ts';
import { flagOrEnv, fromEnv, withEnv, type Env, type Sourced } from './config.ts';
import { badValue, CliError } from './errors.ts';

/** Where the commands look for a node when neither --node nor PEERCHAIN_NODE is set. */
export const DEFAULT_NODE_URL = 'http://127.0.0.1:3001';
/** Longest wait for one API answer; a node that takes longer is treated as unreachable. */
export const REQUEST_TIMEOUT_MS = 15_000;

// The source named in messages when neither --node nor PEERCHAIN_NODE is set.
const DEFAULT_SOURCE = 'the default URL';

/** Help text of the --node flag, shared by every client command. */
export const NODE_FLAG_HELP = withEnv(`API URL of the node (default ${DEFAULT_NODE_URL})`, 'PEERCHAIN_NODE');

/** Flags every client command takes. */
export interface NodeFlags {
  node?: string;
}

/** The node's API URL from --node or PEERCHAIN_NODE (or the default), checked and without a trailing slash. */
export function resolveNodeUrl(env: Env, flag: string | undefined): Sourced<string> {
  const s = flagOrEnv(env, '--node', flag, 'PEERCHAIN_NODE') ?? { value: DEFAULT_NODE_URL, source: DEFAULT_SOURCE };
  let url: URL;
  try {
    url = new URL(s.value);
  } catch {
    throw badValue(s.source, s.value, 'an http:// URL such as http://127.0.0.1:3001');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    // ws:// and tcp:// are P2P addresses; the API is plain HTTP on its own port.
    throw badValue(s.source, s.value, 'an http:// or https:// URL of the node\'s API (ws:// and tcp:// are peer addresses)');
  }
  if (url.search !== '' || url.hash !== '') throw badValue(s.source, s.value, 'a URL without ?query or #fragment');
  return { value: url.href.replace(/\/+$/, ''), source: s.source };
}

/** An error answer of the API: `error: CODE: message` for the user, the code for callers that handle some. */
export class ApiAnswerError extends CliError {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = 'ApiAnswerError';
  }
}

type FieldType = 'string' | 'number' | 'boolean' | 'array' | 'object';

function typeOf(v: unknown): FieldType | 'null' | 'other' {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  const t = typeof v;
  return t === 'string' || t === 'number' || t === 'boolean' || t === 'object' ? t : 'other';
}

function isErrorBody(v: unknown): v is ErrorBody {
  if (typeOf(v) !== 'object') return false;
  const e = (v as { error?: unknown }).error;
  return typeOf(e) === 'object' && typeof (e as { code?: unknown }).code === 'string' && typeof (e as { message?: unknown }).message === 'string';
}

// An answer larger than this is not from a peerchain API (its pages are bounded far below).
const MAX_ANSWER_BYTES = 16 * 1024 * 1024;

/** Why no answer came, in words. */
function unreachableReason(e: unknown): string {
  if (e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError')) return `no answer within ${REQUEST_TIMEOUT_MS / 1000} s`;
  const code = typeof e === 'object' && e !== null && 'code' in e ? String(e.code) : undefined;
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused; is a node running there with its API on?';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host name not found';
    case 'ECONNRESET':
      return 'the connection was reset';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'no route to the host';
    case 'ETIMEDOUT':
      return 'connecting timed out';
  }
  const detail = e instanceof Error ? e.message : String(e);
  return code === undefined || detail.includes(code) ? detail : `${code}: ${detail}`;
}

/** One HTTP exchange: status and body text, bounded in time and size. */
function exchange(url: URL, method: string, headers: Record<string, string>, body: string | undefined): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(url, { method, headers, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_ANSWER_BYTES) req.destroy(new Error(`the answer exceeds ${MAX_ANSWER_BYTES} bytes`));
        else chunks.push(c);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A thin, typed client of one node's HTTP API. */
export class NodeClient {
  constructor(
    /** The API's base URL, without a trailing slash. */
    readonly url: string,
    /** Where the URL came from (--node, PEERCHAIN_NODE or the default), for messages. */
    readonly source: string,
    /** Bearer token for mutating requests, when the node requires one. */
    private readonly token?: string,
  ) {}

  /** GET /api/status. */
  async status(): Promise<StatusView> {
    return this.expect(await this.request('GET', '/api/status'), 'status', { network: 'string', chainId: 'string', height: 'number', tip: 'string' });
  }

  /** GET /api/peers. */
  async peers(): Promise<PeerInfo[]> {
    const v = await this.request('GET', '/api/peers');
    if (!Array.isArray(v)) throw this.unexpected('peer list', 'it is not a list');
    return v.map((p: unknown) => this.expect<PeerInfo>(p, 'peer', { id: 'string', address: 'string', direction: 'string' }));
  }

  /** POST /api/peers: asks the node to connect to a peer. */
  async addPeer(address: string): Promise<AddPeerView> {
    return this.expect(await this.request('POST', '/api/peers', { address }), 'add-peer answer', { address: 'string', status: 'string' });
  }

  /** GET /api/accounts/:address. */
  async account(address: string): Promise<AccountView> {
    const v = await this.request('GET', `/api/accounts/${encodeURIComponent(address)}`);
    const a = this.expect<AccountView>(v, 'account', { address: 'string', balance: 'string', nonce: 'number', pendingNonce: 'number', pendingTxs: 'number' });
    if (!Number.isSafeInteger(a.pendingNonce) || a.pendingNonce < 0) throw this.unexpected('account', `pendingNonce ${a.pendingNonce} is not a nonce`);
    return a;
  }

  /** POST /api/txs: submits a signed transaction; the node answers with its id. */
  async submitTx(tx: TxJson): Promise<SubmitTxView> {
    return this.expect(await this.request('POST', '/api/txs', tx), 'submit answer', { id: 'string' });
  }

  /** GET /api/txs/:id, or undefined when the node knows no such transaction. */
  async tx(id: string): Promise<TxStatusView | undefined> {
    try {
      return this.expect(await this.request('GET', `/api/txs/${encodeURIComponent(id)}`), 'transaction', { status: 'string', id: 'string' });
    } catch (e) {
      if (e instanceof ApiAnswerError && e.status === 404) return undefined;
      throw e;
    }
  }

  /** One request; the parsed JSON of a 2xx answer, else an ApiAnswerError or a CliError saying why. */
  private async request(method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
    const headers: Record<string, string> = { accept: 'application/json' };
    const text = body === undefined ? undefined : JSON.stringify(body);
    if (text !== undefined) headers['content-type'] = 'application/json';
    // The token only goes with requests that need it, so reads never hand it out.
    if (method === 'POST' && this.token !== undefined) headers.authorization = `Bearer ${this.token}`;
    let res: { status: number; text: string };
    try {
      res = await exchange(new URL(this.url + path), method, headers, text);
    } catch (e) {
      const from = this.source === DEFAULT_SOURCE ? 'the default URL; use --node or PEERCHAIN_NODE for another node' : `from ${this.source}`;
      throw new CliError(`cannot reach the node at ${this.url}: ${unreachableReason(e)} (${from})`);
    }
    let json: unknown;
    try {
      json = JSON.parse(res.text);
    } catch {
      throw new CliError(`${this.url} answered ${method} ${path} with HTTP ${res.status} and no JSON: is ${this.source} the URL of a peerchain node's API (not a P2P port)?`);
    }
    if (res.status >= 200 && res.status < 300) return json;
    if (isErrorBody(json)) {
      const hint = res.status === 401 && this.token === undefined ? ' (set PEERCHAIN_API_TOKEN to the node\'s API token)' : '';
      throw new ApiAnswerError(res.status, json.error.code, json.error.message + hint);
    }
    throw new CliError(`${this.url} answered ${method} ${path} with HTTP ${res.status} and an unexpected body: is ${this.source} a peerchain node's API?`);
  }

  /** Checks the fields a command relies on, so a different server or version fails clearly instead of printing "undefined". */
  private expect<T>(v: unknown, what: string, fields: Readonly<Record<string, FieldType>>): T {
    if (typeOf(v) !== 'object') throw this.unexpected(what, 'it is not a JSON object');
    for (const [name, type] of Object.entries(fields)) {
      const got = typeOf((v as Record<string, unknown>)[name]);
      if (got !== type) throw this.unexpected(what, `field "${name}" is ${got === 'other' ? 'missing' : got}, expected ${type}`);
    }
    return v as T;
  }

  private unexpected(what: string, why: string): CliError {
    return new CliError(`the node at ${this.url} sent an unexpected ${what}: ${why} (a different peerchain version?)`);
  }
}

/** The client for a command's --node flag (or PEERCHAIN_NODE, or the default URL). */
export function nodeClient(env: Env, flags: NodeFlags): NodeClient {
  const url = resolveNodeUrl(env, flags.node);
  return new NodeClient(url.value, url.source, fromEnv(env, 'PEERCHAIN_API_TOKEN')?.value);
}
