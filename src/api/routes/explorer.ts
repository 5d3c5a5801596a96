/**
 * The explorer's files: GET / serves dist/explorer/index.html and
 * GET /explorer/* the rest of dist/explorer (which `npm run build` writes from
 * src/explorer). Only plain file names under that folder are served; anything
 * else is a 404, so no request can reach outside it.
 */
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ApiContext } from '../context.ts';
import { notFound } from '../errors.ts';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.map': 'application/json; charset=utf-8',
};

// The page loads nothing from elsewhere; saying so stops an injected script or style from loading.
// Under `peerchain testnet` it may also call the launcher's fault controls, on another local port.
function csp(connectExtra: string | undefined): string {
  return `default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'${connectExtra === undefined ? '' : ` ${connectExtra}`}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;
}

/** The origin of the testnet control URL, if the node was given a well-formed one. */
function controlOrigin(ctx: ApiContext): string | undefined {
  const url = ctx.testnet?.control;
  if (url === undefined) return undefined;
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.origin : undefined;
  } catch {
    return undefined;
  }
}

// Path segments of the files esbuild writes: no dot-only segments, no separators, no encodings.
const SEGMENT_RE = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

/**
 * dist/explorer of the package this module belongs to. The code runs both from
 * src/api/routes/ (through tsx) and bundled in dist/cli/, so it looks for the
 * nearest folder holding package.json rather than counting levels.
 */
export function defaultExplorerDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return join(dir, 'dist', 'explorer');
    const up = dirname(dir);
    if (up === dir) return resolve('dist', 'explorer');
    dir = up;
  }
}

/** The absolute path of a request's file under root, or undefined if the path is not a plain relative file name. */
function safePath(root: string, rel: string): string | undefined {
  if (rel.length === 0 || rel.length > 200) return undefined;
  const parts = rel.split('/');
  if (!parts.every((p) => SEGMENT_RE.test(p))) return undefined;
  const full = resolve(root, ...parts);
  return full.startsWith(root + sep) ? full : undefined;
}

/** Answers the explorer is missing: the node runs from sources that were never built. */
function notBuilt(reply: FastifyReply, root: string): string {
  reply.code(503).type('text/plain; charset=utf-8');
  return `The explorer is not built: ${root} is missing.\nRun \`npm run build\` in the peerchain folder (npm install does it too), then reload this page.\nThe JSON API works without it: /api/status\n`;
}

/** Sends one file with its content type, or a 404. */
async function sendFile(reply: FastifyReply, root: string, rel: string, connectExtra?: string): Promise<Buffer | string> {
  if (!existsSync(join(root, 'index.html'))) return notBuilt(reply, root);
  const full = safePath(root, rel);
  const type = full === undefined ? undefined : CONTENT_TYPES[extname(full)];
  if (full === undefined || type === undefined) throw notFound('NOT_FOUND', `no explorer file ${JSON.stringify(rel.slice(0, 100))}`);
  const st = await stat(full).catch(() => undefined);
  if (st === undefined || !st.isFile()) throw notFound('NOT_FOUND', `no explorer file ${JSON.stringify(rel.slice(0, 100))}`);
  reply.type(type);
  if (type.startsWith('text/html')) reply.header('content-security-policy', csp(connectExtra));
  return readFile(full);
}

/** Registers GET / and GET /explorer/*; `root` defaults to the package's dist/explorer. */
export function explorerRoutes(app: FastifyInstance, ctx: ApiContext, root: string = defaultExplorerDir()): void {
  const dir = resolve(root);
  const control = controlOrigin(ctx);
  app.get('/', async (_req, reply) => sendFile(reply, dir, 'index.html', control));
  app.get('/explorer', async (_req, reply) => reply.redirect('/', 302));
  app.get('/explorer/*', async (req, reply) => sendFile(reply, dir, (req.params as { '*': string })['*'] || 'index.html', control));
  // Browsers ask for /favicon.ico on their own; answer with the page's icon rather than a 404.
  app.get('/favicon.ico', async (_req, reply) => sendFile(reply, dir, 'favicon.svg'));
}
