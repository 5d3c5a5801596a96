/** Reconnect delays: exponential growth with jitter, so restarted nodes are not hit by every peer at once. */

/** Backoff settings. */
export interface BackoffOptions {
  readonly baseMs: number;
  readonly maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 1000, maxMs: 60_000 };

/** Delay before attempt number `failures` (1 = first retry): base * 2^(n-1), capped, scaled by a random 50-100%. */
export function backoffDelay(failures: number, opts: BackoffOptions = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const exp = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.max(0, Math.min(30, failures - 1)));
  return Math.round(exp * (0.5 + 0.5 * random()));
}
