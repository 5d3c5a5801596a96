/** Time as the p2p layer sees it: injected so tests and simulations can drive timers. */

/** A source of time and one-shot timers. */
export interface Clock {
  /** Milliseconds since some fixed origin (monotonic enough for rate limits and RTTs). */
  now(): number;
  /** Calls fn after ms; returns a function that cancels it. Timers never keep the process alive. */
  setTimer(fn: () => void, ms: number): () => void;
}

/** The real clock: performance.now() and unref'd setTimeout. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimer(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return () => clearTimeout(t);
  },
};
