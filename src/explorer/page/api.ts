/** Reading the node's HTTP API from the page: same origin, bounded waits, errors with the API's own message. */

/** An API answer that was not 2xx, with the node's error code and message. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiFailure';
  }
}

const TIMEOUT_MS = 15_000;

/** GETs a JSON document from this node's API; throws ApiFailure on an error answer. */
export async function getJson<T>(path: string): Promise<T> {
  let r: Response;
  try {
    r = await fetch(path, { signal: AbortSignal.timeout(TIMEOUT_MS), headers: { accept: 'application/json' } });
  } catch (e) {
    throw new ApiFailure(0, 'UNREACHABLE', `the node did not answer ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const text = await r.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ApiFailure(r.status, 'NOT_JSON', `${path} answered ${r.status} with something other than JSON`);
  }
  if (!r.ok) {
    const err = (body as { error?: { code?: string; message?: string } }).error;
    throw new ApiFailure(r.status, err?.code ?? 'HTTP_' + r.status, err?.message ?? `${path} answered ${r.status}`);
  }
  return body as T;
}

/** A path segment for the API or a route, escaped. */
export function seg(s: string | number): string {
  return encodeURIComponent(String(s));
}
