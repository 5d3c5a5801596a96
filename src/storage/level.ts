import { mkdir } from 'node:fs/promises';
import { ClassicLevel } from 'classic-level';
import type { Kv, KvOp } from './kv.ts';
import { KvStore } from './kv-store.ts';

/** How a LevelStore writes. */
export interface LevelStoreOptions {
  /**
   * fsync every main-chain batch. Off by default: a LevelDB batch is one
   * checksummed log record, so a killed process reopens at the old or the new
   * state either way; sync only adds protection against a power cut losing
   * the last blocks (which peers can resend), at a few ms per block.
   */
  readonly sync?: boolean;
}

class LevelKv implements Kv {
  constructor(
    private readonly db: ClassicLevel<Buffer, string>,
    private readonly sync: boolean,
  ) {}

  /** The value under a key. */
  get(key: Buffer): Promise<string | undefined> {
    return this.db.get(key);
  }

  /** One trip to LevelDB's thread for all the keys. */
  getMany(keys: readonly Buffer[]): Promise<(string | undefined)[]> {
    return keys.length === 0 ? Promise.resolve([]) : this.db.getMany(keys as Buffer[]);
  }

  /** One LevelDB batch: a single log record, applied whole or not at all on recovery. */
  write(ops: readonly KvOp[]): Promise<void> {
    // A chained batch: abstract-level's array form clones and re-checks every
    // operation in JS first, some 2 us each, which a block of 2,000 transfers
    // (one index entry each) turns into milliseconds on the main thread.
    const b = this.db.batch();
    for (const op of ops) {
      if (op.type === 'put') b.put(op.key, op.value);
      else b.del(op.key);
    }
    return b.write({ sync: this.sync });
  }

  /** Entries in [gte, lt), in key order. */
  range(gte: Buffer, lt: Buffer, limit?: number): Promise<[Buffer, string][]> {
    return this.db.iterator(limit === undefined ? { gte, lt } : { gte, lt, limit }).all();
  }

  close(): Promise<void> {
    return this.db.close();
  }
}

/** A Store on LevelDB (classic-level): the embedded default of a node. */
export class LevelStore extends KvStore {
  private constructor(
    kv: Kv,
    /** The database directory. */
    readonly dir: string,
  ) {
    super(kv);
  }

  /** Opens (creating if needed) the LevelDB database in `dir`. */
  static async open(dir: string, opts: LevelStoreOptions = {}): Promise<LevelStore> {
    await mkdir(dir, { recursive: true });
    const db = new ClassicLevel<Buffer, string>(dir, { keyEncoding: 'buffer', valueEncoding: 'utf8' });
    await db.open();
    return new LevelStore(new LevelKv(db, opts.sync ?? false), dir);
  }
}
