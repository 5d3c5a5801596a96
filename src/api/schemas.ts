/** Input schemas (zod) and the one helper that turns a failed parse into a 400 naming the field. */
import { z } from 'zod';
import { ApiError } from './errors.ts';

/** Where a value came from, for error messages. */
export type InputPlace = 'path' | 'query' | 'body';

const CODES: Record<InputPlace, string> = { path: 'BAD_PARAM', query: 'BAD_QUERY', body: 'BAD_BODY' };
const NOUN: Record<InputPlace, string> = { path: 'path parameter', query: 'query parameter', body: 'body field' };

const UINT_RE = /^(0|[1-9][0-9]*)$/;

/** A decimal integer in a URL (query or path), within [min, max]. */
export function uintString(min: number, max: number): z.ZodType<number, string> {
  const msg = `must be an integer from ${min} to ${max}`;
  return z
    .string({ error: msg })
    .regex(UINT_RE, msg)
    .transform(Number)
    .refine((n) => n >= min && n <= max, msg);
}

/** Parses input with a schema, or throws a 400 whose message names the offending field. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, place: InputPlace): z.output<S> {
  const r = schema.safeParse(value, { reportInput: true });
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  if (issue === undefined) throw new ApiError(400, CODES[place], `invalid ${place}`);
  const field = issue.path.map(String).join('.');
  let message: string;
  if (issue.code === 'unrecognized_keys') message = `unknown ${NOUN[place]}${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k.slice(0, 40))).join(', ')}`;
  else if (field === '' && issue.code === 'invalid_type') message = place === 'body' ? 'request body must be a JSON object' : `${place} must be an object`;
  else if (field === '') message = `${place}: ${issue.message}`;
  else if (issue.code === 'invalid_type' && issue.input === undefined) message = `${NOUN[place]} "${field}" is required`;
  else message = `${NOUN[place]} "${field}": ${issue.message}`;
  throw new ApiError(400, CODES[place], message);
}

const MAX_HEIGHT = Number.MAX_SAFE_INTEGER;

/** `?limit=` for pages of at most `max`. */
export function limitParam(max: number): z.ZodType<number, string> {
  return uintString(1, max);
}

/** `?from=` as a height or index. */
export const fromParam = uintString(0, MAX_HEIGHT);

/** A request with no body is treated as `{}`, so optional fields keep their defaults. */
export function bodyObject(body: unknown): unknown {
  return body === undefined ? {} : body;
}
