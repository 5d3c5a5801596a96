/**
 * Bad input to every API endpoint: each answer is a 4xx JSON error whose
 * message names what is wrong, and afterwards the node's height, tip, state
 * root and mempool are exactly as before. Also: the security rules (tokens
 * off loopback, the Host check) and the event stream's refusals.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { WebSocket } from 'ws';
import { buildGenesisBlock, signTx, txId, txToJson, type SignedTx } from '../../src/core/index.ts';
import { bech32mEncode, keyPairFromSeed } from '../../src/crypto/index.ts';
import { MemoryStore } from '../../src/storage/index.ts';
import { PeerchainNode } from '../../src/node/node.ts';
import { createLogger } from '../../src/node/logger.ts';
import { startApi, type ApiServer, type ErrorBody } from '../../src/api/index.ts';
import { addrs, CHAIN_ID, keys, mineBlock, powGenesis, transfer } from '../helpers/chain-fixtures.ts';

const WAIT_MS = 10_000;
const TOKEN = 'test-token-0123456789abcdef';

interface Reply {
  status: number;
  type: string | null;
  text: string;
  headers: Headers;
}

/** One request with a bounded wait; the body is sent as given (string or bytes). */
async function send(url: string, method: string, body?: string | Uint8Array, headers: Record<string, string> = {}): Promise<Reply> {
  const r = await fetch(url, { method, body, headers, signal: AbortSignal.timeout(WAIT_MS) });
  return { status: r.status, type: r.headers.get('content-type'), text: await r.text(), headers: r.headers };
}

/** The error of a reply, checking its shape on the way. */
function errorOf(r: Reply): ErrorBody['error'] {
  assert.match(r.type ?? '', /^application\/json/, `error answers are JSON, got ${r.type}: ${r.text.slice(0, 200)}`);
  const body = JSON.parse(r.text) as ErrorBody;
  assert.deepEqual(Object.keys(body), ['error'], r.text);
  assert.deepEqual(Object.keys(body.error).sort(), ['code', 'message'], r.text);
  assert.equal(typeof body.error.code, 'string');
  assert.equal(typeof body.error.message, 'string');
  assert.doesNotMatch(body.error.message, /\n\s+at |node_modules|\.ts:\d+/, 'no stack traces or paths in errors');
  return body.error;
}

/** A request over node:http, which (unlike fetch) lets the test set the Host header. */
function rawRequest(url: string, method: string, headers: Record<string, string>, body = ''): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, timeout: WAIT_MS }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

/** Sends raw bytes and collects whatever comes back until the server closes. */
function rawSocket(url: string, bytes: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    let text = '';
    const s = net.connect(Number(port), hostname, () => s.write(bytes));
    s.setTimeout(WAIT_MS, () => s.destroy(new Error('raw socket timed out')));
    s.on('data', (c) => (text += c.toString()));
    s.on('close', () => resolve(text));
    s.on('error', reject);
  });
}

/** The status a WebSocket upgrade is refused with. */
function refusedUpgrade(url: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error('upgrade refusal timed out'));
    }, WAIT_MS);
    ws.on('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, text });
      });
    });
    ws.on('open', () => {
      clearTimeout(timer);
      ws.terminate();
      reject(new Error(`upgrade to ${url} was accepted`));
    });
    ws.on('error', () => undefined);
  });
}

/** A signed transfer with any chain id. */
function transferOn(chainId: string, nonce: number): SignedTx {
  const k = keys[0]!;
  return signTx({ kind: 'transfer', chainId, from: k.publicKey, nonce, fee: 1n, to: addrs[3]!, amount: 10n }, k);
}

/** A signed transfer from an account that never held anything. */
function fromStranger(): SignedTx {
  const k = keyPairFromSeed(Buffer.alloc(32, 55));
  return signTx({ kind: 'transfer', chainId: CHAIN_ID, from: k.publicKey, nonce: 0, fee: 1n, to: addrs[3]!, amount: 5n }, k);
}

/** A bech32m string with a valid checksum that is not a peerchain address. */
function foreignAddress(): string {
  return bech32mEncode('bc', Array.from({ length: 32 }, (_, i) => i % 32));
}

/** Swaps one character of a checksummed address so the checksum fails. */
function typo(address: string): string {
  const i = address.length - 3;
  const c = address[i] === 'q' ? 'p' : 'q';
  return address.slice(0, i) + c + address.slice(i + 1);
}

interface Case {
  name: string;
  method?: 'GET' | 'POST' | 'DELETE' | 'PUT';
  path: string;
  /** A JSON value to send, or raw bytes/text with `headers`. */
  json?: unknown;
  raw?: string | Uint8Array;
  headers?: Record<string, string>;
  status: number;
  code: string;
  message: RegExp;
}

describe('api bad input changes nothing', () => {
  let node: PeerchainNode;
  let api: ApiServer;
  let before_: { height: number; tip: string; root: string; mempool: string[] };
  const pending = transfer(0, 3, 2, 25n);
  const h64 = 'ab'.repeat(32);

  const snapshot = (): typeof before_ => ({
    height: node.chain.height,
    tip: node.chain.tip.hash,
    root: node.chain.state.root(),
    mempool: node.mempool.list().map((e) => e.id),
  });

  before(async () => {
    const g = powGenesis();
    node = await PeerchainNode.create({ genesis: g, store: new MemoryStore(), key: keyPairFromSeed(Buffer.alloc(32, 9)), log: createLogger({ silent: true }) });
    node.start();
    // A block with a transfer and a record, then a pending transfer: a state worth protecting.
    const gb = buildGenesisBlock(g);
    const rec = signTx({ kind: 'record', chainId: CHAIN_ID, from: keys[0]!.publicKey, nonce: 1, fee: 1n, key: 'lot-7', value: { ok: true } }, keys[0]!);
    const b1 = mineBlock(g, { hash: gb.hash, height: 0, timestamp: g.timestamp, bits: gb.block.header.bits, state: gb.state }, [transfer(0, 3, 0, 100n), rec]);
    const r = await node.submitBlock(b1.block);
    assert.equal(r.status, 'connected');
    assert.ok(node.submitTx(txToJson(pending)).ok);
    api = await startApi(node, { host: '127.0.0.1', port: 0 });
    before_ = snapshot();
    assert.equal(before_.height, 1);
    assert.equal(before_.mempool.length, 1);
  });

  after(async () => {
    await api?.close();
    await node?.stop();
  });

  const good = txToJson(transfer(0, 3, 3, 5n));
  const goodObj = good as unknown as Record<string, unknown>;
  const withField = (k: string, v: unknown): Record<string, unknown> => ({ ...goodObj, [k]: v });
  // A well-formed signature, but over another transaction.
  const otherSig = transfer(0, 3, 4, 5n).sig;
  const { sig: _drop, ...noSig } = goodObj;
  const json = { 'content-type': 'application/json' };

  const cases: Case[] = [
    // blocks
    { name: 'limit 0', path: '/api/blocks?limit=0', status: 400, code: 'BAD_QUERY', message: /"limit".*1 to 100/ },
    { name: 'limit too big', path: '/api/blocks?limit=101', status: 400, code: 'BAD_QUERY', message: /"limit".*1 to 100/ },
    { name: 'negative limit', path: '/api/blocks?limit=-1', status: 400, code: 'BAD_QUERY', message: /"limit"/ },
    { name: 'float limit', path: '/api/blocks?limit=1.5', status: 400, code: 'BAD_QUERY', message: /"limit"/ },
    { name: 'exponent limit', path: '/api/blocks?limit=1e1', status: 400, code: 'BAD_QUERY', message: /"limit"/ },
    { name: 'repeated limit', path: '/api/blocks?limit=1&limit=2', status: 400, code: 'BAD_QUERY', message: /"limit"/ },
    { name: 'negative from', path: '/api/blocks?from=-1', status: 400, code: 'BAD_QUERY', message: /"from"/ },
    { name: 'huge from', path: '/api/blocks?from=99999999999999999999', status: 400, code: 'BAD_QUERY', message: /"from"/ },
    { name: 'bad order', path: '/api/blocks?order=sideways', status: 400, code: 'BAD_QUERY', message: /"order".*asc.*desc/ },
    { name: 'unknown query parameter', path: '/api/blocks?limt=5', status: 400, code: 'BAD_QUERY', message: /unknown query parameter "limt"/ },
    { name: 'block id not a number or hash', path: '/api/blocks/tip', status: 400, code: 'BAD_PARAM', message: /"heightOrHash".*height.*hash/ },
    { name: 'negative height', path: '/api/blocks/-1', status: 400, code: 'BAD_PARAM', message: /"heightOrHash"/ },
    { name: 'float height', path: '/api/blocks/1.5', status: 400, code: 'BAD_PARAM', message: /"heightOrHash"/ },
    { name: 'huge height', path: '/api/blocks/99999999999999999999', status: 400, code: 'BAD_PARAM', message: /"heightOrHash"/ },
    { name: 'short hash', path: `/api/blocks/${h64.slice(1)}`, status: 400, code: 'BAD_PARAM', message: /64 hex/ },
    { name: 'non-hex hash', path: `/api/blocks/${'g'.repeat(64)}`, status: 400, code: 'BAD_PARAM', message: /64 hex/ },
    { name: 'height past the tip', path: '/api/blocks/999', status: 404, code: 'BLOCK_NOT_FOUND', message: /height 999.*tip is at 1/ },
    { name: 'unknown hash', path: `/api/blocks/${h64}`, status: 404, code: 'BLOCK_NOT_FOUND', message: new RegExp(h64) },
    // txs and mempool
    { name: 'bad tx id', path: '/api/txs/xyz', status: 400, code: 'BAD_PARAM', message: /"id".*64 hex/ },
    { name: 'unknown tx id', path: `/api/txs/${h64}`, status: 404, code: 'TX_NOT_FOUND', message: /neither pending nor in the main chain/ },
    { name: 'mempool limit 0', path: '/api/mempool?limit=0', status: 400, code: 'BAD_QUERY', message: /"limit".*1 to 1000/ },
    { name: 'mempool unknown param', path: '/api/mempool?sort=fee', status: 400, code: 'BAD_QUERY', message: /unknown query parameter "sort"/ },
    // accounts
    { name: 'address checksum', path: `/api/accounts/${typo(addrs[0]!)}`, status: 400, code: 'BAD_ADDRESS', message: /checksum/ },
    { name: 'uppercase address', path: `/api/accounts/${addrs[0]!.toUpperCase()}`, status: 400, code: 'BAD_ADDRESS', message: /lowercase/ },
    { name: 'foreign prefix', path: `/api/accounts/${foreignAddress()}`, status: 400, code: 'BAD_ADDRESS', message: /prefix "bc"/ },
    { name: 'address too short', path: '/api/accounts/pc1', status: 400, code: 'BAD_ADDRESS', message: /address pc1/ },
    { name: 'address far too long', path: `/api/accounts/pc1${'q'.repeat(500)}`, status: 400, code: 'BAD_ADDRESS', message: /at most 90/ },
    // records
    { name: 'record key with a space', path: '/api/records/a%20b', status: 400, code: 'RECORD_KEY', message: /printable ASCII/ },
    { name: 'record key too long', path: `/api/records/${'k'.repeat(129)}`, status: 400, code: 'RECORD_KEY', message: /1-128/ },
    { name: 'unknown record', path: '/api/records/never-written', status: 404, code: 'RECORD_NOT_FOUND', message: /"never-written" was never written/ },
    { name: 'history limit 0', path: '/api/records/lot-7?limit=0', status: 400, code: 'BAD_QUERY', message: /"limit"/ },
    { name: 'history float from', path: '/api/records/lot-7?from=0.5', status: 400, code: 'BAD_QUERY', message: /"from"/ },
    // routes
    // `/` is the explorer (test/browser covers it); other paths outside /api are unknown routes.
    { name: 'unknown path outside /api', path: '/nope', status: 404, code: 'NOT_FOUND', message: /no route GET \/nope/ },
    { name: 'unknown route', path: '/api/nope', status: 404, code: 'NOT_FOUND', message: /no route GET \/api\/nope/ },
    { name: 'wrong method', method: 'DELETE', path: '/api/txs', status: 404, code: 'NOT_FOUND', message: /no route DELETE \/api\/txs/ },
    { name: 'events without upgrade', path: '/api/events', status: 426, code: 'UPGRADE_REQUIRED', message: /WebSocket/ },
    // POST /api/txs: transport
    { name: 'malformed JSON', method: 'POST', path: '/api/txs', raw: '{"kind":', headers: json, status: 400, code: 'MALFORMED_JSON', message: /not valid JSON: .*JSON/ },
    { name: 'text/plain body', method: 'POST', path: '/api/txs', raw: JSON.stringify(good), headers: { 'content-type': 'text/plain' }, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', message: /application\/json/ },
    { name: 'form body', method: 'POST', path: '/api/txs', raw: 'a=1', headers: { 'content-type': 'application/x-www-form-urlencoded' }, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', message: /application\/json/ },
    { name: 'body without content type', method: 'POST', path: '/api/txs', raw: new TextEncoder().encode(JSON.stringify(good)), status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', message: /Content-Type/ },
    { name: 'empty JSON body', method: 'POST', path: '/api/txs', raw: '', headers: json, status: 400, code: 'MALFORMED_JSON', message: /empty/ },
    { name: 'no body', method: 'POST', path: '/api/txs', status: 400, code: 'BAD_BODY', message: /signed transaction/ },
    { name: 'oversized body', method: 'POST', path: '/api/txs', raw: JSON.stringify({ ...goodObj, pad: 'x'.repeat(1536 * 1024) }), headers: json, status: 413, code: 'BODY_TOO_LARGE', message: /1048576-byte limit/ },
    { name: 'prototype pollution', method: 'POST', path: '/api/txs', raw: '{"__proto__":{"admin":true}}', headers: json, status: 400, code: 'MALFORMED_JSON', message: /"__proto__" is not allowed/ },
    { name: 'deeply nested body', method: 'POST', path: '/api/txs', raw: '['.repeat(100_000) + ']'.repeat(100_000), headers: json, status: 400, code: 'MALFORMED_JSON', message: /nested deeper than 100 levels/ },
    // POST /api/txs: the transaction itself
    { name: 'array body', method: 'POST', path: '/api/txs', json: [good], status: 400, code: 'MALFORMED', message: /JSON object/ },
    { name: 'unknown tx field', method: 'POST', path: '/api/txs', json: withField('memo', 'hi'), status: 400, code: 'MALFORMED', message: /unknown field "memo"/ },
    { name: 'missing signature', method: 'POST', path: '/api/txs', json: noSig, status: 400, code: 'MALFORMED', message: /missing field "sig"/ },
    { name: 'unknown kind', method: 'POST', path: '/api/txs', json: withField('kind', 'mint'), status: 400, code: 'MALFORMED', message: /unknown transaction kind "mint"/ },
    { name: 'bad signature', method: 'POST', path: '/api/txs', json: withField('sig', otherSig), status: 400, code: 'BAD_SIGNATURE', message: /does not verify/ },
    { name: 'signature not hex', method: 'POST', path: '/api/txs', json: withField('sig', 'zz'), status: 400, code: 'BAD_SIGNATURE', message: /64-byte/ },
    { name: 'wrong chainId', method: 'POST', path: '/api/txs', json: txToJson(transferOn('other-net', 3)), status: 400, code: 'BAD_CHAIN_ID', message: /other-net.*fixture-net/ },
    { name: 'negative amount', method: 'POST', path: '/api/txs', json: withField('amount', '-5'), status: 400, code: 'BAD_AMOUNT', message: /amount/ },
    { name: 'numeric amount', method: 'POST', path: '/api/txs', json: withField('amount', 5), status: 400, code: 'BAD_AMOUNT', message: /decimal string/ },
    { name: 'float amount', method: 'POST', path: '/api/txs', json: withField('amount', '1.5'), status: 400, code: 'BAD_AMOUNT', message: /amount/ },
    { name: 'amount over 2^64-1', method: 'POST', path: '/api/txs', json: withField('amount', '18446744073709551616'), status: 400, code: 'BAD_AMOUNT', message: /2\^64-1/ },
    { name: 'negative nonce', method: 'POST', path: '/api/txs', json: withField('nonce', -1), status: 400, code: 'BAD_NONCE', message: /nonce/ },
    { name: 'float nonce', method: 'POST', path: '/api/txs', json: withField('nonce', 1.5), status: 400, code: 'BAD_NONCE', message: /nonce/ },
    { name: 'huge nonce', method: 'POST', path: '/api/txs', json: withField('nonce', 2 ** 60), status: 400, code: 'BAD_NONCE', message: /safe integer/ },
    { name: 'recipient checksum', method: 'POST', path: '/api/txs', json: withField('to', typo(addrs[3]!)), status: 400, code: 'BAD_ADDRESS', message: /"to".*checksum/ },
    { name: 'coinbase from a client', method: 'POST', path: '/api/txs', json: { kind: 'coinbase', chainId: CHAIN_ID, height: 2, to: addrs[3], amount: '50' }, status: 400, code: 'BAD_COINBASE', message: /coinbase/ },
    { name: 'fee below minimum', method: 'POST', path: '/api/txs', json: txToJson(transfer(0, 3, 3, 5n, 0n)), status: 400, code: 'FEE_TOO_LOW', message: /minimum 1/ },
    { name: 'unfunded sender', method: 'POST', path: '/api/txs', json: txToJson(fromStranger()), status: 400, code: 'INSUFFICIENT_FUNDS', message: /has 0/ },
    { name: 'used nonce', method: 'POST', path: '/api/txs', json: txToJson(transfer(0, 3, 0, 7n)), status: 400, code: 'BAD_NONCE', message: /already used.*next nonce is 2/ },
    { name: 'already pending', method: 'POST', path: '/api/txs', json: txToJson(pending), status: 400, code: 'ALREADY_KNOWN', message: new RegExp(`${txId(pending)} is already pending`) },
    { name: 'nonce too far ahead', method: 'POST', path: '/api/txs', json: txToJson(transfer(0, 3, 500, 5n)), status: 400, code: 'NONCE_GAP', message: /more than 64 ahead/ },
    // POST /api/mine
    { name: 'mine 0 blocks', method: 'POST', path: '/api/mine', json: { blocks: 0 }, status: 400, code: 'BAD_BODY', message: /"blocks".*1 to 100/ },
    { name: 'mine 101 blocks', method: 'POST', path: '/api/mine', json: { blocks: 101 }, status: 400, code: 'BAD_BODY', message: /"blocks".*1 to 100/ },
    { name: 'mine negative', method: 'POST', path: '/api/mine', json: { blocks: -3 }, status: 400, code: 'BAD_BODY', message: /"blocks"/ },
    { name: 'mine fraction', method: 'POST', path: '/api/mine', json: { blocks: 1.5 }, status: 400, code: 'BAD_BODY', message: /"blocks"/ },
    { name: 'mine huge', method: 'POST', path: '/api/mine', json: { blocks: 1e308 }, status: 400, code: 'BAD_BODY', message: /"blocks"/ },
    { name: 'mine string count', method: 'POST', path: '/api/mine', json: { blocks: '2' }, status: 400, code: 'BAD_BODY', message: /"blocks"/ },
    { name: 'mine unknown field', method: 'POST', path: '/api/mine', json: { blocks: 1, threads: 8 }, status: 400, code: 'BAD_BODY', message: /unknown body field "threads"/ },
    { name: 'mine null body', method: 'POST', path: '/api/mine', raw: 'null', headers: json, status: 400, code: 'BAD_BODY', message: /JSON object/ },
    { name: 'mine text body', method: 'POST', path: '/api/mine', raw: 'blocks=1', headers: { 'content-type': 'text/plain' }, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', message: /application\/json/ },
    { name: 'mine when mining is off', method: 'POST', path: '/api/mine', json: { blocks: 1 }, status: 409, code: 'MINING_DISABLED', message: /not enabled.*--mine/ },
    // POST /api/peers
    { name: 'peer without address', method: 'POST', path: '/api/peers', json: {}, status: 400, code: 'BAD_BODY', message: /"address" is required/ },
    { name: 'peer address not a string', method: 'POST', path: '/api/peers', json: { address: 6001 }, status: 400, code: 'BAD_BODY', message: /"address".*ws:\/\/host:port/ },
    { name: 'peer http address', method: 'POST', path: '/api/peers', json: { address: 'http://127.0.0.1:6001' }, status: 400, code: 'BAD_PEER_ADDRESS', message: /expected ws:\/\/, wss:\/\/, tcp:\/\/ or tls:\/\/ host:port/ },
    { name: 'peer port out of range', method: 'POST', path: '/api/peers', json: { address: 'ws://127.0.0.1:70000' }, status: 400, code: 'BAD_PEER_ADDRESS', message: /port must be 1-65535/ },
    { name: 'peer unknown field', method: 'POST', path: '/api/peers', json: { address: 'ws://127.0.0.1:6001', ban: true }, status: 400, code: 'BAD_BODY', message: /unknown body field "ban"/ },
    { name: 'peers without P2P', method: 'POST', path: '/api/peers', json: { address: 'ws://127.0.0.1:6001' }, status: 503, code: 'P2P_UNAVAILABLE', message: /not running/ },
  ];

  for (const c of cases) {
    test(`${c.method ?? 'GET'} ${c.path.slice(0, 60)}: ${c.name}`, async () => {
      const body = c.json !== undefined ? JSON.stringify(c.json) : c.raw;
      const headers = c.json !== undefined ? json : (c.headers ?? {});
      const r = await send(api.url + c.path, c.method ?? 'GET', body, headers);
      assert.equal(r.status, c.status, r.text.slice(0, 300));
      const e = errorOf(r);
      assert.equal(e.code, c.code, e.message);
      assert.match(e.message, c.message);
      assert.ok(e.message.length < 400, `message is short: ${e.message.length} chars`);
    });
  }

  test('the event stream refuses bad paths, bad filters and too many clients', async () => {
    const ws = api.url.replace('http', 'ws');
    const wrongPath = await refusedUpgrade(`${ws}/api/stream`);
    assert.equal(wrongPath.status, 404);
    assert.match(wrongPath.text, /"code":"NOT_FOUND"/);
    const badType = await refusedUpgrade(`${ws}/api/events?types=block,gossip`);
    assert.equal(badType.status, 400);
    assert.match(JSON.parse(badType.text).error.message, /unknown event type "gossip"/);
    const badParam = await refusedUpgrade(`${ws}/api/events?since=3`);
    assert.equal(badParam.status, 400);
    assert.match(JSON.parse(badParam.text).error.message, /unknown query parameter "since"/);

    const small = await startApi(node, { host: '127.0.0.1', port: 0, events: { maxClients: 1 } });
    const first = new WebSocket(`${small.url.replace('http', 'ws')}/api/events`);
    try {
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('open timed out')), WAIT_MS);
        first.once('open', () => (clearTimeout(t), resolve()));
        first.once('error', reject);
      });
      const second = await refusedUpgrade(`${small.url.replace('http', 'ws')}/api/events`);
      assert.equal(second.status, 503);
      assert.match(JSON.parse(second.text).error.code, /TOO_MANY_CLIENTS/);
    } finally {
      first.terminate();
      await small.close();
    }
  });

  test('malformed HTTP and oversized headers get JSON errors too', async () => {
    const garbage = await rawSocket(api.url, 'HELLO THERE\r\n\r\n');
    assert.match(garbage, /^HTTP\/1\.1 400 /);
    assert.match(garbage, /"code":"BAD_HTTP"/);
    const headers = await rawSocket(api.url, `GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`);
    assert.match(headers, /^HTTP\/1\.1 431 /);
    assert.match(headers, /"code":"HEADERS_TOO_LARGE"/);
  });

  test('mutating requests whose Host is not a loopback name are refused (DNS rebinding)', async () => {
    const port = new URL(api.url).port;
    const evil = await rawRequest(`${api.url}/api/txs`, 'POST', { host: `evil.example:${port}`, 'content-type': 'application/json' }, JSON.stringify(good));
    assert.equal(evil.status, 403, evil.text);
    assert.equal(JSON.parse(evil.text).error.code, 'FORBIDDEN_HOST');
    const read = await rawRequest(`${api.url}/api/status`, 'GET', { host: `evil.example:${port}` });
    assert.equal(read.status, 200);
    const local = await rawRequest(`${api.url}/api/mine`, 'POST', { host: `localhost:${port}`, 'content-type': 'application/json' }, '{"blocks":1}');
    assert.equal(JSON.parse(local.text).error.code, 'MINING_DISABLED');
  });

  test('after all of it the chain, state and mempool are unchanged', () => {
    assert.deepEqual(snapshot(), before_);
  });
});

describe('api security options', () => {
  let node: PeerchainNode;

  before(async () => {
    node = await PeerchainNode.create({ genesis: powGenesis(), store: new MemoryStore(), key: keyPairFromSeed(Buffer.alloc(32, 9)), log: createLogger({ silent: true }) });
    node.start();
  });

  after(async () => {
    await node?.stop();
  });

  test('startApi refuses a non-loopback host without a token, weak tokens and bad ports', async () => {
    for (const host of ['0.0.0.0', '::', '192.168.1.20', 'example.com']) {
      await assert.rejects(startApi(node, { host, port: 0 }), /refusing to serve the API on .* without a token/, host);
    }
    await assert.rejects(startApi(node, { host: '0.0.0.0', port: 0, token: 'short' }), /at least 16 characters/);
    for (const port of [-1, 65536, 1.5, Number.NaN]) {
      await assert.rejects(startApi(node, { host: '127.0.0.1', port }), /port must be an integer from 0 to 65535/, String(port));
    }
  });

  test('with a token every POST needs the bearer token, before its body is even read', async () => {
    const api = await startApi(node, { host: '127.0.0.1', port: 0, token: TOKEN });
    try {
      const body = JSON.stringify({ blocks: 1 });
      const none = await send(`${api.url}/api/mine`, 'POST', body, { 'content-type': 'application/json' });
      assert.equal(none.status, 401);
      assert.equal(none.headers.get('www-authenticate'), 'Bearer');
      assert.match(errorOf(none).message, /Authorization: Bearer/);
      const wrong = await send(`${api.url}/api/mine`, 'POST', body, { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}x` });
      assert.equal(wrong.status, 401);
      assert.match(errorOf(wrong).message, /token is wrong/);
      const basic = await send(`${api.url}/api/txs`, 'POST', '{}', { 'content-type': 'application/json', authorization: 'Basic dXNlcjpwYXNz' });
      assert.equal(basic.status, 401);
      const huge = await send(`${api.url}/api/txs`, 'POST', 'x'.repeat(2 * 1024 * 1024), { 'content-type': 'application/json' });
      assert.equal(huge.status, 401, 'auth is checked before the body is parsed');
      const right = await send(`${api.url}/api/mine`, 'POST', body, { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` });
      assert.equal(right.status, 409, 'past authentication, the node says mining is off');
      assert.equal(errorOf(right).code, 'MINING_DISABLED');
      const read = await send(`${api.url}/api/status`, 'GET');
      assert.equal(read.status, 200, 'reads need no token');
      assert.equal(node.chain.height, 0);
      assert.equal(node.mempool.size, 0);
    } finally {
      await api.close();
    }
  });
});
