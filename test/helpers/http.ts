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

/** The fields of `GET /api/status` the tests read. */
export interface NodeStatus {
  height: number;
  tip: string;
  chainId: string;
  peers: number;
  mempool: number;
}

/** A node's `GET /api/status`. */
export async function nodeStatus(url: string): Promise<NodeStatus> {
  return (await getJson<NodeStatus>(`${url}/api/status`)).body;
}

/** Mines `blocks` blocks on a node through `POST /api/mine` and returns their hashes. */
/** How many peers a node's API says it is linked to. */
export async function peersOf(url: string): Promise<number> {
  return (await nodeStatus(url)).peers;
}

export async function mineBlocks(url: string, blocks: number): Promise<string[]> {
  const r = await postJson<{ hashes: string[] }>(`${url}/api/mine`, { blocks }, 60_000);
  if (r.status !== 200) throw new Error(`POST /api/mine answered ${r.status}: ${JSON.stringify(r.body)}`);
  return r.body.hashes;
}

/** Waits until every node reports one tip at `minHeight` or above; returns their statuses. */
export function sameTip(urls: readonly string[], minHeight: number, timeoutMs = 30_000): Promise<NodeStatus[]> {
  return waitFor(`every node on one tip at height >= ${minHeight}`, async () => {
    const ss = await Promise.all(urls.map(nodeStatus));
    return ss.every((s) => s.tip === ss[0]!.tip && s.height >= minHeight) ? ss : undefined;
  }, timeoutMs);
}
