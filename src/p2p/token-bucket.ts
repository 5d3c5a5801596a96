/** A token bucket: a steady rate with a bounded burst, for per-peer rate limits. */
import type { Clock } from './clock.ts';

/** Refills `ratePerSec` tokens a second up to `burst`; take() spends them. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly ratePerSec: number,
    private readonly burst: number,
    private readonly clock: Clock,
  ) {
    this.tokens = burst;
    this.last = clock.now();
  }

  /** Spends n tokens if there are enough; returns false (spending nothing) otherwise. */
  take(n = 1): boolean {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.ratePerSec);
    this.last = now;
    if (this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }
}
