/** A token bucket: a steady rate with a bounded burst, for per-peer rate limits. */
import type { Clock } from './clock.ts';

/** Refills `ratePerSec` tokens a second up to `burst`; take() spends them. Starts with `initial` tokens (default: full). */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly ratePerSec: number,
    private readonly burst: number,
    private readonly clock: Clock,
    initial = burst,
  ) {
    this.tokens = Math.min(burst, initial);
    this.last = clock.now();
  }

  /** Spends n tokens if there are enough; returns false (spending nothing) otherwise. */
  take(n = 1): boolean {
    this.refill();
    if (this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }

  /** Spends as many whole tokens as there are, up to n; returns how many. */
  takeUpTo(n: number): number {
    this.refill();
    const k = Math.max(0, Math.min(n, Math.floor(this.tokens)));
    this.tokens -= k;
    return k;
  }

  /** Adds n tokens at once (still at most `burst`): room for an answer this side asked for. */
  credit(n: number): void {
    this.refill();
    this.tokens = Math.min(this.burst, this.tokens + n);
  }

  private refill(): void {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.ratePerSec);
    this.last = now;
  }
}
