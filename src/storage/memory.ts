import type { Kv, KvOp } from './kv.ts';
import { KvStore } from './kv-store.ts';

/** A Kv in process memory: a sorted view is built on demand, which suits tests. */
class MemoryKv implements Kv {
  // Keyed by latin1 text of the key bytes: one char per byte, so string order is byte order.
  private readonly map = new Map<string, string>();
  private closed = false;

  /** The value under a key. */
  async get(key: Buffer): Promise<string | undefined> {
    this.check();
    return this.map.get(key.toString('latin1'));
  }

  /** The values under several keys. */
  async getMany(keys: readonly Buffer[]): Promise<(string | undefined)[]> {
    this.check();
    return keys.map((k) => this.map.get(k.toString('latin1')));
  }

  /** Applies the operations synchronously: nothing can observe half of them. */
  async write(ops: readonly KvOp[]): Promise<void> {
    this.check();
    for (const op of ops) {
      const k = op.key.toString('latin1');
      if (op.type === 'put') this.map.set(k, op.value);
      else this.map.delete(k);
    }
  }

  /** Entries in [gte, lt), in key order. */
  async range(gte: Buffer, lt: Buffer, limit = Infinity): Promise<[Buffer, string][]> {
    this.check();
    const lo = gte.toString('latin1');
    const hi = lt.toString('latin1');
    const keys: string[] = [];
    for (const k of this.map.keys()) if (k >= lo && k < hi) keys.push(k);
    keys.sort();
    return keys.slice(0, limit).map((k) => [Buffer.from(k, 'latin1'), this.map.get(k)!]);
  }

  /** Marks the store closed; later calls throw, as they would on a closed database. */
  async close(): Promise<void> {
    this.closed = true;
  }

  private check(): void {
    if (this.closed) throw new Error('store: the memory store is closed');
  }
}

/**
 * A Store in process memory, for tests and simulations. It runs the same code
 * and byte encodings as LevelStore over a map, so a test that passes here
 * exercises the real key layout and undo logic.
 */
export class MemoryStore extends KvStore {
  /** An empty store. */
  constructor() {
    super(new MemoryKv());
  }
}
