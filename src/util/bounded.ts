/**
 * A Map and a Set bounded in size that drop their oldest entry first, in
 * constant time.
 *
 * Why not `map.delete(map.keys().next().value)`: V8 leaves a deleted entry as
 * a hole until the table is rebuilt, and a fresh iterator walks every hole
 * from the start. Dropping entries in insertion order that way costs time in
 * proportion to the capacity: 19 us per insert at 50,000 entries on this
 * machine kind, paid per transaction by a node's caches. One iterator kept
 * across evictions resumes where it stopped instead. That is the language's
 * defined behaviour, not an engine quirk: an iterator skips entries deleted
 * behind it and reaches entries added after it was made.
 *
 * The cursor has a cost of its own: V8 keeps every table replaced since the
 * cursor last moved reachable from it, holes and all, so that it can catch up.
 * Writes that evict nothing (refreshing a key, deleting one) replace tables
 * without moving it; after `capacity` of those the cursor is dropped, and the
 * next eviction starts a fresh one, which walks the holes once. Both costs
 * stay bounded: memory by a few tables, time by one walk per `capacity` writes.
 */
export class BoundedMap<K, V> {
  private readonly map = new Map<K, V>();
  // Every entry before the cursor was evicted: the next one it yields is the oldest live entry.
  private cursor: Iterator<K> | undefined;
  // Writes since the cursor last moved.
  private idle = 0;

  /** `capacity`: entries kept, a non-negative integer or Infinity (never evict). */
  constructor(readonly capacity: number) {
    if (capacity !== Infinity && !(Number.isSafeInteger(capacity) && capacity >= 0)) throw new RangeError(`capacity must be a non-negative integer or Infinity, got ${capacity}`);
  }

  /** Number of entries. */
  get size(): number {
    return this.map.size;
  }

  /** The value under a key. */
  get(k: K): V | undefined {
    return this.map.get(k);
  }

  /** True if the key is held. */
  has(k: K): boolean {
    return this.map.has(k);
  }

  /** Sets a value; a new key is the newest entry, an existing one keeps its age. Drops the oldest beyond capacity. */
  set(k: K, v: V): this {
    this.map.set(k, v);
    if (this.map.size > this.capacity) this.evict();
    else this.rest();
    return this;
  }

  /** Sets a value and makes the key the newest entry (least recently used goes first). */
  touch(k: K, v: V): this {
    this.map.delete(k);
    return this.set(k, v);
  }

  /** Removes a key; true if it was held. */
  delete(k: K): boolean {
    const had = this.map.delete(k);
    if (had) this.rest();
    return had;
  }

  /** Removes everything. */
  clear(): void {
    this.map.clear();
    this.cursor = undefined;
    this.idle = 0;
  }

  /** Keys, oldest first. */
  keys(): IterableIterator<K> {
    return this.map.keys();
  }

  /** Entries, oldest first. */
  entries(): IterableIterator<[K, V]> {
    return this.map.entries();
  }

  private evict(): void {
    while (this.map.size > this.capacity) {
      let r = this.cursor?.next();
      if (r === undefined || r.done === true) {
        // No cursor yet, or dropped; or exhausted (an exhausted iterator stays so): start one.
        this.cursor = this.map.keys();
        r = this.cursor.next();
        if (r.done === true) return;
      }
      this.map.delete(r.value);
    }
    this.idle = 0;
  }

  /** Counts a write that left the cursor where it was; drops the cursor after `capacity` of them. */
  private rest(): void {
    if (this.cursor !== undefined && ++this.idle > this.capacity) {
      this.cursor = undefined;
      this.idle = 0;
    }
  }
}

/** A bounded set: see BoundedMap. */
export class BoundedSet<K> {
  private readonly map: BoundedMap<K, true>;

  constructor(readonly capacity: number) {
    this.map = new BoundedMap(capacity);
  }

  /** Number of keys. */
  get size(): number {
    return this.map.size;
  }

  /** True if the key is held. */
  has(k: K): boolean {
    return this.map.has(k);
  }

  /** Adds a key (an existing one keeps its age). Returns true if it was new. */
  add(k: K): boolean {
    if (this.map.has(k)) return false;
    this.map.set(k, true);
    return true;
  }

  /** Adds a key or makes it the newest (least recently touched goes first). Returns true if it was new. */
  touch(k: K): boolean {
    const had = this.map.delete(k);
    this.map.set(k, true);
    return !had;
  }

  /** Removes a key; true if it was held. */
  delete(k: K): boolean {
    return this.map.delete(k);
  }

  /** Keys, oldest first. */
  keys(): IterableIterator<K> {
    return this.map.keys();
  }
}
