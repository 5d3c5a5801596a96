/**
 * Read-only helpers for the explorer: GET /api/search?q= says what a string
 * names (block, transaction, account, record) in one request that always
 * answers 200, and GET /api/addresses?keys= turns node or sender public keys
 * into account addresses, which the browser cannot derive without SHA-256.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { addressError, addressFromPublicKey, isPublicKeyHex } from '../../crypto/index.ts';
import type { ApiContext } from '../context.ts';
import { badRequest } from '../errors.ts';
import { parseInput } from '../schemas.ts';

/** One thing a search string names; `id` is what the explorer's route takes. */
export interface SearchMatch {
  kind: 'block' | 'tx' | 'account' | 'record';
  id: string;
  label: string;
}

/** `GET /api/search?q=`. */
export interface SearchView {
  query: string;
  matches: SearchMatch[];
}

/** `GET /api/addresses?keys=`. */
export interface AddressesView {
  addresses: Record<string, string>;
}

const MAX_QUERY = 200;
const MAX_KEYS = 200;
const HASH_RE = /^[0-9a-f]{64}$/;
const HEIGHT_RE = /^(0|[1-9][0-9]{0,15})$/;
const RECORD_KEY_RE = /^[\x21-\x7e]+$/;

const searchQuery = z.strictObject({ q: z.string({ error: 'is required: a height, block hash, transaction id, address or record key' }) });
const keysQuery = z.strictObject({ keys: z.string({ error: 'is required: comma-separated public keys (64 hex characters each)' }) });

/** Everything q could name on this node's main chain, state and mempool. */
async function search(ctx: ApiContext, q: string): Promise<SearchMatch[]> {
  const { node } = ctx;
  const out: SearchMatch[] = [];
  if (HEIGHT_RE.test(q) && Number(q) <= node.chain.height) out.push({ kind: 'block', id: q, label: `block at height ${q}` });
  const lower = q.toLowerCase();
  if (HASH_RE.test(lower)) {
    const block = await node.chain.getBlock(lower);
    if (block !== undefined) out.push({ kind: 'block', id: lower, label: `block ${block.header.height}` });
    if (node.mempool.has(lower)) out.push({ kind: 'tx', id: lower, label: 'pending transaction' });
    else if ((await node.store.getTxLocation(lower)) !== undefined) out.push({ kind: 'tx', id: lower, label: 'transaction' });
    // A 64-hex string may also be a public key: worth a link only if its account was ever used.
    if (isPublicKeyHex(lower)) {
      const address = addressFromPublicKey(lower);
      const acct = node.chain.state.account(address);
      if (acct.nonce > 0 || acct.balance > 0n) out.push({ kind: 'account', id: address, label: 'account of this public key' });
    }
  }
  if (q.length <= 100 && addressError(q) === undefined) out.push({ kind: 'account', id: q, label: 'account' });
  if (q.length <= node.genesis.params.maxRecordKeyLength && RECORD_KEY_RE.test(q) && (await node.store.getRecord(q)) !== undefined) {
    out.push({ kind: 'record', id: q, label: 'record' });
  }
  return out;
}

/** Registers the search and address routes. */
export function searchRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get('/api/search', async (req): Promise<SearchView> => {
    const { q } = parseInput(searchQuery, req.query, 'query');
    const query = q.trim();
    if (query === '') throw badRequest('BAD_QUERY', 'query parameter "q" is empty');
    if (query.length > MAX_QUERY) throw badRequest('BAD_QUERY', `query parameter "q" is longer than ${MAX_QUERY} characters`);
    return { query, matches: await search(ctx, query) };
  });

  app.get('/api/addresses', async (req): Promise<AddressesView> => {
    const { keys } = parseInput(keysQuery, req.query, 'query');
    const list = keys.split(',').filter((k) => k !== '');
    if (list.length > MAX_KEYS) throw badRequest('BAD_QUERY', `at most ${MAX_KEYS} keys per request, got ${list.length}`);
    const addresses: Record<string, string> = {};
    for (const k of list) {
      if (!isPublicKeyHex(k)) throw badRequest('BAD_QUERY', `${JSON.stringify(String(k).slice(0, 80))} is not a public key (64 lowercase hex characters)`);
      addresses[k] = addressFromPublicKey(k);
    }
    return { addresses };
  });
}
