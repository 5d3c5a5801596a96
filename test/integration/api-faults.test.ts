/**
 * /api/faults over two in-process nodes (real sockets on 127.0.0.1,
 * ephemeral ports): a node started without fault control answers 404; one
 * started with it reports and takes faults, refuses bad input with a 400
 * naming the field, keeps the loopback Host rule for changes, cuts the link
 * to a blocked node and relinks after healing. /api/network reports the
 * testnet control URL only when the node was given one.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { keyPairFromSeed } from '../../src/crypto/index.ts';
import { MemoryStore } from '../../src/storage/index.ts';
import { NodeRuntime } from '../../src/node/runtime.ts';
import { createLogger } from '../../src/node/logger.ts';
import { powGenesis } from '../helpers/chain-fixtures.ts';
import { waitFor } from '../helpers/http.ts';

const g = powGenesis();

async function call<T>(url: string, method: string, body?: unknown): Promise<{ status: number; body: T }> {
  const r = await fetch(url, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: r.status, body: (await r.json()) as T };
}

describe('/api/faults', () => {
  let plain: NodeRuntime;
  let faulty: NodeRuntime;

  before(async () => {
    const log = createLogger({ silent: true });
    const common = { genesis: g, log, host: '127.0.0.1', wsPort: 0, tcpPort: 0, dataDir: '', api: { host: '127.0.0.1', port: 0 } } as const;
    faulty = await NodeRuntime.start({ ...common, name: 'faulty', key: keyPairFromSeed(Buffer.alloc(32, 0xf1)), peers: [], store: new MemoryStore(), faultControl: true, testnetControl: 'http://127.0.0.1:19999' });
    plain = await NodeRuntime.start({ ...common, name: 'plain', key: keyPairFromSeed(Buffer.alloc(32, 0xf2)), peers: [faulty.net.listenAddresses()[0]!], store: new MemoryStore() });
    await waitFor('linked', () => (faulty.net.peers().length === 1 ? true : undefined));
  });

  after(async () => {
    await plain?.stop();
    await faulty?.stop();
  });

  test('a node without --fault-control answers 404 and reports no testnet', async () => {
    for (const method of ['GET', 'POST']) {
      const r = await call<{ error: { code: string; message: string } }>(`${plain.apiUrl}/api/faults`, method, method === 'POST' ? { block: [] } : undefined);
      assert.equal(r.status, 404);
      assert.equal(r.body.error.code, 'FAULT_CONTROL_OFF');
      assert.match(r.body.error.message, /--fault-control/);
    }
    const net = await call<{ testnet?: unknown }>(`${plain.apiUrl}/api/network`, 'GET');
    assert.equal(net.body.testnet, undefined);
  });

  test('a node with it reports its faults and the control URL', async () => {
    assert.deepEqual((await call(`${faulty.apiUrl}/api/faults`, 'GET')).body, { block: [], delayMs: 0 });
    const net = await call<{ testnet?: { control: string } }>(`${faulty.apiUrl}/api/network`, 'GET');
    assert.deepEqual(net.body.testnet, { control: 'http://127.0.0.1:19999' });
  });

  test('bad input is a 400 naming the field, and changes nothing', async () => {
    const bad: [unknown, RegExp][] = [
      [{ delayMs: -1 }, /delayMs/],
      [{ delayMs: 10_001 }, /delayMs/],
      [{ delayMs: 'slow' }, /delayMs/],
      [{ block: ['xyz'] }, /block/],
      [{ block: 'abc' }, /block/],
      [{ block: [], extra: 1 }, /extra/],
      [{}, /block/],
    ];
    for (const [body, field] of bad) {
      const r = await call<{ error: { code: string; message: string } }>(`${faulty.apiUrl}/api/faults`, 'POST', body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.match(r.body.error.message, field);
    }
    assert.deepEqual((await call(`${faulty.apiUrl}/api/faults`, 'GET')).body, { block: [], delayMs: 0 });
  });

  test('a change through a non-loopback Host name is refused, as for every mutating call', async () => {
    // fetch will not send another Host header; node:http will, as a browser on a rebinding DNS name would.
    const u = new URL(`${faulty.apiUrl}/api/faults`);
    const r = await new Promise<{ status: number; body: { error: { code: string } } }>((resolve, reject) => {
      const req = request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { host: 'evil.example', 'content-type': 'application/json' }, timeout: 10_000 }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as { error: { code: string } } }));
      });
      req.on('error', reject);
      req.end(JSON.stringify({ delayMs: 5 }));
    });
    assert.equal(r.status, 403);
    assert.equal(r.body.error.code, 'FORBIDDEN_HOST');
    assert.deepEqual((await call(`${faulty.apiUrl}/api/faults`, 'GET')).body, { block: [], delayMs: 0 });
  });

  test('blocking a peer cuts the link; an omitted field keeps its value; healing relinks', async () => {
    const other = plain.net.nodeId;
    const set = await call(`${faulty.apiUrl}/api/faults`, 'POST', { block: [other], delayMs: 20 });
    assert.equal(set.status, 200);
    assert.deepEqual(set.body, { block: [other], delayMs: 20 });
    await waitFor('the link cut', () => (faulty.net.peers().length === 0 && plain.net.peers().length === 0 ? true : undefined));
    assert.deepEqual((await call(`${faulty.apiUrl}/api/faults`, 'POST', { delayMs: 0 })).body, { block: [other], delayMs: 0 });
    assert.deepEqual((await call(`${faulty.apiUrl}/api/faults`, 'POST', { block: [] })).body, { block: [], delayMs: 0 });
    await waitFor('relinked', () => (faulty.net.peers().length === 1 ? true : undefined), 10_000);
    assert.deepEqual(faulty.net.banList(), []);
    assert.deepEqual(plain.net.banList(), []);
  });
});
