import { BoundedSet } from '../util/bounded.ts';

/** A bounded set that forgets the least recently touched key first (in constant time: see BoundedSet). */
export class LruSet<K> {
  private readonly items: BoundedSet<K>;

  constructor(readonly capacity: number) {
    this.items = new BoundedSet(capacity);
  }

  get size(): number {
    return this.items.size;
  }

  has(k: K): boolean {
    return this.items.has(k);
  }

  /** Adds or refreshes a key; evicts the oldest beyond capacity. Returns true if the key was new. */
  add(k: K): boolean {
    return this.items.touch(k);
  }

  delete(k: K): boolean {
    return this.items.delete(k);
  }
}
