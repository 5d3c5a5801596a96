/**
 * Who may change things: on a loopback address anyone local may, unless a
 * token is set; on any other address every mutating request needs the token.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from './errors.ts';

const MIN_TOKEN_LENGTH = 16;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** True if the host names this machine only (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  if (h.startsWith('::ffff:')) return isLoopbackHost(h.slice(7));
  return isIP(h) === 4 && h.startsWith('127.');
}

/** Why these options must not start a server, or undefined when they may. */
export function startupError(host: string, token: string | undefined): string | undefined {
  if (token !== undefined && token.length < MIN_TOKEN_LENGTH) return `the API token must be at least ${MIN_TOKEN_LENGTH} characters`;
  if (!isLoopbackHost(host) && token === undefined) {
    return `refusing to serve the API on ${host} without a token: on a non-loopback address every POST needs "Authorization: Bearer <token>"; set a token or bind 127.0.0.1`;
  }
  return undefined;
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** The hostname of a Host header (without the port), lowercased. */
function hostnameOf(hostHeader: string): string {
  const m = /^(\[[^\]]*\]|[^:]*)(?::\d*)?$/.exec(hostHeader.trim());
  return (m?.[1] ?? hostHeader).toLowerCase();
}

/** Checks one mutating request; throws 401/403 when it may not proceed. */
function authorize(req: FastifyRequest, token: string | undefined): void {
  if (token === undefined) {
    // Loopback without a token: refuse browser requests a rebinding DNS name points at us.
    const host = req.headers.host;
    if (host !== undefined && !isLoopbackHost(hostnameOf(host))) {
      throw new ApiError(403, 'FORBIDDEN_HOST', `Host ${JSON.stringify(host.slice(0, 100))} is not a loopback name; this node accepts changes from localhost only`);
    }
    return;
  }
  const auth = req.headers.authorization;
  const m = auth === undefined ? null : /^Bearer ([\x21-\x7e]+)$/.exec(auth);
  if (m === null) throw new ApiError(401, 'UNAUTHORIZED', 'this request changes the node and needs "Authorization: Bearer <token>"');
  if (!timingSafeEqual(digest(m[1]!), digest(token))) throw new ApiError(401, 'UNAUTHORIZED', 'the bearer token is wrong');
}

/** Guards every mutating route; runs before the body is read, so strangers cannot make us parse. */
export function installAuth(app: FastifyInstance, token: string | undefined): void {
  app.addHook('onRequest', async (req, reply) => {
    if (SAFE_METHODS.has(req.method)) return;
    try {
      authorize(req, token);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) reply.header('www-authenticate', 'Bearer');
      throw e;
    }
  });
}
