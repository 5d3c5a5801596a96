/** Shared checks of the tests that run BFT networks of real node processes. */
import assert from 'node:assert/strict';
import { getJson, waitFor } from './http.ts';

interface CertifiedBlock {
  hash: string;
  commit?: { blockHash: string; signatures: { validator: string }[] };
}

/** A node's GET /api/status (the fields these tests read). */
export async function status(url: string): Promise<{ height: number; tip: string; peers: number; nodeId: string }> {
  return (await getJson<{ height: number; tip: string; peers: number; nodeId: string }>(`${url}/api/status`)).body;
}

/** The heights of the nodes behind these API URLs. */
export async function heights(urls: readonly string[]): Promise<number[]> {
  return Promise.all(urls.map(async (u) => (await status(u)).height));
}

/** Waits until every node is at or past `height`. */
export async function reach(urls: readonly string[], height: number, timeoutMs = 30_000): Promise<void> {
  await waitFor(`every node at height >= ${height}`, async () => ((await heights(urls)).every((h) => h >= height) ? true : undefined), timeoutMs, 200);
}

/**
 * Checks that the nodes agree block by block up to the lowest height among
 * them, and that every block carries a certificate of more than 2/3 of the
 * validators (distinct signers). Finality means two honest nodes never hold
 * different blocks at one height. Returns the height checked up to.
 */
export async function assertAgree(urls: readonly string[], validators: number): Promise<number> {
  const top = Math.min(...(await heights(urls)));
  for (let h = 1; h <= top; h++) {
    const blocks = await Promise.all(urls.map(async (u) => (await getJson<CertifiedBlock>(`${u}/api/blocks/${h}`)).body));
    assert.equal(new Set(blocks.map((b) => b.hash)).size, 1, `one block at height ${h}`);
    const c = blocks[0]!.commit;
    assert.ok(c !== undefined, `block ${h} carries its commit certificate`);
    assert.equal(c.blockHash, blocks[0]!.hash);
    const signers = new Set(c.signatures.map((s) => s.validator)).size;
    assert.ok(signers > (2 * validators) / 3, `block ${h}: ${signers} of ${validators} signatures`);
  }
  return top;
}

/** Keeps each node's last log lines, and prints them for a node that dies unasked (a crash is a bug). */
export function nodeLogs(): { onLine: (node: string, line: string) => void } {
  const tails = new Map<string, string[]>();
  return {
    onLine(node, line) {
      const t = tails.get(node) ?? [];
      t.push(line);
      if (t.length > 40) t.shift();
      tails.set(node, t);
      if (line.startsWith('exited (') && !line.includes('SIGKILL')) console.error(`--- ${node} ${line}; its last lines:\n${t.join('\n')}`);
    },
  };
}
