/** A bounded set that forgets the least recently touched key first. */
export class LruSet<K> {
  private readonly items = new Set<K>();

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.items.size;
  }

  has(k: K): boolean {
    return this.items.has(k);
  }

  /** Adds or refreshes a key; evicts the oldest beyond capacity. Returns true if the key was new. */
  add(k: K): boolean {
    const had = this.items.delete(k);
    this.items.add(k);
    if (this.items.size > this.capacity) {
      const oldest = this.items.values().next().value as K;
      this.items.delete(oldest);
    }
    return !had;
  }

  delete(k: K): boolean {
    return this.items.delete(k);
  }
}
