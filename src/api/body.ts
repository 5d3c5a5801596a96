/** Request bodies: JSON only, parsed with a message that says where it broke. */
import type { FastifyInstance } from 'fastify';
import { badRequest } from './errors.ts';

// Deeper than anything the node accepts (record values stop at 64) yet far from the stack limit.
const MAX_DEPTH = 100;

/**
 * Why a parsed body is refused, walking it without recursion: too deep, or an
 * own "__proto__" key (harmless to JSON.parse, poison to a later merge).
 */
function shapeError(root: unknown): string | undefined {
  const stack: { v: unknown; depth: number }[] = [{ v: root, depth: 0 }];
  while (stack.length > 0) {
    const { v, depth } = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= MAX_DEPTH) return `it is nested deeper than ${MAX_DEPTH} levels`;
    if (!Array.isArray(v) && Object.hasOwn(v, '__proto__')) return 'the key "__proto__" is not allowed';
    for (const child of Object.values(v)) stack.push({ v: child, depth: depth + 1 });
  }
  return undefined;
}

/**
 * Makes application/json the only body type: Fastify's default text/plain
 * parser would let a browser send a "simple" cross-site POST without a
 * preflight, and its JSON parser drops the reason a body failed to parse.
 */
export function installJsonBodies(app: FastifyInstance, bodyLimit: number): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit }, (_req, body, done) => {
    const text = body as string;
    if (text.trim() === '') return done(badRequest('MALFORMED_JSON', 'request body is empty but Content-Type says application/json'), undefined);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      return done(badRequest('MALFORMED_JSON', `request body is not valid JSON: ${(e as Error).message.slice(0, 200)}`), undefined);
    }
    const err = shapeError(value);
    if (err !== undefined) return done(badRequest('MALFORMED_JSON', `request body is refused: ${err}`), undefined);
    done(null, value);
  });
}
