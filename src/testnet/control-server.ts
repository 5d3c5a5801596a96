/**
 * The testnet's control server: HTTP on a loopback address, JSON in and out.
 *
 *   GET  /control                        nodes (name, role, org, nodeId, API URL, up/down, faults)
 *   GET  /control/links                  every node and the links between them, from each node's /api/peers
 *   POST /control/nodes/:name/stop       stop a node
 *   POST /control/nodes/:name/restart    start it again (or restart a running one)
 *   POST /control/partition              {"groups": [["node1","node2"],["node3"]]}
 *   POST /control/heal                   end partitions and added latency
 *   POST /control/slow                   {"node": "node1", "delayMs": 200}
 *
 * Every POST answers with the new GET /control view. The explorer page, served
 * by a node on another port, calls it across origins: CORS (with the OPTIONS
 * preflight) is granted to loopback origins only, and requests whose Host or
 * Origin is not a loopback name are refused, so no web site can drive it.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isIP } from 'node:net';
import { ControlError, type TestnetControl } from './control.ts';

/** A running control server. */
export interface ControlServer {
  /** Base URL, e.g. http://127.0.0.1:3000 (the endpoints are under /control). */
  readonly url: string;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 64 * 1024;

/** True if a host name (no port) names this machine only. */
function loopbackName(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  if (h.startsWith('::ffff:')) return loopbackName(h.slice(7));
  return isIP(h) === 4 && h.startsWith('127.');
}

/** The hostname of a Host header, without its port. */
function hostnameOf(hostHeader: string): string {
  const m = /^(\[[^\]]*\]|[^:]*)(?::\d*)?$/.exec(hostHeader.trim());
  return m?.[1] ?? hostHeader;
}

/** True for an origin such as http://127.0.0.1:3001 (a page served from this machine). */
function loopbackOrigin(origin: string): boolean {
  try {
    const u = new URL(origin);
    return (u.protocol === 'http:' || u.protocol === 'https:') && loopbackName(u.hostname);
  } catch {
    return false;
  }
}

function readBody(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(new ControlError(413, 'BODY_TOO_LARGE', `request body is larger than ${MAX_BODY_BYTES} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('error', reject);
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') return resolve(undefined);
      // JSON only: a browser cannot send it across origins without the preflight this server checks.
      if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) return reject(new ControlError(415, 'UNSUPPORTED_MEDIA_TYPE', 'request body must be JSON sent with Content-Type: application/json'));
      try {
        resolve(JSON.parse(text));
      } catch (e) {
        reject(new ControlError(400, 'MALFORMED_JSON', `request body is not valid JSON: ${(e as Error).message.slice(0, 200)}`));
      }
    });
  });
}

function objectBody(body: unknown, example: string): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ControlError(400, 'BAD_BODY', `request body must be a JSON object like ${example}`);
  return body as Record<string, unknown>;
}

/** Runs one request against the controls; returns the status and JSON body. */
async function route(control: TestnetControl, method: string, path: string, req: IncomingMessage): Promise<[number, unknown]> {
  if (method === 'GET' && (path === '/' || path === '')) {
    return [200, { control: '/control', endpoints: ['GET /control', 'GET /control/links', 'POST /control/nodes/:name/stop', 'POST /control/nodes/:name/restart', 'POST /control/partition {"groups": [[names], [names]]}', 'POST /control/heal', 'POST /control/slow {"node": name, "delayMs": n}'] }];
  }
  if (method === 'GET' && path === '/control') return [200, await control.view()];
  if (method === 'GET' && path === '/control/links') return [200, await control.links()];
  if (method !== 'POST') throw new ControlError(path.startsWith('/control') ? 405 : 404, path.startsWith('/control') ? 'METHOD_NOT_ALLOWED' : 'NOT_FOUND', `no route ${method} ${path.slice(0, 200)}`);
  const node = /^\/control\/nodes\/([^/]+)\/(stop|restart)$/.exec(path);
  if (node !== null) {
    await readBody(req);
    let name: string;
    try {
      name = decodeURIComponent(node[1]!);
    } catch {
      throw new ControlError(400, 'BAD_NAME', 'the node name is not valid percent-encoding');
    }
    if (node[2] === 'stop') await control.stop(name);
    else await control.restart(name);
  } else if (path === '/control/partition') {
    const b = objectBody(await readBody(req), '{"groups": [["node1", "node2"], ["node3"]]}');
    await control.partition(b.groups as string[][]);
  } else if (path === '/control/heal') {
    await readBody(req);
    await control.heal();
  } else if (path === '/control/slow') {
    const b = objectBody(await readBody(req), '{"node": "node1", "delayMs": 200}');
    await control.slow(b.node as string, b.delayMs as number);
  } else throw new ControlError(404, 'NOT_FOUND', `no route ${method} ${path.slice(0, 200)}`);
  return [200, await control.view()];
}

/** Serves a testnet's controls on host:port (port 0 picks a free one); the host must be a loopback address. */
export async function startControlServer(control: TestnetControl, opts: { readonly port: number; readonly host?: string }): Promise<ControlServer> {
  const host = opts.host ?? '127.0.0.1';
  if (!loopbackName(host)) throw new Error(`the testnet controls serve loopback addresses only, not ${host}`);
  const server = createServer((req, res) => void handle(req, res));

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const origin = req.headers.origin;
    const cors = origin !== undefined && loopbackOrigin(origin);
    const headers: Record<string, string> = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', vary: 'Origin' };
    if (cors) headers['access-control-allow-origin'] = origin;
    const send = (status: number, body: unknown): void => {
      if (res.headersSent) return;
      res.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify(body));
    };
    const fail = (e: ControlError): void => send(e.status, { error: { code: e.code, message: e.message } });
    try {
      // A DNS name rebound to 127.0.0.1 still carries its own name here.
      const hostHeader = req.headers.host;
      if (hostHeader !== undefined && !loopbackName(hostnameOf(hostHeader))) throw new ControlError(403, 'FORBIDDEN_HOST', 'the testnet controls answer requests to a loopback address only');
      if (origin !== undefined && !cors) throw new ControlError(403, 'FORBIDDEN_ORIGIN', `origin ${origin.slice(0, 100)} may not use the testnet controls: only pages served from this machine may`);
      const path = new URL(req.url ?? '/', 'http://control').pathname.replace(/\/+$/, '');
      const method = req.method ?? 'GET';
      if (method === 'OPTIONS') {
        res.writeHead(204, { ...headers, 'access-control-allow-methods': 'GET, POST, OPTIONS', 'access-control-allow-headers': 'content-type', 'access-control-max-age': '600' });
        res.end();
        return;
      }
      const [status, body] = await route(control, method, path, req);
      send(status, body);
    } catch (e) {
      if (e instanceof ControlError) return fail(e);
      // Stopping or restarting a node can fail for reasons of its own (it did not come up): say so.
      fail(new ControlError(500, 'CONTROL_FAILED', e instanceof Error ? e.message : String(e)));
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      reject(e.code === 'EADDRINUSE' ? new Error(`port ${opts.port} on ${host}, for the testnet controls, is in use; choose another with --control-port`) : e);
    });
    server.listen(opts.port, host, () => {
      server.removeAllListeners('error');
      // Once listening, a server error would only concern this convenience, never the nodes: do not crash the launcher.
      server.on('error', () => undefined);
      resolve();
    });
  });
  const a = server.address() as AddressInfo;
  const url = `http://${isIP(a.address) === 6 ? `[${a.address}]` : a.address}:${a.port}`;
  let closed: Promise<void> | undefined;
  return {
    url,
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
