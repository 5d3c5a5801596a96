import { fromHex, TAG, taggedHash, toHex, ZERO_HASH } from '../crypto/index.ts';
import { formatAmount } from './amount.ts';
import { canonicalBytes } from './encoding.ts';
import { Trie, verifyTrieProof, type TrieProof } from './trie.ts';
import type { Account, Address, Hash, RecordEntry, RecordState } from './types.ts';

/** What the state trie holds under each key. */
export type StateEntry =
  | { readonly t: 'account'; readonly address: Address; readonly account: Account }
  | { readonly t: 'record'; readonly key: string; readonly record: RecordState };

const ZERO_ACCOUNT: Account = { balance: 0n, nonce: 0 };

/** The trie key of an account. */
export function accountKey(address: Address): Buffer {
  let k = accountKeys.get(address);
  if (k === undefined) {
    k = taggedHash(TAG.stateKey, Buffer.from('a:' + address, 'utf8'));
    // Busy accounts are looked up on every admission and block; remember a
    // bounded number of keys (cleared whole when full, so it never grows).
    if (accountKeys.size >= ACCOUNT_KEY_CACHE) accountKeys.clear();
    accountKeys.set(address, k);
  }
  // A copy: a caller writing into the buffer must not change the cached key.
  return Buffer.from(k);
}

const ACCOUNT_KEY_CACHE = 8192;
const accountKeys = new Map<Address, Buffer>();

/** The trie key of a record. */
export function recordKey(key: string): Buffer {
  return taggedHash(TAG.stateKey, Buffer.from('r:' + key, 'utf8'));
}

/** The JSON form of a state entry; its canonical bytes are what the state root commits to. */
export function stateEntryJson(e: StateEntry): Record<string, unknown> {
  if (e.t === 'account') {
    const j: Record<string, unknown> = { t: 'account', address: e.address, balance: formatAmount(e.account.balance), nonce: e.account.nonce };
    if (e.account.org !== undefined) j.org = e.account.org;
    return j;
  }
  const r = e.record;
  return { t: 'record', key: e.key, value: r.value, owner: r.owner, updates: r.updates, height: r.height, txId: r.txId, historyHash: r.historyHash };
}

/** The value hash a trie leaf stores for an entry. */
export function stateEntryHash(e: StateEntry): Buffer {
  const canon = e.t === 'account' ? accountCanon(e.address, e.account) : undefined;
  return taggedHash(TAG.stateValue, canon !== undefined ? Buffer.from(canon, 'utf8') : canonicalBytes(stateEntryJson(e)));
}

// An account entry's canonical JSON in sorted key order (address, balance, nonce, org?, t):
// every block writes at least one account, and sorting keys each time showed in sync profiles.
function accountCanon(address: Address, a: Account): string | undefined {
  if (typeof a.balance !== 'bigint' || a.balance < 0n || !Number.isSafeInteger(a.nonce) || Object.is(a.nonce, -0)) return undefined;
  const org = a.org === undefined ? '' : `"org":${JSON.stringify(a.org)},`;
  return `{"address":${JSON.stringify(address)},"balance":"${a.balance}","nonce":${a.nonce},${org}"t":"account"}`;
}

/** The next link of a record's history hash chain. */
export function nextHistoryHash(prev: Hash, entry: RecordEntry): Hash {
  return toHex(taggedHash(TAG.recordHistory, fromHex(prev, 32), canonicalBytes(entry)));
}

/** A record after one more write: the owner stays the first writer and the history chain gains the entry. */
export function recordAfterWrite(prev: RecordState | undefined, entry: RecordEntry): RecordState {
  return {
    value: entry.value,
    owner: prev?.owner ?? entry.from,
    updates: (prev?.updates ?? 0) + 1,
    height: entry.height,
    txId: entry.txId,
    historyHash: nextHistoryHash(prev?.historyHash ?? ZERO_HASH, entry),
  };
}

/** Recomputes a record's history hash from its full list of entries. */
export function historyHashOf(entries: readonly RecordEntry[]): Hash {
  let h = ZERO_HASH;
  for (const e of entries) h = nextHistoryHash(h, e);
  return h;
}

/**
 * The ledger state: accounts and records in one persistent Merkle trie.
 * Immutable: every change returns a new State that shares what did not change,
 * so a caller can keep the old one as a snapshot.
 */
export class State {
  private constructor(readonly trie: Trie<StateEntry>) {}

  /** The empty state. */
  static empty(): State {
    return new State(Trie.empty());
  }

  /** A state holding exactly these entries (e.g. loaded from disk). */
  static fromEntries(entries: Iterable<StateEntry>): State {
    let s = State.empty();
    for (const e of entries) s = s.withEntry(e);
    return s;
  }

  /** The state root, as hex. */
  root(): Hash {
    return toHex(this.trie.rootHash());
  }

  /** Number of accounts and records. */
  get size(): number {
    return this.trie.size;
  }

  /** An account (a zero account when the address was never used). */
  account(address: Address): Account {
    const e = this.trie.get(accountKey(address));
    return e !== undefined && e.t === 'account' ? e.account : ZERO_ACCOUNT;
  }

  /** True if the state holds an entry for this address. */
  hasAccount(address: Address): boolean {
    return this.trie.get(accountKey(address)) !== undefined;
  }

  /** A record's current state, if the key was ever written. */
  record(key: string): RecordState | undefined {
    const e = this.trie.get(recordKey(key));
    return e !== undefined && e.t === 'record' ? e.record : undefined;
  }

  /** A state with one entry set. */
  withEntry(e: StateEntry): State {
    const k = e.t === 'account' ? accountKey(e.address) : recordKey(e.key);
    return new State(this.trie.set(k, e, stateEntryHash(e)));
  }

  /** A state with an account set. */
  withAccount(address: Address, account: Account): State {
    return this.withEntry({ t: 'account', address, account });
  }

  /** A state with a record set. */
  withRecord(key: string, record: RecordState): State {
    return this.withEntry({ t: 'record', key, record });
  }

  /** Every entry, in trie order. */
  *entries(): Generator<StateEntry> {
    for (const leaf of this.trie.entries()) yield leaf.value;
  }

  /** A Merkle proof for an account (or of its absence). */
  proveAccount(address: Address): TrieProof {
    return this.trie.prove(accountKey(address));
  }

  /** A Merkle proof for a record (or of its absence). */
  proveRecord(key: string): TrieProof {
    return this.trie.prove(recordKey(key));
  }
}

/** Checks a proof that an entry is in the state with this root. */
export function verifyStateProof(root: Hash, entry: StateEntry, proof: TrieProof): boolean {
  const k = entry.t === 'account' ? accountKey(entry.address) : recordKey(entry.key);
  return verifyTrieProof(fromHex(root, 32), k, stateEntryHash(entry), proof);
}
