/** Small HTTP helpers for tests that drive a node's API; every call is bounded. */

/** GETs JSON; returns status and body. */
export async function getJson<T = unknown>(url: string): Promise<{ status: number; body: T }> {
  const r = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  return { status: r.status, body: (await r.json()) as T };
}

/** POSTs JSON; returns status and body. */
export async function postJson<T = unknown>(url: string, body: unknown, timeoutMs = 30_000): Promise<{ status: number; body: T }> {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) });
  return { status: r.status, body: (await r.json()) as T };
}

/** Polls until check returns a value (not undefined) or the time runs out. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000, everyMs = 100): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last === undefined ? '' : ` (last error: ${(last as Error).message})`}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
