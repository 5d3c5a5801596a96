import { BoundedSet } from '../util/bounded.ts';

/** A bounded set that forgets the least recently touched key first: adding a held key refreshes it. */
export class LruSet<K> extends BoundedSet<K> {
  /** Adds or refreshes a key; evicts the oldest beyond capacity. Returns true if the key was new. */
  override add(k: K): boolean {
    return this.touch(k);
  }
}
