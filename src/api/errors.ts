/** Every failure leaves as `{"error":{"code","message"}}`; nothing internal (stacks, paths) leaks. */
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyInstance } from 'fastify';
import type { Logger } from '../node/logger.ts';
import type { ErrorBody } from './types.ts';

/** An error the API answers with a given status and stable code. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The JSON body of an error answer. */
export function errorBody(code: string, message: string): ErrorBody {
  return { error: { code, message } };
}

/** Writes an error answer straight to a socket (malformed HTTP, refused upgrades) and closes it. */
export function endWithError(socket: Duplex, status: number, code: string, message: string): void {
  if (socket.destroyed) return;
  const body = JSON.stringify(errorBody(code, message));
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

/** Answers requests Node's HTTP parser rejects before Fastify sees them, in the same error shape. */
export function clientErrorHandler(err: Error & { code?: string }, socket: Duplex): void {
  if (err.code === 'ECONNRESET') return;
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return endWithError(socket, 408, 'REQUEST_TIMEOUT', 'the request was not received in time');
  if (err.code === 'HPE_HEADER_OVERFLOW') return endWithError(socket, 431, 'HEADERS_TOO_LARGE', 'request headers are too large');
  endWithError(socket, 400, 'BAD_HTTP', 'the request is not valid HTTP/1.1');
}

/** A 404 for something the node does not know. */
export function notFound(code: string, message: string): ApiError {
  return new ApiError(404, code, message);
}

/** A 400 for input that breaks a rule. */
export function badRequest(code: string, message: string): ApiError {
  return new ApiError(400, code, message);
}

/** Fastify's own client errors, renamed and explained in terms a caller can act on. */
function translate(err: FastifyError, bodyLimit: number): ApiError | undefined {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError(413, 'BODY_TOO_LARGE', `request body is larger than the ${bodyLimit}-byte limit`);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', 'request body must be JSON sent with Content-Type: application/json');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return badRequest('BAD_CONTENT_LENGTH', 'Content-Length does not match the body');
  }
  const status = err.statusCode;
  if (status !== undefined && status >= 400 && status < 500) return new ApiError(status, 'BAD_REQUEST', err.message);
  return undefined;
}

/** Installs the error and not-found handlers so every answer has the error shape. */
export function installErrorHandlers(app: FastifyInstance, bodyLimit: number, log: Logger | undefined): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    const e = err instanceof ApiError ? err : translate(err, bodyLimit);
    if (e !== undefined) return reply.code(e.status).send(errorBody(e.code, e.message));
    log?.error({ err, method: req.method, url: req.url }, 'api: internal error');
    return reply.code(500).send(errorBody('INTERNAL', 'internal error; the node log has details'));
  });
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0] ?? '';
    return reply.code(404).send(errorBody('NOT_FOUND', `no route ${req.method} ${path.slice(0, 200)}`));
  });
}
